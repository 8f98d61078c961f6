"""Spread one Chokepoint sweep over a Dask cluster: one task per shard, no merge step.

    python examples/dask_sweep.py --shards 8 [--scheduler tcp://HOST:8786] [--binary PATH] \
        -- models/baseline.ron models/april_2025.ron --seeds 200 --out runs/big_sweep

Everything after `--` is passed to `chokepoint sweep`; each task adds `--shard I/N --jobs 1`.
Without --scheduler a local cluster is started (one single-threaded worker process per core).
The shards write into one sweep folder (shared storage on a real cluster); their summaries are
`summary.shard-I-of-N.arrow`, and the folder is already the dataset (one per table under
`tables/<table>/`).
"""
import argparse
import os
import subprocess
import sys

from dask.distributed import Client, LocalCluster


def run_shard(binary, sweep_args, i, n):
    cmd = [binary, "sweep", *sweep_args, "--shard", f"{i}/{n}", "--jobs", "1", "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"shard {i}/{n} failed: {r.stderr.strip()}")
    return i


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shards", type=int, required=True)
    ap.add_argument("--scheduler", help="address of a running Dask scheduler")
    ap.add_argument("--binary", default="target/release/chokepoint")
    ap.add_argument("sweep_args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    sweep_args = a.sweep_args[1:] if a.sweep_args[:1] == ["--"] else a.sweep_args
    binary = os.path.abspath(a.binary)
    if a.scheduler:
        client = Client(a.scheduler)
    else:
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    futures = [client.submit(run_shard, binary, sweep_args, i, a.shards, pure=False) for i in range(a.shards)]
    done = client.gather(futures)
    print(f"ok: {len(done)} shards")
    client.close()


if __name__ == "__main__":
    sys.exit(main())
