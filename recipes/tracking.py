"""MLflow tracking: one thin run context for every recipe.

The store is `--tracking-uri`, else `MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db` in the
working directory. A server that cannot be reached fails before any training, within
seconds; a server lost during training stops tracking, not training: the run's files stay in
its local folder and the recipe says where.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recipes.errors import TrackingError
from zoo.errors import ConfigError, ZooError

DEFAULT_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "lstm-zoo"
log = logging.getLogger("recipes.tracking")


@dataclass(frozen=True)
class Tracking:
    """Where a run is recorded, as one group: MLflow (or not) and the local run folders.

    Every recipe takes it as `tracking=Tracking(...)` (or its fields as loose keywords:
    `tracking=True, tracking_uri=..., experiment=..., parent_run_id=..., runs_dir=..., tags=...`),
    and a recipe that starts others (a sweep, a search) hands it down with `under(...)`.

    Attributes:
        enabled: Log to MLflow (False: local files only).
        uri: The MLflow store (default `MLFLOW_TRACKING_URI`, else sqlite:///mlflow.db).
        experiment: The MLflow experiment (default "lstm-zoo").
        parent_run_id: Nest runs under this MLflow run.
        runs_dir: Where local run folders go (default `$ZOO_RUNS_DIR`, else ./runs).
        tags: Extra MLflow tags.
    """

    enabled: bool = True
    uri: str | None = None
    experiment: str | None = None
    parent_run_id: str | None = None
    runs_dir: str | os.PathLike | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def under(self, **changes: Any) -> Tracking:
        """The same group with some fields changed (a child run's parent, its folders, its tags)."""
        return dataclasses.replace(self, **changes)

    def connect(self) -> str | None:
        """The experiment's id after checking the store (`connect`), or None when not enabled."""
        return connect(self.uri, self.experiment)[1] if self.enabled else None


def as_tracking(tracking: bool | Tracking, **loose: Any) -> Tracking:
    """`tracking` as a `Tracking`: the record itself, or `enabled=tracking` with the loose
    keywords (`uri`, `experiment`, `parent_run_id`, `runs_dir`, `tags`).

    Raises:
        ConfigError: a `Tracking` and loose keywords both given.
    """
    if isinstance(tracking, Tracking):
        given = sorted(k for k, v in loose.items() if v)
        if given:
            raise ConfigError(f"give {', '.join(given)} inside tracking=Tracking(...), not beside it")
        return tracking
    return Tracking(enabled=bool(tracking), **{k: v for k, v in loose.items() if v is not None})


def resolve_uri(uri: str | None = None) -> str:
    """The tracking URI in force: the argument, else `MLFLOW_TRACKING_URI`, else SQLite here."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def _bound_http_retries() -> None:
    # MLflow's defaults retry a lost server for minutes; these bound each call to seconds.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


def check_store(uri: str, timeout: float = 5.0) -> None:
    """Fail fast, with one line, when the store at `uri` cannot be used.

    Raises:
        TrackingError: the server does not answer.
        ConfigError: a SQLite file whose folder is missing, or a file store.
    """
    if uri.startswith(("http://", "https://")):
        import requests

        try:
            response = requests.get(uri.rstrip("/") + "/health", timeout=timeout)
        except requests.RequestException as err:
            reason = type(err).__name__
            raise TrackingError(
                f"MLflow tracking server {uri} cannot be reached ({reason}); start it, fix --tracking-uri / "
                f"MLFLOW_TRACKING_URI, or unset it to use {DEFAULT_URI}"
            ) from None
        if response.status_code != 200:
            raise TrackingError(f"MLflow tracking server {uri} answered /health with HTTP {response.status_code}")
    elif uri.startswith("sqlite:///"):
        folder = Path(uri[len("sqlite:///") :]).expanduser().resolve().parent
        if not folder.is_dir():
            raise ConfigError(f"tracking URI {uri}: folder {folder} does not exist; create it or choose another path")
    elif uri.startswith("file:") or "://" not in uri:
        raise ConfigError(
            f"tracking URI {uri!r} is a file store, which MLflow 3 refuses; use sqlite:///PATH.db or an http:// server"
        )


# MLflow 3's UI opens an experiment without this tag on its GenAI traces overview, empty for us;
# with it, on the runs table (the models, their metrics, the charts).
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")


def connect(uri: str | None = None, experiment: str | None = None) -> tuple[str, str]:
    """Point MLflow at the store (checked first) and make sure the experiment exists.

    Returns:
        (tracking URI, experiment id).
    """
    _bound_http_retries()
    # MLflow prints two "View run ... at" lines per run on an http store; we say where runs are.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar per model download
    uri = resolve_uri(uri)
    check_store(uri)
    import mlflow

    mlflow.set_tracking_uri(uri)
    name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    try:
        found = mlflow.get_experiment_by_name(name)
        if found:
            if found.tags.get(EXPERIMENT_KIND[0]) != EXPERIMENT_KIND[1]:  # made by an earlier version or by hand
                mlflow.MlflowClient().set_experiment_tag(found.experiment_id, *EXPERIMENT_KIND)
            return uri, found.experiment_id
        try:
            return uri, mlflow.create_experiment(name, tags=dict([EXPERIMENT_KIND]))
        except Exception:  # another process (a search's chief and workers) created it meanwhile
            found = mlflow.get_experiment_by_name(name)
            if found is None:
                raise
            return uri, found.experiment_id
    except Exception as err:  # the store answered /health but refuses work: say so in one line
        raise TrackingError(
            f"MLflow store {uri}: cannot open experiment {name!r}: {str(err).splitlines()[0]}"
        ) from None


def git_commit(path: str | os.PathLike = ".") -> str | None:
    """The current git commit of `path`, or None outside a repository."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment_tags() -> dict[str, str]:
    """Device, backend and versions: tags every run carries."""
    import keras

    import zoo
    from recipes.device import describe_devices

    tags = {
        "device": describe_devices(),
        "keras_backend": keras.backend.backend(),
        "version.keras": keras.__version__,
        "version.lstm_zoo": zoo.__version__,
        "version.python": platform.python_version(),
        "host.platform": platform.platform(terse=True),
    }
    for module in ("tensorflow", "mlflow", "jax", "torch"):
        if module in sys.modules:
            tags[f"version.{module}"] = getattr(sys.modules[module], "__version__", "?")
    commit = git_commit()
    if commit:
        tags["git_commit"] = commit
    return tags


def flat_params(prefix: str, values: Mapping[str, Any]) -> dict[str, str]:
    """`{prefix.key: str(value)}` (MLflow params are strings)."""
    return {f"{prefix}.{k}" if prefix else k: str(v) for k, v in values.items()}


# MLflow's rule for param, metric and tag keys (mlflow.utils.validation): these characters only,
# a normalised relative path, at most 250 characters. Values: params 6000 characters, tags 8000.
_BAD_KEY_CHARACTERS = re.compile(r"[^/\w.\- :]+")
_KEY_LENGTH, _PARAM_LENGTH, _TAG_LENGTH = 250, 6000, 8000


def mlflow_key(name: Any) -> str:
    """`name` as a key MLflow accepts: every other run of characters becomes '_', no empty,
    '.' or '..' path parts, at most 250 characters ('pool.test (transductive)' ->
    'pool.test _transductive'). Every key the project writes goes through here."""
    text = _BAD_KEY_CHARACTERS.sub("_", str(name)).strip(" _")
    parts = [part.strip() for part in text.split("/")]
    text = "/".join(p for p in parts if p and p not in (".", ".."))[: _KEY_LENGTH - 1].rstrip("/ ")
    return "_" + text if not text or text.startswith("..") else text  # '..x' would read as a parent folder


def _param_entities(params: Mapping[str, Any]) -> list[Any]:
    from mlflow.entities import Param

    valid = {mlflow_key(k): str(v)[:_PARAM_LENGTH] for k, v in params.items()}  # names that meet: the last wins
    return [Param(k, v) for k, v in valid.items()]


def run_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    """Tags with valid keys and values cut to MLflow's limit (for `create_run` / `start_run`)."""
    return {mlflow_key(k): str(v)[:_TAG_LENGTH] for k, v in tags.items()}


def log_batch(
    client: Any,
    run_id: str,
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, Any] | None = None,
    step: int = 0,
) -> None:
    """Params, metrics (finite ones) and tags into one run, with valid keys, in batches MLflow takes."""
    import math
    import time

    from mlflow.entities import Metric, RunTag

    now = int(time.time() * 1000)
    items = _param_entities(params or {})
    for i in range(0, len(items), 100):  # MLflow takes at most 100 params a batch
        client.log_batch(run_id, params=items[i : i + 100])
    finite = {mlflow_key(k): float(v) for k, v in (metrics or {}).items() if math.isfinite(float(v))}
    if finite:
        client.log_batch(run_id, metrics=[Metric(k, v, now, step) for k, v in finite.items()])
    if tags:
        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in run_tags(tags).items()])


def create_run(client: Any, experiment_id: str, *, run_name: str, tags: Mapping[str, Any]) -> str:
    """A new run (RUNNING) with valid tag keys; its id."""
    return client.create_run(experiment_id, run_name=run_name, tags=run_tags(tags)).info.run_id


class Tracker:
    """Logs into one MLflow run and survives the store going away mid-run.

    The first failed call marks the store as lost: later calls are skipped (each would
    otherwise wait for its own timeout), and `lost` tells the recipe to say where the local
    copies are.
    """

    def __init__(self, run_id: str) -> None:
        import mlflow
        from mlflow import MlflowClient

        self.run_id = run_id
        self.uri = mlflow.get_tracking_uri()
        self.client = MlflowClient()
        self.lost: str | None = None

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run an MLflow call unless the store was lost.

        A failure while the store does not answer marks it lost; a failure while it does
        answer is a real error and propagates.
        """
        if self.lost:
            return None
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            try:
                check_store(self.uri, timeout=3.0)
            except ZooError:  # the server does not answer, the SQLite folder is gone
                self.lost = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:300]
                log.warning("MLflow store %s lost (%s); training goes on, tracking stops", self.uri, self.lost)
                return None
            raise

    def params(self, params: Mapping[str, Any]) -> None:
        self.call(log_batch, self.client, self.run_id, params=params)

    def tags(self, tags: Mapping[str, Any]) -> None:
        self.call(log_batch, self.client, self.run_id, tags=tags)

    def metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self.call(log_batch, self.client, self.run_id, metrics=metrics, step=step or 0)

    def artifact(self, path: str | os.PathLike, artifact_path: str | None = None) -> None:
        self.call(self.client.log_artifact, self.run_id, str(path), artifact_path)


def epoch_logger(tracker: Tracker) -> Any:
    """A Keras callback logging each epoch's logs to the run, keyed by epoch."""
    import keras

    class MLflowEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            tracker.metrics({k: v for k, v in (logs or {}).items() if k != "learning_rate"}, step=epoch)

    return MLflowEpochs()


@contextlib.contextmanager
def outcome(end: Callable[[str], None], tag_error: Callable[[str], None] | None = None) -> Iterator[None]:
    """Ends a run with the status its block earned: FINISHED, KILLED (interrupt) or FAILED.

    Args:
        end: Called once with the status, whatever happened.
        tag_error: Called with "Type: message" when the block raised (the run's `error` tag).
    """
    status = "FAILED"
    try:
        yield
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except Exception as err:
        if tag_error is not None:
            tag_error(f"{type(err).__name__}: {err}"[:5000])
        raise
    finally:
        end(status)


@contextlib.contextmanager
def closing_run(run_id: str | None, client: Any = None) -> Iterator[None]:
    """End run `run_id` (a client-made run: a parent, a baseline, a report) with the status its
    block earned, a failure's reason in its `error` tag; nothing when `run_id` is None. Give the
    `client` that made the run when it points at another store than the active one."""
    if run_id is None:
        yield
        return
    from mlflow import MlflowClient

    from recipes.schema import ERROR

    client = client or MlflowClient()
    with outcome(lambda status: client.set_terminated(run_id, status),
                 lambda error: log_batch(client, run_id, tags={ERROR: error})):  # fmt: skip
        yield


def find_run(experiment_id: str, **tags: str) -> str | None:
    """The id of a run of the experiment carrying all these tags, if there is one."""
    from mlflow import MlflowClient

    query = " and ".join(f"tags.{k} = '{v}'" for k, v in tags.items())
    found = MlflowClient().search_runs([experiment_id], filter_string=query, max_results=1)
    return found[0].info.run_id if found else None


def parent_run(
    experiment_id: str, key: Mapping[str, str], *, run_name: str, tags: Mapping[str, str], params: Mapping[str, Any]
) -> str:
    """A search's or sweep's parent run: the one tagged `key` reattached (resume), else created.

    A reattached run is RUNNING again and loses the `error` tag of the attempt before.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    found = find_run(experiment_id, **key)
    if found:
        client.update_run(found, status="RUNNING")
        if "error" in client.get_run(found).data.tags:
            client.delete_tag(found, "error")
        return found
    run_id = create_run(client, experiment_id, run_name=run_name, tags={**tags, **key})
    Tracker(run_id).params(params)
    return run_id


@contextlib.contextmanager
def tracked_run(
    experiment_id: str,
    folder: Any,
    *,
    run_name: str,
    tags: Mapping[str, Any],
    parent_run_id: str | None = None,
) -> Iterator[Tracker]:
    """The MLflow run of a run folder: opened (or the folder's earlier run reattached), then
    ended FINISHED, KILLED (interrupt) or FAILED with the reason in its `error` tag.

    The run is MLflow's active run for the block (so `mlflow.keras.log_model` logs into it),
    nested under `parent_run_id` when given, with system metrics every 2 s. A store lost
    mid-run ends it locally without waiting on the store (`Tracker.lost` says why).

    Args:
        experiment_id: The experiment (`connect`).
        folder: The `recipes.runs.RunFolder`; its `previous_run` is reattached.
        run_name, tags: A new run's name and tags (a reattached run keeps its own).
        parent_run_id: Nest under this run (search trials, sweep children).
    """
    import mlflow

    from recipes.mlflow_fixes import end_run_offline
    from recipes.schema import ERROR

    previous = folder.previous_run
    mlflow.set_system_metrics_sampling_interval(2)
    mlflow.set_system_metrics_samples_before_logging(1)
    active = mlflow.start_run(
        run_id=previous,
        experiment_id=experiment_id,
        run_name=None if previous else run_name,
        parent_run_id=parent_run_id,
        nested=parent_run_id is not None,
        tags=None if previous else run_tags(tags),
        log_system_metrics=True,
    )
    run_id = active.info.run_id
    tracker = Tracker(run_id)

    def end(status: str) -> None:
        if tracker.lost:
            end_run_offline(run_id)
            return
        try:
            mlflow.end_run(status)
        except Exception as err:  # the store went away at the very end
            log.warning("could not end MLflow run %s: %s", run_id, err)
            end_run_offline(run_id)

    with outcome(end, lambda error: tracker.tags({ERROR: error})):
        folder.remember_run(run_id)
        yield tracker
