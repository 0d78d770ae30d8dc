"""The pipeline's steps, one module each, in the order :mod:`siteplanner.pipeline` runs them.

- ``load``: reads the town, the incidents, the QPV, the existing cameras → ``Inputs``
- ``demand``: the hotspot surface of the window, demand on the streets → ``Demand``
- ``sites``: candidate sites, their costs, the référent's moves → ``Candidates``
- ``coverage``: fields of view, the coverage table, the L251-3 figures → ``Coverage``
- ``review``: the référent sûreté's decisions as constraints → ``Decisions``
- ``phases``: the next deployment phases and the annotated sites → ``PhasePlans``
- ``patrols``: the foot and bike circuits of each shift → ``Patrols``
- ``figures`` (and ``dashboard``): privacy, addresses, hotspot segments… → ``Figures``

(the values are those of :mod:`siteplanner.result`; ``night`` holds what the coverage, phases
and patrols steps share about street lighting.)

Each step is a function of the scenario's values and the earlier steps' values; none writes a
file. The outputs render the :class:`~siteplanner.result.Result` that holds them all.
"""
