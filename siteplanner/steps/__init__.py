"""The pipeline's steps, one module each, in the order :mod:`siteplanner.pipeline` runs them.

=============  =====================================================  ==========================
module         what it does                                           returns
=============  =====================================================  ==========================
``load``       reads the town, incidents, QPV, existing cameras       :class:`~siteplanner.result.Inputs`
``demand``     hotspot surface of the window, demand on the streets   :class:`~siteplanner.result.Demand`
``sites``      candidate sites, their costs, the référent's moves     :class:`~siteplanner.result.Candidates`
``coverage``   fields of view, coverage table, L251-3 figures         :class:`~siteplanner.result.Coverage`
``review``     the référent sûreté's decisions as constraints         :class:`~siteplanner.result.Decisions`
``phases``     the next deployment phases, the annotated sites        :class:`~siteplanner.result.PhasePlans`
``patrols``    foot and bike circuits of each shift                   :class:`~siteplanner.result.Patrols`
``figures``    privacy, addresses, hotspot segments, entrances…       :class:`~siteplanner.result.Figures`
=============  =====================================================  ==========================

Each step is a function of the scenario's values and the earlier steps' values; none writes a
file. The outputs render the :class:`~siteplanner.result.Result` that holds them all.
"""
