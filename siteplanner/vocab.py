"""The users' vocabulary, in one place: the domain rules every step shares.

- :data:`SENSITIVE_KINDS`: the places the towns' contracts name as sensitive (schools, gares,
  bus stations), which raise demand near them and are named on each site's sheet.
- :data:`FOOTFALL_KINDS` and :data:`MAIN_STREET_TYPES`: the lieux de fréquentation and the
  main streets, where demand is raised beside the incident forecast.
- :data:`CATEGORY_LABELS` and :data:`SOURCE_LABELS`: the incident categories of the security
  contracts and who reports incidents to the observatory (OLS), slug → French label.
- :func:`residential_mask`: which OSM buildings are dwellings (L251-3 of the Code de la
  sécurité intérieure: a camera must not view the inside of dwellings nor their entrances).
- :func:`building_height_m`: a building's height from its OSM ``height`` and
  ``building:levels`` tags.
- :func:`underground` and :func:`private_way`: which street ways are below ground or indoors,
  or closed to the public: no place for a camera mast (what a référent sûreté refuses).
- :func:`street_in_text` and :func:`near_text`: a site named as a référent sûreté names it
  ("angle boulevard de la République / rue Jules Ferry, près du collège Bellevue").

Every module reads these names from here; none keeps a copy.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Mapping

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: POI kinds that are sensitive places (schools, gares, bus stations), as read from OSM.
SENSITIVE_KINDS: tuple[str, ...] = ("school", "station", "bus_station")

#: POI kinds that are lieux de fréquentation, where people come and gather: shops, cafés and
#: restaurants, bars and night venues, bus stops and gares, schools and public buildings.
FOOTFALL_KINDS: tuple[str, ...] = (
    "shop",
    "restaurant",
    "bar",
    "nightclub",
    "bus_stop",
    "station",
    "bus_station",
    "school",
    "public_building",
    "townhall",
    "police",
)

#: OSM ``highway`` types of the main streets (axes principaux), pedestrian streets and squares.
MAIN_STREET_TYPES = frozenset({"primary", "secondary", "tertiary", "pedestrian", "living_street"})

#: Incident categories of the towns' security contracts (slug → French label).
CATEGORY_LABELS: dict[str, str] = {
    "incendie_vehicule": "Incendie de véhicule",
    "incendie_poubelle": "Incendie de poubelle",
    "degradation_tag": "Dégradations et tags",
    "cambriolage": "Cambriolage",
    "vol_roulotte": "Vol à la roulotte",
    "rodeo_urbain": "Rodéo urbain",
    "trafic_stupefiants": "Regroupements et trafic de stupéfiants",
    "violence_voie_publique": "Violences sur la voie publique",
    "depot_sauvage": "Dépôt sauvage",
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_LABELS)

#: Who reports incidents (slug → French label).
SOURCE_LABELS: dict[str, str] = {
    "police_nationale": "Police nationale",
    "police_municipale": "Police municipale",
    "bailleur_social": "Bailleur social",
    "services_techniques": "Services techniques",
    "transporteur": "Transporteur",
}
SOURCES: tuple[str, ...] = tuple(SOURCE_LABELS)

#: The meta-analyses of camera effects the report cites beside each category's evidence class.
EVIDENCE_SOURCES = (
    (
        "Welsh, B. C. & Farrington, D. P. (2009). Public area CCTV and crime prevention: "
        "an updated systematic review and meta-analysis. Justice Quarterly 26(4), 716–745"
    ),
    (
        "Piza, E. L., Welsh, B. C., Farrington, D. P. & Thomas, A. L. (2019). CCTV surveillance "
        "for crime prevention: a 40-year systematic review with meta-analysis. "
        "Criminology & Public Policy 18(1), 135–159"
    ),
)

#: Camera kinds that are number-plate readers (refused as municipal cameras).
LAPI_KINDS = frozenset({"lapi", "anpr", "alpr", "lpr", "plate_reader", "number_plate_reader"})

#: The legal note, in the report, prefecture.csv and the error.
LAPI_NOTE = (
    "LAPI (lecture automatique de plaques d'immatriculation) is reserved by the Code de la "
    "sécurité intérieure, articles L233-1 and L233-2, to the police nationale, the gendarmerie "
    "and the customs; "
    "a commune may not operate them (Conseil d'État, 27 June 2016, n° 385091)."
)

#: Short form for a table column.
LAPI_NOTE_SHORT = (
    "LAPI: CSI L233-1/L233-2, CE 27/06/2016 n° 385091 — proposition au partenaire État"
)

#: The outcome of a note of the marches exploratoires, and how the report says it.
OUTCOMES = ("camera", "patrol", "unlit_street", "not_addressed", "outside_area")
OUTCOME_TEXT = {
    "camera": "seen by camera",
    "patrol": "on patrol circuit",
    "unlit_street": "in an unlit street (for the lighting service)",
    "not_addressed": "not addressed",
    "outside_area": "outside the study area",
}

#: OSM ``building=*`` values taken as dwellings for the L251-3 privacy check.
RESIDENTIAL_BUILDINGS: frozenset[str] = frozenset(
    {
        "apartments",
        "bungalow",
        "cabin",
        "detached",
        "dormitory",
        "farm",
        "house",
        "houseboat",
        "residential",
        "semidetached_house",
        "static_caravan",
        "terrace",
        "villa",
    }
)


def residential_mask(building: pd.Series, name: pd.Series | None = None) -> np.ndarray:
    """Which buildings are dwellings, from their OSM ``building=*`` value and name.

    A building is a dwelling when its type is one of :data:`RESIDENTIAL_BUILDINGS`, or when it
    is untyped (``building=yes``) and has no name: in French town centres most untyped
    buildings are housing, while named ones are shops, schools, churches or offices.

    Parameters
    ----------
    building
        The ``building`` tag of each building.
    name
        The ``name`` tag of each building, on the same index (``None``: no names, so every
        ``building=yes`` counts as a dwelling).

    Returns
    -------
    numpy.ndarray
        Boolean array aligned with ``building``.
    """
    b = building.astype(str).str.strip().str.lower()
    unnamed = np.ones(len(b), bool) if name is None else name.isna().to_numpy()
    return (b.isin(RESIDENTIAL_BUILDINGS).to_numpy()) | (b.eq("yes").to_numpy() & unnamed)


#: ``tunnel=*`` values of a way below ground.
TUNNEL_VALUES: frozenset[str] = frozenset({"yes", "culvert"})
#: ``indoor=*`` values of a way inside a building (a corridor, a room, a mall's hall).
INDOOR_VALUES: frozenset[str] = frozenset({"yes", "corridor", "room", "area"})
#: ``access=*`` values of a way closed to the public.
PRIVATE_ACCESS: frozenset[str] = frozenset({"private", "no"})
_NEGATIVE = re.compile(r"-\d+(\.\d+)?")


def _values(value: object) -> list[str]:
    """A tag's values: one string, or a simplified edge's list of its ways' values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _negative(value: object) -> bool:
    return any(
        _NEGATIVE.fullmatch(part.strip() or "x")
        for v in _values(value)
        for part in re.split(r"[;,]", v)
    )


def underground(tags: Mapping[str, object]) -> bool:
    """Whether a street way is below ground or indoors: no place for a camera mast.

    A way is underground when tagged ``tunnel=yes`` or ``culvert``, with a negative ``layer``
    or ``level`` (any part of ``"-1;0"``), ``indoor=yes|corridor|room|area`` or
    ``location=underground`` (the rule of the shared audit, which the référent sûreté applies).
    A tag's value may be a list (a simplified edge joining ways of one kind): any value counts.
    """
    return (
        any(v in TUNNEL_VALUES for v in _values(tags.get("tunnel")))
        or _negative(tags.get("layer"))
        or _negative(tags.get("level"))
        or any(v in INDOOR_VALUES for v in _values(tags.get("indoor")))
        or "underground" in _values(tags.get("location"))
    )


def private_way(tags: Mapping[str, object]) -> bool:
    """Whether a street way is closed to the public (``access=private`` or ``access=no``).

    A list of values (a simplified edge) is private when every value is.
    """
    values = _values(tags.get("access"))
    return bool(values) and all(v in PRIVATE_ACCESS for v in values)


def small_count(n: int, min_count: int) -> str:
    """A count as shared outputs show it: below ``min_count`` (but not 0) it reads "< min_count",
    so that no single incident can be located from an aggregate."""
    return f"< {min_count}" if 0 < n < min_count else f"{n:,}".replace(",", " ")


#: Height given to a building whose tags give none: a three-storey building, the common case
#: of the French towns' centres.
DEFAULT_BUILDING_HEIGHT_M = 9.0
#: Height of one storey (``building:levels``).
LEVEL_HEIGHT_M = 3.0
#: Tags above these are mapping errors and ignored (tallest building in France: 231 m).
MAX_HEIGHT_M = 400.0
MAX_LEVELS = 100.0

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def parse_number(value: object) -> float:
    """The first number in an OSM tag value ("12", "12.5 m", "3;4", "12,5"), or NaN."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value) if math.isfinite(float(value)) else math.nan
    match = _NUMBER.search(str(value))
    if match is None:
        return math.nan
    return float(match.group(0).replace(",", "."))


def building_height_m(
    levels: object,
    height: object,
    *,
    default_m: float = DEFAULT_BUILDING_HEIGHT_M,
    level_m: float = LEVEL_HEIGHT_M,
) -> float | pd.Series:
    """Height of buildings from their OSM tags.

    ``height`` (metres; "12", "12 m", "12.5", "12,5") when it parses to a number in
    (0, :data:`MAX_HEIGHT_M`), else ``building:levels`` × ``level_m`` when the levels are in
    (0, :data:`MAX_LEVELS`), else ``default_m``.

    Parameters
    ----------
    levels
        OSM ``building:levels``: a scalar or a pandas Series.
    height
        OSM ``height``: a scalar or a Series on the same index as ``levels``.
    default_m
        Height given when neither tag is usable.
    level_m
        Height of one storey.

    Returns
    -------
    float or pandas.Series
        A float for scalar inputs, else a float Series on the index of the inputs.
    """
    if not isinstance(levels, pd.Series) and not isinstance(height, pd.Series):
        out = building_height_m(
            pd.Series([levels], dtype=object),
            pd.Series([height], dtype=object),
            default_m=default_m,
            level_m=level_m,
        )
        return float(out.iloc[0])
    index = levels.index if isinstance(levels, pd.Series) else height.index  # type: ignore[union-attr]
    lv = levels if isinstance(levels, pd.Series) else pd.Series(levels, index=index, dtype=object)
    ht = height if isinstance(height, pd.Series) else pd.Series(height, index=index, dtype=object)
    lv_num = lv.map(parse_number).astype(float)
    ht_num = ht.map(parse_number).astype(float)
    use_height = (ht_num > 0) & (ht_num < MAX_HEIGHT_M)
    use_levels = (lv_num > 0) & (lv_num < MAX_LEVELS) & ~use_height
    out = pd.Series(float(default_m), index=index, dtype=float)
    out[use_levels] = lv_num[use_levels] * level_m
    out[use_height] = ht_num[use_height]
    log.debug(
        "building heights: %d from height, %d from levels, %d default (%.1f m)",
        int(use_height.sum()),
        int(use_levels.sum()),
        int((~use_levels & ~use_height).sum()),
        default_m,
    )
    return out


# ---------------------------------------------------------------------------------------------
# where a mast can stand, and how a référent sûreté names a place
# ---------------------------------------------------------------------------------------------

#: The French street types, written lower case inside a sentence ("12 avenue Foch").
STREET_TYPES = frozenset(
    """allée allées avenue boulevard carrefour chemin cité corniche cours descente escalier
    escaliers esplanade faubourg galerie impasse lacets montée parvis passage place pont
    promenade quai rampe résidence rond-point route rue ruelle sentier square traverse venelle
    villa voie""".split()
)

#: How to say "near" a place, by its first word (lower case, without accents) or its POI kind:
#: (article, noun). "près du collège", "près de la gare", "près de l'école".
_NEAR_NOUNS: dict[str, str] = {
    "college": "du",
    "lycee": "du",
    "groupe": "du",
    "commissariat": "du",
    "poste": "du",  # poste de police; "la poste" is named "La Poste"
    "centre": "du",
    "stade": "du",
    "gymnase": "du",
    "conservatoire": "du",
    "musee": "du",
    "theatre": "du",
    "tribunal": "du",
    "bureau": "du",
    "marche": "du",
    "palais": "du",
    "batiment": "du",
    "gare": "de la",
    "mairie": "de la",
    "mediatheque": "de la",
    "bibliotheque": "de la",
    "piscine": "de la",
    "caserne": "de la",
    "gendarmerie": "de la",
    "creche": "de la",
    "maison": "de la",
    "salle": "de la",
    "halte": "de la",
    "prefecture": "de la",
    "sous-prefecture": "de la",
    "clinique": "de la",
    "hopital": "de l'",
    "universite": "de l'",
    "espace": "de l'",
    "ecole": "de l'",
    "hotel": "de l'",
    "eglise": "de l'",
    "institut": "de l'",
    "office": "de l'",
}
#: Words that say what a place is in a name of another language ("Hamrun Police Station"):
#: the French noun of its kind is not added.
_NAMES_ITS_KIND = frozenset(
    "police school college station library hall museum court hospital office".split()
)
#: The noun of a POI kind without a name.
_KIND_NOUNS: dict[str, str] = {
    "school": "école",
    "station": "gare",
    "bus_station": "gare routière",
    "townhall": "mairie",
    "police": "commissariat",
    "public_building": "bâtiment public",
}


def _fold(word: str) -> str:
    text = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def street_in_text(name: str) -> str:
    """A street name as written inside a sentence: its French street type in lower case.

    "Avenue du Maréchal Foch" → "avenue du Maréchal Foch"; names of other languages are kept.
    """
    name = " ".join(str(name).split())
    first, _, rest = name.partition(" ")
    if first.lower() in STREET_TYPES:
        return first.lower() + (" " + rest if rest else "")
    return name


def near_text(kind: str, name: str | None) -> str:
    """ "près du collège Bellevue": how a référent sûreté points at a landmark.

    The article follows the place's first word ("Collège Bellevue" → "près du collège
    Bellevue"); a place without a name is named by its kind ("près de la mairie"); a name that
    starts with another word follows its kind ("près du bâtiment public Beausoleil Moneghetti").
    """
    if isinstance(name, str) and name.strip():
        name = " ".join(name.split())
        first, _, rest = name.partition(" ")
        key = _fold(first.rstrip("'’"))
        if key in _NEAR_NOUNS:
            art = _NEAR_NOUNS[key]
            return f"près {art}{'' if art.endswith(chr(39)) else ' '}{first.lower()}" + (
                f" {rest}" if rest else ""
            )
        noun = _KIND_NOUNS.get(kind)
        words = set(re.split(r"[\W_]+", _fold(name)))
        if noun is None or _fold(noun) in _fold(name) or words & _NAMES_ITS_KIND:
            return f"près de {name}"
        return near_text(kind, None) + f" {name}"
    noun = _KIND_NOUNS.get(kind, kind.replace("_", " "))
    art = _NEAR_NOUNS.get(_fold(noun.split()[0]), "de")
    return f"près {art}{'' if art.endswith(chr(39)) else ' '}{noun}"
