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
