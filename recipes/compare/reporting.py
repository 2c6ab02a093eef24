"""The report files of a comparison: the pictures, `leaderboard.csv`, `report.md` (the leaderboard
as tables, with links to the pictures) and `report.html` (the same with the pictures embedded: one
self-contained file), written to one folder by `report` and logged as a comparison run.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recipes.compare.board import table_rows
from recipes.compare.comparison_run import _log_comparison
from recipes.compare.figures import plot_metric_by_model, plot_metric_vs_cost, plot_validation_curves

if TYPE_CHECKING:
    import pandas as pd


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
