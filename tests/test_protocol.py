"""The training protocol: budget, batch and selection follow the data's size; the LR schedule runs."""

from __future__ import annotations

import csv
import itertools

import pytest

import recipes
from recipes.config import train_config
from recipes.protocol import resolve
from zoo.errors import ConfigError


@pytest.mark.parametrize(
    ("settings", "task", "sizes", "expected"),
    [
        # GunPoint: 40 train + 10 val series: fit on all 50, batch 5, 2000 steps = 200 epochs, all
        # of them (no early stopping on the training loss), the rate along a cosine.
        ({}, "classification", (40, 10), ("train", 5, 10, 200, 0, 20, "cosine")),
        # A large set: the carved validation split is big enough to judge by; at least 20 epochs.
        ({}, "classification", (8000, 2000), ("val", 32, 250, 20, 5, 2, "plateau")),
        # Forecasting keeps its time-ordered validation segment however small.
        ({}, "forecasting", (70, 18), ("val", 7, 10, 200, 40, 20, "plateau")),
        # What a user gives is kept.
        (
            {"batch_size": 16, "epochs": 3, "patience": 0, "select_on": "val", "lr_schedule": "none"},
            "classification",
            (40, 10),
            ("val", 16, 3, 3, 0, 2, "none"),
        ),
        (
            {"steps": 100, "patience": 5, "lr_schedule": "plateau"},
            "classification",
            (40, 0),
            ("train", 4, 10, 20, 5, 2, "plateau"),
        ),
        # A cross-validation fold: fit the 40 alone (batch 4) as "train" would, score the 10.
        ({"select_on": "held_out"}, "classification", (40, 10), ("held_out", 4, 10, 200, 0, 20, "cosine")),
    ],
)
def test_the_protocol_is_resolved_from_the_split_sizes(settings, task, sizes, expected) -> None:
    plan = resolve(train_config(settings), task, *sizes)
    got = (plan.select_on, plan.batch_size, plan.steps_per_epoch, plan.epochs, plan.patience, plan.lr_patience,
           plan.lr_schedule)  # fmt: skip
    assert got == expected


@pytest.fixture(scope="module")
def stalled(tmp_path_factory):
    """A run whose loss cannot improve by ReduceLROnPlateau's min_delta (learning rate 1e-7)."""
    store = f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"
    runs = tmp_path_factory.mktemp("runs")
    result = recipes.train("mlp", "ucr:ItalyPowerDemand", hparams={"units": 8}, learning_rate=1e-7, steps=60,
                           lr_schedule="plateau", tracking_uri=store, runs_dir=runs, verbose=0)  # fmt: skip
    return result, store


def test_a_small_set_fits_train_and_val_and_selects_on_the_training_loss(stalled) -> None:
    from mlflow import MlflowClient

    result, store = stalled
    run = MlflowClient(store).get_run(result.run_id)
    n = len(result.dataset.train) + len(result.dataset.val)  # ItalyPowerDemand: 67 series, 14 carved
    params = run.data.params
    assert (params["train.select_on"], params["protocol.select_on"]) == ("auto", "train")
    assert params["protocol.batch_size"] == str(n // 10) and params["protocol.steps_per_epoch"] == str(
        -(-n // (n // 10))
    )
    assert params["protocol.epochs"] == "20" and result.epochs <= 20
    assert "best_loss" in run.data.metrics and "val_loss" not in run.data.metrics


def test_a_run_selecting_on_the_training_loss_trains_its_whole_budget_along_a_cosine(tmp_path) -> None:
    """The defaults on a small set: no early stopping (the loss below cannot improve, so any
    patience would stop it), and the rate warms up and decays along a cosine (no halving)."""
    result = recipes.train("mlp", "ucr:ItalyPowerDemand", hparams={"units": 8}, learning_rate=1e-7, steps=60,
                           tracking=False, runs_dir=tmp_path, verbose=0)  # fmt: skip
    plan = resolve(train_config({"steps": 60}), "classification", len(result.dataset.train), len(result.dataset.val))
    assert (plan.select_on, plan.patience, plan.lr_schedule) == ("train", 0, "cosine")
    assert result.epochs == plan.epochs and result.config.lr_schedule == "cosine"
    assert type(result.model.optimizer._learning_rate).__name__ == "CosineDecay"


def test_a_held_out_fold_is_scored_every_epoch_and_never_fit_or_selected_on(tmp_path) -> None:
    """select_on held_out: the weights of the lowest training loss are kept, the val split only
    scored; the run's best_val_accuracy is its score at that epoch."""
    from mlflow import MlflowClient

    store = f"sqlite:///{tmp_path}/mlflow.db"
    result = recipes.train("mlp", "ucr:ItalyPowerDemand", hparams={"units": 8}, steps=40, select_on="held_out",
                           tracking_uri=store, runs_dir=tmp_path / "runs", verbose=0)  # fmt: skip
    n_train = len(result.dataset.train)
    assert len(result.dataset.val) > 0  # a carved split, scored and never fit
    params = MlflowClient(store).get_run(result.run_id).data.params
    batch = max(4, n_train // 10)
    assert params["protocol.select_on"] == "held_out" and params["protocol.batch_size"] == str(batch)
    assert params["protocol.steps_per_epoch"] == str(-(-n_train // batch))  # train alone: val never fit
    history = result.history
    assert len(history["val_accuracy"]) == result.epochs == int(params["protocol.epochs"])  # whole budget
    kept = min(range(result.epochs), key=lambda e: history["loss"][e])
    metrics = MlflowClient(store).get_run(result.run_id).data.metrics
    assert metrics["best_val_accuracy"] == pytest.approx(history["val_accuracy"][kept])
    assert metrics["best_val_loss"] == pytest.approx(history["val_loss"][kept])


def test_the_learning_rate_halves_when_the_loss_stalls(stalled) -> None:
    result, _ = stalled
    with open(result.run_dir / "metrics.csv") as f:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(f)]
    assert rates[0] == pytest.approx(1e-7)
    assert min(rates) <= 0.5e-7 * 1.0001  # halved at least once
    assert all(b <= a for a, b in itertools.pairwise(rates))  # never raised


def test_a_cosine_schedule_warms_up_then_decays_over_the_step_budget(tmp_path) -> None:
    """lr_schedule cosine: the rate climbs to learning_rate over the first 5% of the budget's
    steps, then falls along a cosine toward 1/100 of it by the budget's end (no plateau halving)."""
    result = recipes.train("mlp", "ucr:ItalyPowerDemand", hparams={"units": 8}, learning_rate=1e-2, steps=200,
                           lr_schedule="cosine", patience=0, tracking=False, runs_dir=tmp_path, verbose=0)  # fmt: skip
    schedule = result.model.optimizer.learning_rate  # the CosineDecay, read at the optimizer's step
    rate = result.model.optimizer._learning_rate
    plan = resolve(train_config({"steps": 200}), "classification", len(result.dataset.train), len(result.dataset.val))
    budget = plan.epochs * plan.steps_per_epoch  # the protocol's whole epochs, at least 200 steps
    assert type(rate).__name__ == "CosineDecay" and rate.warmup_target == 1e-2
    assert (rate.warmup_steps, rate.warmup_steps + rate.decay_steps) == (round(0.05 * budget), budget)
    assert int(result.model.optimizer.iterations) == budget  # no early stop: every step of the budget
    assert float(rate(0)) == pytest.approx(1e-4) and float(rate(rate.warmup_steps)) == pytest.approx(1e-2)
    assert float(schedule) == pytest.approx(float(rate(result.model.optimizer.iterations)))
    with open(result.run_dir / "metrics.csv") as f:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(f)]
    peak = rates.index(max(rates))
    assert peak <= 2 and all(b <= a for a, b in itertools.pairwise(rates[peak:])) and rates[-1] < rates[peak] / 10


def test_a_value_task_trains_on_the_loss_given_and_a_classifier_refuses_one(tmp_path) -> None:
    """A forecaster trains on mae by default (its val_loss is then the validation MAE in scaled
    units) and on mse when told; a classifier given a value loss gets one line before any run."""
    common = {"hparams": {"units": 8}, "epochs": 2, "tracking": False, "verbose": 0}
    default = recipes.train("mlp", "forecast:airline", runs_dir=tmp_path / "runs", **common)
    assert default.model.loss == "mae"
    assert default.history["val_loss"] == pytest.approx(default.history["val_mae"], rel=1e-4)
    assert (
        recipes.train("mlp", "forecast:airline", loss="mse", runs_dir=tmp_path / "runs", **common).model.loss == "mse"
    )
    with pytest.raises(ConfigError, match=r"^loss=huber is for tasks that predict values .* give loss=auto$"):
        recipes.train("mlp", "ucr:ItalyPowerDemand", loss="huber", epochs=1, tracking=False, runs_dir=tmp_path / "c")
    assert not (tmp_path / "c").exists()  # refused before a run folder was made


def test_a_refit_trains_a_fresh_model_on_train_and_val_for_the_kept_epochs_at_the_same_rates(tmp_path) -> None:
    """refit: after selecting on validation, a fresh model fits train + val for the epochs the
    selection kept, at the rates its schedule ran at, and is the run's model; the interval is
    still sized on the validation windows the selected model never fitted."""
    from mlflow import MlflowClient

    store = f"sqlite:///{tmp_path}/mlflow.db"
    result = recipes.train("mlp", "forecast:airline", hparams={"units": 8}, steps=300, refit=True, seed=0,
                           tracking_uri=store, runs_dir=tmp_path / "runs", verbose=0)  # fmt: skip
    history, data = result.history, result.dataset
    selected = sum(1 for v in history["val_loss"] if v == v)  # the refit's epochs have no validation loss
    kept = min(range(selected), key=history["val_loss"].__getitem__) + 1
    assert len(history["loss"]) == selected + kept and (result.epochs, result.refit_epochs) == (selected + kept, kept)
    assert history["learning_rate"][selected:] == history["learning_rate"][:kept]
    plan = resolve(train_config({"steps": 300}), "forecasting", len(data.train), len(data.val))
    per_epoch = -(-(len(data.train) + len(data.val)) // plan.batch_size)
    assert int(result.model.optimizer.iterations) == kept * per_epoch  # a fresh optimizer, every joined window
    run = MlflowClient(store).get_run(result.run_id)
    assert run.data.params["protocol.refit"] == "True" and "test_coverage_80" in run.data.metrics
    small = recipes.train("mlp", "ucr:ItalyPowerDemand", hparams={"units": 8}, steps=60, refit=True, tracking=False,
                          runs_dir=tmp_path / "small", verbose=0)  # fmt: skip
    assert len(small.history["loss"]) <= 20  # selected on train + val already: nothing to refit on
