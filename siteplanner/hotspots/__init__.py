"""Hotspots: where incidents concentrate, and where they will happen next.

- ``forecast``: the default method and the prediction of a window;
- ``grids``: planar grids (count, kernel, near-repeat), masks and sizing;
- ``streets``: demand points, lixels, network kernel density and Gi* along streets;
- ``metrics``: PAI and PEI.
"""
