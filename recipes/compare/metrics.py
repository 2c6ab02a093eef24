"""Which metric a leaderboard ranks by: a metric's direction (is higher better?), the metrics the
runs logged, a name given by the user resolved to a logged metric (`accuracy` is `test_accuracy`,
`NAME:max` / `NAME:min` say the direction), and each dataset's default objective (its task's test
metric, else the search objective its runs were ranked by).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recipes.tasks import TASKS
from zoo.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

FALLBACK_OBJECTIVE = "best_val_loss"
HIGHER_WORDS = ("accuracy", "f1", "auc", "precision", "recall", "r2")
LOWER_WORDS = ("loss", "mae", "mse", "mape", "error", "seconds")
ALIASES = {"f1": "macro_f1", "acc": "accuracy"}


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
