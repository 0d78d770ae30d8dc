"""The parameters of the SYNTHETIC incident simulator, one :class:`CategoryModel` per category.

The model they feed, and a table of the values in :data:`CATEGORY_MODELS`, are in the
docstring of :mod:`siteplanner.incidents.simulate`; :func:`check_models` says what is wrong
with a set of parameters. The values are plausible shapes, chosen and not fitted to any town.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from siteplanner.vocab import CATEGORIES, SOURCES

__all__ = ["CATEGORY_MODELS", "CategoryModel", "check_models"]


@dataclass(frozen=True)
class CategoryModel:
    """The parameters of one incident category (the model: :mod:`siteplanner.incidents.simulate`).

    Attributes
    ----------
    share
        Expected share of the category among all incidents (the shares sum to 1).
    decay_m
        Decay distance ``D_c`` of the attractors' influence (m).
    attractor_rrv
        ``(kind, relative risk value)`` pairs: the risk multiplier of a street fully
        exposed to that kind of attractor.
    hour
        24 relative weights, hour 0 to 23 (local time).
    weekday
        7 relative weights, Monday to Sunday.
    month
        12 relative weights, January to December.
    school_holiday
        Day weight multiplier during the zone's school holidays.
    public_holiday
        Day weight multiplier on public holidays (``holidays.France``).
    festive
        Day weight multiplier on the festive nights
        (:data:`siteplanner.incidents.simulate.FESTIVE_DAYS`).
    sources
        ``(source, weight)`` pairs: the category's base source mix.
    source_boosts
        ``(source, kinds, boost)``: the source's weight grows by
        ``boost · exp(−d / 30 m)``, ``d`` the distance to the nearest attractor of ``kinds``.
    branching_ratio
        ``η``: mean number of near-repeat offspring per event (0: no near repeats).
    repeat_radius_m
        Offspring fall on streets within this distance of their parent (m).
    repeat_scale_m
        Distance scale of the offspring's ``exp(−d / scale)`` spatial kernel (m).
    repeat_lag_days
        Mean of the offspring's exponential time lag (days).
    repeat_max_days
        Offspring fall 1 to this many days after their parent.
    """

    share: float
    decay_m: float
    attractor_rrv: tuple[tuple[str, float], ...]
    hour: tuple[float, ...]
    weekday: tuple[float, ...]
    month: tuple[float, ...]
    school_holiday: float
    public_holiday: float
    festive: float
    sources: tuple[tuple[str, float], ...]
    source_boosts: tuple[tuple[str, tuple[str, ...], float], ...] = ()
    branching_ratio: float = 0.0
    repeat_radius_m: float = 200.0
    repeat_scale_m: float = 75.0
    repeat_lag_days: float = 5.0
    repeat_max_days: int = 14


_TRANSIT = ("bus_stop", "bus_station", "station")
_HOUSING = ("social_housing",)

#: The parameters of each category, keyed by category slug (read-only).
CATEGORY_MODELS: Mapping[str, CategoryModel] = MappingProxyType(
    {
        # incendies de véhicules: night, car parks and large estates, festive nights,
        # serial near repeats
        "incendie_vehicule": CategoryModel(
            share=0.05,
            decay_m=150.0,
            attractor_rrv=(("parking", 3.0), ("social_housing", 2.5), ("park", 1.3)),
            hour=(9, 8, 7, 5, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 6, 8, 9),
            weekday=(1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.2),
            month=(1.1, 1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.2, 1.0, 1.0, 1.0, 1.1),
            school_holiday=1.1,
            public_holiday=1.3,
            festive=6.0,
            sources=(
                ("police_nationale", 0.6),
                ("police_municipale", 0.3),
                ("bailleur_social", 0.1),
            ),
            source_boosts=(("bailleur_social", _HOUSING, 0.3),),
            branching_ratio=0.35,
            repeat_radius_m=200.0,
            repeat_scale_m=75.0,
            repeat_lag_days=3.0,
            repeat_max_days=14,
        ),
        # incendies de poubelles: evening and night, near housing and shops
        "incendie_poubelle": CategoryModel(
            share=0.08,
            decay_m=100.0,
            attractor_rrv=(
                ("social_housing", 3.0),
                ("shop", 1.5),
                ("restaurant", 1.3),
                ("school", 1.3),
            ),
            hour=(7, 6, 4, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 4, 5, 6, 7, 8, 8),
            weekday=(1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.2),
            month=(1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.3, 1.2, 1.0, 1.0, 1.0, 1.0),
            school_holiday=1.2,
            public_holiday=1.2,
            festive=3.0,
            sources=(
                ("police_municipale", 0.35),
                ("services_techniques", 0.35),
                ("bailleur_social", 0.2),
                ("police_nationale", 0.1),
            ),
            source_boosts=(("bailleur_social", _HOUSING, 1.0),),
        ),
        # dégradations et tags: night, schools, stations and stops, parks, housing
        "degradation_tag": CategoryModel(
            share=0.20,
            decay_m=120.0,
            attractor_rrv=(
                ("station", 2.5),
                ("bus_station", 2.0),
                ("school", 2.0),
                ("social_housing", 2.0),
                ("park", 1.8),
                ("bus_stop", 1.5),
                ("shop", 1.3),
            ),
            hour=(5, 5, 4, 3, 3, 2, 2, 2, 3, 3, 3, 3, 4, 3, 4, 4, 4, 5, 6, 5, 5, 5, 6, 6),
            weekday=(1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.1),
            month=(0.9, 0.9, 1.0, 1.0, 1.1, 1.1, 1.1, 1.0, 1.0, 1.0, 0.9, 0.9),
            school_holiday=1.25,
            public_holiday=1.0,
            festive=1.5,
            sources=(
                ("services_techniques", 0.4),
                ("police_municipale", 0.25),
                ("bailleur_social", 0.2),
                ("transporteur", 0.1),
                ("police_nationale", 0.05),
            ),
            source_boosts=(("bailleur_social", _HOUSING, 1.0), ("transporteur", _TRANSIT, 0.6)),
        ),
        # cambriolages: daytime (empty homes) and winter evenings; near repeats
        "cambriolage": CategoryModel(
            share=0.10,
            decay_m=150.0,
            attractor_rrv=(("shop", 1.6), ("social_housing", 1.5), ("parking", 1.2), ("park", 1.2)),
            hour=(2, 2, 2, 2, 1, 1, 1, 2, 3, 4, 5, 5, 4, 4, 5, 5, 5, 5, 4, 4, 3, 3, 2, 2),
            weekday=(1.1, 1.1, 1.0, 1.1, 1.1, 0.9, 0.7),
            month=(1.2, 1.0, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 0.9, 1.0, 1.2, 1.3),
            school_holiday=1.3,
            public_holiday=0.9,
            festive=1.0,
            sources=(
                ("police_nationale", 0.85),
                ("police_municipale", 0.1),
                ("bailleur_social", 0.05),
            ),
            source_boosts=(("bailleur_social", _HOUSING, 0.3),),
            branching_ratio=0.30,
            repeat_radius_m=200.0,
            repeat_scale_m=75.0,
            repeat_lag_days=5.0,
            repeat_max_days=14,
        ),
        # vols à la roulotte (thefts from vehicles): night, car parks, stations
        "vol_roulotte": CategoryModel(
            share=0.14,
            decay_m=120.0,
            attractor_rrv=(
                ("parking", 3.5),
                ("station", 2.0),
                ("park", 1.5),
                ("nightclub", 1.5),
                ("restaurant", 1.3),
            ),
            hour=(3, 4, 3, 3, 2, 2, 2, 2, 3, 3, 3, 3, 4, 3, 4, 4, 5, 6, 7, 6, 6, 6, 7, 6),
            weekday=(1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.1),
            month=(1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.2, 1.0, 1.0, 1.0, 1.1),
            school_holiday=1.1,
            public_holiday=1.1,
            festive=1.0,
            sources=(("police_nationale", 0.7), ("police_municipale", 0.3)),
        ),
        # rodéos urbains: late afternoon and evening, weekends, summer, school holidays
        "rodeo_urbain": CategoryModel(
            share=0.06,
            decay_m=250.0,
            attractor_rrv=(
                ("social_housing", 3.0),
                ("park", 2.5),
                ("parking", 2.0),
                ("school", 1.3),
            ),
            hour=(2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 4, 3),
            weekday=(0.8, 0.8, 1.1, 0.8, 1.0, 1.5, 1.6),
            month=(0.5, 0.5, 0.8, 1.0, 1.3, 1.5, 1.7, 1.6, 1.2, 0.9, 0.6, 0.5),
            school_holiday=1.6,
            public_holiday=1.3,
            festive=2.0,
            sources=(
                ("police_municipale", 0.55),
                ("police_nationale", 0.4),
                ("bailleur_social", 0.05),
            ),
            source_boosts=(("bailleur_social", _HOUSING, 0.2),),
        ),
        # regroupements et trafic de stupéfiants: afternoon and evening, housing, parks, stations
        "trafic_stupefiants": CategoryModel(
            share=0.09,
            decay_m=120.0,
            attractor_rrv=(
                ("social_housing", 3.5),
                ("park", 2.0),
                ("station", 2.0),
                ("bus_station", 1.8),
                ("bar", 1.5),
                ("school", 1.3),
            ),
            hour=(3, 2, 1, 1, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 7, 8, 8, 8, 7, 6, 5, 4),
            weekday=(1.0, 1.0, 1.0, 1.0, 1.2, 1.3, 1.0),
            month=(0.9, 0.9, 1.0, 1.0, 1.0, 1.1, 1.2, 1.2, 1.0, 1.0, 0.9, 0.9),
            school_holiday=1.1,
            public_holiday=1.0,
            festive=1.0,
            sources=(
                ("police_nationale", 0.6),
                ("police_municipale", 0.25),
                ("bailleur_social", 0.15),
            ),
            source_boosts=(("bailleur_social", _HOUSING, 0.6),),
        ),
        # violences sur la voie publique: Friday and Saturday nights, bars, night venues, stations
        "violence_voie_publique": CategoryModel(
            share=0.10,
            decay_m=100.0,
            attractor_rrv=(
                ("nightclub", 3.5),
                ("bar", 3.0),
                ("station", 2.5),
                ("bus_station", 2.0),
                ("restaurant", 1.5),
                ("bus_stop", 1.3),
                ("shop", 1.3),
            ),
            hour=(7, 6, 5, 4, 2, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8),
            weekday=(0.8, 0.8, 0.9, 0.9, 1.2, 1.7, 1.4),
            month=(0.9, 0.9, 0.9, 1.0, 1.1, 1.2, 1.3, 1.2, 1.0, 1.0, 0.9, 1.0),
            school_holiday=1.1,
            public_holiday=1.3,
            festive=2.0,
            sources=(
                ("police_nationale", 0.65),
                ("police_municipale", 0.25),
                ("transporteur", 0.1),
            ),
            source_boosts=(("transporteur", _TRANSIT, 0.4),),
        ),
        # dépôts sauvages (fly-tipping): found on working days by the services techniques
        "depot_sauvage": CategoryModel(
            share=0.18,
            decay_m=150.0,
            attractor_rrv=(
                ("park", 2.0),
                ("parking", 2.0),
                ("social_housing", 2.0),
                ("shop", 1.5),
                ("restaurant", 1.3),
            ),
            hour=(0, 0, 0, 0, 0, 1, 3, 6, 8, 8, 8, 7, 6, 6, 7, 7, 7, 6, 5, 3, 2, 1, 0, 0),
            weekday=(1.3, 1.1, 1.0, 1.0, 1.0, 0.9, 0.5),
            month=(0.9, 0.9, 1.0, 1.1, 1.1, 1.1, 1.0, 0.9, 1.1, 1.0, 1.0, 1.1),
            school_holiday=0.9,
            public_holiday=0.5,
            festive=1.0,
            sources=(
                ("services_techniques", 0.7),
                ("police_municipale", 0.2),
                ("bailleur_social", 0.1),
            ),
            source_boosts=(("bailleur_social", _HOUSING, 0.6),),
        ),
    }
)


def check_models(models: Mapping[str, CategoryModel]) -> list[str]:
    """What is wrong with category parameters (unknown slugs, bad profiles, shares, ratios).

    Parameters
    ----------
    models
        Category parameters keyed by category slug.

    Returns
    -------
    list of str
        One message per problem; empty when every model is valid.
    """
    problems = []
    for name, m in models.items():
        if name not in CATEGORIES:
            problems.append(f"category {name!r} is unknown; accepted: {', '.join(CATEGORIES)}")
        if len(m.hour) != 24 or len(m.weekday) != 7 or len(m.month) != 12:
            problems.append(
                f"category {name!r}: hour, weekday and month profiles need 24, 7 and 12 weights"
            )
        if min(m.hour) < 0 or sum(m.hour) <= 0 or min(m.weekday) < 0 or min(m.month) < 0:
            problems.append(f"category {name!r}: profile weights must be >= 0 and not all zero")
        for s in [s for s, _ in m.sources] + [s for s, _, _ in m.source_boosts]:
            if s not in SOURCES:
                problems.append(
                    f"category {name!r}: source {s!r} is unknown; accepted: {', '.join(SOURCES)}"
                )
        if not 0 <= m.branching_ratio < 1:
            problems.append(
                f"category {name!r}: branching_ratio {m.branching_ratio} must be in [0, 1)"
            )
        if m.share < 0 or m.decay_m <= 0:
            problems.append(f"category {name!r}: share must be >= 0 and decay_m > 0")
    return problems
