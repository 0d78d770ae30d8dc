"""siteplanner: plan video-protection cameras and police patrols for a French town (real geodata).

The steps, one module each: ``scenario`` (the TOML file) → ``io`` (read OSM, incidents,
QPV, DEM) → ``hotspots`` → ``candidates`` → ``viewshed`` / ``coverage`` → ``optimise``
(the next deployment phase) → ``patrol`` → outputs (``io``, ``plot``). ``pipeline``
is the only place that calls them all; ``cli`` is a thin wrapper around it.
"""

__version__ = "0.1.0"
