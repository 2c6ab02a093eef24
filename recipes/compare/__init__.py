"""Compare tracked runs: a leaderboard, pictures, one report, logged as a comparison run.

    >>> from recipes import compare
    >>> runs = compare.collect("my-experiment")  # or collect(parent_run_id=...) for a sweep's trials
    >>> board = compare.leaderboard(runs)  # mean ± std over seeds, best first
    >>> out = compare.report(runs, board, "compare/my-experiment")  # PNGs, report.md, report.html
    >>> out.files["report.html"], out.run_id

`zoo compare` runs the same steps from the command line (docs/compare.md).

Leaderboard rows are one per dataset, model, recipe stage and *configuration*: the
hyperparameters, training settings and data options (`model.*`, `train.*`, `data.*` params)
that differ between the runs of that model on that dataset; the seed never splits a row, so
the runs of one configuration over several seeds become one row with mean ± std.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recipes import schema
from recipes.tasks import TASKS
from recipes.tracking import DEFAULT_EXPERIMENT, closing_run, create_run, log_batch
from zoo.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("recipes.compare")

FALLBACK_OBJECTIVE = "best_val_loss"
HIGHER_WORDS = ("accuracy", "f1", "auc", "precision", "recall", "r2")
LOWER_WORDS = ("loss", "mae", "mse", "mape", "error", "seconds")
ALIASES = {"f1": "macro_f1", "acc": "accuracy"}
STATUSES = ("FINISHED", "FAILED", "KILLED", "RUNNING", "SCHEDULED")
# Params that never split a leaderboard row: the seed, and values that follow from the config.
IGNORED_PARAMS = {"model", "param_count", "dtype_policy", "train.seed", "baseline.fitted_on"}
# `data.*` params that describe the loaded data (Dataset.summary) rather than options given to it.
DATA_SUMMARY = {
    "data.dataset",
    "data.task",
    "data.input_kind",
    "data.input_shape",
    "data.num_outputs",
    "data.n_train",
    "data.n_val",
    "data.n_test",
    "data.n_unlabeled",
    "data.variable_length",
    "data.max_length",
}
IDENTITY = ("dataset", "model", "stage")
FIGURES = ("metric_by_model.png", "validation_curves.png", "metric_vs_cost.png")


# ---------------------------------------------------------------------------------------------
# Collecting runs


def _client(tracking_uri: str | None) -> tuple[Any, str]:
    """A client on the checked store: one line, not minutes of retries, when it cannot be used."""
    from recipes.tracking import _bound_http_retries, check_store, resolve_uri

    _bound_http_retries()
    uri = resolve_uri(tracking_uri)
    check_store(uri)
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :]).expanduser()
        if not path.exists():  # MLflow would create an empty store here; nothing was ever tracked to it
            raise ConfigError(f"no MLflow store at {path} ({uri}); train something first or pass --tracking-uri")
    from mlflow import MlflowClient

    return MlflowClient(uri), uri


def _search(client: Any, experiment_id: str, query: str = "") -> list[Any]:
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], query, max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _row(run: Any) -> dict[str, Any]:
    import pandas as pd

    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    seed = tags.get("seed", params.get("train.seed"))
    row: dict[str, Any] = {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "status": run.info.status,
        "start_time": pd.to_datetime(run.info.start_time, unit="ms") if run.info.start_time else pd.NaT,
        "end_time": pd.to_datetime(run.info.end_time, unit="ms") if run.info.end_time else pd.NaT,
        "experiment_id": run.info.experiment_id,
        "parent_run_id": tags.get("mlflow.parentRunId"),
        "model": tags.get("model", params.get("model")),
        "family": tags.get("family"),
        "task": tags.get("task", params.get("data.task")),
        "dataset": tags.get("dataset", params.get("data.dataset")),
        "stage": tags.get("stage"),
        "seed": int(seed) if seed is not None and str(seed).lstrip("-").isdigit() else None,
        "baseline": schema.stage_of(tags) == schema.BASELINE,
    }
    row.update({f"metrics.{k}": v for k, v in metrics.items() if not k.startswith("system/")})
    row.update({f"params.{k}": v for k, v in params.items()})
    row.update({f"tags.{k}": v for k, v in tags.items()})
    return row


def collect(
    experiment: str | None = None,
    *,
    parent_run_id: str | None = None,
    tracking_uri: str | None = None,
    include_trials: bool = False,
) -> pd.DataFrame:
    """The runs of an experiment, or the child runs of a parent run, one row each.

    The store is `tracking_uri`, else `MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db`; the
    experiment defaults to `MLFLOW_EXPERIMENT_NAME`, else "lstm-zoo". Left out: comparison runs
    (`stage=compare`), runs without a `model` tag (a search's parent run), encoder
    pretrainings (`stage=pretrain`: scored by a pretext loss), and, when a whole
    experiment is collected, tuning trials (`stage=trial`: they are not evaluated on test; a
    search's `stage=best` run is) unless `include_trials`; `parent_run_id` collects a search's
    trials.

    Columns: `run_id`, `run_name`, `status`, `start_time`, `end_time`, `experiment_id`,
    `parent_run_id`, `model`, `family`, `task`, `dataset`, `stage`, `seed`, `baseline`, and
    MLflow's `metrics.NAME` (last values; system metrics left out), `params.NAME`, `tags.NAME`.
    `attrs` records `tracking_uri`, `experiment`, `experiment_id`, `parent_run_id`, `label` and
    `left_out` (reason -> number of runs).

    Raises:
        ConfigError: unknown experiment (with close matches), unknown parent run, or no runs.
        TrackingError: the store cannot be reached or does not exist.
    """
    import pandas as pd
    from mlflow.exceptions import MlflowException

    client, uri = _client(tracking_uri)
    if parent_run_id:
        try:
            parent = client.get_run(parent_run_id)
        except MlflowException:
            raise ConfigError(f"unknown parent run '{parent_run_id}' in {uri}") from None
        experiment_id = parent.info.experiment_id
        name = client.get_experiment(experiment_id).name
        runs = _search(client, experiment_id, f"tags.mlflow.parentRunId = '{parent_run_id}'")
        label = f"children of run {parent_run_id} ('{parent.info.run_name}') in experiment '{name}'"
    else:
        name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        found = client.get_experiment_by_name(name)
        if found is None:
            names = sorted(e.name for e in client.search_experiments())
            raise ConfigError(
                f"unknown experiment '{name}'{did_you_mean(name, names)} in {uri}; experiments: {', '.join(names)}"
            )
        experiment_id = found.experiment_id
        runs = _search(client, experiment_id)
        label = f"experiment '{name}'"
    rows = []
    left_out: dict[str, int] = {}
    for run in runs:
        tags = run.data.tags
        reason = None
        if schema.stage_of(tags) == schema.COMPARE:
            reason = "comparison runs"
        elif "model" not in tags:
            reason = "runs without a model tag (e.g. a search's parent run)"
        elif schema.stage_of(tags) == schema.TRIAL and not parent_run_id and not include_trials:
            reason = "tuning trials (compare them with --parent SEARCH_RUN_ID)"
        elif schema.stage_of(tags) == schema.PRETRAIN:
            reason = "encoder pretrainings (their loss is the pretext's, not the task's)"
        if reason:
            left_out[reason] = left_out.get(reason, 0) + 1
        else:
            rows.append(_row(run))
    if not rows:
        raise ConfigError(
            f"{label} has no runs to compare (in {uri}); train some: zoo train MODEL --data DATA --experiment NAME"
        )
    df = pd.DataFrame(rows)
    df.attrs.update(
        {
            "tracking_uri": uri,
            "experiment": name,
            "experiment_id": experiment_id,
            "parent_run_id": parent_run_id,
            "label": label,
            "left_out": left_out,
        }
    )
    return df


# ---------------------------------------------------------------------------------------------
# The leaderboard


def direction(metric: str) -> bool | None:
    """True when higher is better, False when lower is, None when the name does not say."""
    name = metric.lower().removeprefix("metrics.")
    if any(word in name for word in LOWER_WORDS):
        return False
    if any(word in name for word in HIGHER_WORDS):
        return True
    return None


def available_metrics(runs: pd.DataFrame) -> list[str]:
    """The metric names the runs logged (system metrics left out)."""
    return sorted(c.removeprefix("metrics.") for c in runs.columns if c.startswith("metrics."))


def resolve_metric(runs: pd.DataFrame, metric: str, higher_is_better: bool | None = None) -> tuple[str, bool]:
    """A metric name (`NAME`, `test_NAME`, optionally `:max` / `:min`) as (logged name, higher is better).

    A bare name means the test metric when the runs logged one (`accuracy` is `test_accuracy`).

    Raises:
        ConfigError: no run logged it (the available ones are listed), or its direction is unknown.
    """
    text = metric.strip()
    name, _, suffix = text.partition(":")
    if suffix:
        if suffix not in ("max", "min"):
            raise ConfigError(f"metric '{text}': the suffix must be :max or :min")
        higher_is_better = suffix == "max"
    name = name.strip().removeprefix("metrics.")
    name = ALIASES.get(name, name)
    known = available_metrics(runs)
    for candidate in (f"test_{name}", name, f"test_{ALIASES.get(name.removeprefix('test_'), '')}"):
        if candidate in known:
            name = candidate
            break
    else:
        raise ConfigError(f"unknown metric '{name}'{did_you_mean(name, known)}; the runs logged: {', '.join(known)}")
    if higher_is_better is None:
        higher_is_better = direction(name)
    if higher_is_better is None:
        raise ConfigError(f"metric '{name}': is higher or lower better? say {name}:max or {name}:min")
    return name, higher_is_better


def _dataset_metrics(runs: pd.DataFrame, metric: str | None, higher_is_better: bool | None) -> dict[str, Any]:
    """Each dataset's objective: (logged metric name, higher is better).

    Without `metric`: the task's test metric; where some finished zoo runs of the dataset have
    none (tuning trials are not evaluated on test), the best value of the task's search
    objective (`best_val_accuracy`: what the search ranked them by) if all have it, else
    `best_val_loss`.
    """
    out: dict[str, Any] = {}
    if metric:
        chosen = resolve_metric(runs, metric, higher_is_better)
    for dataset, rows in runs.groupby("dataset", sort=True):
        if metric:
            out[dataset] = chosen
            continue
        tasks = rows["task"].dropna()
        task = tasks.mode().iloc[0] if len(tasks) else None
        name = (
            TASKS[task].test_metric
            if task in TASKS
            else ("test_accuracy" if "metrics.test_accuracy" in rows else "test_mae")
        )
        scored = rows[(rows["status"] == "FINISHED") & ~rows["baseline"].astype(bool)]
        if len(scored) and not _all_logged(scored, name):
            fallbacks = ([f"best_{TASKS[task].objective[0]}"] if task in TASKS else []) + [FALLBACK_OBJECTIVE]
            name = next((f for f in fallbacks if _all_logged(scored, f)), name)
        out[dataset] = (name, direction(name))
    return out


def _all_logged(rows: pd.DataFrame, metric: str) -> bool:
    column = f"metrics.{metric}"
    return column in rows and bool(rows[column].notna().all())


def _param_value(value: Any) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _config_columns(rows: pd.DataFrame) -> list[str]:
    """The params whose values differ between these runs (seed and derived values aside)."""
    columns = []
    for col in rows.columns:
        if not col.startswith("params."):
            continue
        key = col.removeprefix("params.")
        if key in IGNORED_PARAMS or key in DATA_SUMMARY or key.startswith("protocol."):  # follows from the rest
            continue
        if rows[col].map(_param_value).nunique() > 1:
            columns.append(col)
    return columns


def _short_value(value: str) -> str:
    """A param value for display: long decimals cut to 4 significant digits (1e-3, not 0.0010000000)."""
    if re.fullmatch(r"-?\d*\.\d{5,}(e-?\d+)?|-?\d+(\.\d+)?e-?\d+", value):
        return f"{float(value):.4g}"
    return value


def _config_label(columns: Sequence[str], values: Sequence[str]) -> str:
    """`units=8, learning_rate=0.001`: the differing params, prefixes dropped where unambiguous."""
    keys = [c.removeprefix("params.") for c in columns]
    short = [k.split(".", 1)[-1] for k in keys]
    names = [s if short.count(s) == 1 else k for k, s in zip(keys, short, strict=True)]
    return ", ".join(f"{n}={_short_value(v)}" for n, v in zip(names, values, strict=True))


def _status_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "none"


def leaderboard(runs: pd.DataFrame, *, metric: str | None = None, higher_is_better: bool | None = None) -> pd.DataFrame:
    """One row per dataset, model, stage and configuration, best first within each dataset.

    The objective is each dataset's test metric by default (`test_accuracy`, higher is better,
    for classification; `test_mae`, lower is better, for forecasting and regression); `metric`
    picks another for every dataset (`"macro_f1"`, `"test_rmse"`, `"val_loss"`,
    `"epochs_trained:min"`). Means and sample standard deviations are over the FINISHED runs
    that logged the metric; failed, killed and running runs are counted, never averaged.

    Columns: `dataset`, `task`, `model`, `stage`, `baseline`, `config` (the params that differ
    between this model's runs on this dataset, seed aside), `metric`, `higher_is_better`,
    `mean`, `std` (NaN for one run), `n`, every other `test_*` metric's mean, `param_count`,
    `train_seconds`, `epochs` (means), `runs`, one count per status, `status` (those counts as
    text), `seeds`, `run_ids`, `best_run_id`. `attrs["metrics"]` maps dataset to (metric,
    higher is better); `attrs["dropped"]` lists datasets whose runs never logged the `metric` asked for.

    Raises:
        ConfigError: unknown metric (the logged ones are listed), or one whose direction is unknown.
    """
    import pandas as pd

    runs = runs.copy()
    for col in IDENTITY:
        runs[col] = runs[col].fillna("—") if col in runs else "—"
    objectives = _dataset_metrics(runs, metric, higher_is_better)
    records: list[dict[str, Any]] = []
    dropped = []
    for dataset, (name, _) in objectives.items():  # a metric asked for that a dataset's runs never logged
        column = f"metrics.{name}"
        if metric and (column not in runs or runs.loc[runs["dataset"] == dataset, column].isna().all()):
            dropped.append(dataset)
    for (dataset, model, stage), rows in runs.groupby(list(IDENTITY), sort=False):
        if dataset in dropped:
            continue
        name, higher = objectives[dataset]
        config_cols = _config_columns(rows)
        if not config_cols:
            records.append(_board_row(rows, dataset, model, stage, "", name, higher))
            continue
        values = zip(*(rows[c].map(_param_value) for c in config_cols), strict=True)
        keys = pd.Series(["\x1f".join(v) for v in values], index=rows.index)
        for key, group in rows.groupby(keys, sort=True):
            label = _config_label(config_cols, str(key).split("\x1f"))
            records.append(_board_row(group, dataset, model, stage, label, name, higher))
    board = pd.DataFrame(records)
    if board.empty:
        raise ConfigError(f"no run logged {metric or 'a test metric'}; the runs logged: {available_metrics(runs)}")
    head = ["dataset", "task", "model", "stage", "baseline", "config", "metric", "higher_is_better", "mean", "std", "n"]
    tests = sorted(c for c in board.columns if c.startswith("test_"))
    board = board.reindex(columns=head + tests + [c for c in board.columns if c not in head and c not in tests])
    board["_has"] = board["mean"].notna()
    board["_key"] = np.where(board["higher_is_better"], -board["mean"], board["mean"])
    board = board.sort_values(["dataset", "_has", "_key"], ascending=[True, False, True], kind="stable")
    board = board.drop(columns=["_has", "_key"]).reset_index(drop=True)
    board.attrs["metrics"] = objectives
    board.attrs["dropped"] = sorted(dropped)
    return board


def _board_row(
    group: pd.DataFrame, dataset: Any, model: Any, stage: Any, config: str, metric: str, higher: bool
) -> dict[str, Any]:
    column = f"metrics.{metric}"
    finished = group[group["status"] == "FINISHED"]
    values = finished[column].dropna() if column in finished else finished.iloc[:0, 0]
    values = values[np.isfinite(values.astype(float))]
    counts = {s: int((group["status"] == s).sum()) for s in STATUSES}
    counts.update({s: int(n) for s, n in group["status"].value_counts().items() if s not in counts})
    best = None
    if len(values):
        best = finished.loc[values.idxmax() if higher else values.idxmin(), "run_id"]

    def mean_of(col: str) -> float:
        if col not in finished:
            return float("nan")
        numbers = pd_numeric(finished[col])
        return float(numbers.mean()) if numbers.notna().any() else float("nan")

    tasks = group["task"].dropna()
    row: dict[str, Any] = {
        "dataset": dataset,
        "task": tasks.iloc[0] if len(tasks) else None,
        "model": model,
        "stage": stage,
        "baseline": bool(group["baseline"].any()),
        "config": config,
        "metric": metric,
        "higher_is_better": higher,
        "mean": float(values.mean()) if len(values) else float("nan"),
        "std": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
        "n": len(values),
    }
    tests = sorted(c for c in group.columns if c.startswith("metrics.test_") and c != column)
    row.update({c.removeprefix("metrics."): mean_of(c) for c in tests if group[c].notna().any()})
    row.update(
        {
            "param_count": mean_of("params.param_count"),
            "train_seconds": mean_of("metrics.train_seconds"),
            "epochs": mean_of("metrics.epochs_trained"),
            "runs": len(group),
            **counts,
            "status": _status_text(counts),
            "seeds": sorted({int(s) for s in group["seed"].dropna()}),
            "run_ids": list(group["run_id"]),
            "best_run_id": best,
        }
    )
    return row


def pd_numeric(values: Any) -> Any:
    """`pandas.to_numeric` with unparseable values as NaN (params are strings)."""
    import pandas as pd

    return pd.to_numeric(values, errors="coerce")


# ---------------------------------------------------------------------------------------------
# Formatting


def _decimals(values: Sequence[float]) -> int:
    finite = [abs(v) for v in values if v is not None and np.isfinite(v)]
    top = max(finite, default=0.0)
    return 3 if top < 10 else 2 if top < 100 else 1 if top < 10000 else 0


def _fmt(value: Any, decimals: int) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    return f"{value:.{decimals}f}"


def _row_label(row: Mapping[str, Any], width: int = 48) -> str:
    label = str(row["model"])
    if row.get("config"):
        label += f" ({row['config']})"
    if row.get("baseline"):
        label += " [baseline]"
    return label if len(label) <= width else label[: width - 1] + "…"


def test_metric_columns(board: pd.DataFrame) -> list[str]:
    """The other test metrics a board has columns for, in a stable order."""
    return [c for c in board.columns if c.startswith("test_")]


def table_rows(board: pd.DataFrame, dataset: Any) -> tuple[list[str], list[list[str]], list[bool]]:
    """One dataset's leaderboard as text cells: header, rows, and which rows are baselines."""
    rows = board[board["dataset"] == dataset]
    metric = rows["metric"].iloc[0]
    arrow = "↑" if rows["higher_is_better"].iloc[0] else "↓"
    others = [c for c in test_metric_columns(rows) if rows[c].notna().any()]
    header = ["#", "model", "config", f"{metric} {arrow} mean ± std (n)"]
    header += [c.removeprefix("test_") if metric.startswith("test_") else c for c in others]
    several_stages = rows.loc[~rows["baseline"].astype(bool), "stage"].nunique() > 1
    header += ["params", "train s", "epochs", "status"]
    digits = _decimals(list(rows["mean"]))
    other_digits = {c: _decimals(list(rows[c])) for c in others}
    cells, flags = [], []
    rank = 0
    for _, r in rows.iterrows():
        baseline = bool(r["baseline"])
        if not baseline and np.isfinite(r["mean"]):
            rank += 1
        score = "—" if not np.isfinite(r["mean"]) else _fmt(r["mean"], digits)
        if np.isfinite(r["std"]):
            score += f" ± {_fmt(r['std'], digits)}"
        score += f" ({r['n']})"
        model = f"{r['model']} ({r['stage']})" if several_stages else str(r["model"])
        line = [
            "" if baseline or not np.isfinite(r["mean"]) else str(rank),
            f"{r['model']} (baseline)" if baseline else model,
            r["config"] or "",
            score,
        ]
        line += [_fmt(r[c], other_digits[c]) for c in others]
        line += [
            "—" if not np.isfinite(r["param_count"]) else f"{round(r['param_count']):,}",
            _fmt(r["train_seconds"], 1),
            "—" if not np.isfinite(r["epochs"]) else f"{r['epochs']:g}",
            r["status"],
        ]
        cells.append(line)
        flags.append(baseline)
    return header, cells, flags


def print_leaderboard(console: Any, board: pd.DataFrame) -> None:
    """The leaderboard as one rich table per dataset (baseline rows dimmed)."""
    from rich.table import Table
    from rich.text import Text

    for dataset in board["dataset"].drop_duplicates():
        header, cells, flags = table_rows(board, dataset)
        task = board.loc[board["dataset"] == dataset, "task"].iloc[0]
        table = Table(title=Text(f"{dataset} ({task})"))
        for i, col in enumerate(header):
            numeric = i == 0 or (i >= 3 and col != "status")
            table.add_column(col, justify="right" if numeric else "left", overflow="fold")
        for line, baseline in zip(cells, flags, strict=True):
            table.add_row(*(Text(c) for c in line), style="dim italic" if baseline else None)
        console.print(table)


# ---------------------------------------------------------------------------------------------
# Pictures


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


BASELINE_COLOUR = "#d62728"
BAR_COLOUR = "#1f77b4"


def _axis_label(metric: str, higher: bool) -> str:
    return f"{metric} ({'higher' if higher else 'lower'} is better)"


def plot_metric_by_model(board: pd.DataFrame, path: Path) -> Path:
    """Bars of each configuration's mean metric with std error bars; baselines as dashed lines."""
    plt = _pyplot()
    datasets = list(board["dataset"].drop_duplicates())
    heights = [max(2.0, 0.45 * (board["dataset"] == d).sum() + 1.2) for d in datasets]
    fig, axes = plt.subplots(
        len(datasets), 1, figsize=(12, sum(heights)), squeeze=False, gridspec_kw={"height_ratios": heights}
    )
    for ax, dataset in zip(axes[:, 0], datasets, strict=True):
        rows = board[(board["dataset"] == dataset) & board["mean"].notna()]
        models = rows[~rows["baseline"]].iloc[::-1]  # best at the top
        y = np.arange(len(models))
        err = models["std"].fillna(0.0).to_numpy()
        ax.barh(y, models["mean"], xerr=err, color=BAR_COLOUR, alpha=0.85, capsize=4, height=0.6)
        ax.set_yticks(y, [_row_label(r) + f"  n={r['n']}" for _, r in models.iterrows()])
        digits = _decimals(list(rows["mean"]))
        for yi, (_, r) in zip(y, models.iterrows(), strict=True):
            text = _fmt(r["mean"], digits) + (f" ± {_fmt(r['std'], digits)}" if np.isfinite(r["std"]) else "")
            ax.text(r["mean"], yi + 0.36, f" {text}", va="bottom", ha="left", fontsize=8)
        styles = ("--", ":", "-.", (0, (5, 1)))
        for i, (_, r) in enumerate(rows[rows["baseline"]].iterrows()):
            label = f"baseline {r['model']}: {_fmt(r['mean'], digits)}"
            ax.axvline(r["mean"], color=BASELINE_COLOUR, linestyle=styles[i % len(styles)], linewidth=1.4, label=label)
        if rows["baseline"].any():
            ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(1.01, 0.0), framealpha=0.9)
        ax.set_ylim(-0.6, max(len(models), 1) - 0.1)
        if len(rows):
            metric, higher = rows["metric"].iloc[0], bool(rows["higher_is_better"].iloc[0])
            ax.set_xlabel(_axis_label(metric, higher) + "; bars: mean ± std over seeds; red lines: baselines")
        if not len(models):
            ax.set_yticks([])
        ax.set_title(str(dataset))
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _top_runs(runs: pd.DataFrame, board: pd.DataFrame, dataset: Any, top: int) -> pd.DataFrame:
    metric, higher = board.attrs["metrics"][dataset]
    column = f"metrics.{metric}"
    rows = runs[(runs["dataset"] == dataset) & (runs["status"] == "FINISHED") & ~runs["baseline"].astype(bool)]
    if column not in rows:
        return rows.iloc[:0]
    rows = rows[rows[column].notna()]
    return rows.sort_values(column, ascending=not higher).head(top)


def plot_validation_curves(
    runs: pd.DataFrame, board: pd.DataFrame, path: Path, *, top: int = 5, client: Any = None
) -> Path:
    """`val_loss` and `val_accuracy` / `val_mae` per epoch of each dataset's top runs, overlaid."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    datasets = [d for d in board["dataset"].drop_duplicates() if d in board.attrs["metrics"]]
    fig, axes = plt.subplots(len(datasets), 2, figsize=(12, 3.8 * len(datasets)), squeeze=False)
    for (ax_loss, ax_metric), dataset in zip(axes, datasets, strict=True):
        best = _top_runs(runs, board, dataset, top)
        metric, _ = board.attrs["metrics"][dataset]
        task = best["task"].iloc[0] if len(best) else None
        second = f"val_{TASKS[task].metric}" if task in TASKS else "val_loss"
        for _, run in best.iterrows():
            value = run[f"metrics.{metric}"]
            label = f"{run['model']} seed {run['seed']}: {metric} {value:.4g}"
            for ax, key in ((ax_loss, "val_loss"), (ax_metric, second)):
                history = sorted(client.get_metric_history(run["run_id"], key), key=lambda m: m.step)
                if history:
                    ax.plot([m.step + 1 for m in history], [m.value for m in history], marker="o", ms=3, label=label)
        for ax, key in ((ax_loss, "val_loss"), (ax_metric, second)):
            ax.set_title(f"{dataset}: {key}, top {len(best)} runs by {metric}")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=8)
            else:
                ax.text(0.5, 0.5, "no validation history", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _log_x(ax: Any, null_formatter: Any) -> None:
    """Log x axis spanning whole decades around the points, labelled at the powers of ten only."""
    xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
    xs = xs[np.isfinite(xs) & (xs > 0)]
    ax.set_xscale("log")
    if len(xs):
        ax.set_xlim(10 ** math.floor(math.log10(xs.min() * 0.9)), 10 ** math.ceil(math.log10(xs.max() * 1.1)))
    ax.xaxis.set_minor_formatter(null_formatter())


def plot_metric_vs_cost(runs: pd.DataFrame, board: pd.DataFrame, path: Path) -> Path:
    """Each finished run's metric against its parameter count and its training time (log x)."""
    plt = _pyplot()
    from matplotlib.ticker import NullFormatter

    datasets = [d for d in board["dataset"].drop_duplicates() if d in board.attrs["metrics"]]
    fig, axes = plt.subplots(len(datasets), 2, figsize=(12, 3.8 * len(datasets)), squeeze=False)
    colours = plt.get_cmap("tab10")
    for (ax_params, ax_time), dataset in zip(axes, datasets, strict=True):
        metric, higher = board.attrs["metrics"][dataset]
        column = f"metrics.{metric}"
        rows = runs[(runs["dataset"] == dataset) & (runs["status"] == "FINISHED")]
        entries = board[(board["dataset"] == dataset) & ~board["baseline"]]
        if column not in rows:
            entries = entries.iloc[:0]
        for i, (_, entry) in enumerate(entries.iterrows()):  # one colour per leaderboard row
            group = rows[rows["run_id"].isin(entry["run_ids"])]
            values = pd_numeric(group[column])
            for ax, col in ((ax_params, "params.param_count"), (ax_time, "metrics.train_seconds")):
                if col not in group or group.empty:
                    continue
                x = pd_numeric(group[col])
                keep = x.notna() & values.notna() & (x > 0)
                if keep.any():
                    label = _row_label(entry, 40)
                    ax.scatter(x[keep], values[keep], color=colours(i % 10), label=label, s=36, alpha=0.85)
        for _, base in board[(board["dataset"] == dataset) & board["baseline"] & board["mean"].notna()].iterrows():
            for ax in (ax_params, ax_time):
                ax.axhline(base["mean"], color=BASELINE_COLOUR, linestyle="--", linewidth=1.2)
                ax.annotate(
                    base["model"],
                    (0.01, base["mean"]),
                    xycoords=("axes fraction", "data"),
                    color=BASELINE_COLOUR,
                    fontsize=8,
                    va="bottom",
                )
        for ax, what, unit in ((ax_params, "parameters", ""), (ax_time, "training time", " (s)")):
            if ax.collections:
                _log_x(ax, NullFormatter)
                ax.legend(fontsize=8)
            ax.set_xlabel(f"{what}{unit}, log scale")
            ax.set_ylabel(_axis_label(metric, higher))
            ax.set_title(f"{dataset}: {metric} against {what}")
            ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# The report


@dataclass
class Report:
    """What `report` wrote and logged.

    Attributes:
        out_dir: The folder the files are in.
        files: File name -> path: the three PNGs, `leaderboard.csv`, `report.md`, `report.html`.
        run_id: The comparison MLflow run holding them as artifacts, or None when not logged.
        tracking_uri: The store of that run.
        experiment_id: Its experiment.
    """

    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    run_id: str | None = None
    tracking_uri: str | None = None
    experiment_id: str | None = None


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _sections(board: pd.DataFrame) -> list[tuple[str, list[str], list[list[str]]]]:
    """Per dataset: heading, header and text rows of the leaderboard, with the best run's id."""
    out = []
    for dataset in board["dataset"].drop_duplicates():
        header, cells, _ = table_rows(board, dataset)
        rows = board[board["dataset"] == dataset]
        cells = [[*line, _text(r["best_run_id"])[:8]] for (_, r), line in zip(rows.iterrows(), cells, strict=True)]
        out.append((f"{dataset} ({rows['task'].iloc[0]})", [*header, "best run"], cells))
    return out


def _markdown(title: str, intro: list[str], board: pd.DataFrame, images: Sequence[tuple[str, str]]) -> str:
    lines = [f"# {title}", ""]
    for paragraph in intro:
        lines += [paragraph, ""]
    for heading, header, cells in _sections(board):
        lines += [f"## {heading}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in cells]
        lines.append("")
    lines += ["## Pictures", ""]
    for caption, name in images:
        lines += [f"**{caption}**", "", f"![{caption}]({name})", ""]
    return "\n".join(lines)


def _html(title: str, intro: list[str], board: pd.DataFrame, images: Sequence[tuple[str, Path]]) -> str:
    esc = html.escape
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:14px}"
        "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:nth-child(2),td:nth-child(3),th{text-align:left}"
        "tr.baseline{color:#a33;font-style:italic}img{max-width:100%;border:1px solid #eee}"
        "code{background:#f4f4f4;padding:1px 4px}"
    )
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title><style>{style}</style></head><body>',
        f"<h1>{esc(title)}</h1>",
    ]
    parts += [f"<p>{_inline_code(esc(p))}</p>" for p in intro]
    for heading, header, cells in _sections(board):
        parts.append(f"<h2>{esc(heading)}</h2><table><thead><tr>")
        parts += [f"<th>{esc(h)}</th>" for h in header]
        parts.append("</tr></thead><tbody>")
        for line in cells:
            cls = ' class="baseline"' if line[1].endswith("(baseline)") else ""
            parts.append(f"<tr{cls}>" + "".join(f"<td>{esc(c)}</td>" for c in line) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("<h2>Pictures</h2>")
    for caption, path in images:
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        parts.append(f'<h3>{esc(caption)}</h3><img alt="{esc(caption)}" src="data:image/png;base64,{data}">')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _inline_code(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _intro(runs: pd.DataFrame, board: pd.DataFrame) -> list[str]:
    attrs = runs.attrs
    counts = runs["status"].value_counts()
    status = ", ".join(f"{n} {s}" for s, n in counts.items())
    objectives = sorted({(m, h) for m, h in board.attrs.get("metrics", {}).values()})
    said = "; ".join(f"`{m}` ({'higher' if h else 'lower'} is better)" for m, h in objectives)
    lines = [
        f"Runs of {attrs.get('label', 'the given runs')} in `{attrs.get('tracking_uri', '?')}`: "
        f"{len(runs)} runs ({status}), {int(runs['baseline'].astype(bool).sum())} of them baselines.",
        f"Objective: {said}. A row is a model with one configuration (the params that differ between "
        "its runs on that dataset, seed aside); mean ± sample std over its FINISHED runs (n); failed, "
        "killed and running runs are counted in the status column, never averaged.",
        f"Generated {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
    ]
    if board.attrs.get("dropped"):
        lines.append(f"Left out (no run logged the metric): {', '.join(board.attrs['dropped'])}.")
    return lines


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "runs"


def default_out_dir(runs: pd.DataFrame) -> Path:
    """`./compare/<experiment>` or `./compare/<parent run id>`."""
    attrs = runs.attrs
    return Path("compare") / _slug(attrs.get("parent_run_id") or attrs.get("experiment") or "runs")


def report(
    runs: pd.DataFrame,
    board: pd.DataFrame,
    out_dir: str | os.PathLike | None = None,
    *,
    top: int = 5,
    log_run: bool = True,
    tracking_uri: str | None = None,
    experiment_id: str | None = None,
    title: str | None = None,
) -> Report:
    """Write the pictures and one report of a leaderboard, and log them as a comparison run.

    Files: `metric_by_model.png` (mean ± std per configuration, baselines as dashed lines),
    `validation_curves.png` (`val_loss` and `val_accuracy` / `val_mae` of the `top` runs of each
    dataset), `metric_vs_cost.png` (metric against parameters and training time, log x),
    `leaderboard.csv`, `report.md` (table + image links) and `report.html` (the same with the
    images embedded: one self-contained file). With `log_run`, a new run (tag `stage=compare`,
    tags `compare.experiment` and `compare.parent_run_id`) in the compared experiment gets them
    as artifacts.

    Args:
        runs: `collect`'s frame (its `attrs` name the store and experiment).
        board: `leaderboard(runs)`.
        out_dir: Where to write; default `./compare/<experiment or parent run id>/`.
        top: Runs per dataset in the validation-curve picture.
        log_run: Log the comparison run.
        tracking_uri: Store, when `runs` has no `attrs` (a frame built elsewhere).
        experiment_id: Experiment for the comparison run, likewise.
        title: The report's title.

    Returns:
        A `Report` with the paths and the comparison run id.
    """
    from mlflow import MlflowClient

    attrs = runs.attrs
    uri = tracking_uri or attrs.get("tracking_uri")
    experiment_id = experiment_id or attrs.get("experiment_id")
    if uri is None:
        from recipes.tracking import resolve_uri

        uri = resolve_uri()
    client = MlflowClient(uri)
    out = Path(out_dir) if out_dir is not None else default_out_dir(runs)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    files["metric_by_model.png"] = plot_metric_by_model(board, out / "metric_by_model.png")
    files["validation_curves.png"] = plot_validation_curves(
        runs, board, out / "validation_curves.png", top=top, client=client
    )
    files["metric_vs_cost.png"] = plot_metric_vs_cost(runs, board, out / "metric_vs_cost.png")
    csv = board.copy()
    for col in ("seeds", "run_ids"):
        csv[col] = csv[col].map(lambda v: " ".join(str(x) for x in v))
    csv.to_csv(out / "leaderboard.csv", index=False)
    files["leaderboard.csv"] = out / "leaderboard.csv"
    title = title or f"Comparison: {attrs.get('label', 'runs')}"
    intro = _intro(runs, board)
    images = [
        ("Metric by model (mean ± std over seeds; red lines: baselines)", "metric_by_model.png"),
        (f"Validation curves of the top {top} runs per dataset", "validation_curves.png"),
        ("Metric against parameter count and training time", "metric_vs_cost.png"),
    ]
    (out / "report.md").write_text(_markdown(title, intro, board, images))
    files["report.md"] = out / "report.md"
    (out / "report.html").write_text(_html(title, intro, board, [(c, out / n) for c, n in images]))
    files["report.html"] = out / "report.html"
    result = Report(out_dir=out, files=files, tracking_uri=uri, experiment_id=experiment_id)
    if log_run and experiment_id is not None:
        result.run_id = _log_comparison(client, experiment_id, runs, board, files)
    return result


def _log_comparison(
    client: Any, experiment_id: str, runs: pd.DataFrame, board: pd.DataFrame, files: Mapping[str, Path]
) -> str:

    attrs = runs.attrs
    target = attrs.get("parent_run_id") or attrs.get("experiment") or "runs"
    tags = {
        schema.STAGE: schema.COMPARE,
        "compare.experiment": str(attrs.get("experiment", "")),
        "compare.runs": str(len(runs)),
    }
    if attrs.get("parent_run_id"):
        tags["compare.parent_run_id"] = attrs["parent_run_id"]
    best = []
    for dataset, (metric, _) in board.attrs.get("metrics", {}).items():
        rows = board[(board["dataset"] == dataset) & ~board["baseline"] & board["mean"].notna()]
        if len(rows):
            top = rows.iloc[0]
            best.append(f"{dataset}: best {top['model']} {metric} {top['mean']:.4g} (n={top['n']})")
    tags["mlflow.note.content"] = "Comparison of " + str(attrs.get("label", target)) + "\n\n" + "\n".join(best)
    run_id = create_run(client, experiment_id, run_name=f"compare {target}", tags=tags)
    with closing_run(run_id):
        metrics = sorted({f"{m}:{'max' if h else 'min'}" for m, h in board.attrs.get("metrics", {}).values()})
        log_batch(client, run_id, params={"compare.metric": ", ".join(metrics)})
        for path in files.values():
            client.log_artifact(run_id, str(path))
    return run_id


# ---------------------------------------------------------------------------------------------
# Baselines for the runs, and the whole comparison


def data_options(params: Mapping[str, Any], task: str | None) -> dict[str, Any]:
    """The data options a run was given, read back from its `data.*` params."""
    import yaml

    out = {}
    for key, value in params.items():
        if not key.startswith("data.") or key in DATA_SUMMARY or value is None:
            continue
        if isinstance(value, float) and math.isnan(value):
            continue
        name = key.removeprefix("data.")
        if name == "horizon" and task != "forecasting":
            continue
        try:
            parsed = yaml.safe_load(str(value))
        except yaml.YAMLError:
            parsed = str(value)
        if parsed is not None and str(value) != "None":
            out[name] = parsed
    return out


def add_baselines(runs: pd.DataFrame) -> list[str]:
    """Log the baselines of every dataset, seed and data options of the runs, where missing.

    Datasets that cannot be loaded by address (runs of a `Dataset` object) are skipped with a
    message. Under `collect(parent_run_id=...)` the baselines are nested under that parent.

    Returns:
        One line per dataset and seed: what was logged, found or skipped.
    """
    from recipes.baselines import log_baselines
    from zoo.errors import ZooError

    attrs = runs.attrs
    models = runs[~runs["baseline"].astype(bool) & runs["dataset"].notna()]
    seen: dict[tuple, tuple[str, int, float, dict[str, Any]]] = {}
    for _, run in models.iterrows():
        params = {k.removeprefix("params."): v for k, v in run.items() if k.startswith("params.")}
        options = data_options(params, run["task"])
        raw_fraction = params.get("train.val_fraction")
        fraction = float(raw_fraction) if isinstance(raw_fraction, str) else 0.2
        seed = int(run["seed"]) if run["seed"] is not None and not pd_isna(run["seed"]) else 0
        key = (run["dataset"], seed, fraction, tuple(sorted((k, str(v)) for k, v in options.items())))
        seen.setdefault(key, (run["dataset"], seed, fraction, options))
    lines = []
    for _, (dataset, seed, fraction, options) in sorted(seen.items(), key=lambda item: str(item[0])):
        before = set(runs.loc[runs["baseline"].astype(bool), "run_id"])
        try:
            ids = log_baselines(
                dataset,
                seed,
                attrs.get("experiment"),
                attrs.get("tracking_uri"),
                attrs.get("parent_run_id"),
                data_options=options,
                val_fraction=fraction,
            )
        except ZooError as err:
            lines.append(f"{dataset} seed {seed}: no baselines ({str(err).split('; ')[0]})")
            continue
        new = [n for n, i in ids.items() if i not in before]
        what = "logged" if new else "already logged"
        lines.append(f"{dataset} seed {seed}: baselines {what}: {', '.join(sorted(ids))}")
    return lines


def pd_isna(value: Any) -> bool:
    """`pandas.isna` for one value."""
    import pandas as pd

    return bool(pd.isna(value))


@dataclass
class Comparison:
    """The outcome of `compare`: the runs, the leaderboard, the report, and what was done on the way."""

    runs: pd.DataFrame
    board: pd.DataFrame
    report: Report
    notes: list[str]


def compare(
    experiment: str | None = None,
    *,
    parent_run_id: str | None = None,
    metric: str | None = None,
    baselines: bool = False,
    out_dir: str | os.PathLike | None = None,
    tracking_uri: str | None = None,
    top: int = 5,
    log_run: bool = True,
    include_trials: bool = False,
) -> Comparison:
    """Collect, add baselines (with `baselines`), rank and report, as `zoo compare` does.

    Arguments are those of `collect`, `leaderboard` and `report`.

    Bad input (unknown experiment, parent run or metric; no runs) fails before anything is
    computed or logged.
    """
    if experiment and parent_run_id:
        raise ConfigError("compare an experiment or a parent run's children, not both (--experiment or --parent)")
    runs = collect(experiment, parent_run_id=parent_run_id, tracking_uri=tracking_uri, include_trials=include_trials)
    leaderboard(runs, metric=metric)  # an unknown metric fails here, before baselines are computed
    notes = []
    if baselines:
        notes = add_baselines(runs)
        runs = collect(
            None if parent_run_id else runs.attrs["experiment"],
            parent_run_id=parent_run_id,
            tracking_uri=runs.attrs["tracking_uri"],
            include_trials=include_trials,
        )
    notes += [f"left out: {n} {reason}" for reason, n in runs.attrs["left_out"].items() if reason != "comparison runs"]
    board = leaderboard(runs, metric=metric)
    if board.attrs["dropped"]:
        notes.append(f"left out (no run logged the metric): {', '.join(board.attrs['dropped'])}")
    result = report(runs, board, out_dir, top=top, log_run=log_run)
    return Comparison(runs=runs, board=board, report=result, notes=notes)
