"""Choosing cameras: maximal covering under a count or a budget, and set covering.

- ``phases``: the next deployment phases (:func:`~siteplanner.optimise.phases.solve`);
- ``instance``: the instance both solvers solve, and the
  :class:`~siteplanner.optimise.instance.Plan`;
- ``exact``: the MILP solved by HiGHS, with a checked certificate;
- ``greedy``: lazy greedy with a proven bound, polished by swaps;
- ``milp``: what the exact solvers share;
- ``setcover``: set covering and p-median;
- ``pmedian``: the p-median with a proven bound (Lagrangian relaxation, branch and bound).
"""
