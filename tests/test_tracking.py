"""MLflow keys: every param, metric and tag key the project writes is one MLflow accepts."""

from __future__ import annotations

import random

import pytest
from mlflow.utils import validation

from recipes.tracking import create_run, log_batch, mlflow_key

AWKWARD = [
    "pool.test (transductive)", "a//b", "./a", "../x", "/abs", "a/", "a/./b", "a/../b", "", "  ", "_", "()",
    "x" * 400, "tab\tand\nnewline", "semi;colon,comma", "emoji 😀", "nul\x00", "quote's \"q\"", "50%", "a\\b",
]  # fmt: skip
RANDOM = ["".join(chr(random.Random(i).randrange(1, 0x2FF)) for _ in range(random.Random(-i).randrange(1, 40)))
          for i in range(200)]  # fmt: skip


@pytest.mark.parametrize("name", AWKWARD + RANDOM)
def test_every_key_is_one_mlflow_accepts(name) -> None:
    key = mlflow_key(name)
    validation._validate_param_name(key)
    validation._validate_metric_name(key)
    validation._validate_tag_name(key)
    assert len(key) <= validation.MAX_ENTITY_KEY_LENGTH


@pytest.mark.parametrize(
    "name", ["model.units", "train.learning_rate", "pool.test_transductive", "mlflow.parentRunId", "a b:c/d-e"]
)
def test_valid_keys_are_kept_as_they_are(name) -> None:
    assert mlflow_key(name) == name


def test_a_real_store_takes_awkward_keys_and_long_values(tmp_path) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    run_id = create_run(client, client.create_experiment("keys"), run_name="awkward", tags={"the (tag)": "x" * 9000})
    params = {f"p{i} {name}": "v" * 7000 for i, name in enumerate(AWKWARD)}  # more than one batch of 100 with these
    params.update({f"n{i}": i for i in range(150)})
    log_batch(client, run_id, params=params, metrics={"val (loss)": 0.5, "nan": float("nan")}, tags={"a/../b": 1})
    data = client.get_run(run_id).data
    assert data.params["p0 pool.test _transductive"] == "v" * 6000 and len(data.params) == len(params)
    assert data.metrics == {"val _loss": 0.5}
    assert data.tags["the _tag"] == "x" * 8000 and data.tags["a/b"] == "1"


def test_a_client_made_run_ends_with_the_status_its_block_earned(tmp_path, monkeypatch) -> None:
    import mlflow
    from mlflow import MlflowClient

    from recipes.tracking import closing_run

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    experiment = client.create_experiment("ends")
    ids = [create_run(client, experiment, run_name=name, tags={}) for name in ("ok", "bad", "stopped")]
    with closing_run(ids[0]):
        pass
    with pytest.raises(ValueError), closing_run(ids[1]):
        raise ValueError("no such column 'x'")
    with pytest.raises(KeyboardInterrupt), closing_run(ids[2]):
        raise KeyboardInterrupt
    runs = [client.get_run(i) for i in ids]
    assert [r.info.status for r in runs] == ["FINISHED", "FAILED", "KILLED"]
    assert runs[1].data.tags["error"] == "ValueError: no such column 'x'" and "error" not in runs[2].data.tags


def test_the_mlflow_fixes_still_find_what_they_patch() -> None:
    """An MLflow upgrade that moves a private name fails here, not in a user's run."""
    import mlflow.keras.save as flavour
    from mlflow.tracking import fluent

    from recipes import mlflow_fixes

    mlflow_fixes.apply()
    mlflow_fixes.apply()  # idempotent: patched once
    assert getattr(flavour._save_example, "_lstm_zoo_fix", False)
    assert getattr(flavour._save_example, "__wrapped__", None) is None
    assert hasattr(fluent._active_run_stack, "get") and isinstance(fluent.run_id_to_system_metrics_monitor, dict)


def test_a_run_folder_resumes_only_what_a_killed_attempt_left(tmp_path) -> None:
    import json

    from recipes.runs import load_history, open_folder, run_key

    key = run_key("lstm", "ucr:GunPoint", {"train": {"epochs": 3}})
    assert key == run_key("lstm", "ucr:GunPoint", {"train": {"epochs": 3}}) != run_key("lstm", "ucr:GunPoint", {})
    fresh = open_folder(tmp_path, key, resume=True, experiment_id=None)
    assert (fresh.resumed_from, fresh.previous_run) == (0, None)
    fresh.backup_dir.mkdir()
    (fresh.backup_dir / "training_metadata.json").write_text(json.dumps({"epoch": 2}))
    fresh.history_file.write_text("epoch,loss\n0,0.9\n1,0.8\n1,0.7\n2,")  # epoch 1 redone; 2 cut short by a kill
    assert load_history(fresh.history_file) == {"loss": [0.9, 0.7]}
    assert open_folder(tmp_path, key, resume=True, experiment_id=None).resumed_from == 2
    again = open_folder(tmp_path, key, resume=False, experiment_id=None)
    assert again.resumed_from == 0 and not again.backup_dir.exists() and not again.history_file.exists()


def test_the_tracking_group_is_one_record_or_its_loose_fields_never_both(tmp_path) -> None:
    from recipes.tracking import Tracking, as_tracking
    from zoo.errors import ConfigError

    loose = as_tracking(True, uri="sqlite:///x.db", experiment="e", parent_run_id=None, runs_dir=tmp_path, tags=None)
    assert loose == Tracking(uri="sqlite:///x.db", experiment="e", runs_dir=tmp_path)
    child = loose.under(parent_run_id="p", tags={"trial_id": "1"})
    assert (child.uri, child.parent_run_id, child.tags, loose.tags) == ("sqlite:///x.db", "p", {"trial_id": "1"}, {})
    assert as_tracking(child, uri=None, experiment=None) is child
    with pytest.raises(ConfigError, match="give experiment inside tracking=Tracking"):
        as_tracking(child, experiment="other")
    assert Tracking(enabled=False).connect() is None


def test_experiments_open_on_the_runs_table_in_the_mlflow_ui(tmp_path) -> None:
    """MLflow 3.17's UI opens an experiment on its runs only when it is tagged a model-development one."""
    import mlflow
    from mlflow import MlflowClient

    from recipes.tracking import connect

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    _, made = connect(uri, "fresh")
    mlflow.set_tracking_uri(uri)
    old = mlflow.create_experiment("older")  # as an earlier version of the zoo made them
    _, again = connect(uri, "older")
    client = MlflowClient(uri)
    for experiment_id in (made, again):
        assert client.get_experiment(experiment_id).tags["mlflow.experimentKind"] == "custom_model_development"
    assert again == old
