"""The commands beyond ``run``: each reads a scenario, runs what it needs and writes its files.

- ``validate``: ``siteplanner validate``, every check that needs no coverage computation;
- ``event``: one public event (nomad cameras, filtering points, patrol rounds);
- ``batch``: many communes at once, on Dask or here;
- ``observatory``: ``siteplanner observatory``;
- ``incidents``: ``siteplanner incidents``, incident maps with or without streets.
"""
