"""Patrol circuits a municipal police team can walk or ride.

- ``plan``: shifts and circuits;
- ``network``: the street graph as a matrix, and the circuit types;
- ``search``: the orienteering search on matrices (its compiled kernels: ``_kernels``);
- ``exact``: the orienteering MILP (HiGHS) that proves a circuit optimal, for benchmarks;
- ``itinerary``: stop names, itineraries and GPX.
"""
