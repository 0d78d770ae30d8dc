"""Incidents: the files as their publishers wrote them, their time windows, and the simulator.

- ``read``: read and check every row, project;
- ``fields``: a publisher's columns read as they come (times, categories, positions);
- ``windows``: time windows (soirée, nuit, week-end, vacances scolaires…);
- ``simulate`` and ``models``: the SYNTHETIC, seeded incident simulator and its parameters.
"""
