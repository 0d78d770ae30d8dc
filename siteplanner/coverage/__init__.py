"""What cameras see: candidate sites, fields of view, privacy and the coverage matrix.

- ``candidates``: candidate sites and their costs;
- ``viewshed``: DORI ranges, isovists among the buildings, best headings;
- ``sightlines``: what blocks a line of sight (buildings, roofs, ground);
- ``terrain``: the terrain's cut of a field of view;
- ``privacy``: the L251-3 check of a field of view;
- ``matrix``: which demand points each site sees;
- ``evidence``: the evidence class of camera effects per incident category.
"""
