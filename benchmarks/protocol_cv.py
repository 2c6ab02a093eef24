"""The small-set training protocol, chosen by cross-validation on the train split (issue 15).

On a set too small to carve a validation split from, a run fits the whole train split and keeps
the weights of its lowest training loss, so no validation figure exists to choose a default by.
This benchmark makes one: K stratified folds of the labelled examples (`recipes.folds`), each
arm trained by `recipes.train` on K-1 folds with every other setting its default (no carve: it
selects on the training loss, as the real run does) and scored on the fold it never saw. The
archive's test split is not read.

Arms: `plateau` (the learning rate halved when the training loss stalls; early stopping after a
fifth of the epochs without improvement) and `cosine` (warm-up, then cosine decay over the whole
step budget; no early stopping: every run trains its budget and keeps its lowest training loss,
as the published recipes do), both reading every step (`patch=1` where a model has the knob);
`patched`: cosine, with the recurrent models reading a long series in patches (`patch=0`, auto);
`shuffled`: cosine, with the FCN hybrids' LSTM branch reading the dimension-shuffled input of the
paper (`dimension_shuffle=True`: a univariate series is one step of all its values).
Three arms are the model's defaults (cosine; patched where the model patches by default: the
`defaults` column) with one change: `sliced`, each training series cropped by 10% and stretched
back every epoch (`window_slice=0.1`, Le Guennec et al. 2016); `warped`, each training series
multiplied by a smooth random curve (`magnitude_warp=0.2`, Um et al. 2017); `long`, three times
the step budget (`steps=6000`; the published recipes train 1500-2000 epochs, the default budget
is 180-260 here). Comparisons: plateau against cosine, cosine against patched and shuffled, and
the defaults against each of the three. Each arm's seconds come from its own runs, made on
different days with the machine's other core idle or busy: they time an arm, they do not
compare two.

    TF_CPP_MIN_LOG_LEVEL=2 taskset -c 1 .venv/bin/python benchmarks/protocol_cv.py --threads 1
    .venv/bin/python benchmarks/protocol_cv.py --report-only
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

DATASETS = ("ucr:ArrowHead", "ucr:GunPoint")
MODELS = ("lstm", "gru", "cnn_lstm", "fcn")
ARMS = ("plateau", "cosine", "patched", "shuffled", "sliced", "warped", "long")
CHANGES = {"sliced": {"window_slice": 0.1}, "warped": {"magnitude_warp": 0.2}, "long": {"steps": 6000}}
COMPARISONS = (
    ("plateau", "cosine"),
    ("cosine", "patched"),
    ("cosine", "shuffled"),
    *(("defaults", a) for a in CHANGES),
)
RESULTS = common.ROOT / "benchmarks" / "results" / "protocol_cv.jsonl"
REPORT = common.ROOT / "docs" / "benchmarks" / "protocol_cv.md"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    common.output_flags(parser, RESULTS, REPORT)
    return parser.parse_args(argv)


def arm_settings(arm: str, dataset: Any) -> dict[str, Any]:
    """The training settings of `arm`, stated in full so they mean the same whatever the defaults."""
    from recipes import protocol
    from recipes.config import TrainConfig

    if arm != "plateau":
        return {"lr_schedule": "cosine", "patience": 0, **CHANGES.get(arm, {})}
    epochs = protocol.resolve(TrainConfig(), dataset.task, len(dataset.train), 0).epochs
    return {"lr_schedule": "plateau", "patience": max(5, epochs // 5)}


def run(args: argparse.Namespace, argv: list[str]) -> None:
    from recipes.device import import_backend

    import_backend()
    for cell in common.pending_folds(args):
        for arm, i in cell.todo:
            common.log_fold(args, argv, "protocol_cv.py", cell, arm, i, _one(cell.model, cell.sets[i], cell.seed, arm))


def arm_hparams(arm: str, model: str) -> dict[str, Any]:
    """The model knobs `arm` pins: how many steps a recurrent step reads, where the model has the knob
    (and, for `shuffled`, the dimension shuffle of the models that have one)."""
    if arm in CHANGES:
        return {}  # the model's defaults
    pinned = common.every_step(model)
    if arm == "shuffled":
        return {**pinned, "dimension_shuffle": True} if "dimension_shuffle" in pinned else {}
    return {**pinned, "patch": 0} if arm == "patched" and "patch" in pinned else pinned


def _one(model: str, fold: Any, seed: int, arm: str) -> dict[str, Any]:
    """Train `model` on the fold's train split as `arm` says; score it on the held-out fold."""
    import recipes

    settings, hparams = arm_settings(arm, fold), arm_hparams(arm, model)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as runs:
        result = recipes.train(model, fold, hparams=hparams, seed=seed, tracking=False, runs_dir=runs, verbose=0,
                               pictures=False, log_model=False, **settings)  # fmt: skip
    return {"settings": settings, "hparams": hparams, "epochs": result.epochs,
            "accuracy": result.test_metrics["accuracy"], "log_loss": result.test_metrics["log_loss"],
            "seconds": time.perf_counter() - started}  # fmt: skip


def defaults_arm(model: str) -> str:
    """The arm that trained `model` as its defaults do: patched where it patches by default, else cosine."""
    import zoo

    return "patched" if zoo.get_spec(model).config().__dict__.get("patch", 1) == 0 else "cosine"


def _compared(records: list[dict[str, Any]], arms: tuple[str, str]) -> list[tuple[str, str, dict[str, Any], int]]:
    """Per (dataset, model) where both `arms` ran the same folds: each figure's mean per arm
    (`defaults`: the arm `defaults_arm` names for the model)."""
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        cells[(r["dataset"], r["model"], r["arm"])].append(r)
        if "defaults" in arms and r["arm"] == defaults_arm(r["model"]):
            cells[(r["dataset"], r["model"], "defaults")].append(r)
    out = []
    for dataset, model in sorted({(d, m) for d, m, _ in cells}):
        pair = [cells.get((dataset, model, a), []) for a in arms]
        keys = [{(r["seed"], r["fold"]) for r in rows} for rows in pair]
        if all(pair) and keys[0] == keys[1]:
            means = {k: [float(np.mean([r[k] for r in rows])) for rows in pair]
                     for k in ("accuracy", "log_loss", "epochs", "seconds")}  # fmt: skip
            means["difference"] = _paired_difference(*pair)
            out.append((dataset, model, means, len(keys[0])))
    return out


def _paired_difference(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[float]:
    """The mean per-fold accuracy difference second - first and its standard error (the
    one-standard-error bar a search asks of a challenger: `tuning.searching`)."""
    by_fold = {(r["seed"], r["fold"]): r["accuracy"] for r in first}
    diffs = np.array([r["accuracy"] - by_fold[(r["seed"], r["fold"])] for r in second])
    return [float(diffs.mean()), float(diffs.std(ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else 0.0]


def _verdict(compared: list[tuple[str, str, dict[str, Any], int]], arms: tuple[str, str]) -> str:
    """Cells won (accuracy, then log loss), accuracy alone, and the mean accuracy per arm."""
    wins, higher = defaultdict(int), defaultdict(int)
    for *_, means, _n in compared:
        acc, loss = means["accuracy"], means["log_loss"]
        same = round(acc[0], 6) == round(acc[1], 6)
        if same and round(loss[0], 6) == round(loss[1], 6):
            wins["identical"] += 1  # both arms trained the same model (e.g. no patch on a short series)
            continue
        wins[max(range(2), key=lambda i: (acc[i], -loss[i]))] += 1
        higher["equal" if same else arms[int(acc[1] > acc[0])]] += 1
    mean = np.mean([means["accuracy"] for *_, means, _n in compared], axis=0)
    first, second = arms
    identical = f" Identical in {wins['identical']} (the arms trained the same model)." if wins["identical"] else ""
    return (f"Cells each arm won: {first} {wins[0]}, {second} {wins[1]}.{identical} On accuracy alone: {first} "
            f"higher in {higher[first]}, {second} in {higher[second]}, equal in {higher['equal']} (there the log "
            f"loss decided); mean accuracy over the cells {first} {mean[0]:.3f}, {second} {mean[1]:.3f}.")  # fmt: skip


def _table(records: list[dict[str, Any]], arms: tuple[str, str]) -> list[str]:
    first, second = arms
    head = " | ".join(f"{a} {k}" for k in ("accuracy", "log loss", "epochs", "s") for a in arms)
    lines = ["", f"## {first} against {second}", "",
             f"| dataset | model | folds x seeds | {head} | accuracy {second} - {first} (± SE) |",
             "|---|---|---|" + "---:|" * 9]  # fmt: skip
    compared = _compared(records, arms)
    for dataset, model, means, n in compared:
        figures = [f"{v:.3f}" for k in ("accuracy", "log_loss") for v in means[k]]
        figures += [f"{v:.0f}" for k in ("epochs", "seconds") for v in means[k]]
        figures.append("{:+.3f} ± {:.3f}".format(*means["difference"]))
        lines.append(f"| {dataset} | {model} | {n} | {' | '.join(figures)} |")
    return lines + (["", _verdict(compared, arms)] if compared else ["", "No cell has both arms yet."])


def render(records: list[dict[str, Any]]) -> str:
    commands, dates = common.commands_and_dates(records)
    lines = [line.strip() for line in __doc__.split("\n\n    ")[0].splitlines()] + [
        "",
        "Per dataset and model: the mean over every held-out fold (and seed) of the accuracy and the log",
        "loss, and the runs' mean epochs and seconds. An arm wins a cell with the higher mean accuracy,",
        "the lower log loss breaking a tie; only cells where both arms ran every fold are compared.",
        "",
        f"Measured {dates[0]} to {dates[-1]} (UTC)." if dates else "No results yet.",
    ]
    for arms in COMPARISONS:
        lines += _table(records, arms)
    lines += common.commands_section(commands)
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    common.run_and_report(argv, parse, run, lambda args: render(common.read_results(args.results)))


if __name__ == "__main__":
    main()
