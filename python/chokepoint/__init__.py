"""Chokepoint from Python: run the engine in-process and load its tables as data frames.

Running (the same engine as the ``chokepoint`` command line, in this process):

- :func:`run` runs a model file into a run folder and returns the folder;
- :func:`sweep` runs every model x point x seed into a sweep folder and returns it.

Loading (pure Python, pyarrow underneath; polars or pandas frames out):

- :func:`load_run` reads one table of a run folder;
- :func:`load_sweep` reads one table of every run of a sweep, with the sweep's Hive columns
  (``scenario``, ``point`` if any, the parameters, ``seed``);
- :func:`load_summary` reads a sweep's summary (one row per run);
- :func:`units` gives a table's units ({column: unit}). pandas frames also carry them in
  ``df.attrs["units"]``; polars frames have no column metadata, so use :func:`units` there.

Errors of the engine raise :class:`ChokepointError`, whose ``exit_code`` is the command line's
(2 a model-file error, 3 a usage error or a refused output folder, 4 an output error, 5 a
broken invariant under ``check``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _chokepoint
from ._chokepoint import ChokepointError

__all__ = [
    "ChokepointError",
    "load_run",
    "load_summary",
    "load_sweep",
    "run",
    "schema",
    "sweep",
    "units",
]

try:
    from importlib.metadata import PackageNotFoundError, version as _version

    try:
        __version__ = _version("chokepoint-abm")
    except PackageNotFoundError:  # imported from a source tree, not installed
        __version__ = "0+unknown"
except ImportError:  # pragma: no cover - Python without importlib.metadata
    __version__ = "0+unknown"

PathLike = Union[str, "os.PathLike[str]"]
Overrides = Union[Mapping[str, Any], Sequence[str], str, None]


# ---------------------------------------------------------------------------------------------
# Running


def _value(v: Any) -> str:
    """A value as ``--set`` and ``--grid`` take it: a string as it is, anything else as JSON."""
    if isinstance(v, str):
        return v
    if isinstance(v, _dt.datetime):  # model dates are days
        return v.date().isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()

    def scalar(o: Any) -> Any:
        # numpy scalars and the like (np.int64 is no int to json).
        if hasattr(o, "item"):
            return o.item()
        raise TypeError(f"{o!r} ({type(o).__name__}) cannot be written as a model value")

    return json.dumps(v, default=scalar)


def _assignments(set: Overrides) -> List[str]:
    """``set`` as a list of ``PATH=VALUE`` strings."""
    if set is None:
        return []
    if isinstance(set, str):
        return [set]
    if isinstance(set, Mapping):
        return [f"{path}={_value(v)}" for path, v in set.items()]
    out = []
    for a in set:
        if not isinstance(a, str):
            raise TypeError(f"set: expected a dict {{path: value}} or a list of 'PATH=VALUE' strings, got {a!r} in the list")
        out.append(a)
    return out


def _date(d: Any) -> Optional[str]:
    if d is None:
        return None
    if isinstance(d, _dt.datetime):
        d = d.date()
    if isinstance(d, _dt.date):
        return d.isoformat()
    return str(d)


def run(
    model: PathLike,
    out: Optional[PathLike] = None,
    seed: Optional[int] = None,
    set: Overrides = None,
    until: Union[str, _dt.date, None] = None,
    force: bool = False,
    threads: Optional[int] = None,
    firm_rows: Optional[str] = None,
    *,
    format: Optional[str] = None,
    compression: Optional[str] = None,
    check: bool = False,
    allow_large: bool = False,
) -> Path:
    """Run a model file in this process and write its run folder; return the folder.

    The same engine as ``chokepoint run MODEL`` with ``--quiet``: the same files, byte for
    byte, for the same model and options. The GIL is released while the model runs.

    model: the model file (.ron), relative to the current directory or absolute.
    out: the run folder; by default ``runs/<model name>/`` under the current directory.
    seed: the seed of the run's random streams (default: the model's).
    set: changes to the model, as ``--set``: a dict ``{path: value}`` (a value that is not a
        string is written as JSON: numbers, booleans, lists) or a list of ``"PATH=VALUE"``.
    until: the last day to run (``"YYYY-MM-DD"`` or a ``datetime.date``).
    force: replace an existing run folder (only one that holds nothing but a run's files).
    threads: worker threads (1 to 256; the output does not depend on it). The engine's thread
        pool is made by the first run in a process that asks for more than one thread.
    firm_rows: the output level of per-firm rows: ``"all"``, ``"every:K"``, ``"sample:F"`` or
        ``"none"``.
    format: the tables' files: ``"arrow"`` (``<table>.arrow``, the default) or ``"parquet"``.
    compression: the tables' compression: ``"zstd"`` (the default), ``"lz4"`` or ``"none"``.
    check: check every tick's invariants and stop at the first broken one (exit code 5).
    allow_large: run even if the estimated output or memory passes the engine's limits.

    Returns the run folder as an absolute :class:`pathlib.Path`. Raises
    :class:`ChokepointError` (with ``exit_code``) for any error of the engine.
    """
    dir = _chokepoint.run(
        os.fspath(model),
        out=None if out is None else os.fspath(out),
        seed=seed,
        set=_assignments(set),
        until=_date(until),
        force=force,
        threads=threads,
        firm_rows=firm_rows,
        format=format,
        compression=compression,
        check=check,
        allow_large=allow_large,
    )
    return Path(os.path.abspath(dir))


_SWEEP_OPTIONS = ("points", "set", "until", "keep", "format", "compression", "shard", "resume", "check", "allow_large")


def _seeds(seeds: Any) -> Optional[str]:
    """``seeds`` as ``--seeds`` takes it: N (1 to N), ``"A..B"``, ``"A,B,C"``; also a ``range``
    (step 1) or a list of seeds."""
    if seeds is None or isinstance(seeds, str):
        return seeds
    if isinstance(seeds, range):
        if seeds.step != 1 or len(seeds) == 0:
            raise ValueError(f"seeds: {seeds!r}: expected a range with step 1 and at least one seed")
        return f"{seeds.start}..{seeds.stop - 1}"
    if isinstance(seeds, Iterable):
        # Each listed seed as a range of one: `--seeds 7` alone would mean seeds 1 to 7.
        return ",".join(f"{int(s)}..{int(s)}" for s in seeds)
    return str(int(seeds))


def sweep(
    models: Union[PathLike, Iterable[PathLike]],
    seeds: Union[int, str, range, Sequence[int], None],
    grid: Optional[Mapping[str, Any]] = None,
    jobs: Optional[int] = None,
    out: PathLike = "runs/sweep",
    force: bool = False,
    firm_rows: Optional[str] = None,
    **kw: Any,
) -> Path:
    """Run every model x point x seed into a sweep folder, in parallel; return the folder.

    The same engine as ``chokepoint sweep``, quiet, with the GIL released while it runs.

    models: one model file or several.
    seeds: the seeds of every model and point: N (seeds 1 to N), ``"A..B"``, ``"1..10,20"``,
        a ``range`` or a list of seeds; None: seed 1 (or the points file's ``seed`` column).
    grid: ``{path: [values]}``; the plan is the product of all values (a single value that is
        not a list counts as one). Values are written as for ``set`` in :func:`run`.
    jobs: runs at once (1 to 256; default one per core).
    out: the sweep folder (default ``runs/sweep`` under the current directory).
    force: replace an existing sweep folder (only one that holds nothing but a sweep's files).
    firm_rows: every run's output level, as in :func:`run`.

    Keyword options, as on the command line: ``points`` (a .csv or .parquet file of parameter
    points, one run per row and seed), ``set`` (changes for every run, as in :func:`run`),
    ``until``, ``keep`` (the tables each run keeps: a list of names, or ``"none"``),
    ``format``, ``compression``, ``shard`` (``"I/N"`` or ``(I, N)``: run slice I of N of the
    plan), ``resume`` (skip runs already complete), ``check``, ``allow_large``.

    Returns the sweep folder as an absolute :class:`pathlib.Path`.
    """
    unknown = sorted(k for k in kw if k not in _SWEEP_OPTIONS)
    if unknown:
        raise TypeError(f"sweep() got unexpected keyword argument(s) {', '.join(unknown)} (known: {', '.join(_SWEEP_OPTIONS)})")
    if isinstance(models, (str, os.PathLike)):
        models = [models]
    pairs: List[Tuple[str, List[str]]] = []
    for path, values in (grid or {}).items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            values = [values]
        pairs.append((str(path), [_value(v) for v in values]))
    shard = kw.get("shard")
    if isinstance(shard, (tuple, list)):
        shard = "/".join(str(x) for x in shard)
    keep = kw.get("keep")
    if keep is not None and not isinstance(keep, str):
        keep = ",".join(keep) if keep else "none"
    points = kw.get("points")
    _chokepoint.sweep(
        [os.fspath(m) for m in models],
        os.fspath(out),
        seeds=_seeds(seeds),
        grid=pairs,
        points=None if points is None else os.fspath(points),
        set=_assignments(kw.get("set")),
        until=_date(kw.get("until")),
        keep=keep,
        jobs=jobs,
        force=force,
        firm_rows=firm_rows,
        format=kw.get("format"),
        compression=kw.get("compression"),
        shard=shard,
        resume=bool(kw.get("resume", False)),
        check=bool(kw.get("check", False)),
        allow_large=bool(kw.get("allow_large", False)),
    )
    return Path(os.path.abspath(out))


# ---------------------------------------------------------------------------------------------
# Loading

_FORMATS = ("arrow", "parquet")
_BACKENDS = ("polars", "pandas")
_schema_cache: Optional[Dict[str, dict]] = None


def schema() -> Dict[str, dict]:
    """Every output table as the engine documents it (``chokepoint schema --json``), by name:
    ``{"name", "file", "description", "columns": [{"name", "type", "nullable", "unit",
    "description"}, ...]}``."""
    global _schema_cache
    if _schema_cache is None:
        _schema_cache = {t["name"]: t for t in json.loads(_chokepoint.schema_json())}
    return _schema_cache


def _documented(table: str) -> Dict[str, dict]:
    t = schema().get(table)
    return {} if t is None else {c["name"]: c for c in t["columns"]}


def _table_file(folder: Path, table: str) -> Path:
    """``<table>.arrow`` or ``<table>.parquet`` in a run folder, whichever exists."""
    for ext in _FORMATS:
        p = folder / f"{table}.{ext}"
        if p.is_file():
            return p
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such run folder")
    present = sorted(p.stem for p in folder.iterdir() if p.suffix[1:] in _FORMATS)
    raise FileNotFoundError(
        f"{folder}: no table {table!r} ({table}.arrow or {table}.parquet); the folder has: {', '.join(present) or 'no tables'}"
    )


def _read_file(path: Path, columns: Optional[Sequence[str]] = None):
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    cols = None if columns is None else list(columns)
    if path.suffix == ".parquet":
        return pq.read_table(path, columns=cols)
    # IPC file format, compressed (zstd, lz4) or not; read into memory, not mapped, so that a
    # later forced run may replace the file.
    return feather.read_table(path, columns=cols, memory_map=False)


def _file_schema(path: Path):
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    if path.suffix == ".parquet":
        return pq.read_schema(path)
    with ipc.open_file(path) as r:
        return r.schema


def _units_of(schema, table: str) -> Tuple[Dict[str, str], Dict[str, str]]:
    """Units and descriptions of the columns of ``schema``: from each field's metadata, else
    from the engine's documentation of ``table``."""
    doc = _documented(table)
    units, descriptions = {}, {}
    for f in schema:
        meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
        d = doc.get(f.name, {})
        unit = meta.get("unit", d.get("unit"))
        if unit is not None:
            units[f.name] = unit
        text = meta.get("description", d.get("description"))
        if text is not None:
            descriptions[f.name] = text
    return units, descriptions


def _normalise(t, table: str):
    """Ids as dictionary<int32, string> (as the engine writes them; a Parquet reader may give
    plain strings), dates as date32, chunks' dictionaries unified."""
    import pyarrow as pa
    import pyarrow.compute as pc

    doc = _documented(table)
    for i, f in enumerate(t.schema):
        c = doc.get(f.name)
        if c is None:
            continue
        col = t.column(i)
        if c["type"].startswith("dictionary") and not pa.types.is_dictionary(f.type):
            col = pc.dictionary_encode(col.cast(pa.string()))
        elif c["type"].startswith("date32") and not pa.types.is_date32(f.type):
            col = col.cast(pa.date32())
        else:
            continue
        t = t.set_column(i, pa.field(f.name, col.type, f.nullable, f.metadata), col)
    return t.unify_dictionaries()


def _frame(t, backend: str, units: Dict[str, str], descriptions: Dict[str, str]):
    if backend == "polars":
        import polars as pl

        return pl.from_arrow(t, rechunk=True)
    import pandas as pd  # noqa: F401  (pyarrow's to_pandas needs it; fail here with its name)

    df = t.to_pandas(date_as_object=False)
    df.attrs["units"] = dict(units)
    df.attrs["descriptions"] = dict(descriptions)
    return df


def _backend(backend: str) -> str:
    if backend not in _BACKENDS:
        raise ValueError(f"backend {backend!r}: expected 'polars' or 'pandas'")
    return backend


def load_run(
    path: PathLike,
    table: str = "firms",
    backend: str = "polars",
    columns: Optional[Sequence[str]] = None,
):
    """One table of a run folder as a polars (default) or pandas data frame.

    ``date`` columns are dates (polars ``Date``; pandas ``datetime64``, as pandas has no plain
    date type), id columns (firm, nation, role, commodity, ...) categoricals, quantities floats.
    A pandas frame has ``attrs["units"]`` ({column: unit}) and ``attrs["descriptions"]``; for a
    polars frame use :func:`units`. Reads ``<table>.arrow`` (compressed or not) or
    ``<table>.parquet``, whichever the run wrote. ``columns`` reads only those columns.
    """
    backend = _backend(backend)
    f = _table_file(Path(path), table)
    t = _normalise(_read_file(f, columns), table)
    u, d = _units_of(t.schema, table)
    return _frame(t, backend, u, d)


# A Hive-safe key or value, as the engine names a sweep's folders (letters, digits, `_`, `-`
# and, in values, `.` kept; anything else becomes `_`).
def _hive(s: str, keep_dot: bool = True) -> str:
    return "".join(c if (c.isascii() and c.isalnum()) or c in "_-" or (keep_dot and c == ".") else "_" for c in s)


# A number as the engine reads a parameter value into the summary (Rust's f64 syntax, finite).
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _typed(values: List[Optional[str]]):
    """A parameter column's values as a typed Arrow array, as the engine types them in a
    sweep's summary: float64 where every value other than ``none`` (a model without the
    parameter) is a number, ``none`` then null; otherwise dictionary-encoded strings
    (categorical), ``none`` kept."""
    import math

    import pyarrow as pa

    given = [v for v in values if v is not None and v != "none"]
    if given and all(_NUMBER.fullmatch(v) and math.isfinite(float(v)) for v in given):
        return pa.array([None if v in (None, "none") else float(v) for v in values], pa.float64())
    return pa.array(values, pa.string()).dictionary_encode()


def _plan(sweep_dir: Path) -> dict:
    p = sweep_dir / "sweep.json"
    if not p.is_file():
        raise FileNotFoundError(f"{sweep_dir}: not a sweep folder (no sweep.json)")
    return json.loads(p.read_text())


def _as_given(plan: dict) -> Dict[str, Dict[str, str]]:
    """Each grid column's map from the value in its folder names to the value as given (the
    engine replaces characters other than letters, digits, `_`, `-` and `.` in folder names)."""
    cols = {}
    for g in plan.get("grid") or []:
        cols[g["column"]] = {_hive(v): v for v in g.get("values", [])}
    return cols


def _sweep_files(sweep_dir: Path, table: str) -> List[Path]:
    root = sweep_dir / "tables" / table
    if not root.is_dir():
        raise FileNotFoundError(
            f"{sweep_dir}: no table {table!r} (no folder tables/{table}): the sweep has not finished a run yet, or kept other tables (keep)"
        )
    # Only finished entries (`part-N.arrow` or `.parquet`; an entry being copied has a
    # temporary name).
    files = [p for p in root.rglob("part-*") if p.is_file() and p.suffix[1:] in _FORMATS]
    if not files:
        raise FileNotFoundError(f"{root}: no runs yet")
    return files


# Hive columns that are whole numbers whatever their values.
_INT_KEYS = ("seed", "point")


def load_sweep(
    path: PathLike,
    table: str = "firms",
    backend: str = "polars",
    columns: Optional[Sequence[str]] = None,
):
    """One table of every run of a sweep folder as one polars (default) or pandas data frame.

    The columns of :func:`load_run`, after the sweep's Hive columns: ``scenario``
    (categorical), ``point`` (the row of a points file, if the sweep has one), one per grid or
    points-file parameter (named as its path with dots as ``_``; float64 where every value is a
    number, with null for a model that has no such parameter, else categorical strings) and
    ``seed`` (int64). Rows are in plan order. Runs the sweep has not finished are not included.
    """
    import pyarrow as pa

    backend = _backend(backend)
    sweep_dir = Path(path)
    plan = _plan(sweep_dir)
    as_given = _as_given(plan)
    root = sweep_dir / "tables" / table
    # Runs in plan order (scenario, point, grid point, seed), not in the order of folder names.
    order = {r["dir"]: r["index"] for r in plan.get("runs", [])}
    files = sorted(_sweep_files(sweep_dir, table), key=lambda f: (order.get(f.parent.relative_to(root).as_posix(), len(order)), str(f)))
    tables, hive, keys = [], [], []
    for f in files:
        tables.append(_normalise(_read_file(f, columns), table))
        kv = dict(p.split("=", 1) for p in f.parent.relative_to(root).parts if "=" in p)
        keys.extend(k for k in kv if k not in keys)
        hive.append(kv)
    # Each Hive column: one value per file, typed once, then taken for every row of the file.
    rows = pa.chunked_array([pa.repeat(pa.scalar(i, pa.int32()), t.num_rows) for i, t in enumerate(tables)], pa.int32())
    data = pa.concat_tables(tables).unify_dictionaries()
    for i, key in enumerate(keys):
        per_file = [h.get(key) for h in hive]
        if key == "scenario":
            typed = pa.array(per_file, pa.string()).dictionary_encode()
        elif key in _INT_KEYS:
            typed = pa.array([None if v is None else int(v) for v in per_file], pa.int64())
        else:
            given = as_given.get(key, {})
            typed = _typed([None if v is None else given.get(v, v) for v in per_file])
        # The Hive columns first (pyarrow's and polars' Hive readers put them last).
        data = data.add_column(i, key, typed.take(rows))
    u, d = _units_of(data.schema, table)
    return _frame(data, backend, u, d)


def load_summary(path: PathLike, backend: str = "polars"):
    """A sweep's summary as a polars (default) or pandas data frame: one row per run, with
    ``scenario`` (categorical), ``run`` (its folder), ``seed``, the parameters (numbers where
    numeric, as in :func:`load_sweep`) and every indicator of ``chokepoint compare``. A sharded
    sweep's shard summaries are read together."""
    import pyarrow as pa

    backend = _backend(backend)
    sweep_dir = Path(path)
    _plan(sweep_dir)
    files = [sweep_dir / f"summary.{ext}" for ext in _FORMATS if (sweep_dir / f"summary.{ext}").is_file()][:1]
    if not files:
        files = sorted(p for p in sweep_dir.glob("summary.shard-*-of-*.*") if p.suffix[1:] in _FORMATS)
    if not files:
        raise FileNotFoundError(f"{sweep_dir}: no summary (summary.arrow): is the sweep finished?")
    data = pa.concat_tables([_read_file(f) for f in files])
    for i, f in enumerate(data.schema):
        meta = f.metadata or {}
        if f.name == "scenario":
            col = data.column(i).cast(pa.string()).dictionary_encode()
        elif b"path" in meta and pa.types.is_string(f.type):
            # A parameter (its field names its model path): numbers where numeric.
            col = _typed(data.column(i).to_pylist())
        else:
            continue
        data = data.set_column(i, pa.field(f.name, col.type, True, f.metadata), col)
    return _frame(data, backend, {}, {})


def units(path: PathLike, table: str = "firms") -> Dict[str, str]:
    """The unit of every column of ``table`` in a run folder or a sweep folder, ``{column:
    unit}`` (e.g. ``{"shortfall": "output units per tick", "date": "date", ...}``), from the
    file's field metadata. polars frames carry no column metadata: this is where their units
    are."""
    p = Path(path)
    if (p / "sweep.json").is_file():
        u, _ = _units_of(_file_schema(_sweep_files(p, table)[0]), table)
        return u
    u, _ = _units_of(_file_schema(_table_file(p, table)), table)
    return u
