"""siteplanner: plan video-protection cameras and police patrols for a French town (real geodata).

One subpackage per domain: ``town`` (the OSM extract and its layers), ``incidents``,
``hotspots``, ``coverage`` (sites, fields of view, privacy), ``optimise`` (the next deployment
phase), ``patrol``, ``observatory``; ``steps`` runs them in order into a frozen ``result.Result``
that ``outputs`` renders; ``modes`` holds the other commands. ``pipeline`` is the only place that
runs every step; ``cli`` is a thin wrapper around it. See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
