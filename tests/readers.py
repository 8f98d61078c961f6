"""Open every table of a run with pyarrow and polars and check it against `chokepoint schema --json`.

Usage: readers.py RUN_DIR SCHEMA_JSON
Exits non-zero with a message on the first mismatch.
"""
import json
import sys

import polars as pl
import pyarrow as pa
import pyarrow.feather as feather

run_dir, schema_path = sys.argv[1], sys.argv[2]
tables = json.load(open(schema_path))
manifest = json.load(open(f"{run_dir}/manifest.json"))
assert manifest["complete"] is True, manifest

POLARS = {
    "int32": pl.Int32,
    "date32[day]": pl.Date,
    "double": pl.Float64,
    "int64": pl.Int64,
    "string": pl.String,
}

for t in tables:
    path = f"{run_dir}/{t['file']}"
    # pyarrow: exact Arrow types, units and meanings in the field metadata.
    tab = feather.read_table(path)
    names = [c["name"] for c in t["columns"]]
    assert tab.column_names == names, (t["file"], tab.column_names, names)
    assert tab.num_rows == manifest["rows"][t["name"]], (t["file"], tab.num_rows, manifest["rows"])
    # Per-tick tables always have rows; licences and events only where a policy acted, and
    # firm rows not at the output level `none`.
    empty_ok = ("licenses", "events", "lines") + (("firms",) if manifest["firm_rows"] == "none" else ())
    assert tab.num_rows > 0 or t["name"] in empty_ok, t["file"]
    for c in t["columns"]:
        field = tab.schema.field(c["name"])
        assert str(field.type) == c["type"], (t["file"], c["name"], str(field.type), c["type"])
        meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
        assert meta.get("unit") == c["unit"], (t["file"], c["name"], meta)
        assert meta.get("description") == c["description"], (t["file"], c["name"], meta)
        if not c["nullable"]:
            assert tab.column(c["name"]).null_count == 0, (t["file"], c["name"])
    # polars: the same file, the same rows, the documented types.
    df = pl.read_ipc(path)
    assert df.columns == names, (t["file"], df.columns)
    assert df.height == tab.num_rows
    for c in t["columns"]:
        dtype = df.schema[c["name"]]
        if c["type"].startswith("dictionary"):
            assert dtype in (pl.Categorical, pl.Enum) or isinstance(dtype, (pl.Categorical, pl.Enum)), (c["name"], dtype)
        else:
            assert dtype == POLARS[c["type"]], (t["file"], c["name"], dtype)
    # The two readers agree on the numbers.
    for c in t["columns"]:
        if c["type"] == "double":
            a = tab.column(c["name"]).to_pylist()
            b = df[c["name"]].to_list()
            assert a == b or all((x is None and y is None) or x == y for x, y in zip(a, b)), (t["file"], c["name"])

# At any output level the groups add up to the nations' output (a trader's pass-through is
# not output: the shipped models' traders have the role `trader`).
def made(df):
    keys = [pl.col("nation").cast(pl.Utf8), pl.col("commodity").cast(pl.Utf8)]
    return {(r["nation"], r["commodity"]): r["produced"] for r in df.group_by(keys).agg(pl.col("produced").sum()).iter_rows(named=True)}
groups = pl.read_ipc(f"{run_dir}/groups.arrow")
by_group = made(groups.filter(pl.col("role").cast(pl.Utf8) != "trader"))
by_nation = made(pl.read_ipc(f"{run_dir}/nations.arrow"))
assert by_group, "groups.arrow has rows"
for k, v in by_group.items():
    assert abs(by_nation.get(k, 0.0) - v) <= 1e-9 * max(1.0, abs(v)), (k, v, by_nation.get(k))

# One question a user asks first: China's magnet exports by month (t), in both readers.
flows = pl.read_ipc(f"{run_dir}/flows.arrow")
monthly = (
    flows.filter((pl.col("exporter").cast(pl.Utf8) == "CN") & (pl.col("commodity").cast(pl.Utf8) == "ndfeb_magnet"))
    .group_by(pl.col("date").dt.truncate("1mo"))
    .agg(pl.col("quantity").sum())
)
assert monthly.height > 0
print(f"ok: {len(tables)} tables; CN magnet exports {monthly['quantity'].mean():.0f} t/month on average")
