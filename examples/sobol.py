"""Sobol' sensitivity analysis of the April 2025 regime with SALib.

Saltelli's extension of a scrambled Sobol' sequence over three licensing parameters of
`models/april_2025.ron` (civil approval rate, licence validity, inspection share), written as a
points file (a CSV file whose header row is the parameters' model paths) and run in-process as
one `chokepoint.sweep` (one seed, common random numbers: every point sees the same demand
draws). The sweep's summary (one row per point) gives the outcome, the world's vehicles lost
for lack of inputs (`short__vehicle__world`), ordered by `point` (the row of the points file);
`SALib.analyze.sobol` gives first-order (S1) and total (ST) indices with 95% confidence
intervals.

    python examples/sobol.py [--n 8] [--until 2025-09-30] [--out DIR] [--seed 1] [--jobs J]

With --n N and D = 3 parameters the sweep has N * (2D + 2) = 8N runs (second-order indices
are computed too). --out DIR keeps DIR/points.csv and the sweep folder DIR/sweep (default: a
temporary folder, removed at the end). The last line printed is JSON (the indices, the number
of runs and the timings) for scripts and tests to read.
"""
import argparse
import csv
import json
import math
import os
import tempfile
import time

import numpy as np
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample

import chokepoint

MODEL = "models/april_2025.ron"
CONTROL = "policies.controls.cn_2025_04_rare_earths"

# name, model path, lower and upper bounds, whether the model takes whole numbers.
PARAMETERS = [
    ("approval", f"{CONTROL}.approval.civil", 0.05, 0.9, False),    # civil approval probability
    ("phase_in", f"{CONTROL}.phase_in_days", 20, 50, True),         # days customs take to apply the controls
    ("inspection", f"{CONTROL}.inspection.share", 0.0, 0.9, False),  # share of uncontrolled shipments held
]


def model_value(x, whole):
    """A sampled value as the points file gives it to the model."""
    return int(round(x)) if whole else float(x)


def finite(xs):
    """A list of floats for JSON: None where not finite (JSON has no NaN)."""
    return [float(x) if math.isfinite(x) else None for x in np.asarray(xs, dtype=float).ravel()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=8, help="base sample size N (a power of 2); the sweep has N*(2D+2) runs")
    ap.add_argument("--until", default="2025-09-30", help="last day of every run")
    ap.add_argument("--out", help="folder for points.csv and the sweep (default: a temporary folder)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the scrambled Sobol' sequence and of the bootstrap of the confidence intervals")
    ap.add_argument("--jobs", type=int, default=None, help="runs at once (default: one per core)")
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--outcome", default="short__vehicle__world", help="summary column to analyse")
    args = ap.parse_args()

    problem = {
        "num_vars": len(PARAMETERS),
        "names": [p[0] for p in PARAMETERS],
        "bounds": [[p[2], p[3]] for p in PARAMETERS],
    }
    X = sobol_sample.sample(problem, args.n, calc_second_order=True, seed=args.seed)
    expected = args.n * (2 * problem["num_vars"] + 2)
    assert X.shape == (expected, problem["num_vars"]), X.shape

    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory(prefix="chokepoint-sobol-")
        work = tmp.name
    else:
        work = args.out
        os.makedirs(work, exist_ok=True)
    points = os.path.join(work, "points.csv")
    sweep_dir = os.path.join(work, "sweep")
    try:
        # The points file: a header row of model paths, one row per sample.
        with open(points, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([p[1] for p in PARAMETERS])
            for row in X:
                w.writerow([repr(model_value(x, p[4])) for x, p in zip(row, PARAMETERS)])

        t0 = time.perf_counter()
        chokepoint.sweep([args.model], seeds=None, points=points, until=args.until, keep="none",
                         out=sweep_dir, force=True, jobs=args.jobs)
        seconds = time.perf_counter() - t0

        summary = chokepoint.load_summary(sweep_dir).sort("point")
        got = summary["point"].to_list()
        assert got == list(range(expected)), f"summary points {got[:5]}... != 0..{expected - 1}"
        Y = summary[args.outcome].to_numpy().astype(float)
        # The sweep ran the values the points file gave it.
        col = PARAMETERS[0][1].replace(".", "_")
        assert np.allclose(summary[col].to_numpy(), X[:, 0]), "the summary's approval rates differ from the sample"

        Si = sobol_analyze.analyze(problem, Y, calc_second_order=True, conf_level=0.95, seed=args.seed)
    finally:
        if tmp is not None:
            tmp.cleanup()

    print(f"{expected} runs ({args.n} x (2*{problem['num_vars']}+2)) of {args.model} to {args.until} in {seconds:.2f} s")
    print(f"{args.outcome}: mean {Y.mean():.0f}, min {Y.min():.0f}, max {Y.max():.0f}")
    print(f"{'parameter':<12}{'S1':>9}{'95% CI':>10}{'ST':>9}{'95% CI':>10}")
    for i, name in enumerate(problem["names"]):
        print(f"{name:<12}{Si['S1'][i]:>9.3f}{Si['S1_conf'][i]:>10.3f}{Si['ST'][i]:>9.3f}{Si['ST_conf'][i]:>10.3f}")
    names = problem["names"]
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            print(f"S2 {names[i]} x {names[j]}: {Si['S2'][i, j]:.3f} (95% CI +/- {Si['S2_conf'][i, j]:.3f})")
    print(json.dumps({
        "runs": expected,
        "summary_rows": summary.height,
        "n": args.n,
        "parameters": names,
        "outcome": args.outcome,
        "S1": finite(Si["S1"]),
        "S1_conf": finite(Si["S1_conf"]),
        "ST": finite(Si["ST"]),
        "ST_conf": finite(Si["ST_conf"]),
        "outcome_mean": float(Y.mean()),
        "outcome_min": float(Y.min()),
        "outcome_max": float(Y.max()),
        "seconds": round(seconds, 3),
    }))


if __name__ == "__main__":
    main()
