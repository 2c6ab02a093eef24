"""The leaderboard: one row per dataset, model, recipe stage and configuration (the params that
differ between that model's runs, seed aside), with the mean ± std of the objective over the
finished runs, the other test metrics, cost and status counts, best first; and the same board as
text cells and rich tables (`table_rows`, `print_leaderboard`) with the number formatting that
the report and pictures share.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from recipes.compare.metrics import _dataset_metrics, available_metrics
from recipes.compare.runs import DATA_SUMMARY, pd_numeric
from zoo.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

STATUSES = ("FINISHED", "FAILED", "KILLED", "RUNNING", "SCHEDULED")
# Params that never split a leaderboard row: the seed, and values that follow from the config.
IGNORED_PARAMS = {"model", "param_count", "dtype_policy", "train.seed", "baseline.fitted_on"}
IDENTITY = ("dataset", "model", "stage")


def _param_value(value: Any) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _config_columns(rows: pd.DataFrame, varying: bool = True) -> list[str]:
    """The params whose values differ between these runs (with `varying` False: all of them),
    seed and derived values aside."""
    columns = []
    for col in rows.columns:
        if not col.startswith("params."):
            continue
        key = col.removeprefix("params.")
        if key in IGNORED_PARAMS or key in DATA_SUMMARY or key.startswith("protocol."):  # follows from the rest
            continue
        if not varying or rows[col].map(_param_value).nunique() > 1:
            columns.append(col)
    return columns


def _short_value(value: str) -> str:
    """A param value for display: long decimals cut to 3 significant digits (1e-3, not 0.0010000000)."""
    if re.fullmatch(r"-?\d*\.\d{5,}(e-?\d+)?|-?\d+(\.\d+)?e-?\d+", value):
        return f"{float(value):.3g}"
    return value


@functools.cache
def declared_defaults(model: str) -> dict[str, str]:
    """`{"model.units": "64", "train.learning_rate": "0.001", ...}`: a zoo model's declared
    defaults as its runs log them (empty for a name the registry does not know: a baseline)."""
    import zoo
    from recipes.config import TrainConfig
    from zoo import heads
    from zoo.errors import UnknownModelError
    from zoo.params import params

    try:
        spec = zoo.get_spec(model)
    except UnknownModelError:
        return {}
    found = {f"model.{p.name}": str(p.default) for p in params(spec.config)}
    for head in heads.HEADS.values():
        found.update({f"model.{p.name}": str(p.default) for p in params(head)})
    found.update({f"train.{p.name}": str(p.default) for p in params(TrainConfig)})
    return found


def _same(value: str, default: str) -> bool:
    try:
        return float(value) == float(default)
    except ValueError:
        return value == default


def _config_label(columns: Sequence[str], values: Sequence[str], defaults: Mapping[str, str]) -> str:
    """`units=8, learning_rate=0.01`: the params set away from the model's declared defaults
    ("defaults" when none is), prefixes dropped where unambiguous; where the defaults are not
    known (a baseline), every param that differs between the runs."""
    keys = [c.removeprefix("params.") for c in columns]
    shown = [(k, v) for k, v in zip(keys, values, strict=True)
             if v not in ("—", "None") and not (k in defaults and _same(v, defaults[k]))]  # fmt: skip
    if not shown:
        return "defaults"
    short = [k.split(".", 1)[-1] for k, _ in shown]
    names = [s if short.count(s) == 1 else k for (k, _), s in zip(shown, short, strict=True)]
    return ", ".join(f"{n}={_short_value(v)}" for n, (_, v) in zip(names, shown, strict=True))


def _status_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "none"


def leaderboard(runs: pd.DataFrame, *, metric: str | None = None, higher_is_better: bool | None = None) -> pd.DataFrame:
    """One row per dataset, model, stage and configuration, best first within each dataset.

    The objective is each dataset's test metric by default (`test_accuracy`, higher is better,
    for classification; `test_mae`, lower is better, for forecasting and regression); `metric`
    picks another for every dataset (`"macro_f1"`, `"test_rmse"`, `"val_loss"`,
    `"epochs_trained:min"`). Means and sample standard deviations are over the FINISHED runs
    that logged the metric; failed, killed and running runs are counted, never averaged.

    Columns: `dataset`, `task`, `model`, `stage`, `baseline`, `config` (rows split by the params
    that differ between this model's runs on this dataset, seed aside; labelled with those set
    away from the model's declared defaults, or "defaults"), `metric`, `higher_is_better`,
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
        defaults = declared_defaults(str(model))
        if not config_cols:  # one configuration: what it sets away from the defaults (a zoo model's)
            every = _config_columns(rows, varying=False)
            first = rows.iloc[0]
            label = _config_label(every, [_param_value(first[c]) for c in every], defaults) if defaults else ""
            records.append(_board_row(rows, dataset, model, stage, label, name, higher))
            continue
        # Rows split by the params that vary; a zoo model's row is labelled with all it sets away
        # from the defaults (those its runs share too), as a model with one configuration is.
        labelled = _config_columns(rows, varying=False) if defaults else config_cols
        values = zip(*(rows[c].map(_param_value) for c in config_cols), strict=True)
        keys = pd.Series(["\x1f".join(v) for v in values], index=rows.index)
        for _, group in rows.groupby(keys, sort=True):
            first = group.iloc[0]
            label = _config_label(labelled, [_param_value(first[c]) for c in labelled], defaults)
            records.append(_board_row(group, dataset, model, stage, label, name, higher))
    board = pd.DataFrame(records)
    if board.empty:
        raise ConfigError(f"no run logged {metric or 'a test metric'}; the runs logged: {available_metrics(runs)}")
    head = ["dataset", "task", "model", "stage", "baseline", "config", "metric", "higher_is_better", "mean", "std", "n"]
    tests = sorted(c for c in board.columns if c.startswith("test_"))
    board = board.reindex(columns=head + tests + [c for c in board.columns if c not in head and c not in tests])
    board["_has"] = board["mean"].notna()
    board["_key"] = np.where(board["higher_is_better"], -board["mean"], board["mean"])
    # Equal means go to the lower validation loss, as a search breaks its ties (tuning.searching.ranked).
    board["_tie"] = board["val_loss"].fillna(np.inf) if "val_loss" in board else 0.0
    board = board.sort_values(["dataset", "_has", "_key", "_tie"], ascending=[True, False, True, True], kind="stable")
    board = board.drop(columns=["_has", "_key", "_tie"]).reset_index(drop=True)
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
            "val_loss": mean_of("metrics.best_val_loss"),  # what breaks a tie on the ranking metric
            "runs": len(group),
            **counts,
            "status": _status_text(counts),
            "seeds": sorted({int(s) for s in group["seed"].dropna()}),
            "run_ids": list(group["run_id"]),
            "best_run_id": best,
        }
    )
    return row


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
    """The other test metrics a board has columns for, in a stable order (a forecast's error per
    horizon step stays in MLflow and the CSV: one column per step would crowd the table)."""
    return [c for c in board.columns if c.startswith("test_") and not re.fullmatch(r"test_\w+_step_\d+", c)]


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
    """The leaderboard as one rich table per dataset (baseline rows dimmed), made to fit a
    120-column terminal, one line a row: the task's reported test metrics only, parameters
    counted in k/M, as many settings of a config away from the defaults as the width left
    holds ("+N more"), statuses other than FINISHED (the report and the CSV keep every column
    and setting)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if console.width > TERMINAL_WIDTH:  # a Console of its own: a table's width alone does not hold it
        from rich.console import Console

        console = Console(file=console.file, width=TERMINAL_WIDTH, soft_wrap=False,
                          force_terminal=console.is_terminal, color_system=console.color_system)  # fmt: skip
    for dataset in board["dataset"].drop_duplicates():
        header, rows, flags, notes, room = _terminal_table(board, dataset, min(console.width, TERMINAL_WIDTH))
        task = board.loc[board["dataset"] == dataset, "task"].iloc[0]
        table = Table(title=Text(f"{dataset} ({task})"), box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                      caption=Text("\n".join(notes)) if notes else None, caption_justify="left")  # fmt: skip
        for i, col in enumerate(header):
            numeric = i == 0 or (i >= 3 and col != "status")
            # Figures and model names keep their width (a name longer than its cap folds); the config was cut
            # to fit at its commas, and the ellipsis cuts a first setting longer than the room left.
            widest = _column_width(col, [r[i] for r in rows])
            table.add_column(_terminal_header(col), justify="right" if numeric else "left", no_wrap=col != "model",
                             overflow="fold" if col == "model" else "ellipsis",
                             min_width=widest if col == "model" else None,
                             max_width=room if col == "config" else _MAX_WIDTHS.get(col))  # fmt: skip
        for row, baseline in zip(rows, flags, strict=True):
            table.add_row(*(Text(c) for c in row), style="dim italic" if baseline else None)
        console.print(table)


TERMINAL_WIDTH = 120
_MAX_WIDTHS = {"model": 25}  # "seasonal_naive (baseline)"; the config column gets the rest
_GAP = 3  # what rich's SIMPLE_HEAD box puts between two columns


def _terminal_table(
    board: pd.DataFrame, dataset: Any, width: int
) -> tuple[list[str], list[list[str]], list[bool], list[str], int]:
    """One dataset's terminal columns, cells, baseline flags, notes and the config column's
    width; settings a stage's rows all share are a note, and each config cell holds what else
    fits the width left to it."""
    from recipes.tasks import TASKS

    header, cells, flags = table_rows(board, dataset)
    task = board.loc[board["dataset"] == dataset, "task"].iloc[0]
    known = TASKS.get(task)  # runs without a task tag: every test metric
    reported = known.reported if known else [c.removeprefix("test_") for c in header if c.startswith("test_")]
    shown = _terminal_columns(header, reported)
    if not any(_terminal_cell("status", line[header.index("status")]) for line in cells):
        shown.remove(header.index("status"))  # every run FINISHED: n says how many
    rows = [[_terminal_cell(header[i], line[i]) for i in shown] for line in cells]
    names = [header[i] for i in shown]
    at = names.index("config")
    stages = list(board.loc[board["dataset"] == dataset, "stage"])
    notes = _factor_shared(rows, at, stages, flags)
    others = sum(_column_width(names[i], [r[i] for r in rows]) for i in range(len(names)) if i != at)
    room = max(12, width - others - _GAP * (len(names) - 1))
    for row in rows:
        row[at] = _brief_config(row[at], room)
    return names, rows, flags, notes, room


def _factor_shared(rows: list[list[str]], at: int, stages: Sequence[str], baseline: Sequence[bool]) -> list[str]:
    """Take the settings every zoo row of a stage shares (two rows or more: a search's trials
    share its budget and fold protocol) out of those rows' config cells, into one note each."""
    notes = []
    for stage in dict.fromkeys(stages):
        mine = [r for r, s, b in zip(rows, stages, baseline, strict=True) if s == stage and not b]
        settings = [[] if r[at] == "defaults" else _SETTING.split(r[at]) for r in mine]
        common = [x for x in settings[0] if all(x in other for other in settings[1:])] if len(mine) > 1 else []
        if not common:
            continue
        for row, own in zip(mine, settings, strict=True):
            row[at] = ", ".join(x for x in own if x not in common) or "defaults"
        notes.append(f"every {stage} run also: {', '.join(common)}")
    return notes


def _column_width(col: str, cells: Sequence[str]) -> int:
    lines = [*_terminal_header(col).splitlines(), *cells]
    return min(max(len(line) for line in lines), _MAX_WIDTHS.get(col, 10**6))


def _brief_config(cell: str, room: int) -> str:
    """As many of a config label's settings as fit `room` characters, then "+N more" (the first
    one always; the column's ellipsis cuts it if even that is too long)."""
    settings = _SETTING.split(cell)
    for keep in range(len(settings), 0, -1):
        hidden = len(settings) - keep
        text = ", ".join(settings[:keep]) + (f" +{hidden} more" if hidden else "")
        if len(text) <= room or keep == 1:
            return text
    return cell


def _terminal_columns(header: Sequence[str], reported: Sequence[str]) -> list[int]:
    """The columns a terminal shows: identity, objective, the task's reported test metrics, cost."""
    keep = {"#", "model", "config", "params", "train s", "epochs", "status", *reported}
    keep |= {f"test_{m}" for m in reported}
    return [i for i, col in enumerate(header) if i == 3 or col in keep]


def _terminal_header(col: str) -> str:
    if " mean ± std" in col:
        return col.replace(" mean ± std", "\nmean ± std")
    if col.startswith("test_"):
        return "test\n" + col.removeprefix("test_")
    return {"train s": "train\ns", "status": "not\nfinished"}.get(col, col)


_SETTING = re.compile(r", (?=[\w.]+=)")  # the comma before each "name=" of a config label


def _terminal_cell(col: str, cell: str) -> str:
    if col == "params" and cell.replace(",", "").isdigit():
        count = int(cell.replace(",", ""))
        return f"{count / 1e6:.1f}M" if count >= 1e6 else f"{count / 1e3:.0f}k" if count >= 1e3 else str(count)
    if col == "status":
        return ", ".join(part for part in cell.split(", ") if not part.endswith("FINISHED"))
    return cell
