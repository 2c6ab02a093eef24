"""Semi-supervised recipes: pretexts, the labelled subset, pretrain -> fine-tune, the sweep and its CLI."""

from __future__ import annotations

import signal
import subprocess

import numpy as np
import pytest

import recipes.semi as semi
from recipes import pretext as px
from recipes.data import load
from recipes.data.base import Dataset, Split
from recipes.errors import DataError
from tests.test_cli import AS_A_USER, ZOO
from tests.test_train_cli import QUIET, _runs, _wait_for_epoch
from zoo.errors import ConfigError

TINY = {"units": 8}


@pytest.fixture(scope="module")
def gunpoint() -> Dataset:
    return load("ucr:GunPoint", seed=0)


def _tokens_dataset(n: int = 40, length: int = 12, vocab: int = 30) -> Dataset:
    rng = np.random.default_rng(0)
    lengths = rng.integers(4, length + 1, size=n).astype("int32")
    x = rng.integers(2, vocab, size=(n, length)).astype("int32")
    x[np.arange(length)[None, :] >= lengths[:, None]] = 0
    y = rng.integers(0, 2, size=n)
    split = Split(x, y, lengths)
    return Dataset(name="synthetic:tokens", task="classification", input_kind="tokens", train=split, val=split.take(
        np.arange(5)), test=split.take(np.arange(10)), class_names=["a", "b"], vocab_size=vocab,
        variable_length=True)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Pretext batches


def test_span_masks_hide_about_the_ratio_in_spans_of_about_the_mean_length() -> None:
    hidden = px.span_mask((400, 200, 2), 0.2, 4, np.random.default_rng(0))
    assert abs(hidden.mean() - 0.2) < 0.02
    starts = (hidden[:, 1:] & ~hidden[:, :-1]).sum()
    assert 3.2 < hidden[:, 1:].sum() / starts < 4.8  # mean span length


def test_masked_series_batches_hide_values_and_weigh_only_the_hidden_ones() -> None:
    cfg = px.pretrain_config({"pretext": "masked", "mask_ratio": 0.3})
    x = np.random.default_rng(0).normal(size=(8, 20, 2)).astype("float32")
    valid = np.ones((8, 20), bool)
    valid[0, 15:] = False  # padding is never a target
    inputs, packed = px.make_batch(x, valid, cfg, np.random.default_rng(1))
    target, weight = packed[..., :2], packed[..., 2:]
    np.testing.assert_array_equal(target, x)
    hidden = weight.astype(bool)
    assert hidden.any() and not hidden[0, 15:].any()
    np.testing.assert_array_equal(inputs[hidden], 0.0)
    np.testing.assert_array_equal(inputs[~hidden], x[~hidden])


def test_next_step_targets_are_the_following_step_and_the_last_has_no_weight() -> None:
    cfg = px.pretrain_config({"pretext": "next_step"})
    x = np.arange(12, dtype="int32").reshape(2, 6) + 2
    valid = np.array([[True] * 6, [True] * 4 + [False] * 2])
    inputs, target, weight = px.make_batch(x, valid, cfg, np.random.default_rng(0))
    np.testing.assert_array_equal(inputs, x)
    np.testing.assert_array_equal(target[:, :-1], x[:, 1:])
    np.testing.assert_array_equal(weight, [[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0]])


def test_masked_tokens_become_the_out_of_vocabulary_id() -> None:
    cfg = px.pretrain_config({"pretext": "masked", "mask_ratio": 0.5})
    x = np.random.default_rng(0).integers(2, 30, size=(6, 20)).astype("int32")
    inputs, target, weight = px.make_batch(x, np.ones_like(x, bool), cfg, np.random.default_rng(0))
    hidden = weight.astype(bool)
    assert hidden.any()
    assert (inputs[hidden] == px.OOV_ID).all() and (inputs[~hidden] == x[~hidden]).all()
    np.testing.assert_array_equal(target, x)


@pytest.mark.parametrize(
    ("model", "pretext", "words"),
    [
        ("cnn_lstm", "masked", "needs per-time-step outputs"),
        ("bilstm", "next_step", "needs a causal backbone"),
        ("lstm", "contrastive", "unknown pretext"),
    ],
)
def test_a_backbone_that_cannot_serve_the_pretext_is_refused(model, pretext, words) -> None:
    import zoo

    with pytest.raises(ConfigError, match=words):
        px.check(zoo.get_spec(model), pretext)


# ---------------------------------------------------------------------------------------------
# The labelled subset and the unlabeled pool


def test_the_labelled_subset_is_stratified_and_fixed_by_the_seed(gunpoint) -> None:
    a = semi.labelled_subset(gunpoint, 0.25, seed=3)
    b = semi.labelled_subset(gunpoint, 0.25, seed=3)
    c = semi.labelled_subset(gunpoint, 0.25, seed=4)
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert not np.array_equal(a.train.x, c.train.x)
    for label in (0, 1):
        assert (a.train.y == label).sum() == round(0.25 * (gunpoint.train.y == label).sum())
    assert len(a.test) == len(gunpoint.test)  # the test split is never touched
    assert semi.labelled_subset(gunpoint, 1.0, seed=0) is gunpoint


@pytest.mark.parametrize(("fraction", "error", "words"), [
    (0.0, ConfigError, "must be in (0, 1]"),
    (1.5, ConfigError, "must be in (0, 1]"),
    (0.01, DataError, "fewer than its 2 classes"),
])  # fmt: skip
def test_bad_fractions_are_refused(gunpoint, fraction, error, words) -> None:
    with pytest.raises(error, match=words.replace("(", r"\(").replace("]", r"\]")):
        semi.labelled_subset(gunpoint, fraction, seed=0)


def test_the_pool_is_train_inputs_by_default_and_other_sets_are_resampled(gunpoint) -> None:
    pool, record = semi.unlabeled_pool(gunpoint)
    assert len(pool) == len(gunpoint.train) + len(gunpoint.val) and pool.y is None
    assert record == {"n": len(pool), "sources": {"train": len(pool)}, "transductive": False}
    more, record = semi.unlabeled_pool(gunpoint, ["train", "ucr:ItalyPowerDemand"], transductive=True)
    assert more.x.shape[1:] == gunpoint.train.x.shape[1:]
    assert record["transductive"] and record["sources"]["test_transductive"] == len(gunpoint.test)
    assert len(more) == len(pool) + record["sources"]["ucr:ItalyPowerDemand"] + len(gunpoint.test)


@pytest.mark.parametrize(("sources", "words"), [
    (["unlabeled"], "ships no unlabeled pool"),
    (["ucr:BasicMotions"], "6 features cannot feed"),
    ([], "no unlabeled data"),
])  # fmt: skip
def test_a_pool_that_cannot_be_used_is_refused(gunpoint, sources, words) -> None:
    with pytest.raises(DataError, match=words):
        semi.unlabeled_pool(gunpoint, sources)


# ---------------------------------------------------------------------------------------------
# Pretrain, then fine-tune


@pytest.fixture(scope="module")
def pretrained(gunpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("pre")
    return semi.pretrain("lstm", gunpoint, hparams=TINY, pretext="masked", epochs=2, tracking=False, runs_dir=root)


def test_fine_tuning_keeps_the_encoder_frozen_then_trains_it(pretrained, gunpoint, tmp_path) -> None:
    import keras

    before = [keras.ops.convert_to_numpy(w) for w in pretrained.encoder.weights]
    frozen = semi.finetune("lstm", gunpoint, pretrained, fraction=0.25, freeze_epochs=2, unfreeze_epochs=0,
                           tracking=False, runs_dir=tmp_path / "a", verbose=0)  # fmt: skip
    after = [keras.ops.convert_to_numpy(w) for w in frozen.model.get_layer("backbone").weights]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(frozen.dataset.train) == 10 and frozen.epochs == 2

    both = semi.finetune("lstm", gunpoint, pretrained.encoder_path, fraction=0.25, freeze_epochs=2, unfreeze_epochs=2,
                         tracking=False, runs_dir=tmp_path / "b", verbose=0)  # fmt: skip
    assert both.epochs == 4  # two phases, one history
    moved = [keras.ops.convert_to_numpy(w) for w in both.model.get_layer("backbone").weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, moved, strict=True))


def test_fine_tuning_shares_out_the_budget_any_run_on_the_subset_gets(pretrained, gunpoint, tmp_path) -> None:
    """The protocol's epochs for the labelled subset (as `zoo train` on it): `freeze_share` of them
    frozen, the rest unfrozen, with that whole budget's patience; no epoch count given."""
    from mlflow import MlflowClient

    from recipes.config import train_config
    from recipes.protocol import resolve

    store = f"sqlite:///{tmp_path}/mlflow.db"
    result = semi.finetune("lstm", gunpoint, pretrained, fraction=0.25, steps=40, freeze_share=0.5, patience=0,
                           unfreeze_lr_factor=0.1, tracking_uri=store, runs_dir=tmp_path / "runs",
                           verbose=0)  # fmt: skip
    data = result.dataset
    budget = resolve(train_config({"steps": 40}), "classification", len(data.train), len(data.val)).epochs
    params = MlflowClient(store).get_run(result.run_id).data.params
    assert (params["protocol.epochs"], params["backbone.unfreeze_epochs"]) == (str(budget // 2), str(budget // 2))
    assert result.epochs == budget  # patience 0: every epoch of both phases
    # A small set's schedule is a cosine, one per phase: each warms up, then decays; the second from a tenth.
    rates, half = result.history["learning_rate"], budget // 2
    for phase, top in ((rates[:half], 1e-3), (rates[half:], 1e-4)):
        peak = int(np.argmax(phase))
        assert phase[peak] <= top * 1.0001 and phase[-1] < phase[peak] / 2 and all(np.diff(phase[peak:]) <= 0)
    with pytest.raises(ConfigError, match=r"^fine-tuning: 0 epochs frozen and 0 unfrozen train nothing; give"):
        semi.finetune("lstm", gunpoint, pretrained, freeze_share=0.0, unfreeze_epochs=0, tracking=False,
                      runs_dir=tmp_path / "none", verbose=0)  # fmt: skip


def test_fine_tuning_trains_end_to_end_by_default(pretrained, gunpoint, tmp_path) -> None:
    """The default chosen by cross-validation (docs/benchmarks/finetune_cv.md): nothing frozen, the
    encoder's weights the starting point, the whole budget along one cosine at the full rate."""
    from mlflow import MlflowClient

    from recipes.config import train_config
    from recipes.protocol import resolve

    store = f"sqlite:///{tmp_path}/mlflow.db"
    result = semi.finetune("lstm", gunpoint, pretrained, fraction=0.25, steps=40, patience=0, tracking_uri=store,
                           runs_dir=tmp_path / "runs", verbose=0)  # fmt: skip
    data = result.dataset
    budget = resolve(train_config({"steps": 40}), "classification", len(data.train), len(data.val)).epochs
    params = MlflowClient(store).get_run(result.run_id).data.params
    assert (params["backbone.frozen"], params["backbone.unfreeze_epochs"]) == ("False", "0")
    assert params["protocol.epochs"] == str(budget) == str(result.epochs)
    rates = result.history["learning_rate"]
    peak = int(np.argmax(rates))
    assert rates[peak] == pytest.approx(1e-3, rel=0.05) and all(np.diff(rates[peak:]) <= 0) and rates[-1] < 1e-4


def test_an_encoder_for_other_inputs_or_another_model_is_refused(pretrained, tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"backbone takes inputs of shape \(150, 1\)"):
        semi.finetune("lstm", "ucr:ItalyPowerDemand", pretrained, tracking=False, runs_dir=tmp_path, verbose=0)
    with pytest.raises(ConfigError, match="pretrained as lstm"):
        semi.finetune("gru", "ucr:GunPoint", pretrained, tracking=False, runs_dir=tmp_path, verbose=0)
    with pytest.raises(ConfigError, match="no such file"):
        semi.load_encoder(tmp_path / "nothing.keras")


@pytest.mark.parametrize("pretext", ["masked", "autoencode", "next_step"])
def test_variable_length_series_pretrain_with_their_padding_masked(pretext, tmp_path) -> None:
    """JapaneseVowels-like data: padded series, a Masking layer, every pretext."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 16, size=30).astype("int32")
    x = rng.normal(size=(30, 16, 3)).astype("float32")
    x[np.arange(16)[None, :] >= lengths[:, None]] = 0.0
    split = Split(x, rng.integers(0, 2, size=30), lengths)
    data = Dataset(name="synthetic:series", task="classification", input_kind="series", train=split,
                   val=split.take(np.arange(5)), test=split.take(np.arange(8)), class_names=["a", "b"],
                   num_features=3, variable_length=True)  # fmt: skip
    result = semi.pretrain("lstm", data, hparams=TINY, pretext=pretext, epochs=2, tracking=False, runs_dir=tmp_path)
    assert len(result.history["loss"]) == 2 and np.isfinite(result.history["loss"]).all()
    assert result.encoder.input_shape == (None, None, 3)


@pytest.mark.parametrize("pretext", ["masked", "autoencode", "next_step"])
def test_token_encoders_pretrain_with_every_pretext(pretext, tmp_path) -> None:
    result = semi.pretrain("gru", _tokens_dataset(), hparams={"units": 8, "embedding_dim": 8}, pretext=pretext,
                           epochs=2, tracking=False, runs_dir=tmp_path)  # fmt: skip
    assert len(result.history["loss"]) == 2 and np.isfinite(result.history["loss"]).all()
    assert result.encoder_path.exists() and result.encoder.name == "backbone"


# ---------------------------------------------------------------------------------------------
# The sweep, as a user runs it


@pytest.mark.slow
def test_zoo_semi_tracks_a_sweep_resumes_it_and_its_encoder_fine_tunes(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    command = [ZOO, "semi", "lstm", "--data", "ucr:GunPoint", "--hp", "units=8", "--fractions", "0.1,1",
               "--seeds", "0", "--pretrain-epochs", "2", "--epochs", "2", "--freeze-share", "0.5"]  # fmt: skip
    first = subprocess.run(command, cwd=tmp_path, env=QUIET, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "| 10% | 4 |" in first.stdout and "gain" in first.stdout and "picture:" in first.stdout

    runs = _runs(uri)
    [parent] = [r for r in runs if r.data.tags.get("stage") == "semi"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "FINISHED" and all(r.info.status == "FINISHED" for r in children)
    [pre] = [r for r in children if r.data.tags["stage"] == "pretrain"]
    tuned = sorted(
        (r.data.tags["fraction"], r.data.tags["init"]) for r in children if r.data.tags["stage"] == "finetune"
    )
    assert tuned == [("0.1", "pretrained"), ("0.1", "scratch"), ("1", "pretrained"), ("1", "scratch")]
    for run in children:  # --epochs 2: scratch trains both; fine-tuning, half frozen (--freeze-share 0.5)
        if run.data.tags["stage"] == "finetune":
            pretrained = run.data.tags["init"] == "pretrained"
            shares = (run.data.params["protocol.epochs"], run.data.params.get("backbone.unfreeze_epochs"))
            assert shares == (("1", "1") if pretrained else ("2", None))
            if not pretrained:  # the encoder pretrains reading every step, so the scratch arm does too
                assert run.data.params["model.patch"] == "1"
    assert {"gain_accuracy_at_0.1", "pretrained_accuracy_at_1", "scratch_accuracy_at_1"} <= set(parent.data.metrics)
    from mlflow import MlflowClient

    listed = {a.path for a in MlflowClient(uri).list_artifacts(parent.info.run_id)}
    assert {"sweep.png", "sweep.md", "sweep.json"} <= listed

    again = subprocess.run(command, cwd=tmp_path, env=QUIET, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "reusing run" in again.stdout
    assert len(_runs(uri)) == len(runs)  # nothing ran twice

    train = [ZOO, "train", "lstm", "--data", "ucr:GunPoint", "--backbone", f"runs:/{pre.info.run_id}/encoder",
             "--freeze-backbone", "--epochs", "1", "--unfreeze-epochs", "1"]  # fmt: skip
    tuned = subprocess.run(train, cwd=tmp_path, env=QUIET, capture_output=True, text=True, timeout=300)
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    assert "2 epochs" in tuned.stdout


@pytest.mark.parametrize(("args", "words"), [
    (["--fractions", "0,1"], "must be in (0, 1]"),
    (["--unlabeled", "unlabeled"], "ships no unlabeled pool"),
])  # fmt: skip
def test_zoo_semi_bad_input_is_one_line(args, words, tmp_path) -> None:
    """One CLI case before the data loads, one after; the other refusals are tested in-process."""
    result = subprocess.run([ZOO, "semi", "lstm", "--data", "ucr:GunPoint", *args], cwd=tmp_path, env=AS_A_USER,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    [line] = result.stderr.strip().splitlines()
    assert words in line
    assert not _runs(f"sqlite:///{tmp_path}/mlflow.db") or all(
        r.info.status != "RUNNING" for r in _runs(f"sqlite:///{tmp_path}/mlflow.db")
    )


@pytest.mark.slow
def test_a_killed_pretraining_resumes_in_the_same_run(tmp_path) -> None:
    """SIGKILL `zoo pretrain` mid-run, SIGTERM the rerun, then run to the end: one MLflow run
    FINISHED, every epoch logged once, none redone."""
    from mlflow import MlflowClient

    command = [ZOO, "pretrain", "gru", "--data", "ucr:GunPoint", "--hp", "units=8", "--pretext", "masked",
               "--epochs", "12", "--patience", "0", "--checkpoint-seconds", "0"]  # fmt: skip
    uri = f"sqlite:///{tmp_path}/mlflow.db"

    def start() -> subprocess.Popen:
        return subprocess.Popen(command, cwd=tmp_path, env=QUIET, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)  # fmt: skip

    first = start()
    _wait_for_epoch(tmp_path / "runs", 2, first)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    [run] = _runs(uri)
    assert run.info.status == "RUNNING"

    second = start()
    _wait_for_epoch(tmp_path / "runs", 6, second)
    second.send_signal(signal.SIGTERM)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 130 and "interrupted" in err and "Traceback" not in err, err[-2000:]
    [run] = _runs(uri)
    assert run.info.status == "KILLED"

    third = subprocess.run(command, cwd=tmp_path, env=QUIET, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr[-3000:]
    resumed = int(third.stdout.split("resumed at epoch ")[1].split(")")[0])
    assert "12 epochs" in third.stdout and resumed >= 6, third.stdout
    [run] = _runs(uri)
    assert run.info.status == "FINISHED"
    [folder] = (tmp_path / "runs").iterdir()
    epochs = [int(line.split(",")[0]) for line in (folder / "metrics.csv").read_text().splitlines()[1:]]
    # Each attempt went on from the last saved epoch: only an epoch a SIGKILL cut short (its
    # row written, its backup not yet) can appear twice.
    assert sorted(set(epochs)) == list(range(12)) and len(epochs) <= 13, epochs
    steps = [m.step for m in MlflowClient(uri).get_metric_history(run.info.run_id, "loss")]
    assert set(steps) == set(range(12))
    assert f"runs:/{run.info.run_id}/encoder" in third.stdout
