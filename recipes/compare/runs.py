"""Collecting tracked runs into a DataFrame: the MLflow client on a checked store, the runs of an
experiment or of a parent run (comparison runs, pretrainings and, by default, tuning trials left
out), one row per run with its metrics, params and tags; reading a run's data options back from
its params, and logging the baselines the runs are missing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recipes import schema
from recipes.anomaly.config import TASK as ANOMALY
from recipes.tracking import DEFAULT_EXPERIMENT
from zoo.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

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

    client, uri = _client(tracking_uri)
    name, experiment_id, runs, label = _find_runs(client, uri, experiment, parent_run_id)
    rows = []
    left_out: dict[str, int] = {}
    for run in runs:
        reason = _left_out_reason(run.data.tags, parent_run_id, include_trials)
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


def _find_runs(
    client: Any, uri: str, experiment: str | None, parent_run_id: str | None
) -> tuple[str, str, list[Any], str]:
    """The runs `collect` reads, a parent's children or an experiment's: (name, experiment id, runs, label)."""
    from mlflow.exceptions import MlflowException

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
    return name, experiment_id, runs, label


def _left_out_reason(tags: Mapping[str, str], parent_run_id: str | None, include_trials: bool) -> str | None:
    """Why `collect` leaves a run with these tags out (its key in `attrs["left_out"]`), or None to keep it."""
    stage = schema.stage_of(tags)
    if stage == schema.COMPARE:
        return "comparison runs"
    if schema.MODEL not in tags:
        return "runs without a model tag (e.g. a search's parent run)"
    if stage == schema.TRIAL and not parent_run_id and not include_trials:
        return "tuning trials (compare them with --parent SEARCH_RUN_ID)"
    if stage == schema.PRETRAIN:
        return "encoder pretrainings (their loss is the pretext's, not the task's)"
    if stage == schema.MEMBER:
        return "ensemble members (not tested alone; their ensemble's run is)"
    return None


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
    # A detector's baselines are logged by the detection itself, on its windows and threshold rule.
    models = runs[~runs["baseline"].astype(bool) & runs["dataset"].notna() & (runs["task"] != ANOMALY)]
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


def pd_numeric(values: Any) -> Any:
    """`pandas.to_numeric` with unparseable values as NaN (params are strings)."""
    import pandas as pd

    return pd.to_numeric(values, errors="coerce")
