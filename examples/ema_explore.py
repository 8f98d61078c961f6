"""Exploratory modelling of the April 2025 regime with the EMA Workbench.

Latin-hypercube sampling over three licensing parameters of `models/april_2025.ron`; each
experiment runs the chokepoint binary (`chokepoint sweep`, one seed) and reads its outcomes from
the sweep's summary.arrow.

    python examples/ema_explore.py --experiments 50 [--binary target/release/chokepoint] [--until 2026-06-30]

Prints one line per experiment and the parameter with the strongest rank correlation to the
world's vehicles lost for lack of magnets.
"""
import argparse
import os
import subprocess
import tempfile
import warnings

warnings.filterwarnings("ignore", message=".*ipyparallel.*")

import numpy as np  # noqa: E402
import pyarrow.feather as feather  # noqa: E402
from ema_workbench import IntegerParameter, Model, RealParameter, ScalarOutcome, perform_experiments  # noqa: E402
from ema_workbench.em_framework.samplers import LHSSampler  # noqa: E402

CONTROL = "policies.controls.cn_2025_04_rare_earths"
ARGS = argparse.Namespace()


def chokepoint(approval=0.25, validity=180, inspection=0.4):
    """One experiment: the April 2025 regime with these values, seed 1."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "sweep")
        cmd = [
            ARGS.binary, "sweep", ARGS.model, "--seeds", "1", "--jobs", "1", "--quiet", "--out", out,
            "--grid", f"calendar.end={ARGS.until}",
            "--grid", f"{CONTROL}.approval.civil={approval}",
            "--grid", f"{CONTROL}.validity_days={int(validity)}",
            "--grid", f"{CONTROL}.inspection.share={inspection}",
        ]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        row = feather.read_table(os.path.join(out, "summary.arrow")).to_pylist()[0]
    short = row["short__vehicle__world"]
    first_stall = row["days_to_first_stall__vehicle__world"]
    return {
        "vehicles_short": short,
        "first_stall_days": float("nan") if first_stall is None else first_stall,
        "cn_magnet_exports": row["controlled_exports__CN__ndfeb_magnet"],
    }


def rank(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    for pos, i in enumerate(order):
        r[i] = float(pos)
    return r


def spearman(a, b):
    ra, rb = rank(list(a)), rank(list(b))
    n = len(ra)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb) if va and vb else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--experiments", type=int, default=20)
    ap.add_argument("--binary", default="target/release/chokepoint")
    ap.add_argument("--model", default="models/april_2025.ron")
    ap.add_argument("--until", default="2026-06-30")
    ap.add_argument("--sample-seed", type=int, default=1, help="seed of the Latin-hypercube sample (the workbench draws from numpy's global generator)")
    ap.parse_args(namespace=ARGS)
    ARGS.binary = os.path.abspath(ARGS.binary)

    model = Model("chokepoint", function=chokepoint)
    model.uncertainties = [
        RealParameter("approval", 0.05, 0.9),       # civil approval probability
        IntegerParameter("validity", 30, 360),      # licence validity, days
        RealParameter("inspection", 0.0, 0.9),      # share of uncontrolled shipments held
    ]
    model.outcomes = [ScalarOutcome("vehicles_short"), ScalarOutcome("first_stall_days"), ScalarOutcome("cn_magnet_exports")]
    np.random.seed(ARGS.sample_seed)
    experiments, outcomes = perform_experiments(model, scenarios=ARGS.experiments, uncertainty_sampling=LHSSampler())
    n = len(experiments)
    assert n == ARGS.experiments, n
    for i in range(n):
        e = experiments.iloc[i]
        print(f"approval {e['approval']:.6f} validity {int(e['validity']):3d} inspection {e['inspection']:.6f} -> "
              f"vehicles short {outcomes['vehicles_short'][i]:12.0f}, first stall day {outcomes['first_stall_days'][i]}")
    corr = {p: spearman(experiments[p], outcomes["vehicles_short"]) for p in ["approval", "validity", "inspection"]}
    top = max(corr, key=lambda p: abs(corr[p]))
    print(f"ok: {n} experiments; rank correlation with vehicles short: " + ", ".join(f"{p} {c:+.2f}" for p, c in corr.items()) + f"; strongest: {top}")


if __name__ == "__main__":
    main()
