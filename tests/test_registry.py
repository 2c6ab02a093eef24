"""The registry API and the errors a user meets: one exception type, one line each."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import keras
import numpy as np
import pytest

import zoo
from zoo.errors import ConfigError, RegistryError, UnknownModelError, ZooError

REQUIRED = {
    "lstm",
    "stacked_lstm",
    "bilstm",
    "gru",
    "stacked_gru",
    "cnn_lstm",
    "attention_lstm",
    "lstm_fcn",
    "alstm_fcn",
    "fcn",
    "mlp",
    "transformer",
}
SERIES = dict(input_shape=(32, 2), task="classification", num_outputs=2)


def test_list_models_is_sorted_and_has_the_zoo() -> None:
    names = zoo.list_models()
    assert names == sorted(names) and REQUIRED <= set(names)


def test_list_models_filters() -> None:
    assert zoo.list_models("*gru*") == ["gru", "stacked_gru"]
    assert zoo.list_models(family="fcn_hybrid") == ["alstm_fcn", "lstm_fcn"]
    per_step = zoo.list_models(task="reconstruction")
    assert "lstm" in per_step and "cnn_lstm" not in per_step and "mlp" not in per_step
    assert zoo.list_models("*lstm", family="recurrent") == ["bilstm", "lstm", "stacked_lstm"]


def test_describe_record() -> None:
    info = zoo.describe("attention_lstm")
    assert info.family == "attention" and info.reference and info.summary
    assert set(info.tasks) == {"classification", "regression", "forecasting", "reconstruction"}
    assert info.inputs == ("series", "tokens") and info.cudnn_fast_path is True
    assert info.search_space["attention"]["values"] == ["additive", "multihead"]
    assert info.search_space["units"] == {
        "default": 64,
        "type": "int",
        "low": 16,
        "high": 256,
        "step": 2,
        "sampling": "log",
        "tune": True,
        "search": "int [16, 256], x2",
        "valid": "int [1, 4096]",
        "doc": "recurrent units per layer (per direction)",
    }
    assert "recurrent_dropout" in info.fixed and "recurrent_dropout" not in info.search_space
    assert zoo.describe("fcn").cudnn_fast_path is None
    assert zoo.describe("cnn_lstm").min_length == 4
    assert zoo.describe("lstm_fcn").defaults["filters_2"] == 256


def test_literature_defaults() -> None:
    fcn = zoo.describe("fcn").defaults
    assert [fcn[f"filters_{i}"] for i in (1, 2, 3)] == [128, 256, 128]
    assert [fcn[f"kernel_{i}"] for i in (1, 2, 3)] == [8, 5, 3]
    assert zoo.describe("lstm_fcn").defaults["dropout"] == 0.8
    assert zoo.describe("mlp").defaults["units"] == 500


def test_duplicate_registration_raises() -> None:
    @dataclasses.dataclass(frozen=True)
    class Empty:
        pass

    spec = zoo.get_spec("lstm")
    with pytest.raises(RegistryError, match="already registered"):
        zoo.register_model("lstm", family="x", summary="", reference="", config=spec.config)(spec.builder)
    with pytest.raises(ConfigError, match=r"not declared with zoo\.params\.hp"):

        @dataclasses.dataclass(frozen=True)
        class Undeclared:
            units: int = 3

        zoo.register_model("undeclared_model", family="x", summary="", reference="", config=Undeclared)(spec.builder)
    assert "undeclared_model" not in zoo.list_models()


def test_none_overrides_keep_defaults() -> None:
    model = zoo.build("lstm", units=None, dropout=None, **SERIES)
    assert model.get_layer("backbone").get_layer("lstm_1").units == 64
    model = zoo.build("lstm", units=8, **SERIES)
    assert model.get_layer("backbone").get_layer("lstm_1").units == 8


def test_overrides_are_validated_and_converted() -> None:
    cfg = zoo.make_config(zoo.get_spec("lstm").config, {"dropout": 0})
    assert cfg.dropout == 0.0 and isinstance(cfg.dropout, float)


def test_leaving_the_fast_path_warns_naming_the_knob() -> None:
    with pytest.warns(zoo.FastPathWarning, match="recurrent_dropout=0.2"):
        zoo.build("gru", recurrent_dropout=0.2, **SERIES)
    with pytest.warns(zoo.FastPathWarning, match="activation='relu'"):
        zoo.build("lstm_fcn", activation="relu", **SERIES)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: zoo.build("lstmm", **SERIES), UnknownModelError, ["'lstmm'", "did you mean: lstm"]),
        (lambda: zoo.describe("gruu"), UnknownModelError, ["did you mean: gru"]),
        (lambda: zoo.build("lstm", unit=8, **SERIES), ConfigError, ["'unit'", "did you mean: units", "valid names"]),
        (lambda: zoo.build("lstm", units=0, **SERIES), ConfigError, ["units=0", "int [1, 4096]"]),
        (lambda: zoo.build("lstm", dropout=1.5, **SERIES), ConfigError, ["dropout=1.5", "float [0, 0.95]"]),
        (lambda: zoo.build("lstm", units="64", **SERIES), ConfigError, ["units='64'"]),
        (lambda: zoo.build("attention_lstm", attention="dot", **SERIES), ConfigError, ["'additive', 'multihead'"]),
        (
            lambda: zoo.build("cnn_lstm", input_shape=(3, 1), task="classification", num_outputs=2),
            ConfigError,
            ["length 3", "at least 4"],
        ),
        (
            lambda: zoo.build("mlp", input_shape=(None, 1), task="classification", num_outputs=2),
            ConfigError,
            ["fixed sequence length"],
        ),
        (
            lambda: zoo.build("cnn_lstm", input_shape=(32, 1), task="reconstruction", num_outputs=1),
            ConfigError,
            ["does not support task 'reconstruction'", "classification, regression, forecasting"],
        ),
        (lambda: zoo.build("lstm", input_shape=(32, 1), task="ranking", num_outputs=2), ConfigError, ["'ranking'"]),
        (
            lambda: zoo.build("lstm", input_shape=(40,), task="classification", num_outputs=2),
            ConfigError,
            ["pass vocab_size"],
        ),
        (lambda: zoo.build("lstm", input_shape=(32, 1), task="regression", num_outputs=0), ConfigError, ["positive"]),
        (lambda: zoo.build("lstm", input_shape=(32, 1), task="regression", num_outputs=-2), ConfigError, ["positive"]),
        (
            lambda: zoo.build("lstm", input_shape=(32, 1), task="classification", num_outputs=1),
            ConfigError,
            [">= 2"],
        ),
        (lambda: zoo.build("gru", input_shape=(32, 1), task="forecasting", num_outputs=1), ConfigError, ["horizon"]),
        (
            lambda: zoo.build(
                "lstm_fcn", dimension_shuffle=True, input_shape=(None, 1), task="regression", num_outputs=1
            ),
            ConfigError,
            ["dimension_shuffle=True needs a fixed sequence length"],
        ),
        (lambda: zoo.list_models(task="clasification"), ConfigError, ["did you mean: classification"]),
        (
            lambda: zoo.build("gru", patch=4, input_shape=(None, 1), task="classification", num_outputs=2),
            ConfigError,
            ["patch=4 needs a fixed sequence length"],
        ),
        (
            lambda: zoo.build("lstm", patch=2, input_shape=(32, 1), task="reconstruction", num_outputs=1),
            ConfigError,
            ["patch=2 gives no per-step outputs", "patch 0 or 1"],
        ),
    ],
)
def test_bad_input_gets_one_clear_line(call, error, words) -> None:
    with pytest.raises(error) as caught:
        call()
    assert isinstance(caught.value, ZooError)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_backbone_mismatch_is_a_clear_error() -> None:
    encoder = zoo.build("gru", input_shape=(None, 3), task="regression", num_outputs=1, units=4)
    with pytest.raises(ConfigError, match=r"backbone takes inputs of shape \(None, 3\)"):
        zoo.build("gru", input_shape=(None, 2), task="classification", num_outputs=2, backbone=encoder)
    with pytest.raises(ConfigError, match="keeps its own hyperparameters; drop units"):
        zoo.build("gru", input_shape=(None, 3), task="classification", num_outputs=2, backbone=encoder, units=8)
    pooled_only = zoo.build("cnn_lstm", input_shape=(None, 3), task="regression", num_outputs=1, filters=4)
    with pytest.raises(ConfigError, match="per-step features"):
        zoo.build("lstm", input_shape=(None, 3), task="reconstruction", num_outputs=3, backbone=pooled_only)
    with pytest.raises(ConfigError, match="no sub-model named 'backbone'"):
        zoo.build("gru", input_shape=(None, 3), task="regression", num_outputs=1, backbone=keras.Sequential(name="x"))


def test_dimension_shuffle_is_the_papers_transposed_lstm() -> None:
    model = zoo.build("lstm_fcn", dimension_shuffle=True, input_shape=(50, 1), task="classification", num_outputs=2)
    lstm = model.get_layer("backbone").get_layer("lstm_1")
    assert lstm.input.shape[1:] == (1, 50)  # one step of 50 values: the recurrence never runs


@pytest.mark.parametrize(
    "shape, build, steps",
    [
        ((251, 1), {}, (1, 251)),  # auto: a fixed-length series under a pooled head is transposed
        ((100, 6), {}, (6, 100)),
        ((None, 6), {}, (None, 6)),  # variable length: every step
        ((100, 6), {"mask_value": 0.0}, (100, 6)),  # masked: every step
        ((100, 6), {"task": "reconstruction", "num_outputs": 6}, (100, 6)),  # per-step head: every step
    ],
)
def test_an_auto_dimension_shuffle_transposes_only_where_nothing_is_lost(shape, build, steps) -> None:
    for name in ("lstm_fcn", "alstm_fcn"):
        kwargs = {"input_shape": shape, "task": "classification", "num_outputs": 2, **build}
        assert _recurrent_input(zoo.build(name, dimension_shuffle="auto", **kwargs)) == steps, name
        assert _recurrent_input(zoo.build(name, **kwargs)) == shape, name  # the default reads every step


def _recurrent_input(model: keras.Model, layer: str = "lstm_1") -> tuple:
    seen = model.get_layer("backbone").get_layer(layer).input
    return tuple((seen[0] if isinstance(seen, list) else seen).shape[1:])  # a masked input comes with its mask


@pytest.mark.parametrize(
    "shape, build, steps",
    [
        ((251, 1), {}, (32, 8)),  # auto: 8 steps a patch, 5 zeros in front
        ((150, 3), {}, (38, 12)),
        ((24, 1), {}, (24, 1)),  # short: every step
        ((251, 1), {"patch": 1}, (251, 1)),
        ((100, 2), {"patch": 3}, (34, 6)),
        ((None, 1), {}, (None, 1)),  # variable length: every step
        ((251, 1), {"mask_value": 0.0}, (251, 1)),  # masked: every step
        ((251, 1), {"task": "reconstruction", "num_outputs": 1}, (251, 1)),  # per-step head: every step
    ],
)
def test_recurrent_models_read_patches_of_a_long_series(shape, build, steps) -> None:
    model = zoo.build("lstm", **{"input_shape": shape, "task": "classification", "num_outputs": 2, **build})
    assert _recurrent_input(model) == steps


def test_a_patch_is_consecutive_steps_with_the_padding_in_front() -> None:
    """The last patch ends at the last step, so the last hidden state has read it."""
    model = zoo.build("gru", patch=4, input_shape=(10, 2), task="classification", num_outputs=2)
    backbone = model.get_layer("backbone")
    patches = keras.Model(backbone.input, backbone.get_layer("gru_patch").output)
    series = np.arange(20, dtype="float32").reshape(1, 10, 2)
    got = keras.ops.convert_to_numpy(patches(series))
    want = np.concatenate([np.zeros((1, 2, 2), "float32"), series], axis=1).reshape(1, 3, 8)
    np.testing.assert_array_equal(got, want)
    assert got[0, -1, -2:].tolist() == [18.0, 19.0]


def test_token_inputs_read_every_token() -> None:
    model = zoo.build("bilstm", input_shape=(300,), vocab_size=50, task="classification", num_outputs=2)
    assert _recurrent_input(model, "bilstm_1_bidirectional") == (300, 64)


def test_zoo_source_uses_keras_only() -> None:
    import ast
    import pathlib

    for path in pathlib.Path(zoo.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] in {"tensorflow", "torch", "jax"} for n in names), path


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_import_zoo_stays_light() -> None:
    code = (
        "import sys, zoo; zoo.list_models(); zoo.describe('alstm_fcn'); "
        "print(sorted(m for m in ('keras', 'tensorflow', 'keras_tuner', 'mlflow') if m in sys.modules))"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("order", ["import zoo, keras", "import keras, zoo"])
def test_saved_models_load_safely_after_import_zoo(order: str, tmp_path) -> None:
    """Custom layers register whichever of zoo and keras is imported first."""
    path = tmp_path / "alstm.keras"
    zoo.build("alstm_fcn", input_shape=(None, 2), task="classification", num_outputs=2, units=4).save(path)
    result = _run(f"{order}; m = keras.saving.load_model({str(path)!r}, safe_mode=True); print(m.name)")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("alstm_fcn")


def test_an_ensemble_needs_two_models_of_one_shape() -> None:
    import zoo

    one = zoo.build("gru", input_shape=(24, 1), task="forecasting", num_outputs=1, horizon=3, units=4)
    other = zoo.build("gru", input_shape=(24, 1), task="forecasting", num_outputs=1, horizon=4, units=4)
    for models, words in (([one], ["2 or more", "got 1"]), ([one, other], ["differ", "(None, 4, 1)"])):
        with pytest.raises(zoo.ConfigError) as info:
            zoo.ensemble(models)
        assert all(w in str(info.value) for w in words) and "\n" not in str(info.value)
