"""The run's files, rendered from a :class:`~siteplanner.result.Result` (nothing computed here).

- ``write``: writes the run's folder;
- ``tables``: the tables several outputs share;
- ``export``: ``plan.gpkg`` and the prefecture table;
- ``plot``: the maps (matplotlib);
- ``report``, ``figures``, ``sections``, ``html``: the review report and its parts;
- ``webmap``: ``map.html``.
"""
