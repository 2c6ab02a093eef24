"""Logging a comparison as an MLflow run of its own: a run tagged `stage=compare` in the compared
experiment, with a note naming each dataset's best model, the metrics ranked by as a param, and
the report's files as artifacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recipes import schema
from recipes.tracking import closing_run, create_run, log_batch

if TYPE_CHECKING:
    import pandas as pd


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
    with closing_run(run_id, client):
        metrics = sorted({f"{m}:{'max' if h else 'min'}" for m, h in board.attrs.get("metrics", {}).values()})
        log_batch(client, run_id, params={"compare.metric": ", ".join(metrics)})
        for path in files.values():
            client.log_artifact(run_id, str(path))
    return run_id
