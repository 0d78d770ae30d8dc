"""The town: the OSM extract read with pyosmium, and the layers every step uses.

- ``osm``: the pyosmium reader (streets, features, boundaries, land and water);
- ``load``: the study area, its walking network and layers, cached
  (:class:`~siteplanner.town.load.Town`);
- ``cameras``: existing cameras (OSM ``man_made=surveillance`` or the town's own list);
- ``jurisdiction``: what must stay inside the commune;
- ``lighting``: public lighting and night coverage;
- ``entrances``: town entrances and the LAPI rule;
- ``field_notes``: the notes of marches exploratoires.
"""
