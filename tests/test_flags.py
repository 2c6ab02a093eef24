"""Every documented flag of every command, run as a user runs it (real processes, a real store).

Each test passes a command most of its flags at once and checks that they reached the MLflow
run; `test_cli.test_every_documented_flag_is_exercised_by_a_test` keeps the list complete.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.test_cli import AS_A_USER, ZOO

pytestmark = pytest.mark.slow
EXPERIMENT = "flags"


def _zoo(*args: str, cwd) -> subprocess.CompletedProcess:
    result = subprocess.run([ZOO, *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=AS_A_USER)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return result


def _store(tmp_path) -> list[str]:
    return ["--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db"]


def _runs(tmp_path, **tags: str) -> list:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    query = " and ".join(f"tags.{k} = '{v}'" for k, v in tags.items())
    return client.search_runs([experiment.experiment_id], query) if experiment else []


def test_train_takes_every_training_flag(tmp_path) -> None:
    trained = _zoo("train", "gru", "--data", "forecast:airline", "--data-option", "horizon=6", "--hp", "units=8",
         "--optimizer", "adamw", "--learning-rate", "0.003", "--batch-size", "16", "--epochs", "2", "--patience", "1",
         "--seed", "3", "--checkpoint-seconds", "0", "--val-fraction", "0.25", "--no-mixed-precision",
         "--steps", "50", "--select-on", "val", "--lr-schedule", "none", "--clipnorm", "2",
         "--jit-compile", "false", "--steps-per-execution", "2", "--distribute", "none", "--jitter", "0.01",
         "--scaling", "0.05", "--magnitude-warp", "0.05", "--window-slice", "0.1", "--refit", *_store(tmp_path),
         "--experiment", EXPERIMENT, "--run-name", "all flags", "--runs-dir", "folders", "--fresh",
         cwd=tmp_path)  # fmt: skip
    [run] = _runs(tmp_path)
    assert run.info.run_name == "all flags" and run.info.status == "FINISHED"
    steps = next(line for line in trained.stdout.splitlines() if line.startswith("MAE by step ahead: "))
    assert len(steps.split(", ")) == 6 and "mae_step_1" not in trained.stdout  # one line, not six table rows
    assert "window_norm season_trend, chosen on each anchor's own MAE on the training windows: last " in trained.stdout
    expected = {"data.horizon": "6", "model.units": "8", "train.optimizer": "adamw", "train.learning_rate": "0.003",
                "train.batch_size": "16", "train.epochs": "2", "train.patience": "1", "train.seed": "3",
                "train.val_fraction": "0.25", "train.mixed_precision": "False", "train.jit_compile": "False",
                "train.steps_per_execution": "2", "train.distribute": "none", "train.jitter": "0.01",
                "train.scaling": "0.05", "train.magnitude_warp": "0.05", "train.window_slice": "0.1",
                "train.steps": "50", "train.select_on": "val", "train.lr_schedule": "none", "train.clipnorm": "2.0",
                "protocol.select_on": "val", "protocol.batch_size": "16", "protocol.epochs": "2",
                "train.refit": "True", "protocol.refit": "True"}  # fmt: skip
    assert {k: run.data.params.get(k) for k in expected} == expected
    assert len(list((tmp_path / "folders").iterdir())) == 1
    assert "refitting on train + val" in trained.stdout


def test_a_transductive_pretraining_fine_tunes_with_every_backbone_flag(tmp_path) -> None:
    """`--transductive` once crashed on an MLflow key ('pool.test (transductive)')."""
    _zoo("pretrain", "gru", "--data", "ucr:ItalyPowerDemand", "--hp", "units=8", "--unlabeled", "train",
         "--transductive", "--pretext", "autoencode", "--mask-ratio", "0.2", "--mean-span", "2", "--epochs", "2",
         "--patience", "1", "--learning-rate", "0.002", "--batch-size", "16", "--decoder-units", "8", "--seed", "1",
         "--checkpoint-seconds", "0", "--mixed-precision", "--distribute", "none",
         "--runs-dir", "folders", *_store(tmp_path), "--experiment", EXPERIMENT, cwd=tmp_path)  # fmt: skip
    [run] = _runs(tmp_path)
    params = run.data.params
    assert params["pool.transductive"] == "True" and int(params["pool.test_transductive"]) > 0
    assert (params["pretrain.mixed_precision"], params["pretrain.distribute"]) == ("True", "none")
    assert (params["pretrain.pretext"], params["pretrain.decoder_units"], params["pretrain.seed"]) == (
        "autoencode",
        "8",
        "1",
    )

    [encoder] = (tmp_path / "folders").glob("*/encoder.keras")
    tuned = _zoo("train", "gru", "--data", "ucr:ItalyPowerDemand", "--backbone", str(encoder), "--freeze-backbone",
                 "--epochs", "1", "--unfreeze-epochs", "1", "--unfreeze-lr-factor", "0.5", "--mixed-precision",
                 "--no-refit", "--no-tracking", "--runs-dir", "folders", cwd=tmp_path)  # fmt: skip
    assert "2 epochs" in tuned.stdout and "refitting" not in tuned.stdout
    assert len(_runs(tmp_path)) == 1  # --no-tracking logged nothing


def test_semi_takes_every_flag(tmp_path) -> None:
    _zoo("semi", "gru", "--data", "ucr:ItalyPowerDemand", "--hp", "units=8", "--unlabeled", "train", "--transductive",
         "--fractions", "0.5", "--seeds", "0", "--pretext", "masked", "--pretrain-mask-ratio", "0.2",
         "--pretrain-mean-span", "2", "--pretrain-epochs", "1", "--pretrain-patience", "1",
         "--pretrain-learning-rate", "0.002", "--pretrain-batch-size", "16", "--pretrain-decoder-units", "8",
         "--freeze-epochs", "1", "--unfreeze-epochs", "1", "--unfreeze-lr-factor", "0.5", "--learning-rate", "0.002",
         "--batch-size", "16", "--patience", "1", "--runs-dir", "folders", *_store(tmp_path),
         "--experiment", EXPERIMENT, cwd=tmp_path)  # fmt: skip
    [pretraining] = _runs(tmp_path, stage="pretrain")
    assert pretraining.data.params["pretrain.mask_ratio"] == "0.2"
    assert pretraining.data.params["pool.transductive"] == "True"
    runs = _runs(tmp_path)
    assert runs and all(r.info.status == "FINISHED" for r in runs)


def test_tune_takes_every_flag_and_compare_ranks_its_trials(tmp_path) -> None:
    _zoo("tune", "--models", "lstm", "--data", "forecast:airline", "-o", "horizon=6", "--tuner", "random",
         "--max-trials", "2", "--max-epochs", "1", "--executions-per-trial", "1", "--objective", "val_loss",
         "--direction", "min", "--fixed", "units=8", "--seed", "1", "--directory", "searches", "--project", "p",
         "--overwrite", "--no-compare", "--register", "tuned-airline", *_store(tmp_path), "--experiment", EXPERIMENT,
         cwd=tmp_path)  # fmt: skip
    [search] = _runs(tmp_path, stage="search")
    assert (tmp_path / "searches" / "p" / "best.yaml").exists()
    assert search.data.tags["registered_model"] == "tuned-airline v1"
    assert len(_runs(tmp_path, stage="trial")) == 2

    compared = _zoo("compare", "--parent", search.info.run_id, "--metric", "val_loss", "--out", "cmp",
                    *_store(tmp_path), cwd=tmp_path)  # fmt: skip
    assert "val_loss" in compared.stdout and (tmp_path / "cmp" / "report.html").exists()


def test_a_hyperband_search_takes_its_reduction_factor(tmp_path) -> None:
    _zoo("tune", "--models", "gru", "--data", "ucr:ItalyPowerDemand", "--tuner", "hyperband", "--max-epochs", "2",
         "--cv", "0", "--hyperband-factor", "2", "--no-register", "--fixed", "units=4", "--no-compare",
         "--directory", "searches", *_store(tmp_path), "--experiment", EXPERIMENT, cwd=tmp_path)  # fmt: skip
    [search] = _runs(tmp_path, stage="search")
    assert search.info.status == "FINISHED" and search.data.params["hyperband_factor"] == "2"
    assert "registered_model" not in search.data.tags
    rounds = {t.data.tags.get("tuner.round") for t in _runs(tmp_path, stage="trial")}
    assert rounds == {"0", "1"}  # factor 2 over 2 epochs: a first round of 1 epoch, then the survivors' second


def test_a_semi_search_keeps_the_label_fraction_and_compares(tmp_path) -> None:
    _zoo("tune", "--models", "gru", "--data", "ucr:ItalyPowerDemand", "--recipe", "semi", "--label-fraction", "0.5",
         "--unlabeled", "train", "--max-trials", "1", "--max-epochs", "1", "--fixed", "units=8", "--compare",
         "--directory", "searches", *_store(tmp_path), "--experiment", EXPERIMENT, cwd=tmp_path)  # fmt: skip
    [search] = _runs(tmp_path, stage="search")
    assert search.info.status == "FINISHED"
    assert list((tmp_path / "searches").glob("*/compare/report.html"))
