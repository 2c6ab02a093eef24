"""The supervised recipe on real shipped data, tracked in a real SQLite MLflow store."""

from __future__ import annotations

import numpy as np
import pytest

import recipes
from recipes.data.base import PAD_VALUE, Dataset, Split
from recipes.data.pipeline import make_dataset
from recipes.errors import DataError
from zoo.errors import ConfigError

TINY = {"units": 8}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"


@pytest.fixture(scope="module")
def gunpoint(store, tmp_path_factory):
    """One tracked 3-epoch run of a small LSTM on GunPoint (selected on val), shared by the assertions below."""
    runs = tmp_path_factory.mktemp("runs")
    return recipes.train("lstm", "ucr:GunPoint", hparams=TINY, epochs=3, batch_size=16, select_on="val",
                         tracking_uri=store, runs_dir=runs, verbose=0)  # fmt: skip


def test_a_run_logs_params_metrics_tags_and_artifacts(gunpoint, store) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(store)
    run = client.get_run(gunpoint.run_id)
    assert run.info.status == "FINISHED"
    params, tags, metrics = run.data.params, run.data.tags, run.data.metrics
    assert params["model"] == "lstm" and params["model.units"] == "8" and params["model.dropout"] == "0.1"
    assert params["train.epochs"] == "3" and params["train.optimizer"] == "adam" and params["train.seed"] == "0"
    assert params["train.jit_compile"] == "auto"  # Keras' choice per backend and device
    assert (params["protocol.select_on"], params["protocol.batch_size"], params["protocol.epochs"]) == (
        "val",
        "16",
        "3",
    )
    assert params["data.dataset"] == "ucr:GunPoint" and params["data.n_test"] == "150"
    for key in ("model", "family", "task", "dataset", "stage", "seed", "device", "keras_backend", "version.keras"):
        assert key in tags, key
    assert (tags["model"], tags["family"], tags["stage"], tags["device"]) == ("lstm", "recurrent", "supervised", "CPU")
    assert tags["version.tensorflow"].startswith("2.21")
    for key in ("test_accuracy", "test_macro_f1", "test_log_loss", "epochs_trained", "best_val_loss"):
        assert key in metrics, key
    assert metrics["test_accuracy"] == pytest.approx(gunpoint.test_metrics["accuracy"])
    # Start-up cost: from process start (pytest's, here) to the end of the first training step.
    assert 0 < metrics["time_to_first_step_seconds"] and metrics["train_seconds"] > 0
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")] == [0, 1, 2]
    assert any(k.startswith("system/cpu_utilization") for k in metrics), sorted(metrics)
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {
        "model.keras",
        "learning_curves.png",
        "confusion_matrix.png",
        "model_spec.json",
        "metrics.csv",
        "dataset_info.json",
    } <= names
    contexts = {i.tags[0].value for i in run.inputs.dataset_inputs}
    assert contexts == {"training", "validation", "testing"}


def test_the_logged_model_loads_and_predicts_like_the_trained_one(gunpoint, store) -> None:
    import mlflow

    mlflow.set_tracking_uri(store)
    from recipes.serving import raw_inputs

    x = gunpoint.dataset.test.x[:8]
    expected = np.asarray(gunpoint.model.predict_on_batch(x))
    raw = raw_inputs(x, gunpoint.dataset)  # the logged model takes series as the data holds them
    exported = mlflow.keras.load_model(f"runs:/{gunpoint.run_id}/model")  # a SavedModel: Model.export's
    np.testing.assert_allclose(np.asarray(exported.serve(raw)), expected, rtol=1e-5, atol=1e-6)
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{gunpoint.run_id}/model")
    np.testing.assert_allclose(np.asarray(pyfunc.predict(raw)), expected, rtol=1e-5, atol=1e-6)
    assert pyfunc.metadata.get_input_schema().inputs[0].shape == (-1, 150, 1)


def test_same_seed_same_metrics_on_cpu(tmp_path) -> None:
    kwargs = dict(hparams=TINY, epochs=2, batch_size=16, tracking=False, runs_dir=tmp_path, verbose=0, jitter=0.05)
    first = recipes.train("gru", "ucr:ItalyPowerDemand", **kwargs).test_metrics
    second = recipes.train("gru", "ucr:ItalyPowerDemand", resume=False, **kwargs).test_metrics
    assert first == second


def test_a_dropped_model_leaves_no_traced_graph_behind(tmp_path) -> None:
    """A search trains model after model in one process: a finished one must not stay in memory.

    TensorFlow's gradient registry used to keep every traced train step alive (about 10 MiB per
    small model; `recipes.backend_fixes`).
    """
    import gc

    from tensorflow.python.framework.func_graph import FuncGraph

    def live_graphs() -> int:
        gc.collect()
        return sum(isinstance(o, FuncGraph) for o in gc.get_objects())

    kwargs = dict(hparams={"units": 4}, epochs=1, batch_size=32, tracking=False, runs_dir=tmp_path, verbose=0)
    recipes.train("lstm", "ucr:ItalyPowerDemand", **kwargs)  # the first run also traces what stays cached
    before = live_graphs()
    recipes.train("gru", "ucr:ItalyPowerDemand", **kwargs)
    assert live_graphs() <= before


def test_mixed_precision_on_a_cpu_trains_and_says_it_is_slower(tmp_path, caplog) -> None:
    kwargs = dict(hparams={"units": 4}, epochs=1, batch_size=32, tracking=False, runs_dir=tmp_path, verbose=0)
    with caplog.at_level("WARNING", logger="recipes.train"):
        result = recipes.train("gru", "ucr:ItalyPowerDemand", mixed_precision=True, **kwargs)
    assert "bfloat16" in caplog.text and "slower" in caplog.text
    assert result.model.layers[-1].compute_dtype == "float32"  # the head stays float32
    assert 0 <= result.test_metrics["accuracy"] <= 1 and np.isfinite(result.test_metrics["log_loss"])


def test_forecasting_reports_errors_in_data_units(store, tmp_path) -> None:
    from mlflow import MlflowClient

    result = recipes.train(
        "gru", "forecast:airline", hparams=TINY, epochs=2, tracking_uri=store, runs_dir=tmp_path, verbose=0
    )
    steps = {f"mae_step_{k}" for k in range(1, 13)}  # airline's horizon: 12 months
    interval = {"coverage_80", "interval_width_80"}  # the conformal interval sized on validation
    assert set(result.test_metrics) == {"mae", "rmse", "mape", "smape", "mase", *steps, *interval}
    # Passengers are in the hundreds: errors in data units, not in scaled units.
    assert result.test_metrics["mae"] > 5
    assert result.test_metrics["mae"] == pytest.approx(np.mean([result.test_metrics[k] for k in steps]))
    names = {a.path for a in MlflowClient(store).list_artifacts(result.run_id)}
    assert {"forecast_vs_actual.png", "forecast_over_history.png"} <= names and "confusion_matrix.png" not in names
    # The forecasting head's default (differencing), resolved and logged with the model's: airline grows
    # season after season, so its anchor is the value one season before plus the last season's change.
    assert (result.hparams["window_norm"], result.hparams["season"]) == ("season_trend", 12)


def test_an_ensemble_is_one_model_averaging_its_members_each_a_nested_run(store, tmp_path) -> None:
    import keras
    from mlflow import MlflowClient

    result = recipes.train("gru", "forecast:airline", hparams=TINY, epochs=2, ensemble=2, seed=5,
                           tracking_uri=store, runs_dir=tmp_path, verbose=0)  # fmt: skip
    x = result.dataset.test.x
    members = [result.model.get_layer(f"member_{i}") for i in range(2)]
    alone = [m.predict(x, verbose=0) for m in members]
    assert not np.allclose(alone[0], alone[1])  # two seeds, two models
    np.testing.assert_allclose(result.model.predict(x, verbose=0), np.mean(alone, axis=0), rtol=1e-5, atol=1e-6)
    loaded = keras.saving.load_model(result.run_dir / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), result.model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)

    client = MlflowClient(store)
    run = client.get_run(result.run_id)
    assert run.data.params["train.ensemble"] == "2" and run.data.tags["stage"] == "supervised"
    assert {"test_mae", "test_coverage_80"} <= set(run.data.metrics)  # the ensemble is tested, and has an interval
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'")
    assert sorted(c.data.tags["seed"] for c in children) == ["5", "6"]
    assert all(c.data.tags["stage"] == "member" and c.info.status == "FINISHED" for c in children)
    assert not any(k.startswith("test_") for c in children for k in c.data.metrics)  # members are not tested
    assert result.epochs == sum(c.data.metrics["epochs_trained"] for c in children)


def test_variable_length_data_trains_with_masking(tmp_path) -> None:
    result = recipes.train(
        "lstm", "ucr:JapaneseVowels", hparams=TINY, epochs=1, tracking=False, runs_dir=tmp_path, verbose=0
    )
    assert result.dataset.variable_length and result.model.input_shape == (None, None, 12)
    assert 0.0 <= result.test_metrics["accuracy"] <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"epochs": 0}, ConfigError, ["epochs=0", "int [1, 100000]"]),
        ({"learning_rte": 0.1}, ConfigError, ["learning_rte", "did you mean: learning_rate"]),
        ({"hparams": {"unitz": 8}}, ConfigError, ["unitz", "did you mean: units"]),
        ({"data": "ucr:GunPont"}, DataError, ["GunPont", "GunPoint"]),
        ({"ensemble": 2, "init_weights": "w.weights.h5"}, ConfigError, ["ensemble=2", "init_weights"]),
        ({"ensemble": 2, "evaluate": False}, ConfigError, ["ensemble=2", "search trial"]),
        ({"ensemble": 2, "members": ["a trained run"]}, ConfigError, ["ensemble=2", "members=", "not both"]),
        ({"members": ["a trained run"]}, ConfigError, ["members=", "2 or more", "got 1"]),
    ],
)
def test_bad_input_fails_before_training_with_one_line(kwargs, error, words, tmp_path) -> None:
    data = kwargs.pop("data", "ucr:GunPoint")
    with pytest.raises(error) as info:
        recipes.train("lstm", data, tracking=False, runs_dir=tmp_path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_a_model_that_needs_longer_series_gets_a_data_error(tmp_path) -> None:
    with pytest.raises(DataError, match=r"JapaneseVowels: train series have 29 steps but cnn_lstm needs at least 64"):
        recipes.train("cnn_lstm", "ucr:JapaneseVowels", hparams={"pool_size": 4, "num_blocks": 3}, epochs=1,
                      tracking=False, runs_dir=tmp_path)  # fmt: skip


def test_examples_shorter_than_the_model_minimum_train_padded(tmp_path) -> None:
    """JapaneseVowels has series of 7 steps; cnn_lstm with pool 4 needs 16. Padded to the
    arrays' 29 steps (and each cut batch to at least 16) the short ones train and predict."""
    result = recipes.train("cnn_lstm", "ucr:JapaneseVowels", hparams={"pool_size": 4, "filters": 8, "units": 8},
                           epochs=1, tracking=False, runs_dir=tmp_path, verbose=0)  # fmt: skip
    test = result.dataset.test
    short = np.flatnonzero(test.lengths < 8)  # alone in a batch, cut to 8 steps without the floor
    assert len(short) and result.dataset.train.lengths.min() < 16
    batches = make_dataset(Split(test.x[short], test.y[short], test.lengths[short]), batch_size=len(short), trim=16)
    assert next(iter(batches))[0].shape[1] == 16
    probabilities = result.model.predict(batches, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert 0.0 <= result.test_metrics["accuracy"] <= 1.0


def _toy(n: int = 6, steps: int = 12) -> Split:
    x = np.tile(np.arange(steps, dtype="float32")[None, :, None], (n, 1, 2)) + 1.0
    lengths = np.array([steps, steps - 4] * (n // 2), dtype="int32")
    x[1::2, steps - 4 :] = PAD_VALUE
    return Split(x, np.arange(n) % 2, lengths)


def test_augmentation_changes_train_batches_only_and_keeps_padding() -> None:
    cfg = recipes.train_config({"jitter": 0.1, "scaling": 0.1, "magnitude_warp": 0.2, "window_slice": 0.2})
    split = _toy()

    def epochs(seed: int) -> list[np.ndarray]:
        ds = make_dataset(split, batch_size=6, training=True, seed=seed, augment=cfg)
        return [np.concatenate([x.numpy() for x, _ in ds]) for _ in range(2)]

    first, again = epochs(0), epochs(0)
    np.testing.assert_array_equal(first[0], again[0])  # same seed, same augmented data
    assert not np.allclose(first[0], first[1])  # a new draw every epoch
    for batch in first:
        # right padding survives augmentation exactly: the padded tails are PAD_VALUE
        short = batch[np.all(batch[:, -4:] == PAD_VALUE, axis=(1, 2))]
        assert len(short) == 3
    plain = np.concatenate([x.numpy() for x, _ in make_dataset(split, batch_size=6, augment=cfg)])
    np.testing.assert_array_equal(plain, split.x)  # not training: untouched


def test_variable_length_batches_are_cut_to_their_longest_example() -> None:
    split = _toy(steps=20)
    split.lengths[:] = 5
    (x, _), *_ = list(make_dataset(split, batch_size=6, trim=1))
    assert x.shape == (6, 8, 2)  # 5 steps, rounded up to a multiple of 8
    (x, _), *_ = list(make_dataset(split, batch_size=6, trim=12))
    assert x.shape == (6, 12, 2)  # never shorter than the model's minimum length
    (x, _), *_ = list(make_dataset(split, batch_size=6))
    assert x.shape == (6, 20, 2)  # not cut at all
    split.lengths[0] = 19
    (x, _), *_ = list(make_dataset(split, batch_size=6, trim=1))
    assert x.shape == (6, 20, 2)  # never longer than the data


def test_augmentation_of_tokens_is_refused() -> None:
    tokens = Split(np.ones((4, 5), dtype="int32"), np.zeros(4, dtype="int64"))
    with pytest.raises(ConfigError, match="series only"):
        make_dataset(tokens, batch_size=2, training=True, augment=recipes.train_config({"jitter": 0.1}))


def test_a_dataset_object_trains_directly(tmp_path) -> None:
    rng = np.random.default_rng(0)

    def split(n: int) -> Split:
        y = rng.integers(0, 2, n)
        return Split((rng.normal(size=(n, 10, 1)) + y[:, None, None]).astype("float32"), y)

    data = Dataset(
        "mine", "classification", "series", split(32), split(8), split(16), class_names=["a", "b"], num_features=1
    )
    result = recipes.train("fcn", data, hparams={"filters_1": 8, "filters_2": 8, "filters_3": 8}, epochs=2,
                           tracking=False, runs_dir=tmp_path, verbose=0)  # fmt: skip
    assert result.epochs == 2 and (tmp_path / result.run_dir.name / "model.keras").exists()


def test_mirrored_strategy_over_two_logical_cpus(tmp_path) -> None:
    """What several GPUs get, tested on a CPU split into two logical devices (a fresh process)."""
    import subprocess
    import sys

    code = f"""
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import recipes
r = recipes.train("lstm", "ucr:GunPoint", hparams={{"units": 4}}, epochs=1, batch_size=16, distribute="mirrored",
                  tracking_uri="sqlite:///{tmp_path}/m.db", runs_dir="{tmp_path}", verbose=0)
from mlflow import MlflowClient
print("REPLICAS", MlflowClient().get_run(r.run_id).data.tags["replicas"], r.test_metrics["accuracy"])
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "REPLICAS 2" in result.stdout


def test_a_diverging_run_ends_failed_with_the_reason(store, tmp_path) -> None:
    from mlflow import MlflowClient

    rng = np.random.default_rng(0)
    huge = Split((rng.normal(size=(16, 8, 1)) * 1e38).astype("float32"), np.arange(16) % 2)
    data = Dataset("huge", "classification", "series", huge, huge, huge, class_names=["a", "b"], num_features=1)
    with pytest.raises(recipes.TrainingError, match=r"loss became (nan|inf)"):
        recipes.train("mlp", data, epochs=3, tracking_uri=store, runs_dir=tmp_path, experiment="failures", verbose=0)
    client = MlflowClient(store)
    [run] = client.search_runs([client.get_experiment_by_name("failures").experiment_id])
    assert run.info.status == "FAILED" and "loss became" in run.data.tags["error"]


def test_two_processes_opening_a_new_experiment_at_once_both_get_it(tmp_path, monkeypatch) -> None:
    """A search's chief and workers start together: the one that loses the race to create
    the experiment uses the winner's."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from recipes.tracking import connect

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    create = mlflow.create_experiment

    def lose_the_race(name: str, *args, **kwargs):
        create(name, *args, **kwargs)  # the other process wins
        raise MlflowException(f"RESOURCE_ALREADY_EXISTS: Experiment(name={name}) already exists")

    monkeypatch.setattr(mlflow, "create_experiment", lose_the_race)
    _, experiment_id = connect(uri, "raced")
    assert experiment_id == MlflowClient(uri).get_experiment_by_name("raced").experiment_id


def test_the_recipe_makes_keras_wait_for_no_step(monkeypatch, tmp_path) -> None:
    """No recipe callback has a batch-end hook: async backends keep dispatching steps ahead."""
    import importlib

    import keras

    from recipes.callbacks import per_step_sync

    fitting = importlib.import_module("recipes.fitting")

    assert per_step_sync([keras.callbacks.TerminateOnNaN(), keras.callbacks.BackupAndRestore(str(tmp_path))]) == [
        "TerminateOnNaN",
        "BackupAndRestore",
    ]
    seen: list = []
    original = fitting.callbacks

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.extend(out)
        return out

    monkeypatch.setattr(fitting, "callbacks", spy)
    recipes.train("lstm", "ucr:ItalyPowerDemand", hparams={"units": 4}, epochs=1, tracking=False,
                  runs_dir=tmp_path, verbose=0)  # fmt: skip
    assert len(seen) >= 6 and per_step_sync(seen) == []


def test_the_resume_checkpoint_waits_for_its_interval_and_the_last_epoch(monkeypatch, tmp_path) -> None:
    from recipes.callbacks import EpochBackup

    saved: list[int] = []
    original = EpochBackup._save_model

    def count(self) -> None:
        saved.append(self._current_epoch)
        original(self)

    monkeypatch.setattr(EpochBackup, "_save_model", count)
    common = {"hparams": {"units": 4}, "epochs": 4, "patience": 0, "tracking": False, "verbose": 0}
    recipes.train("lstm", "ucr:ItalyPowerDemand", checkpoint_seconds=3600, runs_dir=tmp_path / "a", **common)
    assert saved == [4]  # short epochs: only the end is saved
    saved.clear()
    recipes.train("lstm", "ucr:ItalyPowerDemand", checkpoint_seconds=0, runs_dir=tmp_path / "b", **common)
    assert saved == [1, 2, 3, 4]
