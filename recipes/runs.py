"""Run folders: where a run keeps its files, the key that names it, and the resume rule.

The same command (model, data, settings) names the same folder, so running it again after a
kill finds the epochs the first attempt finished (Keras `BackupAndRestore`) and the MLflow
run it was logging to.

    >>> folder = open_folder(runs_root(None), run_key("lstm", "ucr:GunPoint", settings),
    ...                      resume=True, experiment_id=experiment_id)
    >>> folder.resumed_from, folder.previous_run
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recipes.schema import BACKUP_DIR, HISTORY_FILE, STATE_FILE

RUNS_DIR = "runs"


def runs_root(runs_dir: str | os.PathLike | None) -> Path:
    """Where run folders go: `runs_dir`, else `$ZOO_RUNS_DIR`, else ./runs."""
    return Path(runs_dir or os.environ.get("ZOO_RUNS_DIR") or RUNS_DIR)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:60]


def run_key(model: str, data: str, settings: Mapping[str, Any]) -> str:
    """A stable folder name for a (model, data, settings) run: the same command, the same key."""
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{_slug(model)}-{_slug(data)}-{digest}"


@dataclass(frozen=True)
class RunFolder:
    """A run's folder and what an earlier attempt left in it.

    Attributes:
        path: The folder.
        resumed_from: Epochs a killed attempt finished, to continue from (0: start afresh).
        previous_run: That attempt's MLflow run, to log into again (None: open a new one).
    """

    path: Path
    resumed_from: int = 0
    previous_run: str | None = None

    @property
    def history_file(self) -> Path:
        return self.path / HISTORY_FILE

    @property
    def backup_dir(self) -> Path:
        return self.path / BACKUP_DIR

    def history(self) -> dict[str, list[float]]:
        """Per-epoch metrics of every attempt (see `load_history`)."""
        return load_history(self.history_file)

    def remember_run(self, run_id: str) -> None:
        """Record the MLflow run this folder logs to (a rerun reattaches it)."""
        (self.path / STATE_FILE).write_text(json.dumps({"run_id": run_id}))


def open_folder(root: Path, key: str, *, resume: bool, experiment_id: str | None) -> RunFolder:
    """The folder `root/key`, made ready for this attempt.

    It resumes when `resume` is on, a killed attempt finished at least one epoch, and (when
    tracked, `experiment_id` given) that attempt's MLflow run still exists in the experiment:
    epochs missing from a new run would be lost. Otherwise the old backup and history go, and
    a run the attempt left RUNNING is closed as KILLED.
    """
    path = root / key
    path.mkdir(parents=True, exist_ok=True)
    epochs = backup_epoch(path / BACKUP_DIR) if resume else 0
    previous = _previous_run(path, experiment_id, epochs > 0) if experiment_id is not None else None
    if experiment_id is not None and previous is None:
        epochs = 0
    if epochs == 0:
        for backup in path.glob(f"{BACKUP_DIR}*"):
            shutil.rmtree(backup, ignore_errors=True)
        (path / HISTORY_FILE).unlink(missing_ok=True)
    return RunFolder(path, epochs, previous)


def backup_epoch(backup_dir: Path) -> int:
    """Epochs the attempt that wrote `backup_dir` had finished (0: nothing to resume)."""
    try:
        return int(json.loads((backup_dir / "training_metadata.json").read_text()).get("epoch", 0))
    except (OSError, ValueError):
        return 0


def _previous_run(path: Path, experiment_id: str, resumable: bool) -> str | None:
    """The MLflow run of the folder's last attempt, if it can be continued.

    An attempt killed before its first epoch ended has nothing to resume: its run, still
    RUNNING, is closed as KILLED.
    """
    from mlflow import MlflowClient

    state = path / STATE_FILE
    if not state.exists():
        return None
    run_id = json.loads(state.read_text()).get("run_id")
    client = MlflowClient()
    try:
        run = client.get_run(run_id)
    except Exception:  # deleted, or another store
        return None
    if run.info.experiment_id != experiment_id:
        return None
    if resumable:
        return run_id
    if run.info.status == "RUNNING":
        client.set_terminated(run_id, "KILLED")
    return None


def load_history(csv_path: Path) -> dict[str, list[float]]:
    """Per-epoch metrics from Keras' CSVLogger file; a re-run epoch keeps its last row."""
    if not csv_path.exists():
        return {}
    rows: dict[int, dict[str, float]] = {}
    with csv_path.open() as f:
        for row in csv.DictReader(f):
            try:
                # Keras writes "NA" for val_ columns when there is no validation data, and a fit
                # without it appended after one with it (a refit) adds more of them than the
                # header names (DictReader files the surplus under None).
                row.pop(None, None)
                rows[int(row["epoch"])] = {k: float(v) for k, v in row.items() if k != "epoch" and v != "NA"}
            except (TypeError, ValueError):  # a line cut short by a kill
                continue
    keys = list(next(iter(rows.values()), {}))
    return {k: [rows[e].get(k, float("nan")) for e in sorted(rows)] for k in keys}
