"""What the recipes write into MLflow, named once: stages, tag keys, run-folder files.

Every writer (`recipes.train`, `recipes.semi`, `recipes.baselines`, `tuning.searching`,
`recipes.compare`) uses these names and `recipes.compare` reads them back, so a stage or a
tag renamed here is renamed everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Stages: the `stage` tag of a run.
SUPERVISED = "supervised"  # `zoo train`
PRETRAIN = "pretrain"  # an encoder trained on a pretext (scored by a pretext loss, not on test)
FINETUNE = "finetune"  # a pretrained encoder trained on labels
SWEEP = "semi"  # a labelled-fraction sweep's parent run
SEARCH = "search"  # a search's parent run
MEMBER = "member"  # one model of an ensemble (`ensemble` > 1), nested under the ensemble's run, not tested
TRIAL = "trial"  # a search trial (chosen on validation data, never evaluated on test)
BEST = "best"  # a search's best config retrained and evaluated on test
BASELINE = "baseline"  # a classical baseline (`recipes.baselines`)
DETECT = "detect"  # an anomaly detector: trained on normal data, scored on test (`recipes.anomaly`)
COMPARE = "compare"  # a comparison report

# Tag keys every run of a model carries (`identity`), and the others the recipes set.
MODEL, FAMILY, TASK, DATASET, STAGE, SEED = "model", "family", "task", "dataset", "stage", "seed"
ERROR = "error"  # "Type: message" of the exception that ended a run FAILED
PARENT = "mlflow.parentRunId"
SEARCH_ID, SWEEP_ID = "search_id", "sweep_id"  # what a resumed search or sweep reattaches by
INIT, FRACTION, PRETEXT = "init", "fraction", "pretext"  # a fine-tune: pretrained or scratch, labels kept
PRETRAIN_RUN = "pretrain_run"  # the pretraining a fine-tune started from

# Files of a run folder.
HISTORY_FILE = "metrics.csv"  # Keras' CSVLogger: one row per epoch, resumed epochs included
STATE_FILE = "state.json"  # the folder's MLflow run, so a rerun reattaches it
BACKUP_DIR = "backup"  # `BackupAndRestore`'s checkpoint of the last finished epoch


def identity(
    *, model: str, family: str, dataset: str, stage: str, seed: Any, task: str | None = None
) -> dict[str, str]:
    """The tags that say what a run is: model, family, task, dataset, stage and seed."""
    tags = {MODEL: model, FAMILY: family, DATASET: dataset, STAGE: stage, SEED: str(seed)}
    if task is not None:
        tags[TASK] = task
    return tags


def stage_of(tags: Mapping[str, str]) -> str | None:
    """A run's stage, from its tags."""
    return tags.get(STAGE)
