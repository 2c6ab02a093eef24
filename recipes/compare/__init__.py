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

The package holds one module per concern: `runs` (collecting runs, baselines), `metrics` (which
metric ranks), `board` (the leaderboard and its tables), `figures` (the pictures), `reporting`
(the report files) and `comparison_run` (logging the comparison as a run); `compare`, the whole
comparison, is here. Every name is importable from `recipes.compare` itself.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from recipes.compare.board import (
    IDENTITY,
    IGNORED_PARAMS,
    STATUSES,
    leaderboard,
    print_leaderboard,
    table_rows,
    test_metric_columns,
)
from recipes.compare.figures import (
    BAR_COLOUR,
    BASELINE_COLOUR,
    FIGURES,
    plot_metric_by_model,
    plot_metric_vs_cost,
    plot_validation_curves,
)
from recipes.compare.metrics import (
    ALIASES,
    FALLBACK_OBJECTIVE,
    HIGHER_WORDS,
    LOWER_WORDS,
    available_metrics,
    direction,
    resolve_metric,
)
from recipes.compare.reporting import Report, default_out_dir, report
from recipes.compare.runs import DATA_SUMMARY, add_baselines, collect, data_options, pd_isna, pd_numeric
from zoo.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ALIASES",
    "BAR_COLOUR",
    "BASELINE_COLOUR",
    "DATA_SUMMARY",
    "FALLBACK_OBJECTIVE",
    "FIGURES",
    "HIGHER_WORDS",
    "IDENTITY",
    "IGNORED_PARAMS",
    "LOWER_WORDS",
    "STATUSES",
    "Comparison",
    "Report",
    "add_baselines",
    "available_metrics",
    "collect",
    "compare",
    "data_options",
    "default_out_dir",
    "direction",
    "leaderboard",
    "pd_isna",
    "pd_numeric",
    "plot_metric_by_model",
    "plot_metric_vs_cost",
    "plot_validation_curves",
    "print_leaderboard",
    "report",
    "resolve_metric",
    "table_rows",
    "test_metric_columns",
]

log = logging.getLogger("recipes.compare")


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
    notes += _champions(runs)
    if board.attrs["dropped"]:
        notes.append(f"left out (no run logged the metric): {', '.join(board.attrs['dropped'])}")
    result = report(runs, board, out_dir, top=top, log_run=log_run)
    return Comparison(runs=runs, board=board, report=result, notes=notes)


def _champions(runs: pd.DataFrame) -> list[str]:
    """A note per compared run that a registered model's `champion` alias points at."""
    from recipes.model_registry import champions

    if runs.empty or "run_id" not in runs:
        return []
    found = champions(runs["run_id"], runs.attrs.get("tracking_uri"))
    models = dict(zip(runs["run_id"], runs["model"] if "model" in runs else runs["run_id"], strict=True))
    return [f"champion: {label} is run {run_id} ({models[run_id]})" for run_id, label in found.items()]
