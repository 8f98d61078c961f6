"""Exploratory modelling of the April 2025 regime with the EMA Workbench, in-process.

An EMA Workbench model (`ChokepointModel`, a subclass of `ema_workbench.Model`) whose
experiments call `chokepoint.run` in this Python process (no subprocess, no binary): each
experiment runs `models/april_2025.ron` with three licensing parameters changed (`set`) and
returns time series read from the run's tables, month by month from the model's first day
(2025-01-01) to --until:

- `cn_magnet_exports`: China's exports of NdFeB magnets (flows table, exporter CN), tonnes;
- `vehicles_short`: the world's vehicles lost for lack of inputs (groups table, commodity
  vehicle, the sum of `shortfall`), vehicles;
- `TIME`: the month, as a decimal year (2025.0 is January 2025), the workbench's time axis;

and one scalar, `vehicles_short_total`, the run's total of `vehicles_short`. A month cut short
by --until counts its days up to --until.

The civil approval rate applies from the controls (2025-04-04) until the June framework of
2025-06-26, when the model's own event sets it to 0.60 for every buyer.

    python examples/ema_inprocess.py [--n 8] [--until 2025-12-31] [--sample-seed 1] [--out DIR]

Latin-hypercube sample of --n experiments (reproducible: --sample-seed seeds numpy's global
generator, which the workbench's sampler draws from), run one after another (sequential
evaluator). Run folders go to DIR/experiment-<scenario>/ (default: a temporary folder, removed
at the end). Prints one line per experiment, the correlation of the approval rate with the
total vehicles short, and, as its last line, the experiments and outcomes as JSON.
"""
import argparse
import datetime as dt
import json
import os
import tempfile
import time
import warnings

warnings.filterwarnings("ignore", message=".*ipyparallel.*")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from ema_workbench import (  # noqa: E402
    IntegerParameter,
    Model,
    RealParameter,
    Samplers,
    ScalarOutcome,
    SequentialEvaluator,
    TimeSeriesOutcome,
    perform_experiments,
)

import chokepoint  # noqa: E402

CONTROL = "policies.controls.cn_2025_04_rare_earths"
# The workbench's name of each uncertainty, and its path in the model file.
PATHS = {
    "approval": f"{CONTROL}.approval.civil",      # civil approval probability (model: 0.25)
    "validity": f"{CONTROL}.validity_days",       # licence validity, days (model: 180)
    "inspection": f"{CONTROL}.inspection.share",  # share of uncontrolled shipments held (model: 0.4)
}


def month_starts(first, last):
    """The first day of every month from the month of `first` to the month of `last`."""
    months, d = [], first.replace(day=1)
    while d <= last:
        months.append(d)
        d = d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)
    return months


def monthly(frame, value, months):
    """The sum of `value` in each month of `months` (0 where the table has no rows)."""
    sums = frame.group_by(pl.col("date").dt.truncate("1mo").alias("month")).agg(pl.col(value).sum())
    by_month = dict(zip(sums["month"].to_list(), sums[value].to_list()))
    return np.array([float(by_month.get(m, 0.0)) for m in months])


class ChokepointModel(Model):
    """A Chokepoint model file as an EMA Workbench model; each experiment is one in-process
    run (`chokepoint.run`) with the uncertainties' values set at their model paths.

    model_file: the .ron file; until: the last day of every run; out: the folder for the run
    folders (one per experiment, `experiment-<scenario name>`); seed: the runs' seed (default:
    the model's).
    """

    def __init__(self, name, model_file, until, out, paths, seed=None):
        super().__init__(name, function=self.simulate)
        self.model_file = model_file
        self.until = until
        self.out = out
        self.paths = dict(paths)
        self.seed = seed

    def run_model(self, scenario, policy):
        # Each run folder is named after its scenario, which the experiments table lists
        # (column `scenario`): unique within a set of experiments, under any evaluator.
        self._folder = os.path.join(self.out, f"experiment-{scenario.name}")
        super().run_model(scenario, policy)

    def run_experiment(self, experiment):
        # Overridden (Model calls function(**experiment)) to give the run its folder.
        output = self.simulate(self._folder, **experiment)
        return {v: output[v] for v in self.output_variables}

    def simulate(self, folder, **values):
        changes = {self.paths[k]: v for k, v in values.items()}
        run = chokepoint.run(self.model_file, out=folder, seed=self.seed, set=changes, until=self.until,
                             force=True, firm_rows="none")
        with open(os.path.join(run, "manifest.json")) as f:
            manifest = json.load(f)
        months = month_starts(dt.date.fromisoformat(manifest["start"]), dt.date.fromisoformat(manifest["end"]))
        flows = chokepoint.load_run(run, "flows", columns=["date", "exporter", "commodity", "quantity"])
        magnets = flows.filter((pl.col("exporter") == "CN") & (pl.col("commodity") == "ndfeb_magnet"))
        groups = chokepoint.load_run(run, "groups", columns=["date", "commodity", "shortfall"])
        vehicles = groups.filter(pl.col("commodity") == "vehicle")
        short = monthly(vehicles, "shortfall", months)
        return {
            "TIME": np.array([m.year + (m.month - 1) / 12 for m in months]),
            "cn_magnet_exports": monthly(magnets, "quantity", months),
            "vehicles_short": short,
            "vehicles_short_total": float(vehicles["shortfall"].sum()),
        }


def ranks(x):
    """Ranks 0..n-1 (ties broken by position: the sample has no ties)."""
    r = np.empty(len(x))
    r[np.argsort(x, kind="stable")] = np.arange(len(x))
    return r


def correlation(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=8, help="number of experiments (Latin hypercube)")
    ap.add_argument("--until", default="2025-12-31", help="last day of every run")
    ap.add_argument("--sample-seed", type=int, default=1, help="seed of the Latin-hypercube sample")
    ap.add_argument("--seed", type=int, default=None, help="seed of every run (default: the model's)")
    ap.add_argument("--model", default="models/april_2025.ron")
    ap.add_argument("--out", help="folder for the run folders (default: a temporary folder)")
    args = ap.parse_args()

    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory(prefix="chokepoint-ema-")
        out = tmp.name
    else:
        out = os.path.abspath(args.out)
        os.makedirs(out, exist_ok=True)

    model = ChokepointModel("chokepoint", os.path.abspath(args.model), args.until, out, PATHS, seed=args.seed)
    model.uncertainties = [
        RealParameter("approval", 0.05, 0.9),
        IntegerParameter("validity", 30, 360),
        RealParameter("inspection", 0.0, 0.9),
    ]
    model.outcomes = [
        TimeSeriesOutcome("TIME"),
        TimeSeriesOutcome("cn_magnet_exports"),
        TimeSeriesOutcome("vehicles_short"),
        ScalarOutcome("vehicles_short_total"),
    ]

    np.random.seed(args.sample_seed)  # the LHS sampler draws from numpy's global generator
    t0 = time.perf_counter()
    try:
        experiments, outcomes = perform_experiments(model, scenarios=args.n, evaluator=SequentialEvaluator(model),
                                                    uncertainty_sampling=Samplers.LHS)
    finally:
        if tmp is not None:
            tmp.cleanup()
    seconds = time.perf_counter() - t0

    n = len(experiments)
    short_ts = np.asarray(outcomes["vehicles_short"], float)
    magnets_ts = np.asarray(outcomes["cn_magnet_exports"], float)
    total = np.asarray(outcomes["vehicles_short_total"], float)
    approval = experiments["approval"].to_numpy(float)
    months = [f"{int(t)}-{round((t - int(t)) * 12) + 1:02d}" for t in np.asarray(outcomes["TIME"], float)[0]]

    for i in range(n):
        e = experiments.iloc[i]
        print(f"approval {e['approval']:.4f} validity {int(e['validity']):3d} inspection {e['inspection']:.4f} -> "
              f"vehicles short {total[i]:10.0f}, CN magnet exports {magnets_ts[i].sum():8.0f} t")
    pearson = correlation(approval, total)
    spearman = correlation(ranks(approval), ranks(total))
    print(f"{n} experiments in {seconds:.2f} s; time series: cn_magnet_exports {magnets_ts.shape}, "
          f"vehicles_short {short_ts.shape} (months {months[0]} to {months[-1]})")
    print(f"correlation of the approval rate with vehicles short: Pearson {pearson:+.2f}, Spearman {spearman:+.2f}")
    print(json.dumps({
        "experiments": n,
        "parameters": {k: experiments[k].astype(float).tolist() for k in PATHS},
        "scenarios": [str(s) for s in experiments["scenario"]],
        "months": months,
        "shapes": {k: list(np.shape(outcomes[k])) for k in ["TIME", "cn_magnet_exports", "vehicles_short"]},
        "vehicles_short": short_ts.tolist(),
        "cn_magnet_exports": magnets_ts.tolist(),
        "vehicles_short_total": total.tolist(),
        "pearson_approval_short": pearson,
        "spearman_approval_short": spearman,
        "seconds": round(seconds, 3),
    }))


if __name__ == "__main__":
    main()
