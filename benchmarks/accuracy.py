"""Accuracy benchmark: every zoo model with its default config and the default training config.

Each (model, dataset, seed) cell trains `recipes.train(model, dataset, seed=seed, verbose=0)`
and appends one JSON line (test metrics, epochs, seconds, machine) to the results file as soon
as it finishes, so the benchmark runs in pieces and can be killed at any time: a second run
skips the cells already there. Cheap baselines (`recipes.baselines`, and Holt-Winters for the
forecasts) are computed on the same test splits (once per dataset: they are fitted on train+val,
the whole archive train split, which no seed changes).
The report `docs/benchmarks/accuracy.md` is rendered from the results file alone.

Run (one core, in the background; see the report for the commands actually used):

    TF_CPP_MIN_LOG_LEVEL=2 taskset -c 1 .venv/bin/python benchmarks/accuracy.py --threads 1
    .venv/bin/python benchmarks/accuracy.py --report-only
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import logging
import math
import os
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, before benchmarks/

import benchmarks.common as common

if TYPE_CHECKING:
    from recipes.baselines import BaselineResult

DATASETS = common.ACCURACY_DATASETS
SEEDS = (0, 1, 2)
RESULTS = common.ROOT / "benchmarks" / "results" / "accuracy.jsonl"
REPORT = common.ROOT / "docs" / "benchmarks" / "accuracy.md"
WORK_DIR = Path(os.environ.get("ZOO_BENCH_DIR", "/tmp/zoo-bench"))
EXPERIMENT = "accuracy-benchmark"
BN_MODELS = ("alstm_fcn", "cnn_lstm", "fcn", "lstm_fcn")  # zoo models with BatchNormalization layers
BN_SAMPLE = 2048  # train examples in the batch-norm diagnostic's statistics pass

BASELINE_NOTES = {
    "majority": "most frequent train+val class; predicts the train+val class frequencies",
    "1nn_euclidean": "1-NN, Euclidean distance on the dataset's arrays, fitted on train+val",
    "naive": "last input value repeated over the horizon",
    "seasonal_naive": "value one season earlier (season from the dataset info)",
    "season_trend": "value one season earlier plus the last season's change (SARIMA(0,1,0)(0,1,0))",
    "holt_winters": "statsmodels ExponentialSmoothing refitted per test window on all points before it",
    "ets": "statsmodels ExponentialSmoothing refitted per test window on all points before it",
    "sarima": "statsmodels SARIMAX (0,1,1)(0,1,1)s, fitted on the points before the test segment",
    "tfidf_logreg": "TF-IDF (word 1-2-grams) + logistic regression on the raw text, fitted on train+val",
}
log = logging.getLogger("benchmarks.accuracy")


# ---------------------------------------------------------------------------------------------
# Results file (read and appended with benchmarks.common)


def cell_key(record: dict[str, Any]) -> tuple[str, str, str, Any]:
    """What identifies a cell: kind ("model" or "baseline"), name, dataset, seed."""
    return (record["kind"], record["name"], record["dataset"], record.get("seed"))


# ---------------------------------------------------------------------------------------------
# Baselines
#
# `recipes.baselines.compute` scores the baselines the zoo logs beside its runs, on the same
# splits and with the same test metrics as a zoo run: majority and 1-NN Euclidean (series),
# majority and TF-IDF + logistic regression (text), naive, seasonal-naive, Holt-Winters (`ets`;
# recorded as `holt_winters` by this benchmark before it moved to recipes) and SARIMA (forecasting).

# The report's "fitted on" column: recipes.baselines says "train+val" of every baseline, but the
# forecast baselines read only the inputs of the window they forecast.
FITTED_ON = {
    "naive": "test window inputs",
    "seasonal_naive": "test window inputs",
    "season_trend": "test window inputs",
    "holt_winters": "all points before each test window",
    "ets": "all points before each test window",
    "sarima": "the points before the test segment",
}


def baselines(dataset: Any) -> list[BaselineResult]:
    """The baselines of the dataset's task and input kind, each scored on its test split."""
    from recipes.baselines import compute

    results = compute(dataset)
    return [dataclasses.replace(r, fitted_on=FITTED_ON.get(r.name, r.fitted_on)) for r in results]


# ---------------------------------------------------------------------------------------------
# Diagnostic: batch-norm statistics


def _batch_norms(layer: Any) -> list[Any]:
    """The BatchNormalization layers of `layer` and of every model nested in it."""
    import keras

    if isinstance(layer, keras.layers.BatchNormalization):
        return [layer]
    return [bn for sub in getattr(layer, "layers", []) for bn in _batch_norms(sub)]


def bn_recalibrated_metrics(model: Any, dataset: Any) -> dict[str, float] | None:
    """Test metrics after recomputing the batch-norm moving statistics on the train split.

    BatchNormalization keeps moving averages (momentum 0.9 in the zoo's conv blocks, 0.99 by
    Keras' default); a tiny train set gives few steps an epoch, so after an early-stopped run the
    averages can still be far from the data's statistics and inference-mode predictions collapse.
    This diagnostic (not a result of the default recipe) sets each BN layer's averages to the
    statistics of one forward pass (momentum 0, training mode) over the train split (a seeded sample of `BN_SAMPLE` when
    larger), then predicts the test split as the recipe does. Only the BN statistics change;
    the weights are the trained ones. None without BN layers.
    """
    import keras

    from recipes.tasks import get_task

    layers = _batch_norms(model)
    if not layers:
        return None
    for bn in layers:
        bn.momentum = 0.0
    x = dataset.train.x
    if len(x) > BN_SAMPLE:  # one pass over a seeded sample keeps big sets (text) cheap
        x = x[np.sort(np.random.default_rng(0).choice(len(x), BN_SAMPLE, replace=False))]
    model(keras.ops.convert_to_tensor(x), training=True)
    raw = np.asarray(model.predict(dataset.test.x, batch_size=256, verbose=0), dtype=np.float32)
    if dataset.task == "classification":
        return get_task(dataset.task).scores(dataset.test.y, raw)
    return get_task(dataset.task).scores(dataset.inverse_targets(dataset.test.y), dataset.inverse_targets(raw))


# ---------------------------------------------------------------------------------------------
# Running


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    """Run every missing cell in order seed -> dataset -> (baselines, then models)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    common.configure_threads(args.threads)  # before TensorFlow's first op: its pools are fixed then
    import keras

    import recipes
    from recipes.data import load

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    tracking_uri = f"sqlite:///{WORK_DIR / 'mlflow.db'}"
    runs_dir = WORK_DIR / "runs"
    host = common.machine()
    command = common.command_line(argv, host["cpus_used"], script="accuracy.py")
    done = {cell_key(r) for r in common.read_results(args.results)}
    if args.retry_errors:
        done = {cell_key(r) for r in common.read_results(args.results) if "error" not in r}
    started = time.monotonic()
    deadline = started + args.budget_minutes * 60 if args.budget_minutes else math.inf

    def base(kind: str, name: str, address: str, seed: int | None) -> dict[str, Any]:
        return {
            "kind": kind,
            "name": name,
            "dataset": address,
            "seed": seed,
            "date": common.now(),
            "machine": host,
            "threads": args.threads,
            "command": command,
        }

    for seed in args.seeds:
        for address in args.datasets:
            todo = [] if args.baselines_only else [m for m in args.models if ("model", m, address, seed) not in done]
            wants_baselines = not any(k[0] == "baseline" and k[2] == address for k in done)
            if not todo and not wants_baselines:
                continue
            if time.monotonic() > deadline:
                log.info("time budget spent: not starting %s seed %d", address, seed)
                return
            dataset = load(address, seed=seed)
            if wants_baselines:
                try:
                    results = baselines(dataset)
                except Exception as err:  # a broken baseline must not stop the models
                    log.exception("baselines of %s failed", address)
                    results = []
                    common.append(args.results, {**base("baseline", "all", address, None), "error": repr(err)})
                for result in results:
                    record = {**base("baseline", result.name, address, None), "fitted_on": result.fitted_on,
                              "metrics": result.metrics, "seconds": round(result.seconds, 3)}  # fmt: skip
                    common.append(args.results, record)
                    done.add(cell_key(record))
                    log.info("%s baseline %s: %s", address, result.name, _short(result.metrics))
            for name in todo:
                if time.monotonic() > deadline:
                    log.info("time budget spent: not starting %s on %s seed %d", name, address, seed)
                    return
                record = base("model", name, address, seed)
                clock = time.perf_counter()
                try:
                    result = recipes.train(
                        name,
                        dataset,
                        tracking=True,
                        tracking_uri=tracking_uri,
                        experiment=EXPERIMENT,
                        runs_dir=runs_dir,
                        verbose=0,
                        seed=seed,
                    )
                except Exception as err:
                    log.exception("%s on %s seed %d failed", name, address, seed)
                    record.update({"error": f"{type(err).__name__}: {err}"[:2000]})
                else:
                    record.update(
                        {
                            "metrics": result.test_metrics,
                            "epochs": result.epochs,
                            "seconds": round(result.seconds, 3),
                            "resumed_from": result.resumed_from,
                            "run_id": result.run_id,
                            "params": int(result.model.count_params()),
                        }
                    )
                    try:
                        recalibrated = bn_recalibrated_metrics(result.model, dataset)
                    except Exception as err:  # a diagnostic must not lose the cell
                        log.warning("BN diagnostic of %s on %s failed: %s", name, address, err)
                        recalibrated = None
                    if recalibrated is not None:
                        record["metrics_bn_recalibrated"] = recalibrated
                    del result
                record["wall_seconds"] = round(time.perf_counter() - clock, 3)
                common.append(args.results, record)
                done.add(cell_key(record))
                log.info(
                    "%s on %s seed %d: %s (%s epochs, %.1f s)",
                    name,
                    address,
                    seed,
                    _short(record.get("metrics", {})) or record.get("error"),
                    record.get("epochs"),
                    record["wall_seconds"],
                )
                keras.backend.clear_session()
                gc.collect()
            del dataset
            gc.collect()


def _short(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())


# ---------------------------------------------------------------------------------------------
# Report


def _mean_std(values: Sequence[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def _digits(metric: str) -> int:
    return 3 if metric in ("accuracy", "macro_f1") else 2


def _better(metric: str) -> Callable[[Iterable[float]], float]:
    return max if metric in ("accuracy", "macro_f1") else min


def render(records: list[dict[str, Any]], datasets: Sequence[str], models: Sequence[str], seeds: Sequence[int]) -> str:
    """The markdown report of `records` (model cells and baselines) over the requested grid."""
    cells = [r for r in records if r["kind"] == "model" and "error" not in r]
    errors = [r for r in records if "error" in r]
    base = [r for r in records if r["kind"] == "baseline" and "error" not in r]
    machines = {json.dumps(r["machine"], sort_keys=True) for r in records if r["kind"] == "model"}
    commands, dates = common.commands_and_dates(records)
    lines = [
        "# Accuracy benchmark",
        "",
        "Every zoo model with its **default hyperparameters** and the **default training config**",
        "(`recipes.config.TrainConfig`: Adam, learning rate 1e-3, batch 32, at most 100 epochs, early",
        "stopping on validation loss with patience 20 and the best weights restored), one run per",
        "(model, dataset, seed): `recipes.train(model, dataset, seed=seed)`. Test metrics are computed",
        "once, on the test split, by `recipes.metrics` (forecasts in the data's own units). Written by",
        "`benchmarks/accuracy.py` from `benchmarks/results/accuracy.jsonl` (one line per finished cell).",
        "",
        "**These cells predate the current default protocol** (batch and step budget from the data's",
        "size, selection on the training loss on small sets, learning-rate schedule): GunPoint and",
        "ItalyPowerDemand under it, beside these figures, are in docs/benchmarks/protocol.md.",
        "",
        "## Machine and commands",
        "",
    ]
    for text in sorted(machines):
        m = json.loads(text)
        used = m.get("cpus_used")
        lines.append(
            f"- {m['cpu']}, {m['cores']} cores ({len(used) if used else m['cores']} used, TensorFlow pools "
            f"of {_threads(records, m)} thread(s)), {m['ram_gb']} GiB RAM, {m.get('gpus', 0)} GPU; "
            f"{m['platform']}, Python {m['python']}, TensorFlow {m.get('tensorflow')}, Keras {m.get('keras')}."
        )
    if dates:
        lines.append(f"- Measured {dates[0][:16].replace('T', ' ')} to {dates[-1][:16].replace('T', ' ')} UTC.")
    lines += ["- Commands run (from the results file), in order:", "", "```bash"]
    lines += commands or ["(none yet)"]
    lines += ["```", ""]
    scratch = [c for c in commands if " --results " in c]
    if scratch:
        lines += [
            f"{len(scratch)} command(s) above wrote to another results file (a first cost probe); their cells",
            "were copied into this file unchanged.",
            "",
        ]
    lines += [
        "Seconds per run are `TrainResult.seconds`: model build, `fit` and test prediction in the",
        "training process. Not counted: MLflow logging before and after training and the batch-norm",
        f"diagnostic (together a mean of {_overhead(cells)} s of wall time per run), nor loading the data",
        "(once per dataset and seed). MLflow runs went to a SQLite store outside the repository",
        f"(experiment `{EXPERIMENT}`).",
        "",
        "## Protocol, and how it differs from the published figures",
        "",
        "- **Validation is carved from train** (20%, stratified, seeded by the run's seed) and used for",
        "  early stopping; the UCR train sets are tiny (GunPoint 50, ItalyPowerDemand 67, ArrowHead",
        "  36, BasicMotions 40 series), so the models train on 80% of what the published runs",
        "  used. Published results train on the full train split for 1500-2000 epochs (FCN/ResNet in",
        "  Fawaz et al. 2019; LSTM-FCN in Karim et al. 2018, whose figures are the test accuracy of",
        "  the epoch with the lowest *training* loss) with their own tuned settings; ours stop at",
        "  100 epochs or earlier. The published numbers are quoted beside ours, not reproduced:",
        "  ResNet and InceptionTime are not zoo models.",
        "- **Seeds** change the weights, the shuffling and the validation carve; the test split is",
        "  the archive's (UCR), the last 15% of the series (forecasting) or a fixed stratified 20%",
        "  (Rotten Tomatoes), the same for every seed.",
        "- **Baselines** are deterministic and fitted on train+val (the whole train split), so they",
        "  are computed once per dataset. 1-NN uses the dataset's arrays: per-channel standardised",
        "  with train statistics; JapaneseVowels (variable length, 7-29 steps) is zero-padded on the",
        "  right to 29 steps after scaling, and the padded vectors are compared. Forecast baselines",
        "  predict exactly the test windows the models predict (same origins, same horizon), in data",
        "  units: naive repeats the window's last input value; seasonal-naive takes the value one",
        "  season earlier (season from the dataset info: 12 months for airline, 11 years for",
        "  sunspots); Holt-Winters (statsmodels `ExponentialSmoothing`, damped additive trend,",
        "  multiplicative seasonality for a positive series, else additive) is refitted for each test",
        "  window on all points before its first target. The text baseline is TF-IDF (word 1-2-grams,",
        "  min_df 2, sublinear tf) + scikit-learn logistic regression (C=1) on the raw snippets from",
        "  the dataset's own TFDS build (its train split is train+val; labels checked against the",
        "  dataset's test split).",
        "- **mean ± std** is over the seeds actually run (`n`), sample std; a single run shows its value.",
        "",
    ]
    lines += _early_stop_note(cells)
    lines += _summary(cells, base, datasets)
    lines += _bn_note(cells)
    for address in datasets:
        lines += _dataset_section(address, cells, base, models, seeds)
    if errors:
        lines += ["## Failed cells", ""]
        for r in errors:
            seed = "" if r.get("seed") is None else f" seed {r['seed']}"
            lines.append(f"- {r['name']} on {r['dataset']}{seed}: `{r['error'][:300]}`")
        lines.append("")
    lines += ["## Sources", ""]
    lines += [f"- {key}: {text}." for key, text in common.SOURCES.items()]
    return "\n".join(lines).rstrip() + "\n"


def _overhead(cells: list[dict[str, Any]]) -> str:
    """Mean wall seconds of a cell beyond `TrainResult.seconds`."""
    extra = [r["wall_seconds"] - r["seconds"] for r in cells if "wall_seconds" in r]
    return f"{np.mean(extra):.1f}" if extra else "n/a"


def _threads(records: list[dict[str, Any]], m: dict[str, Any]) -> str:
    values = sorted({r.get("threads", 0) for r in records if r["machine"] == m})
    return "/".join("default" if t == 0 else str(t) for t in values)


def _groups(cells: list[dict[str, Any]], address: str) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in cells:
        if r["dataset"] == address:
            groups.setdefault(r["name"], []).append(r)
    return groups


def _primary(address: str, records: list[dict[str, Any]]) -> str:
    sample = next((r for r in records if r["dataset"] == address), None)
    if sample is None:
        return "mae" if address.startswith("forecast:") else "accuracy"
    return "accuracy" if "accuracy" in sample["metrics"] else "mae"


def _summary(cells: list[dict[str, Any]], base: list[dict[str, Any]], datasets: Sequence[str]) -> list[str]:
    lines = [
        "## Summary",
        "",
        "Best zoo model by mean test metric (over its seeds), best baseline, best published figure",
        "(accuracy: higher is better; MAE: lower is better).",
        "",
        "| dataset | metric | best zoo model | best baseline | best published | best BN model, stats recomputed † |",
        "|---|---|---|---|---|---|",
    ]
    for address in datasets:
        metric = _primary(address, cells + base)
        best = _better(metric)
        digits = _digits(metric)
        groups = _groups(cells, address)
        zoo_cell = "not run"
        if groups:
            name = best(groups, key=lambda n: np.mean([r["metrics"][metric] for r in groups[n]]))
            values = [r["metrics"][metric] for r in groups[name]]
            zoo_cell = f"{name} {_mean_std(values, digits)} (n={len(values)})"
        bases = [r for r in base if r["dataset"] == address]
        base_cell = "not run"
        if bases:
            top = best(bases, key=lambda r: r["metrics"][metric])
            base_cell = f"{top['name']} {top['metrics'][metric]:.{digits}f}"
        published = common.PUBLISHED.get(address)
        pub_cell = "—"
        if published:
            value = max(v for _, v, _ in published)
            pub_cell = f"{value:.3f} ({', '.join(n for n, v, _ in published if v == value)})"
        fixed = {
            n: [r["metrics_bn_recalibrated"][metric] for r in g if "metrics_bn_recalibrated" in r]
            for n, g in groups.items()
        }
        fixed = {n: v for n, v in fixed.items() if v}
        fixed_cell = "—"
        if fixed:
            name = best(fixed, key=lambda n: np.mean(fixed[n]))
            fixed_cell = f"{name} {_mean_std(fixed[name], digits)} (n={len(fixed[name])})"
        lines.append(f"| {address} | {metric} | {zoo_cell} | {base_cell} | {pub_cell} | {fixed_cell} |")
    return [*lines, ""]


def _early_stop_note(cells: list[dict[str, Any]]) -> list[str]:
    """How early the UCR runs stopped, measured from their epoch counts."""
    ucr = [r for r in cells if r["dataset"].startswith("ucr:")]
    if not ucr:
        return []
    patience = 20  # the default TrainConfig.patience the benchmark runs with
    early = [r for r in ucr if r["epochs"] <= patience + 2]
    text = (
        "**Few optimizer steps.** With batch 32 the UCR train splits give 1 (ArrowHead 29 series, "
        "BasicMotions 32), 2 (GunPoint 40, ItalyPowerDemand 54) or 7 (JapaneseVowels 216) steps an "
        "epoch, so patience 20 means 20 to 140 gradient steps without a validation improvement, judged "
        "on 7-54 validation series. "
        f"{len(early)} of the {len(ucr)} UCR runs here stopped after at most {patience + 2} epochs, that "
        "is with their best validation loss in epoch 1 or 2, and report (close to) the untrained model."
    )
    return [*textwrap.wrap(text, width=96), ""]


def _recalibrated(rows: list[dict[str, Any]], metric: str, bn_models: set[str]) -> str:
    """The BN diagnostic's mean ± std over the runs that have it; "no BN" for models without BN.

    A model counts as having BN when any of its runs recorded the diagnostic (runs from before
    the diagnostic existed show "—").
    """
    values = [r["metrics_bn_recalibrated"][metric] for r in rows if "metrics_bn_recalibrated" in r]
    if not values:
        return "—" if rows[0]["name"] in bn_models | set(BN_MODELS) else "no BN"
    return f"{_mean_std(values, _digits(metric))} (n={len(values)})"


def _bn_note(cells: list[dict[str, Any]]) -> list[str]:
    """A measured summary of the batch-norm diagnostic over the classification cells that have it."""
    pairs = [
        (r["metrics"]["accuracy"], r["metrics_bn_recalibrated"]["accuracy"])
        for r in cells
        if "metrics_bn_recalibrated" in r and "accuracy" in r["metrics"]
    ]
    lines = [
        "† **Batch-norm diagnostic** (not part of the recipe): `fcn`, `lstm_fcn`, `alstm_fcn` and",
        "`cnn_lstm` use Keras `BatchNormalization`. A UCR train split of 30-50 series is one or two",
        "batches an epoch, so with Keras' default moving-average momentum (0.99) the averages were",
        "still near their initial values when early stopping ended a run, and inference-mode",
        "predictions collapsed to one class (lstm_fcn on GunPoint: 0.493). The zoo's conv blocks now",
        "use momentum 0.9, and every BN-model cell below was re-run with it (cells run before the change",
        "were discarded). After each run the benchmark also sets the BN layers' moving statistics to",
        "those of one training-mode pass over the train split (weights unchanged) and scores the test",
        "split again: the † column, which shows what stale statistics still cost.",
    ]
    if pairs:
        trained, fixed = np.array(pairs).T
        text = (
            f"Over the {len(pairs)} classification runs with BN in the results: mean test accuracy "
            f"{trained.mean():.3f} as trained, {fixed.mean():.3f} with the statistics recomputed; the recomputed "
            f"accuracy is higher in {int((fixed > trained + 1e-9).sum())} of them and lower in "
            f'{int((fixed < trained - 1e-9).sum())}. A "—" in the † column marks runs made before the diagnostic '
            "was added to the benchmark."
        )
        lines += textwrap.wrap(text, width=96)
    return [*lines, ""]


def _dataset_section(
    address: str,
    cells: list[dict[str, Any]],
    base: list[dict[str, Any]],
    models: Sequence[str],
    seeds: Sequence[int],
) -> list[str]:
    from recipes.tasks import TASKS

    reported = TASKS["forecasting" if _primary(address, cells + base) == "mae" else "classification"].reported
    # The metrics every record of the dataset has (MASE came later than this benchmark's first cells).
    scored = [r for r in cells + base if r["dataset"] == address and "metrics" in r]
    metric_names = [m for m in reported if all(m in r["metrics"] for r in scored)]
    groups = _groups(cells, address)
    bn_models = {r["name"] for r in cells if "metrics_bn_recalibrated" in r}
    lines = [f"## {address}", ""]
    sample = next((r for r in cells + base if r["dataset"] == address), None)
    if sample is None:
        return [*lines, "Not run: the time budget ran out before this dataset was reached.", ""]
    unit = " (data units)" if "mae" in metric_names else ""
    labels = {"mae": f"mae{unit}", "rmse": f"rmse{unit}", "smape": "smape (%)"}
    header = " | ".join(labels.get(m, m) for m in metric_names)
    primary = metric_names[0]
    lines += [
        f"| model | {header} | n | seeds | mean epochs | mean s / run | {primary}, BN statistics recomputed † |",
        "|---|" + "---|" * (len(metric_names) + 5),
    ]
    missing = []
    order = sorted(
        groups,
        key=lambda n: (
            np.mean([r["metrics"][metric_names[0]] for r in groups[n]]) * (-1 if metric_names[0] != "mae" else 1)
        ),
    )
    for name in order:
        rows = groups[name]
        stats = " | ".join(_mean_std([r["metrics"][m] for r in rows], _digits(m)) for m in metric_names)
        run_seeds = ",".join(str(r["seed"]) for r in sorted(rows, key=lambda r: r["seed"]))
        lines.append(
            f"| {name} | {stats} | {len(rows)} | {run_seeds} | {np.mean([r['epochs'] for r in rows]):.0f} | "
            f"{np.mean([r['seconds'] for r in rows]):.1f} | {_recalibrated(rows, primary, bn_models)} |"
        )
    for name in models:
        if name not in groups:
            missing.append(name)
            lines.append(f"| {name} | " + " | ".join("not run" for _ in metric_names) + " | 0 | — | — | — | — |")
    partial = [n for n in groups if len(groups[n]) < len(seeds)]
    notes = []
    if missing:
        notes.append(f"{len(missing)} model(s) not run on this dataset")
    if partial:
        notes.append(f"{len(partial)} model(s) run with fewer than {len(seeds)} seeds")
    if notes:
        lines += ["", "; ".join(notes) + ": the time budget of this benchmark run ran out."]
    bases = [r for r in base if r["dataset"] == address]
    if bases:
        lines += [
            "",
            f"Baselines (deterministic; computed once):\n\n| baseline | fitted on | {header} | what |",
            "|---|---|" + "---|" * (len(metric_names) + 1),
        ]
        for r in bases:
            stats = " | ".join(f"{r['metrics'][m]:.{_digits(m)}f}" for m in metric_names)
            lines.append(f"| {r['name']} | {r['fitted_on']} | {stats} | {BASELINE_NOTES.get(r['name'], '')} |")
    published = common.PUBLISHED.get(address)
    if published:
        lines += ["", "Published test accuracy (different protocol, see above):", "", "| model | accuracy | source |"]
        lines.append("|---|---|---|")
        lines += [f"| {n} | {v:.3f} | {s} |" for n, v, s in published]
    return [*lines, ""]


# ---------------------------------------------------------------------------------------------
# CLI


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the command line."""
    import zoo

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), help="dataset addresses")
    parser.add_argument("--models", nargs="+", default=zoo.list_models(), help="zoo model names")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS), help="training seeds")
    parser.add_argument("--results", type=Path, default=RESULTS, help="JSON-lines results file (appended)")
    parser.add_argument("--report", type=Path, default=REPORT, help="markdown report to write")
    parser.add_argument("--report-only", action="store_true", help="only re-render the report from the results")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow intra/inter-op threads (0: default)")
    parser.add_argument("--budget-minutes", type=float, default=0.0, help="start no cell after this long (0: none)")
    parser.add_argument("--baselines-only", action="store_true", help="compute the missing baselines, train nothing")
    parser.add_argument("--retry-errors", action="store_true", help="run cells again that failed before")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.models) - set(zoo.list_models()))
    if unknown:
        parser.error(f"unknown models {unknown}; known: {zoo.list_models()}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Run the missing cells (unless --report-only), then write the report."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse(argv)
    if not args.report_only:
        run(args, argv)
    records = common.read_results(args.results)
    report_datasets = list(dict.fromkeys([*DATASETS, *(r["dataset"] for r in records)]))
    import zoo

    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(render(records, report_datasets, zoo.list_models(), list(SEEDS)))
    log.info("wrote %s (%d records)", args.report, len(records))


if __name__ == "__main__":
    main()
