"""On-disk cache of a whole step's value (the ``demand`` step's hotspot surface and street
forecast), keyed on everything the step reads.

The street forecast of a large town fits a dozen surfaces to choose its method (the inner
temporal validation); on a second run with the same incidents, streets and scenario it would
choose and fit the same again. :func:`cached` hashes what the step reads — the data frames it
reads column by column (:func:`siteplanner.files.hash_value`), the scenario sections it uses,
the files it opens — together with the source of the whole package (any change of code misses
every entry), and keeps the step's value as a pickle in the scenario's ``cache_dir``
(``<step>-<key>.pickle``, written atomically, like the parse cache of
:mod:`siteplanner.town.load`). The log lines the step wrote when it computed are kept with it
and written again on a hit, so a run reads the same with or without the cache.

A missing, unreadable or mismatched entry is recomputed and rewritten, never trusted; a hit
gives the value the computation gives (tests: ``tests/test_step_cache.py``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from siteplanner.files import atomic_path, dump_pickle, hash_value, load_pickle

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Bump when an entry's layout changes (the package's sources are hashed too).
CACHE_VERSION = "1"


@cache
def package_digest() -> str:
    """SHA-256 of every module of the package: a change of code misses every entry."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def step_key(step: str, parts: Mapping[str, object]) -> str:
    """Hex SHA-256 of a step's name, the package's code and ``parts`` (what the step reads)."""
    h = hashlib.sha256()
    h.update(f"{step} step cache v{CACHE_VERSION}|{package_digest()}|".encode())
    hash_value(h, "parts", dict(parts))
    return h.hexdigest()


def entry_path(cache_dir: str | Path, step: str, key: str) -> Path:
    """Where the entry of ``step`` for ``key`` lives in ``cache_dir``."""
    return Path(cache_dir) / f"{step}-{key[:32]}.pickle"


class _Keep(logging.Handler):
    """Keeps the INFO and higher records the step logs while it computes (to write them again
    on a hit), and passes on to the usual handlers those the run's level lets through."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, int, str]] = []
        self.logger, self.threshold = logger, logger.getEffectiveLevel()
        self.saved = (logger.level, logger.propagate, logger.handlers[:])

    def __enter__(self) -> _Keep:
        lg = self.logger
        lg.handlers, lg.propagate = [self], False
        lg.setLevel(min(self.threshold, logging.INFO))
        return self

    def __exit__(self, *exc: object) -> None:
        level, propagate, handlers = self.saved
        self.logger.handlers, self.logger.propagate = handlers, propagate
        self.logger.setLevel(level)

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.INFO:
            self.records.append((record.name, record.levelno, record.getMessage()))
        if record.levelno < self.threshold:
            return
        _, propagate, handlers = self.saved
        for h in handlers:
            if record.levelno >= h.level:
                h.handle(record)
        if propagate and self.logger.parent is not None:
            self.logger.parent.callHandlers(record)


def _read(path: Path, key: str) -> tuple[Any, list] | None:
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            entry = load_pickle(f)
        if entry.get("key") != key:
            log.warning("step cache %s is for other inputs; recomputing", path.name)
            return None
        return entry["value"], entry["records"]
    except Exception as exc:  # a corrupt or truncated entry is recomputed, never trusted
        log.warning("step cache %s is unreadable (%s); recomputing it", path.name, exc)
        return None


def cached(
    step: str, parts: Mapping[str, object], compute: Callable[[], T], cache_dir: str | Path
) -> T:
    """The value of ``compute()``, read from ``cache_dir`` when an entry for exactly ``parts``
    (and this code) is there, else computed and stored.

    Parameters
    ----------
    step
        The step's name (the entry's file name starts with it).
    parts
        Everything the step reads: name → data frame, array, geometry, number, string, mapping.
    compute
        Computes the value (it must be picklable); an error it raises is not cached.
    cache_dir
        The scenario's cache folder.
    """
    key = step_key(step, parts)
    path = entry_path(cache_dir, step, key)
    hit = _read(path, key)
    if hit is not None:
        value, records = hit
        for name, level, msg in records:  # the run's log reads the same as when it computed
            logging.getLogger(name).log(level, "%s", msg)
        log.info("step cache: %s read from %s", step, path.name)
        return value
    with _Keep(logging.getLogger("siteplanner")) as keep:
        value = compute()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        dump_pickle({"key": key, "value": value, "records": keep.records}, f)
    log.info("step cache: %s written to %s", step, path.name)
    return value
