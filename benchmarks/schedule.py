"""Learning-rate schedule benchmark (issue 15): `plateau` (the default) against `cosine`
(warm-up, then cosine decay over the step budget), chosen on validation.

Every run keeps a validation split (`select_on val`: the carved 20% on the small UCR sets,
where the default protocol would otherwise fit train + val) so the two schedules are compared
on data the test split never touches; the test accuracy is reported once, beside. Everything
else is the default training config.

    TF_CPP_MIN_LOG_LEVEL=2 taskset -c 1 .venv/bin/python benchmarks/schedule.py --threads 1
    .venv/bin/python benchmarks/schedule.py --report-only
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, before benchmarks/

import benchmarks.common as common

DATASETS = ("ucr:ItalyPowerDemand", "ucr:JapaneseVowels", "ucr:GunPoint")
MODELS = ("fcn", "lstm_fcn", "gru")
SCHEDULES = ("plateau", "cosine")
RESULTS = common.ROOT / "benchmarks" / "results" / "schedule.jsonl"
REPORT = common.ROOT / "docs" / "benchmarks" / "schedule.md"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    common.output_flags(parser, RESULTS, REPORT)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, argv: list[str]) -> None:
    import recipes
    from recipes.device import import_backend

    import_backend()
    cpus = common.cpus_used()
    done = {(r["dataset"], r["model"], r["seed"], r["schedule"]) for r in common.read_results(args.results)}
    for address in args.datasets:
        for seed in args.seeds:
            for model in args.models:
                for schedule in SCHEDULES:
                    if (address, model, seed, schedule) in done:
                        continue
                    started = time.perf_counter()
                    with tempfile.TemporaryDirectory() as runs:
                        result = recipes.train(model, address, seed=seed, lr_schedule=schedule, select_on="val",
                                               tracking=False, runs_dir=runs, verbose=0, pictures=False)  # fmt: skip
                    val = result.history["val_loss"]
                    best = int(np.nanargmin(val))
                    record = {"dataset": address, "model": model, "seed": seed, "schedule": schedule,
                              "val_loss": float(val[best]), "val_accuracy": float(result.history["val_accuracy"][best]),
                              "test_accuracy": result.test_metrics["accuracy"], "epochs": result.epochs,
                              "seconds": time.perf_counter() - started}  # fmt: skip
                    common.append(
                        args.results, record | common.provenance(argv, cpus, script="schedule.py", threads=args.threads)
                    )
                    print(f"{address} {model} seed {seed} {schedule}: val_loss {record['val_loss']:.4f}", flush=True)


def render(records: list[dict[str, Any]]) -> str:
    commands, dates = common.commands_and_dates(records)
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        cells[(r["dataset"], r["model"], r["schedule"])].append(r)
    lines = [line.strip() for line in __doc__.split("\n\n")[0].splitlines()] + [
        "",
        "Per dataset and model, the mean over the seeds run of the best validation loss, the validation",
        "accuracy at that epoch, and the test accuracy of the weights kept. The schedule with the lower",
        "validation loss in more cells is the better default; the test column is for the record only.",
        "",
        f"Measured {dates[0]} to {dates[-1]} (UTC)." if dates else "No results yet.",
        "",
        "| dataset | model | seeds | plateau val loss | cosine val loss | plateau val acc | cosine val acc "
        "| plateau test acc | cosine test acc | plateau s | cosine s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    wins = defaultdict(int)
    for dataset, model in sorted({(d, m) for d, m, _ in cells}):
        pair = [cells.get((dataset, model, s), []) for s in SCHEDULES]
        if not all(pair):
            continue
        means = {k: [np.mean([r[k] for r in rows]) for rows in pair]
                 for k in ("val_loss", "val_accuracy", "test_accuracy", "seconds")}  # fmt: skip
        wins[SCHEDULES[int(np.argmin(means["val_loss"]))]] += 1
        seeds = ",".join(str(r["seed"]) for r in sorted(pair[0], key=lambda r: r["seed"]))
        figures = [f"{v:.4f}" for v in means["val_loss"]] + [f"{v:.3f}" for k in ("val_accuracy", "test_accuracy")
                                                               for v in means[k]]  # fmt: skip
        figures += [f"{v:.0f}" for v in means["seconds"]]
        lines.append(f"| {dataset} | {model} | {seeds} | {' | '.join(figures)} |")
    if wins:
        verdict = ", ".join(f"{s} {wins[s]}" for s in SCHEDULES)
        total, leader = sum(wins.values()), max(SCHEDULES, key=lambda s: wins[s])
        clear = wins[leader] * 3 >= total * 2  # the default changes only on a clear win: two thirds of the cells
        default, other = SCHEDULES
        outcome = (f"{leader} wins clearly on validation." if clear else
                   f"No clear winner on validation: {default} stays the default and {other} is an option.")  # fmt: skip
        lines += ["", f"Cells where each schedule had the lower mean validation loss: {verdict}. {outcome}"]
    lines += common.commands_section(commands)
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    common.run_and_report(argv, parse, run, lambda args: render(common.read_results(args.results)))


if __name__ == "__main__":
    main()
