"""The MLflow Model Registry for what the zoo trains: a run's logged `model` as a new version of
a registered model, the newest chosen one under the alias `champion` (earlier champions stay
as versions), and which compared runs are champions.

    >>> register(run_id, "gunpoint-classifier")            # zoo train --register NAME
    ModelVersion(name="gunpoint-classifier", version=3, alias="champion")
    >>> champions([run_id, ...])                             # {run_id: "gunpoint-classifier v3"}

Serve the champion with `mlflow models serve -m models:/NAME@champion --env-manager local`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from zoo.errors import ConfigError

CHAMPION = "champion"
_NAME = re.compile(r"^[\w.\-]{1,200}$")


@dataclass(frozen=True)
class Registered:
    """A registered model version."""

    name: str
    version: int
    alias: str | None


def check_name(name: str) -> str:
    """A registered-model name MLflow and a `models:/NAME@alias` URI both take (one line otherwise)."""
    if not _NAME.match(name):
        raise ConfigError(f"--register {name!r}: use letters, digits, '.', '_' and '-' (at most 200)")
    return name


def name_from(text: str) -> str:
    """A valid registered-model name made from `text` (a search's project name)."""
    return re.sub(r"[^\w.\-]+", "-", text).strip("-")[:200] or "zoo-model"


def register(run_id: str, name: str, *, alias: str | None = CHAMPION, artifact: str = "model") -> Registered:
    """Register run `run_id`'s logged `artifact` as a new version of `name`; point `alias` at it."""
    import mlflow

    check_name(name)
    version = mlflow.register_model(model_uri(run_id, artifact), name)
    if alias:
        mlflow.MlflowClient().set_registered_model_alias(name, alias, version.version)
    return Registered(name, int(version.version), alias)


def model_uri(run_id: str, artifact: str = "model") -> str:
    """The run's logged model as `models:/MODEL_ID` (MLflow 3 keeps it outside the run's
    artifacts; `runs:/` would resolve to it with a warning), else `runs:/RUN/ARTIFACT`."""
    from mlflow import MlflowClient

    outputs = MlflowClient().get_run(run_id).outputs
    for output in outputs.model_outputs if outputs else []:
        if MlflowClient().get_logged_model(output.model_id).name == artifact:
            return f"models:/{output.model_id}"
    return f"runs:/{run_id}/{artifact}"


def champions(run_ids: Iterable[str], tracking_uri: str | None = None) -> dict[str, str]:
    """Run id -> "NAME vN" for the runs some registered model's `champion` alias points at."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    wanted, found = set(run_ids), {}
    for model in client.search_registered_models():
        version = model.aliases.get(CHAMPION) if isinstance(model.aliases, dict) else None
        if version is None:
            continue
        run_id = client.get_model_version(model.name, version).run_id
        if run_id in wanted:
            found[run_id] = f"{model.name} v{version}"
    return found
