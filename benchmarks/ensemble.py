"""Ensembles against their own members: what averaging K trainings of one model buys.

Each cell trains `recipes.train(model, dataset, seed=seed, ensemble=K)`: the model K times with
its defaults, from seeds seed..seed+K-1, their outputs averaged (class probabilities, forecasts).
The ensemble and each member are scored on the test split with the task's metric (accuracy;
forecasting MAE in data units), so every member is a single default run of its seed and the
comparison is paired: the ensemble against its members' mean, and against its best member (which
a user could not pick without the test split). Seconds are the whole ensemble's wall time, one
core per process; the machine's other core ran other work meanwhile, so they are upper bounds.

    TF_CPP_MIN_LOG_LEVEL=2 taskset -c 0 .venv/bin/python benchmarks/ensemble.py --threads 1
    .venv/bin/python benchmarks/ensemble.py --report-only
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, before benchmarks/

import benchmarks.common as common

DATASETS = ("ucr:ItalyPowerDemand", "ucr:GunPoint")
MODELS = ("lstm", "gru")
RESULTS = common.ROOT / "benchmarks" / "results" / "ensemble.jsonl"
REPORT = common.ROOT / "docs" / "benchmarks" / "ensemble.md"
METRIC = {"classification": ("accuracy", "max"), "forecasting": ("mae", "min")}  # task -> (metric, better)
METRIC_WAY = dict(METRIC.values())  # metric -> "max" or "min"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--members", type=int, default=5, help="models per ensemble (K)")
    common.output_flags(parser, RESULTS, REPORT)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, argv: list[str]) -> None:
    from recipes.device import import_backend

    import_backend()
    done = {(r["dataset"], r["model"], r["seed"], r["members"]) for r in common.read_results(args.results)}
    for address in args.datasets:
        for model in args.models:
            for seed in args.seeds:
                if (address, model, seed, args.members) in done:
                    continue
                record = _cell(address, model, seed, args.members)
                record.update(common.provenance(argv, common.cpus_used(), script="ensemble.py", threads=args.threads))
                common.append(args.results, record)
                print(f"{address} {model} seed {seed}: {record['metric']} ensemble {record['ensemble']:.4g}, "
                      f"members {np.mean(record['member_scores']):.4g}", flush=True)  # fmt: skip


def _cell(address: str, model: str, seed: int, members: int) -> dict[str, Any]:
    """Train one ensemble; score it and each of its members on test."""
    import recipes

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as runs:
        result = recipes.train(model, address, seed=seed, ensemble=members, tracking=False, runs_dir=runs,
                               verbose=0, pictures=False, log_model=False)  # fmt: skip
    seconds = time.perf_counter() - started
    metric, _ = METRIC[result.dataset.task]
    scores = [_score(result.model.get_layer(f"member_{i}"), result.dataset, metric) for i in range(members)]
    return {"dataset": address, "model": model, "seed": seed, "members": members, "metric": metric,
            "ensemble": result.test_metrics[metric], "member_scores": scores, "epochs": result.epochs,
            "seconds": seconds}  # fmt: skip


def _score(net: Any, dataset: Any, metric: str) -> float:
    """One member's test score, as the run scores the ensemble (`recipes.tasks`)."""
    from recipes import forecasting
    from recipes.tasks import get_task

    raw = np.asarray(net.predict(dataset.test.x, verbose=0)).astype("float32")
    if dataset.task == "classification":
        truth, pred = dataset.test.y, raw
    else:
        truth, pred = dataset.inverse_targets(dataset.test.y), dataset.inverse_targets(raw)
    return get_task(dataset.task).scores(truth, pred, mase_scale=forecasting.mase_scale_of(dataset))[metric]


def render(records: list[dict[str, Any]]) -> str:
    commands, dates = common.commands_and_dates(records)
    first, *rest = [line.strip() for line in __doc__.split("\n\n    ")[0].splitlines()]
    lines = [f"# {first}", *rest, "", f"Measured {dates[0]} to {dates[-1]} (UTC) on:" if dates else "No results yet."]
    lines += common.machine_lines(records) if records else []
    lines += ["", "| dataset | model | seeds | K | metric | members: mean ± std | best member | ensemble | "
              "ensemble vs mean | s / ensemble |", "|---|---|---|---:|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    better = 0
    for r in sorted(records, key=lambda r: (r["dataset"], r["model"], r["seed"], r["members"])):
        scores, way = r["member_scores"], METRIC_WAY[r["metric"]]
        best = max(scores) if way == "max" else min(scores)
        gain = round(r["ensemble"] - float(np.mean(scores)), 9)  # a tie stays a tie, not a float's last bit
        better += gain > 0 if way == "max" else gain < 0
        lines.append(f"| {r['dataset']} | {r['model']} | {r['seed']}..{r['seed'] + r['members'] - 1} | {r['members']} "
                     f"| {r['metric']} | {np.mean(scores):.4g} ± {np.std(scores, ddof=1):.2g} | {best:.4g} | "
                     f"**{r['ensemble']:.4g}** | {gain:+.4f} | {r['seconds']:.0f} |")  # fmt: skip
    if records:
        lines += ["", f"The ensemble beat its members' mean in {better} of {len(records)} cells."]
    return "\n".join(lines + common.commands_section(commands)) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    common.run_and_report(argv, parse, run, lambda args: render(common.read_results(args.results)))


if __name__ == "__main__":
    main()
