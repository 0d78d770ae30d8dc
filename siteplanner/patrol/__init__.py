"""Patrol circuits a municipal police team can walk or ride.

- ``plan``: shifts and circuits;
- ``network``: the street graph as a matrix, and the circuit types;
- ``search``: the orienteering search on matrices;
- ``itinerary``: stop names, itineraries and GPX.
"""
