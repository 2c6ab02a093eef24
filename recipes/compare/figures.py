"""The pictures of a comparison, drawn with matplotlib (Agg) into PNG files: each configuration's
mean metric with its spread over seeds and the baselines (`metric_by_model.png`), the validation
curves of each dataset's top runs (`validation_curves.png`), and each run's metric against its
parameter count and training time (`metric_vs_cost.png`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recipes.compare.board import _decimals, _fmt, _row_label
from recipes.compare.runs import pd_numeric
from recipes.tasks import TASKS

if TYPE_CHECKING:
    import pandas as pd

FIGURES = ("metric_by_model.png", "validation_curves.png", "metric_vs_cost.png")


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
