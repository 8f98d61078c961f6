"""A sweep folder opens as one dataset in pyarrow and polars, and DuckDB queries its summary.

Usage: sweep_readers.py SWEEP_DIR
Checks that vehicles produced per run and nation, summed from every run's firms.arrow through
each reader, equal the summary's output__vehicle__<nation>; exits non-zero on a mismatch.
"""
import glob
import json
import sys

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.feather as feather

d = sys.argv[1]
plan = json.load(open(f"{d}/sweep.json"))
params = [g["column"] for g in plan["grid"]]
keys = ["scenario", *params, "seed"]

# pyarrow: every run's firms table as one dataset, the Hive folders as columns, exactly as
# DESIGN.md and the README call it (on the sweep's per-table folder).
view = f"{d}/tables/firms"
files = sorted(glob.glob(f"{view}/**/*.arrow", recursive=True))
assert len(files) == len(plan["runs"]), (len(files), len(plan["runs"]))
# Each run's own firms.arrow is found once by a glob over the whole sweep, views or not.
own = glob.glob(f"{d}/**/firms.arrow", recursive=True)
assert len(own) == len(plan["runs"]), (len(own), len(plan["runs"]))
firms = ds.dataset(view, format="ipc", partitioning="hive").to_table()
assert all(k in firms.column_names for k in keys), firms.column_names
cars = firms.filter(pc.equal(firms["commodity"].cast(pa.string()), "vehicle"))
cars = cars.append_column("nation_s", cars["nation"].cast(pa.string()))
by_pa = {
    (*[str(r[k]) for k in keys], r["nation_s"]): r["produced_sum"]
    for r in cars.group_by([*keys, "nation_s"]).aggregate([("produced", "sum")]).to_pylist()
}

# polars: the same folder through its Hive-partitioned IPC scan.
lf = pl.scan_ipc(f"{view}/**/*.arrow", hive_partitioning=True)
pdf = (
    lf.filter(pl.col("commodity").cast(pl.Utf8) == "vehicle")
    .group_by([pl.col(k).cast(pl.Utf8) for k in keys] + [pl.col("nation").cast(pl.Utf8)])
    .agg(pl.col("produced").sum())
    .collect()
)
by_pl = {(*[str(r[k]) for k in keys], r["nation"]): r["produced"] for r in pdf.iter_rows(named=True)}
assert set(by_pl) == set(by_pa), "polars and pyarrow see the same runs"
for k, v in by_pa.items():
    assert abs(by_pl[k] - v) <= 1e-9 * max(1.0, abs(v)), (k, v, by_pl[k])

# The summary agrees with the runs.
summary = feather.read_table(f"{d}/summary.arrow")
assert summary.num_rows == len(plan["runs"])
checked = 0
# Grid values are typed in the summary (numbers as float64, null where a model has no such
# parameter: the folders' `none`).
def as_folder(v):
    return "none" if v is None else str(v)
for r in summary.to_pylist():
    for (key, v) in by_pa.items():
        if list(key[:-1]) == [as_folder(r[k]) for k in keys]:
            col = f"output__vehicle__{key[-1]}"
            assert abs(r[col] - v) <= 1e-6 * max(1.0, abs(v)), (key, r[col], v)
            checked += 1
assert checked == len(by_pa), (checked, len(by_pa))

# DuckDB (Python) queries the summary: mean vehicles per scenario, as pyarrow computes it.
con = duckdb.connect()
con.register("summary", summary)
nation = sorted({k[-1] for k in by_pa})[0]
rows = con.execute(f"SELECT scenario, avg(output__vehicle__{nation}) AS v FROM summary GROUP BY scenario ORDER BY scenario").fetchall()
for scen, v in rows:
    mine = pc.mean(summary.filter(pc.equal(summary["scenario"], scen))[f"output__vehicle__{nation}"]).as_py()
    assert abs(v - mine) <= 1e-6 * abs(mine), (scen, v, mine)
print(f"ok: {len(files)} runs, {len(by_pa)} run-nation totals agree in pyarrow, polars, the summary and DuckDB")
