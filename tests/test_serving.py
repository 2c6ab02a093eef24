"""The model a run hands out takes raw data and loads without the zoo: a fresh interpreter,
and `mlflow models serve` answering HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import recipes
from tests.servers import free_port, wait_until_up

LOAD_AND_PREDICT = """
import json, sys
import mlflow, numpy as np
mlflow.set_tracking_uri(sys.argv[1])
answers = []
for run_id, given in json.load(open(sys.argv[2])):
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    raw = given if isinstance(given[0], str) else np.asarray(given, dtype="float32")  # texts, or series
    answers.append(np.asarray(model.predict(raw)).tolist())
print(json.dumps({"preds": answers,
                  "zoo": any(m == "zoo" or m.startswith(("zoo.", "recipes")) for m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tracked attention_lstm (a custom layer inside) on GunPoint and a gru on airline."""
    root = tmp_path_factory.mktemp("serving")
    uri = f"sqlite:///{root}/mlflow.db"
    common = {"epochs": 1, "tracking_uri": uri, "runs_dir": root / "runs", "verbose": 0}
    clf = recipes.train("attention_lstm", "ucr:GunPoint", hparams={"units": 8}, **common)
    fc = recipes.train("gru", "forecast:airline", hparams={"units": 8}, data_options={"horizon": 6}, **common)
    return root, uri, clf, fc


def _raw(result) -> np.ndarray:
    from recipes.serving import raw_inputs

    return raw_inputs(result.dataset.test.x[:5], result.dataset)


def _in_a_fresh_interpreter(root, uri: str, jobs: list) -> dict:
    """`jobs`: (run id, raw inputs) pairs, each predicted by the run's logged model in one new process."""
    given = [(run_id, raw if isinstance(raw, list) else raw.tolist()) for run_id, raw in jobs]
    (root / "raw.json").write_text(json.dumps(given))
    (root / "load.py").write_text(LOAD_AND_PREDICT)
    quiet = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(root / "load.py"), uri, str(root / "raw.json")], cwd=root,
                          capture_output=True, text=True, timeout=300, env=quiet)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_logged_model_takes_raw_series_in_a_process_that_never_imports_the_zoo(trained) -> None:
    root, uri, clf, fc = trained
    answer = _in_a_fresh_interpreter(root, uri, [(result.run_id, _raw(result)) for result in (clf, fc)])
    assert answer["zoo"] is False
    for result, pred in zip((clf, fc), answer["preds"], strict=True):
        # The training pipeline: scaled inputs into the trained model, predictions back in data units.
        expected = np.asarray(result.model.predict(result.dataset.test.x[:5], verbose=0))
        if result.dataset.task == "forecasting":
            expected = result.dataset.inverse_targets(expected)
        np.testing.assert_allclose(np.asarray(pred), expected, rtol=1e-4, atol=1e-4)
    from mlflow import MlflowClient

    assert MlflowClient(uri).get_run(clf.run_id).data.tags["model.inputs"] == "raw"


@contextmanager
def _served(root, uri: str, model: str) -> Iterator[str]:
    """`mlflow models serve -m MODEL` on 127.0.0.1, up; yields its /invocations address."""
    port = free_port()
    mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
    server = subprocess.Popen([mlflow, "models", "serve", "-m", model, "--env-manager", "local", "--host",
                               "127.0.0.1", "--port", str(port)], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                              env={**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": os.pathsep.join(
                                  [os.path.dirname(sys.executable), os.environ.get("PATH", "")])})  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ping", server, 240, "mlflow models serve")
        yield f"http://127.0.0.1:{port}/invocations"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def test_mlflow_models_serve_answers_invocations_with_raw_series(trained) -> None:
    """The registered champion, served as `models:/NAME@champion`, answers HTTP with raw series."""
    import mlflow as client_side
    import requests

    from recipes.model_registry import register

    root, uri, clf, _ = trained
    client_side.set_tracking_uri(uri)
    assert register(clf.run_id, "gunpoint-served").alias == "champion"
    with _served(root, uri, "models:/gunpoint-served@champion") as invocations:
        raw = _raw(clf)
        answer = requests.post(invocations, json={"inputs": raw.tolist()}, timeout=60)
        assert answer.status_code == 200, answer.text[:2000]
        expected = clf.model.predict(clf.dataset.test.x[:5], verbose=0)
        np.testing.assert_allclose(np.asarray(answer.json()["predictions"]), expected, rtol=1e-4, atol=1e-4)


def test_zoo_predict_gives_raw_data_the_predictions_its_run_scored(trained) -> None:
    import pandas as pd

    from tests.test_cli import AS_A_USER, ZOO

    root, uri, clf, fc = trained
    by_id = subprocess.run([ZOO, "predict", clf.run_id, "--data", "ucr:GunPoint", "--tracking-uri", uri, "--out",
                            "p.csv"], cwd=root, capture_output=True, text=True, timeout=300, env=AS_A_USER)  # fmt: skip
    assert by_id.returncode == 0, by_id.stderr[-3000:]
    frame = pd.read_csv(root / "p.csv")
    assert len(frame) == 150 and {"predicted", "p_1", "p_2", "label"} <= set(frame.columns)
    from recipes.predicting import runs_cache

    kept = runs_cache() / clf.run_id  # downloaded once, kept by run id for the next prediction
    assert sorted(p.name for p in kept.iterdir()) == ["model.keras", "serving.json"]
    assert [p.name for p in runs_cache().iterdir() if p.name.startswith(clf.run_id)] == [clf.run_id]
    assert f"accuracy {clf.test_metrics['accuracy']:.4f}" in by_id.stdout  # what the run scored on test

    by_folder = subprocess.run([ZOO, "predict", str(fc.run_dir), "--data", "forecast:airline", "-o", "horizon=6",
                                "--split", "val", "--out", "f.parquet"], cwd=root, capture_output=True, text=True,
                               timeout=300, env=AS_A_USER)  # fmt: skip
    assert by_folder.returncode == 0, by_folder.stderr[-3000:]
    forecasts = pd.read_parquet(root / "f.parquet")
    assert len(forecasts) == len(fc.dataset.val) and "passengers_step_6" in forecasts.columns
    assert forecasts["passengers_step_1"].min() > 50  # data units (passengers), not scaled values
    low, high = forecasts["passengers_low_step_6"], forecasts["passengers_high_step_6"]  # the run's 80% interval
    assert (low < forecasts["passengers_step_6"]).all() and (high > forecasts["passengers_step_6"]).all()
    assert f"coverage_80 {fc.test_metrics['coverage_80']:.4f}" in subprocess.run(
        [ZOO, "predict", fc.run_id, "--data", "forecast:airline", "-o", "horizon=6", "--out", "t.parquet"],
        cwd=root, capture_output=True, text=True, timeout=300, env=AS_A_USER).stdout  # fmt: skip

    from recipes.serving import raw_inputs

    twos = clf.dataset.test.y == 1  # class "2": a file holding only it numbers it 0 on its own
    x, y = raw_inputs(clf.dataset.test.x[twos], clf.dataset), np.array(["2"] * twos.sum())
    other = np.where(np.arange(len(y)) % 2, "2", "9")  # the file's own classes ("2", "9") number "2" as 0
    np.savez(root / "twos.npz", x_train=x, y_train=other, x_test=x, y_test=y)
    renamed = subprocess.run([ZOO, "predict", str(clf.run_dir), "--data", f"file:{root / 'twos.npz'}", "-o",
                              "scale=false", "--out", "twos.csv"], cwd=root, capture_output=True, text=True,
                             timeout=300, env=AS_A_USER)  # fmt: skip
    assert renamed.returncode == 0, renamed.stderr[-3000:]
    assert set(pd.read_csv(root / "twos.csv")["label"].astype(str)) == {"2"}  # labels matched by class name

    wrong = subprocess.run([ZOO, "predict", str(clf.run_dir), "--data", "ucr:ItalyPowerDemand"], cwd=root,
                           capture_output=True, text=True, timeout=300, env=AS_A_USER)  # fmt: skip
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "trained on (150, 1)" in wrong.stderr


def test_zoo_export_writes_a_model_that_predicts_like_the_keras_one(trained) -> None:
    from tests.test_cli import AS_A_USER, ZOO

    root, uri, clf, fc = trained

    def export(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([ZOO, "export", *args], cwd=root, capture_output=True, text=True, timeout=300,
                              env=AS_A_USER)  # fmt: skip

    saved = export(clf.run_id, "--format", "saved_model", "--out", "exported", "--tracking-uri", uri)
    assert saved.returncode == 0, saved.stderr[-3000:]
    assert "loaded back" in saved.stdout and (root / "exported" / "saved_model.pb").exists()
    lite = export(str(fc.run_dir), "--format", "litert", "--out", "gru.tflite")  # recurrent: TF select ops
    assert (root / "gru.tflite").exists()
    assert lite.returncode == 0 or ("select ops" in lite.stderr and lite.returncode == 2), lite.stderr[-3000:]
    onnx = export(str(clf.run_dir), "--format", "onnx", "--out", "x.onnx")
    assert onnx.returncode == 2 and "pip install" in onnx.stderr and onnx.stderr.count("\n") == 1


def test_zoo_train_registers_versions_and_the_champion_follows_the_newest(tmp_path) -> None:
    from mlflow import MlflowClient

    from tests.test_cli import AS_A_USER, ZOO

    store = f"sqlite:///{tmp_path}/mlflow.db"
    argv = [ZOO, "train", "mlp", "--data", "ucr:GunPoint", "--epochs", "1", "--tracking-uri", store, "--register",
            "gunpoint-mlp"]  # fmt: skip
    for seed in ("0", "1"):
        done = subprocess.run([*argv, "--seed", seed], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env=AS_A_USER)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"registered: gunpoint-mlp v{int(seed) + 1}, alias champion" in done.stdout
    client = MlflowClient(store)
    versions = client.search_model_versions("name = 'gunpoint-mlp'")
    assert sorted(int(v.version) for v in versions) == [1, 2]  # the earlier champion stays a version
    champion = client.get_model_version_by_alias("gunpoint-mlp", "champion")
    assert int(champion.version) == 2
    compared = subprocess.run([ZOO, "compare", "--tracking-uri", store, "--out", "cmp"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300, env=AS_A_USER)  # fmt: skip
    assert f"champion: gunpoint-mlp v2 is run {champion.run_id} (mlp)" in compared.stdout
    bad = subprocess.run([*argv[:-1], "bad name!"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=AS_A_USER)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--register" in bad.stderr


def test_each_run_carries_a_model_card_with_the_baselines_beside_its_metrics(trained) -> None:
    from mlflow import MlflowClient

    _, uri, clf, fc = trained
    card = (clf.run_dir / "model_card.md").read_text()
    headline = f"| **attention_lstm** | {clf.test_metrics['accuracy']:.4g}"
    for words in ("# attention_lstm on ucr:GunPoint", "`units` = 8", "majority (baseline)", "1nn_euclidean (baseline)",
                  headline, "raw inputs", "Intended use"):  # fmt: skip
        assert words in card, words
    assert "naive (baseline)" in (fc.run_dir / "model_card.md").read_text()
    assert "model_card.md" in {a.path for a in MlflowClient(uri).list_artifacts(clf.run_id)}


@pytest.fixture(scope="module")
def unequal(trained):
    """A gru on JapaneseVowels (7-29 steps of 12 channels) and one on a slice of rotten tomatoes,
    with the slice's raw test texts (in `trained`'s store)."""
    import dataclasses

    from recipes.data import load
    from recipes.data.text import raw_texts

    root, uri = trained[:2]
    common = {"epochs": 1, "tracking_uri": uri, "runs_dir": root / "runs", "verbose": 0}
    vowels = recipes.train("gru", "ucr:JapaneseVowels", hparams={"units": 8}, **common)
    full = load("text:rotten_tomatoes", max_tokens=1000, sequence_length=16)
    sizes = {"train": 256, "val": 64, "test": 64}
    parts = {k: getattr(full, k).take(np.arange(n)) for k, n in sizes.items()}
    small = dataclasses.replace(full, unlabeled=None, **parts)
    text = recipes.train("gru", small, hparams={"units": 8, "embedding_dim": 8}, **common)
    return root, uri, vowels, text, raw_texts(full)["test"][: sizes["test"]]


def _through_the_pipeline(result) -> np.ndarray:
    """Test predictions as training made them: the data pipeline's batches (cut to their longest
    example) into the trained model."""
    from recipes.data.pipeline import make_dataset

    return np.asarray(result.model.predict(make_dataset(result.dataset.test, batch_size=256, trim=1), verbose=0))


def test_text_and_variable_length_models_take_raw_strings_and_nan_padded_series(unequal) -> None:
    """In a process that never imports the zoo: texts as written, series of 7-29 steps NaN-padded
    on the right, or one series at its own length; the predictions training made."""
    from mlflow import MlflowClient

    from recipes.serving import raw_inputs

    root, uri, vowels, text, texts = unequal
    test = vowels.dataset.test
    series = raw_inputs(test.x, vowels.dataset, test.lengths)
    assert np.isnan(series).any() and not np.isnan(series[0, : test.lengths[0]]).any()
    jobs = [(text.run_id, list(texts)), (vowels.run_id, series), (vowels.run_id, series[:1, : test.lengths[0]])]
    answer = _in_a_fresh_interpreter(root, uri, jobs)
    assert answer["zoo"] is False
    as_trained = [_through_the_pipeline(text), _through_the_pipeline(vowels)]
    np.testing.assert_allclose(answer["preds"][0], as_trained[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(answer["preds"][1], as_trained[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(answer["preds"][2], as_trained[1][:1], rtol=1e-4, atol=1e-5)
    tags = [MlflowClient(uri).get_run(r.run_id).data.tags for r in (text, vowels)]
    assert [t["model.inputs"] for t in tags] == ["raw", "raw"]


def test_mlflow_models_serve_answers_invocations_with_raw_strings(unequal) -> None:
    import requests

    root, uri, _, text, texts = unequal
    with _served(root, uri, f"runs:/{text.run_id}/model") as invocations:
        as_list = requests.post(invocations, json={"inputs": texts[:5]}, timeout=60)
        records = requests.post(invocations, json={"dataframe_records": [{"text": t} for t in texts[:5]]}, timeout=60)
    expected = _through_the_pipeline(text)[:5]
    for answer in (as_list, records):
        assert answer.status_code == 200, answer.text[:2000]
        np.testing.assert_allclose(np.asarray(answer.json()["predictions"]), expected, rtol=1e-4, atol=1e-5)


def test_zoo_predict_takes_a_file_of_texts_and_unequal_series(unequal) -> None:
    import pandas as pd

    from recipes.errors import DataError
    from recipes.predicting import predict
    from tests.test_cli import AS_A_USER, ZOO

    root, uri, vowels, text, texts = unequal
    names = text.dataset.class_names
    pd.DataFrame({"review": texts, "label": [names[i] for i in text.dataset.test.y]}).to_csv(root / "r.csv")
    done = subprocess.run([ZOO, "predict", text.run_id, "--data", f"file:{root / 'r.csv'}", "-o", "text=review",
                           "--tracking-uri", uri, "--out", "t.csv"], cwd=root, capture_output=True, text=True,
                          timeout=300, env=AS_A_USER)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"accuracy {text.test_metrics['accuracy']:.4f}" in done.stdout  # what the run scored on its test texts
    frame = pd.read_csv(root / "t.csv", keep_default_na=False)
    assert list(frame["text"]) == texts and {"predicted", "p_fresh", "p_rotten", "label"} <= set(frame.columns)

    (root / "r.txt").write_text("\n".join(["a triumph of acting", "", "dull, dull, dull"]))
    lines = predict(str(text.run_dir), f"file:{root / 'r.txt'}")
    assert len(lines.frame) == 3 and not lines.metrics and lines.frame[["p_fresh", "p_rotten"]].notna().all().all()
    found = predict(str(vowels.run_dir), "ucr:JapaneseVowels")  # series padded after scaling, unscaled again
    assert found.metrics["accuracy"] == pytest.approx(vowels.test_metrics["accuracy"])
    with pytest.raises(DataError, match=r"^ucr:GunPoint: series of shape \(150, 1\) .* takes 12 channels"):
        predict(str(vowels.run_dir), "ucr:GunPoint")
    with pytest.raises(DataError, match=r"^ucr:GunPoint: a text model predicts text:NAME, or file:PATH"):
        predict(str(text.run_dir), "ucr:GunPoint")
    with pytest.raises(DataError, match=r"no label column 'verdict'"):  # named, so not silently unscored
        predict(str(text.run_dir), f"file:{root / 'r.csv'}", options={"text": "review", "label": "verdict"})
    with pytest.raises(DataError, match=r"^runs/gru-x: no such run folder"):
        predict("runs/gru-x", "ucr:GunPoint")


def test_text_and_variable_length_models_export_and_say_which_formats_cannot_hold_them(unequal) -> None:
    from recipes.errors import DataError
    from recipes.exporting import TOLERANCE, export
    from zoo.errors import ConfigError

    root, _, vowels, text, _ = unequal
    for result in (text, vowels):  # string ops and NaN padding, loaded back by TensorFlow alone
        assert export(str(result.run_dir), "saved_model", root / f"{result.run_id}-saved").max_difference <= TOLERANCE
    try:
        export(str(text.run_dir), "litert", root / "text.tflite")
    except DataError as err:
        assert "select ops" in str(err) and "\n" not in str(err)
    assert (root / "text.tflite").exists()
    with pytest.raises(ConfigError, match=r"^--format onnx: a text model carries its TextVectorization") as onnx:
        export(str(text.run_dir), "onnx", root / "text.onnx")
    assert "\n" not in str(onnx.value)


def test_zoo_predict_gives_a_regression_its_values_in_data_units(tmp_path) -> None:
    from recipes.predicting import predict

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 12, 2))
    y = 100 + 10 * x[:, :, 0].mean(axis=1)  # in data units far from the scaled ones
    np.savez(tmp_path / "r.npz", x_train=x[:30], y_train=y[:30], x_test=x[30:], y_test=y[30:])
    result = recipes.train("gru", f"file:{tmp_path / 'r.npz'}", hparams={"units": 8}, epochs=1, tracking=False,
                           data_options={"task": "regression"}, runs_dir=tmp_path / "runs", verbose=0)  # fmt: skip
    found = predict(str(result.run_dir), f"file:{tmp_path / 'r.npz'}", options={"task": "regression"})
    [name] = [c for c in found.frame.columns if not c.endswith("_actual")]
    expected = result.dataset.inverse_targets(result.model.predict(result.dataset.test.x, verbose=0))
    np.testing.assert_allclose(found.frame[name], expected[:, 0], rtol=1e-4)
    np.testing.assert_allclose(found.frame[f"{name}_actual"], y[30:], rtol=1e-4)
    assert found.metrics["mae"] == pytest.approx(np.abs(expected[:, 0] - y[30:]).mean(), rel=1e-3)
    from recipes.errors import DataError
    from zoo.errors import ConfigError

    with pytest.raises((DataError, ConfigError)):  # a data option named split is the data's, not a clash
        predict(str(result.run_dir), f"file:{tmp_path / 'r.npz'}", split="test", options={"split": "part"})


def test_each_run_folder_holds_its_model_on_raw_inputs_as_keras(trained, unequal) -> None:
    """`serving.keras` beside `model.keras`: the trained net behind the input scaler (and the
    target un-scaler, the vocabulary), predicting from raw series and raw strings."""
    import keras

    from recipes.serving import raw_inputs

    _, _, clf, fc = trained
    _, _, vowels, text, texts = unequal
    for result in (clf, fc):
        served = keras.saving.load_model(result.run_dir / "serving.keras")
        expected = result.model.predict(result.dataset.test.x[:5], verbose=0)
        if result is fc:
            expected = result.dataset.inverse_targets(expected)
        np.testing.assert_allclose(served.predict(_raw(result), verbose=0), expected, rtol=1e-4, atol=1e-4)
    served = keras.saving.load_model(vowels.run_dir / "serving.keras")
    padded = raw_inputs(vowels.dataset.test.x, vowels.dataset, vowels.dataset.test.lengths)
    np.testing.assert_allclose(served.predict(padded, verbose=0), _through_the_pipeline(vowels), atol=1e-4)
    served = keras.saving.load_model(text.run_dir / "serving.keras")
    strings = np.array(texts[:8], dtype=object)
    np.testing.assert_allclose(served.predict(strings, verbose=0), _through_the_pipeline(text)[:8], atol=1e-4)
