"""The shared domain rules of siteplanner.vocab, on hand-built tags whose answer is known."""

from pathlib import Path

import pandas as pd

from siteplanner import vocab
from siteplanner.town import load as io
from siteplanner.vocab import CATEGORIES, building_height_m, residential_mask


def test_building_height_from_tags():
    levels = pd.Series(
        ["4", None, "3;4", "x", None, "2", "250"], index=[10, 11, 12, 13, 14, 15, 16]
    )
    height = pd.Series(["12.5 m", "7", None, None, "0", "1200", None], index=levels.index)
    out = building_height_m(levels, height, default_m=9.0, level_m=3.0)
    assert out.index.tolist() == levels.index.tolist()
    # height wins; "3;4" reads 3 levels; a 1200 m height is a mapping error (levels used);
    # 250 levels is one too (default)
    assert out.tolist() == [12.5, 7.0, 9.0, 9.0, 9.0, 6.0, 9.0]
    assert building_height_m("5", None) == 15.0
    assert building_height_m(None, "21,5") == 21.5
    assert building_height_m(None, None, default_m=6.0) == 6.0


def test_residential_rule_untyped_buildings_count_unless_named():
    tags = pd.Series(["apartments", "yes", "retail", None, "House", "yes", "villa"])
    names = pd.Series([None, None, None, None, None, "Mairie", "Les Pins"])
    assert residential_mask(tags, names).tolist() == [True, True, False, False, True, False, True]
    assert residential_mask(tags).tolist() == [True, True, False, False, True, True, True]


def test_one_copy_of_each_rule():
    # the other modules read the rules from vocab: no twin left in the package
    assert CATEGORIES is vocab.CATEGORIES
    assert not hasattr(io, "RESIDENTIAL_BUILDINGS") and not hasattr(io, "_height_m")
    for path in sorted(Path(vocab.__file__).parent.glob("*.py")):
        if path.name == "vocab.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert '"school", "station", "bus_station"' not in text, path.name
        assert "RESIDENTIAL_BUILDING" not in text and "def building_height_m" not in text, path.name
        assert '"incendie_vehicule": "' not in text, path.name
