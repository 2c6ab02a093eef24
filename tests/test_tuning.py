"""Hyperparameter search: keras-tuner over the registry, every trial a nested MLflow run."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import recipes
import tuning
from tests.test_cli import AS_A_USER, ZOO
from tests.test_train_cli import QUIET, _runs
from zoo.errors import ConfigError, UnknownModelError, ZooError

SMALL = {"units": 8, "filters": 8, "num_layers": 1}


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """Four random-search trials over lstm and cnn_lstm on ItalyPowerDemand (length 24).

    cnn_lstm is pinned to 3 blocks of 4x pooling, which needs 64 steps: its trials are refused.
    """
    root = tmp_path_factory.mktemp("search")
    uri = f"sqlite:///{root}/mlflow.db"
    lines: list[str] = []
    result = tuning.search(
        "lstm,cnn_lstm",
        "ucr:ItalyPowerDemand",
        tuner="random",
        max_trials=4,
        max_epochs=2,
        cv=0,
        seed=0,  # the oracle seed 1: draws both models
        fixed={**SMALL, "num_blocks": 3, "pool_size": 4, "batch_size": 32},
        directory=root / "tuning",
        tracking_uri=uri,
        experiment="search",
        progress=lines.append,
    )
    return result, uri, lines, root


def _children(uri: str, parent: str, experiment: str = "search") -> list:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id], f"tags.mlflow.parentRunId = '{parent}'")


def test_each_models_default_config_is_its_first_trial(searched) -> None:
    """Trials 0 and 1 are lstm's and cnn_lstm's untuned configs (what zoo train gives), pins aside."""
    import zoo
    from recipes.config import TrainConfig
    from zoo.params import search_space

    result, uri, _, _ = searched
    trials = {
        r.data.tags["trial_id"]: r for r in _children(uri, result.parent_run_id) if r.data.tags["stage"] == "trial"
    }
    pinned = {**SMALL, "num_blocks": 3, "pool_size": 4, "batch_size": 32}
    for trial_id, model in (("0", "lstm"), ("1", "cnn_lstm")):
        params = trials[trial_id].data.params
        assert params["model"] == model
        defaults = {f"model.{k}": p.default for k, p in search_space(zoo.get_spec(model).config).items()}
        defaults.update({f"train.{k}": p.default for k, p in search_space(TrainConfig).items()})
        expected = {k: str(v) for k, v in defaults.items() if k.split(".", 1)[1] not in pinned}
        assert {k: params.get(k) for k in expected} == expected


def test_every_trial_is_a_run_nested_under_the_search(searched) -> None:
    from mlflow import MlflowClient

    result, uri, lines, _ = searched
    parent = MlflowClient(uri).get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    tags = parent.data.tags
    assert (tags["stage"], tags["tuner"], tags["models"]) == ("search", "random", "lstm,cnn_lstm")
    assert tags["objective"] == "val_accuracy (max)" and tags["best_trial_id"] == result.best_trial_id
    assert parent.data.params["max_trials"] == "4"
    children = _children(uri, result.parent_run_id)
    trials = [r for r in children if r.data.tags["stage"] == "trial"]
    assert sorted(r.data.tags["trial_id"] for r in trials) == sorted(t["trial_id"] for t in result.trials)
    assert all(r.info.status in ("FINISHED", "FAILED") for r in children)
    finished = [r for r in trials if r.info.status == "FINISHED"]
    refused = [r for r in trials if r.info.status == "FAILED"]
    assert finished and refused, "the seed should draw both models"
    assert all(r.data.tags["model"] == "cnn_lstm" and "needs at least 64" in r.data.tags["error"] for r in refused)
    client = MlflowClient(uri)
    for run in finished:
        assert run.data.params["model.units"] == "8" and "train.learning_rate" in run.data.params
        assert "val_accuracy" in run.data.metrics and "test_accuracy" not in run.data.metrics  # chosen on val only
        # A trial's curves are its per-epoch metrics in MLflow; it draws no pictures (0.6 s a trial).
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert "metrics.csv" in artifacts and not any(a.endswith(".png") for a in artifacts), artifacts
        assert len(client.get_metric_history(run.info.run_id, "val_accuracy")) >= 1
    [best] = [r for r in children if r.data.tags["stage"] == "best"]
    assert {"learning_curves.png", "confusion_matrix.png"} <= {a.path for a in client.list_artifacts(best.info.run_id)}
    assert best.data.metrics["test_accuracy"] == pytest.approx(result.test_metrics["accuracy"])
    assert parent.data.metrics["test_accuracy"] == pytest.approx(result.test_metrics["accuracy"])
    assert parent.data.params["best.model"] == "lstm" == result.model_name
    assert "best.yaml" in {a.path for a in client.list_artifacts(result.parent_run_id)}
    # The search's run shows the best's logged model (its Models column), the one its best run logged.
    [shown] = client.get_run(result.parent_run_id).outputs.model_outputs
    [logged] = client.get_run(best.info.run_id).outputs.model_outputs
    assert shown.model_id == logged.model_id
    assert client.get_logged_model(shown.model_id).source_run_id == best.info.run_id
    assert len(lines) == 4 and lines[-1].startswith("trial 4 of 4") and "best so far" in lines[-1]


def test_the_best_config_file_reproduces_the_best_model(searched) -> None:
    result, _, _, root = searched
    config = yaml.safe_load(result.config_path.read_text())
    assert config["model"] == result.model_name and config["data"] == "ucr:ItalyPowerDemand"
    again = recipes.train(
        config["model"],
        config["data"],
        hparams=config["hparams"],
        tracking=False,
        runs_dir=root / "again",
        verbose=0,
        **config["train"],
    )
    assert again.test_metrics == pytest.approx(result.test_metrics)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"models": "lstmm"}, UnknownModelError, ["lstmm", "did you mean: lstm"]),
        ({"models": "*nothing*"}, ConfigError, ["matches no model"]),
        ({"tuner": "hyperbnd"}, ConfigError, ["did you mean: hyperband"]),
        ({"fixed": {"unitz": 3}}, ConfigError, ["unitz", "did you mean: units"]),
        ({"fixed": {"units": 0}}, ConfigError, ["units=0"]),
        ({"fixed": {"epochs": 3}}, ConfigError, ["max_epochs"]),
        ({"fixed": {"ensemble": 3}}, ConfigError, ["ensemble", "--config best.yaml"]),
        ({"max_trials": 0}, ConfigError, ["max_trials=0"]),
        ({"ensemble": 0}, ConfigError, ["ensemble=0"]),
        ({"ensemble": 3, "cv": 0}, ConfigError, ["ensemble=3", "--cv 2 or more", "drop --ensemble"]),
    ],
)
def test_bad_search_input_is_refused_up_front(kwargs, error, words, tmp_path) -> None:
    args = {"models": "lstm", "tracking": False, "directory": tmp_path, **kwargs}
    with pytest.raises(error) as info:
        tuning.search(args.pop("models"), "ucr:GunPoint", **args)
    assert "\n" not in str(info.value)
    for word in words:
        assert word in str(info.value)


@pytest.mark.slow
def test_a_killed_search_resumes_without_redoing_finished_trials(tmp_path) -> None:
    """SIGKILL `zoo tune` during its second trial; the same command finishes the search."""
    command = [ZOO, "tune", "--models", "lstm,gru", "--data", "ucr:GunPoint", "--tuner", "random",
               "--max-trials", "3", "--max-epochs", "12", "--cv", "0", "--fixed", "units=8", "--fixed", "batch_size=16",
               "--fixed", "patience=50", "--fixed", "checkpoint_seconds=0"]  # fmt: skip
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    first = subprocess.Popen(
        command, cwd=tmp_path, env=QUIET, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    project = tmp_path / "tuning_runs" / "lstm-gru-ucr_GunPoint-random"
    deadline = time.monotonic() + 300
    while not list(project.glob("runs/trial_1/*/backup/training_metadata.json")):
        assert first.poll() is None, first.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the second trial never started an epoch"
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    completed = json.loads((project / "trial_0" / "trial.json").read_text())["status"]
    assert completed == "COMPLETED"

    second = subprocess.run(command, cwd=tmp_path, env=QUIET, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "reproduce it: zoo train --config" in second.stdout
    runs = _runs(uri)
    parents = [r for r in runs if r.data.tags.get("stage") == "search"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"  # reattached, not a second search
    assert all(r.info.status != "RUNNING" for r in runs)
    trials = [r for r in runs if r.data.tags.get("stage") == "trial" and r.info.status == "FINISHED"]
    ids = sorted(r.data.tags["trial_id"] for r in trials)
    assert ids == ["0", "1", "2"]  # each trial finished once: trial 0 was not run again
    assert "trial 1 of 3 (0" not in second.stdout  # the finished trial was not redone


def test_a_semi_search_tunes_the_recipe_and_shares_pretrainings(tmp_path) -> None:
    """Four semi trials: the pretext is searched, one pretraining per pretext drawn, each fine-tune nested."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    pinned = {"units": 8, "dropout": 0.0, "batch_size": 16, "pretrain.mask_ratio": 0.2, "pretrain.mean_span": 2,
              "pretrain.learning_rate": 0.003, "pretrain.batch_size": 16, "pretrain.decoder_units": 8,
              "pretrain.patience": 0, "finetune.freeze_epochs": 1}  # fmt: skip
    result = tuning.search("lstm", "ucr:ItalyPowerDemand", tuner="random", max_trials=4, max_epochs=2, seed=3,
                           recipe="semi", label_fraction=0.5, fixed=pinned, directory=tmp_path / "tuning",
                           tracking_uri=uri, experiment="search", progress=lambda _: None)  # fmt: skip
    assert set(result.recipe_settings) == {"pretrain", "finetune"}
    assert result.recipe_settings["pretrain"]["epochs"] in (1, 2)  # capped at max_epochs
    assert 0 <= result.test_metrics["accuracy"] <= 1
    client = MlflowClient(uri)
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED" and parent.data.tags["recipe"] == "semi"
    assert parent.data.params["label_fraction"] == "0.5" and "best.pretrain.pretext" in parent.data.params
    children = _children(uri, result.parent_run_id)
    assert all(r.info.status == "FINISHED" for r in children)
    trials = [r for r in children if r.data.tags["stage"] == "trial"]
    pretrainings = {r.info.run_id: r for r in children if r.data.tags["stage"] == "pretrain"}
    assert len(trials) == 4
    # A pretraining depends on its own settings and on the model's hyperparameters.
    drawn = {tuple(sorted((k, v) for k, v in r.data.params.items() if k.startswith(("pretrain.", "model."))))
             for r in trials}  # fmt: skip
    assert len({r.data.params["pretrain.pretext"] for r in trials}) > 1, "the seed should draw several pretexts"
    assert len(pretrainings) == len(drawn) < len(trials)  # one per distinct pretraining, shared by trials, best
    for run in trials:
        pre = pretrainings[run.data.tags["pretrain_run"]]
        assert pre.data.params["pretrain.pretext"] == run.data.tags["pretext"] == run.data.params["pretrain.pretext"]
        assert run.data.tags["fraction"] == "0.5" and run.data.params["finetune.freeze_epochs"] == "1"
        assert "val_accuracy" in run.data.metrics and "test_accuracy" not in run.data.metrics
    [best] = [r for r in children if r.data.tags["stage"] == "best"]
    assert best.data.tags["pretrain_run"] in pretrainings and best.data.metrics["test_accuracy"] >= 0
    config = yaml.safe_load(result.config_path.read_text())
    assert config["recipe"] == "semi" and config["pretrain"]["pretext"] == best.data.tags["pretext"]
    from recipes import compare

    collected = compare.collect(parent_run_id=result.parent_run_id, tracking_uri=uri)
    assert set(collected["stage"]) == {"trial", "best"}  # pretext losses are not ranked beside task metrics
    assert collected.attrs["left_out"]["encoder pretrainings (their loss is the pretext's, not the task's)"] == len(
        pretrainings
    )

    # Its best.yaml replays with zoo semi --config (zoo train --config says to use it), as a user runs it.
    store = ["--tracking-uri", uri, "--experiment", "replay", "--runs-dir", str(tmp_path / "replay")]
    refused = subprocess.run([ZOO, "train", "--config", str(result.config_path)], capture_output=True, text=True,
                             env=AS_A_USER, timeout=120)  # fmt: skip
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        f"error: --config {result.config_path} is a semi run (recipe: semi): run it with "
        f"zoo semi --config {result.config_path}"
    ]
    replay = subprocess.run([ZOO, "semi", "--config", str(result.config_path), *store], capture_output=True,
                            text=True, env=AS_A_USER, timeout=600)  # fmt: skip
    assert replay.returncode == 0, replay.stderr[-3000:]
    [sweep] = client.search_runs([client.get_experiment_by_name("replay").experiment_id], "tags.stage = 'semi'")
    assert sweep.info.status == "FINISHED"
    assert sweep.data.params["pretrain.pretext"] == config["pretrain"]["pretext"]
    assert sweep.data.params["finetune.freeze_epochs"] == str(config["finetune"]["freeze_epochs"])
    arms = [r for r in _children(uri, sweep.info.run_id, "replay") if r.data.tags.get("fraction")]
    assert {r.data.tags["fraction"] for r in arms} == {"0.5"} and {r.data.tags["seed"] for r in arms} == {"3"}


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"recipe": "semi", "tuner": "hyperband"}, ["hyperband", "bayesian"]),
        ({"recipe": "sem"}, ["did you mean: semi"]),
        ({"fixed": {"pretrain.epochs": 3}}, ["semi recipe"]),
        ({"recipe": "semi", "fixed": {"pretrain.epoch": 3}}, ["pretrain.epoch", "did you mean: pretrain.epochs"]),
        ({"recipe": "semi", "fixed": {"pretrain.pretext": "next_step"}, "models": "bilstm"}, ["next_step"]),
        ({"recipe": "semi", "label_fraction": 0.001}, ["fraction"]),
        ({"label_fraction": 0.5}, ["semi recipe"]),
    ],
)
def test_bad_semi_search_input_is_refused_up_front(kwargs, words, tmp_path) -> None:
    args = {"models": "lstm", "tracking": False, "directory": tmp_path, **kwargs}
    with pytest.raises(ZooError) as info:
        tuning.search(args.pop("models"), "ucr:GunPoint", **args)
    assert "\n" not in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_each_recipe_declares_its_own_settings_and_refuses_the_others() -> None:
    import keras_tuner as kt

    from tuning.trial_recipes import Semi, Supervised, get_recipe

    with pytest.raises(ConfigError, match=r"unknown recipe 'semy'.*did you mean: semi"):
        get_recipe("semy")
    with pytest.raises(ConfigError, match="semi recipe"):
        get_recipe("supervised", label_fraction=0.5).check("random", ["lstm"], {})
    with pytest.raises(ConfigError, match="hyperband"):
        get_recipe("semi").check("hyperband", ["lstm"], {"pretrain": {}, "finetune": {}})
    semi = get_recipe("semi", 0.5, "train")
    semi.check("random", ["lstm", "gru"], {"pretrain": {}, "finetune": {"unfreeze_epochs": 0}})
    drawn = semi.declare(kt.HyperParameters(), {"pretrain": {}, "finetune": {"unfreeze_epochs": 0}}, max_epochs=7)
    assert set(drawn) == {"pretrain", "finetune"} and drawn["finetune"]["unfreeze_epochs"] == 0
    assert drawn["pretrain"]["epochs"] <= 7 and drawn["pretrain"]["pretext"] in semi.pretexts
    assert isinstance(semi, Semi) and Supervised().declare(kt.HyperParameters(), {}, 7) == {}
    assert semi.settings() == {"recipe": "semi", "label_fraction": 0.5, "unlabeled": "train"}


def test_the_keras_tuner_fixes_still_find_what_they_patch(capsys) -> None:
    """A keras-tuner upgrade that moves a patched name fails here, not in a user's search."""
    from keras_tuner.src import config
    from keras_tuner.src.engine import conditions

    from tuning import kt_fixes

    kt_fixes.apply()
    kt_fixes.apply()  # idempotent
    for values in (["lstm", "gru"], [True], [3, 4], [0.5]):
        proto = conditions.Parent("model", values).to_proto()
        assert proto.parent.name == "model" and len(proto.parent.values) == len(values)
    assert capsys.readouterr().out == ""  # the original printed the first value each time
    assert config.DEBUG is False


def test_a_search_that_fails_before_its_first_trial_leaves_no_run_running(monkeypatch, tmp_path) -> None:
    import importlib

    searching = importlib.import_module("tuning.searching")

    def broken(*args, **kwargs):
        raise RuntimeError("the oracle could not be made")

    monkeypatch.setattr(searching, "_oracle", broken)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with pytest.raises(RuntimeError):
        tuning.search("lstm", "ucr:ItalyPowerDemand", tracking_uri=uri, directory=tmp_path / "tuning")
    [parent] = _runs(uri)
    assert parent.info.status == "FAILED" and "the oracle could not be made" in parent.data.tags["error"]


def test_ensemble_selection_adds_the_trial_that_lowers_the_held_out_log_loss_without_losing_accuracy() -> None:
    from tuning import ensembles

    labels = np.array([0, 0, 1, 1])
    lead = np.array([[0.6, 0.4], [0.6, 0.4], [0.4, 0.6], [0.6, 0.4]])  # 3 of 4 right
    sure = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.3, 0.7]])  # 4 of 4, confident
    wrong = np.array([[0.2, 0.8], [0.2, 0.8], [0.8, 0.2], [0.2, 0.8]])  # lowers the loss of nothing
    chosen = ensembles.select({"3": lead, "0": wrong, "5": sure}, labels, lead="3", most=3)
    assert chosen.members == ("3", "5")
    assert chosen.lead_accuracy == 0.75 and chosen.accuracy == 1.0
    assert chosen.loss == pytest.approx(ensembles.log_loss((lead + sure) / 2, labels))
    assert chosen.loss < chosen.lead_loss
    assert ensembles.select({"3": lead, "5": sure}, labels, lead="3", most=1).members == ("3",)
    # A candidate that would lower the log loss but cost a right answer is not taken.
    costly = np.array([[0.99, 0.01], [0.99, 0.01], [0.99, 0.01], [0.99, 0.01]])
    right = np.array([[0.55, 0.45], [0.55, 0.45], [0.45, 0.55], [0.45, 0.55]])
    assert ensembles.select({"1": right, "2": costly}, labels, lead="1", most=3).members == ("1",)


def test_a_search_ranked_by_folds_ends_with_an_ensemble_of_its_best_trials(monkeypatch, tmp_path) -> None:
    """Each trial keeps its held-out probabilities (scored as its fold runs scored them); the chosen trials
    are retrained as member runs and the tested, registered model is their average.

    Which trials average well depends on the CPU's arithmetic, so the choice is pinned here to the best and
    the next trial (the choice itself: the test above)."""
    import keras
    from mlflow import MlflowClient

    from recipes.data import load
    from tuning import ensembles

    def first_two(candidates, labels, *, lead, most):
        other = next(name for name in candidates if name != lead)
        mean = (candidates[lead] + candidates[other]) / 2
        alone = candidates[lead]
        return ensembles.Selection((lead, other), ensembles.log_loss(mean, labels), ensembles.accuracy(mean, labels),
                                   ensembles.log_loss(alone, labels), ensembles.accuracy(alone, labels))  # fmt: skip

    monkeypatch.setattr(ensembles, "select", first_two)
    uri, lines = f"sqlite:///{tmp_path}/mlflow.db", []
    result = tuning.search("mlp", "ucr:ItalyPowerDemand", tuner="random", max_trials=3, max_epochs=5, cv=3,
                           ensemble=3, fixed={"units": 16, "num_layers": 1}, directory=tmp_path / "tuning",
                           tracking_uri=uri, progress=lines.append)  # fmt: skip
    lead = result.best_trial_id
    assert result.ensemble[0]["trial_id"] == lead and len(result.ensemble) == 2
    assert any(line.startswith("an ensemble of 2 trials") for line in lines)
    # A trial's held-out probabilities: every labelled series once, scored as its fold runs scored them.
    labels = np.concatenate([f.val.y for f in folds_of(load("ucr:ItalyPowerDemand"))])
    for trial_id in ("0", "1", "2"):
        heldout = np.load(tmp_path / "tuning" / "mlp-ucr_ItalyPowerDemand-random" / "runs" / f"trial_{trial_id}"
                          / "heldout-3-folds-seed-0.npy")  # fmt: skip
        assert heldout.shape == (67, 2)
        runs = [r for r in _staged(uri, "trial") if r.data.tags["trial_id"] == trial_id]
        pooled = sum(r.data.metrics["best_val_accuracy"] * int(r.data.params["data.n_val"]) for r in runs) / 67
        assert np.mean(heldout.argmax(-1) == labels) == pytest.approx(pooled)

    [parent] = _staged(uri, "search")
    assert parent.data.params["ensemble"] == "3"
    assert parent.data.tags["ensemble_trials"] == ",".join(m["trial_id"] for m in result.ensemble)
    assert {"heldout_log_loss_best", "heldout_log_loss_ensemble", "heldout_accuracy_ensemble"} <= set(
        parent.data.metrics
    )
    members = _staged(uri, "member")
    assert sorted(r.data.tags["trial_id"] for r in members) == sorted(m["trial_id"] for m in result.ensemble)
    assert all(r.info.status == "FINISHED" and not any(k.startswith("test_") for k in r.data.metrics) for r in members)
    [best] = _staged(uri, "best")
    assert best.info.run_id == result.best_run_id and "test_accuracy" in best.data.metrics
    assert all(r.info.run_id in best.data.tags["ensemble.members"] for r in members)
    assert best.data.params["ensemble.members"] == "mlp + mlp" and best.info.run_name.startswith("an ensemble of")
    client, x = MlflowClient(uri), load("ucr:ItalyPowerDemand").test.x[:40]
    card = client.download_artifacts(best.info.run_id, "model_card.md", str(tmp_path))
    assert Path(card).read_text().startswith("# An ensemble led by mlp on ucr:ItalyPowerDemand")

    def predictions(run: Any) -> np.ndarray:
        path = client.download_artifacts(run.info.run_id, "model.keras", str(tmp_path / run.info.run_id))
        return keras.saving.load_model(path).predict(x, verbose=0)

    np.testing.assert_allclose(predictions(best), np.mean([predictions(r) for r in members], axis=0), atol=1e-6)
    np.testing.assert_allclose(result.model.predict(x, verbose=0), predictions(best), atol=1e-6)


def test_ensemble_1_keeps_the_best_trial_alone(tmp_path) -> None:
    """`zoo tune --ensemble 1`: no held-out predictions kept, the best retrained alone."""
    command = [ZOO, "tune", "--models", "lstm", "--data", "ucr:ItalyPowerDemand", "--tuner", "random",
               "--max-trials", "1", "--max-epochs", "1", "--cv", "2", "--ensemble", "1", "--no-compare",
               "--fixed", "units=8"]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, env=QUIET, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reproduce it: zoo train --config" in done.stdout and "ensemble of" not in done.stdout
    assert not list(tmp_path.glob("tuning_runs/*/runs/trial_*/heldout*.npy"))
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    [parent] = _staged(uri, "search")
    assert parent.data.params["ensemble"] == "1" and not _staged(uri, "member")


def folds_of(dataset: Any) -> list:
    from recipes import folds

    return folds.folds(dataset, 3, seed=0)


def test_cv_ranks_a_trial_by_the_mean_of_its_fold_scores(tmp_path) -> None:
    """--cv 3: three fold runs, every labelled series validated once, the objective their mean."""
    from recipes import folds
    from recipes.data import load

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    result = tuning.search("lstm", "ucr:ItalyPowerDemand", tuner="random", max_trials=1, max_epochs=2, cv=3,
                           fixed={"units": 8}, directory=tmp_path / "tuning", tracking_uri=uri, retrain_best=False,
                           progress=lambda line: None)  # fmt: skip
    [parent] = _staged(uri, "search")
    assert parent.data.params["cv"] == "3"
    trials = _staged(uri, "trial")
    assert sorted(r.data.tags["fold"] for r in trials) == ["0", "1", "2"]
    assert sum(int(r.data.params["data.n_val"]) for r in trials) == 67  # ItalyPowerDemand's labelled series
    # Each fold trains as the retrained best will (weights by the training loss), scored on its held-out fold.
    assert {(r.data.params["protocol.select_on"], r.data.params["protocol.lr_schedule"]) for r in trials} == {
        ("held_out", "cosine")
    }
    scores = [r.data.metrics["best_val_accuracy"] for r in trials]
    assert result.best_value == pytest.approx(sum(scores) / 3)

    assert folds.default_folds(load("ucr:ItalyPowerDemand")) == 5  # a 13-series carve: folds by default
    assert folds.default_folds(load("forecast:airline")) == 0
    for cv, words in ((1, "2 folds or more"), (4, "overlap in time")):
        with pytest.raises(ConfigError, match=words):
            tuning.search("lstm", "forecast:airline", cv=cv, tracking=False, directory=tmp_path / "refused")


def test_hyperbands_second_round_starts_from_the_first_rounds_weights(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tuning.search("gru", "ucr:ItalyPowerDemand", tuner="hyperband", max_epochs=2, hyperband_factor=2, cv=0,
                  fixed={"units": 8}, directory=tmp_path / "tuning", tracking_uri=uri, retrain_best=False,
                  progress=lambda line: None)  # fmt: skip
    trials = _staged(uri, "trial")
    promoted = [r for r in trials if r.data.tags.get("tuner.round") == "1"]
    assert promoted
    first = {r.data.tags["trial_id"] for r in trials if r.data.tags.get("tuner.round") == "0"}
    for run in promoted:
        assert run.data.tags["warm_start_trial"] in first and run.data.tags["initial_epoch"] == "1"
        assert run.data.metrics.get("epochs_trained") == 1, run.data  # the second epoch only, after the first


def test_init_weights_start_a_training_from_those_weights(tmp_path) -> None:
    import keras
    import numpy as np

    seen: list = []

    class Before(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append([w.copy() for w in self.model.get_weights()])

    common = {"hparams": {"units": 4}, "epochs": 1, "tracking": False, "runs_dir": tmp_path, "verbose": 0}
    first = recipes.train("gru", "ucr:ItalyPowerDemand", **common)
    first.model.save_weights(tmp_path / "first.weights.h5")
    recipes.train("gru", "ucr:ItalyPowerDemand", init_weights=tmp_path / "first.weights.h5", callbacks=[Before()],
                  **common)  # fmt: skip
    assert all(np.array_equal(a, b) for a, b in zip(seen[-1], first.model.get_weights(), strict=True))


def _staged(uri: str, stage: str) -> list:
    return [run for run in _runs(uri) if run.data.tags.get("stage") == stage]


def test_a_search_registers_its_retrained_best_as_the_new_champion(searched) -> None:
    """Two searches of one project: versions 1 and 2 of its registered model, the champion the newest."""
    from mlflow import MlflowClient

    result, uri, _, root = searched
    project = result.config_path.parent.name
    assert result.registered == f"{project} v1"
    again = tuning.search("lstm", "ucr:ItalyPowerDemand", tuner="random", max_trials=1, max_epochs=1, cv=0,
                          fixed={"units": 8}, directory=root / "tuning", project=project, overwrite=True,
                          tracking_uri=uri, experiment="search", progress=lambda line: None)  # fmt: skip
    assert again.registered == f"{project} v2"
    client = MlflowClient(uri)
    assert client.get_model_version_by_alias(project, "champion").run_id == again.best_run_id
    assert client.get_run(again.parent_run_id).data.tags["registered_model"] == f"{project} v2"


def test_progress_reports_each_trainings_epochs_plain_when_piped_and_as_bars_on_a_terminal(tmp_path) -> None:
    """Piped: a line per finished trial and at each quarter of a training's epochs (folds named);
    on a terminal: the trial lines above bars of the trials and the running training's epochs."""
    import io
    import re

    from rich.console import Console

    from tuning.progress import PlainProgress, RichProgress

    lines: list[str] = []
    common = {"tuner": "random", "max_trials": 1, "max_epochs": 4, "fixed": {"units": 8}, "tracking": False}
    piped = PlainProgress(lines.append)
    tuning.search("lstm", "ucr:ItalyPowerDemand", cv=2, directory=tmp_path / "plain", progress=piped, **common)
    for fold in (1, 2):
        epochs = [line for line in lines if line.startswith(f"  trial 1 of 1 (lstm), fold {fold} of 2: epoch ")]
        assert [line.split("epoch ")[1].split(",")[0] for line in epochs] == ["1/4", "2/4", "3/4"], lines
        assert all("val_accuracy" in line and "s left in it" in line for line in epochs)
    assert any(line.startswith("trial 1 of 1 (0, lstm): val_accuracy=") for line in lines)
    assert [line.split(":")[0] for line in lines if "retrained" in line] == ["  the best (lstm), retrained"] * 3

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    bars = RichProgress(console, trials=1)
    try:
        tuning.search("lstm", "ucr:ItalyPowerDemand", cv=0, directory=tmp_path / "bars", progress=bars, **common)
    finally:
        bars.close()
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())  # the terminal's control codes out
    assert "trial 1 of 1 (0, lstm): val_accuracy=" in shown, shown
    assert bars.bars.tasks[0].completed == 1  # the trials bar
    assert bars.bars.tasks[1].completed == bars.bars.tasks[1].total == 4  # the last training's epochs


@pytest.mark.parametrize("tuner", ["random", "bayesian", "grid", "hyperband"])
def test_a_search_seed_draws_the_same_trials_every_time_seed_0_included(tuner) -> None:
    """keras-tuner reads seed 0 as "no seed" and draws one at random; the search's seed 0 is a seed."""
    import importlib

    import keras_tuner as kt

    searching = importlib.import_module("tuning.searching")
    space = kt.HyperParameters()
    space.Choice("model", ["lstm", "gru", "cnn_lstm"])
    space.Float("learning_rate", 1e-4, 1e-2, sampling="log")

    def drawn(seed: int) -> list:
        oracle = searching._oracle(tuner, kt.Objective("val_accuracy", "max"), models=["lstm"], max_trials=5,
                                   max_epochs=4, seed=seed, hyperband_factor=3)  # fmt: skip
        oracle.hyperparameters = space.copy()
        return [oracle._random_values() for _ in range(4)]

    assert drawn(0) == drawn(0) and drawn(7) == drawn(7) and drawn(0) != drawn(7)


def test_equal_objectives_are_ranked_by_the_validation_loss_of_the_kept_weights(tmp_path) -> None:
    """Accuracy on a few dozen series ties; the trial whose kept weights have the lower
    validation loss wins the tie, and a trial's objective is read at the epoch it kept."""
    import keras_tuner as kt

    from recipes.protocol import kept_epoch
    from tuning.searching import TIE_BREAK, ranked

    oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("val_accuracy", "max"), max_trials=3, seed=0)
    oracle._set_project_dir(str(tmp_path), "p")
    space = kt.HyperParameters()
    space.Int("units", 1, 100)
    oracle.hyperparameters = space
    for accuracy, loss in ((1.0, 0.30), (0.9, 0.01), (1.0, 0.10)):
        trial = oracle.create_trial("tuner0")
        oracle.update_trial(trial.trial_id, {"val_accuracy": accuracy, TIE_BREAK: loss})
        trial.status = kt.engine.trial.TrialStatus.COMPLETED
        oracle.end_trial(trial)
    assert [t.trial_id for t in ranked(oracle)] == ["2", "0", "1"]

    history = {"val_loss": [0.9, 0.2, 0.4], "val_accuracy": [0.5, 0.8, 1.0]}
    assert kept_epoch(history, "val_loss", history["val_accuracy"], "max") == 1  # not the accuracy's peak
    assert kept_epoch({}, "val_loss", [0.5, 0.8, 0.7], "max") == 1


@pytest.mark.parametrize(("default_folds", "other_folds", "first"), [
    ([1.0, 1.0, 1.0, float(np.float32(12 / 13)), 1.0], [1.0] * 5, "default"),  # one series on one fold: 1 SE, noise
    ([0.8] * 5, [1.0, 1.0, 1.0, 1.0, 0.96], "other"),  # better on every fold
])  # fmt: skip
def test_a_searched_config_replaces_the_default_only_when_clearly_better(tmp_path, default_folds, other_folds,
                                                                       first) -> None:  # fmt: skip
    """The one-standard-error rule: the best default config stays first unless a trial beats it by
    more than one standard error of their paired per-fold differences."""
    import keras_tuner as kt

    from tuning.searching import UNIT_SCORE, _defaults_first, ranked

    oracle = _defaults_first(kt.oracles.RandomSearchOracle, ["lstm"])(
        objective=kt.Objective("val_accuracy", "max"), max_trials=3, seed=0)  # fmt: skip
    oracle._set_project_dir(str(tmp_path), "p")
    space = kt.HyperParameters()
    space.Choice("model", ["lstm"])
    space.Int("units", 1, 1000, default=8)
    oracle.hyperparameters = space
    ids = {}
    for name, folds in (("default", default_folds), ("other", other_folds)):
        trial = oracle.create_trial("tuner0")
        ids[trial.trial_id] = name
        scores = {f"{UNIT_SCORE}{i}": v for i, v in enumerate(folds)}
        oracle.update_trial(trial.trial_id, {"val_accuracy": float(np.mean(folds)), **scores})
        trial.status = kt.engine.trial.TrialStatus.COMPLETED
        oracle.end_trial(trial)
    assert ids["0"] == "default" and oracle.trials["0"].hyperparameters.values == {"model": "lstm", "units": 8}
    assert ids[ranked(oracle)[0].trial_id] == first
