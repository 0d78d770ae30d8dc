"""The observatoire local de la sécurité (OLS): semester indicators and maps fit to share.

- ``analysis``: the period against the previous one, the indicators and the shareable layers;
- ``stats``: the statistics, pure functions on positions, counts and zones.
"""
