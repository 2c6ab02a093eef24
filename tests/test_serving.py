"""The model a run hands out takes raw data and loads without the zoo: a fresh interpreter,
and `mlflow models serve` answering HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import recipes
from tests.servers import free_port, wait_until_up

LOAD_AND_PREDICT = """
import json, sys
import mlflow, numpy as np
mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model(f"runs:/{sys.argv[2]}/model")
raw = np.asarray(json.load(open(sys.argv[3])), dtype="float32")
print(json.dumps({"pred": np.asarray(model.predict(raw)).tolist(),
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


def _in_a_fresh_interpreter(root, uri: str, run_id: str, raw: np.ndarray) -> dict:
    (root / "raw.json").write_text(json.dumps(raw.tolist()))
    (root / "load.py").write_text(LOAD_AND_PREDICT)
    quiet = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(root / "load.py"), uri, run_id, str(root / "raw.json")], cwd=root,
                          capture_output=True, text=True, timeout=300, env=quiet)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_logged_model_takes_raw_series_in_a_process_that_never_imports_the_zoo(trained) -> None:
    root, uri, clf, fc = trained
    for result in (clf, fc):
        answer = _in_a_fresh_interpreter(root, uri, result.run_id, _raw(result))
        assert answer["zoo"] is False
        # The training pipeline: scaled inputs into the trained model, predictions back in data units.
        expected = np.asarray(result.model.predict(result.dataset.test.x[:5], verbose=0))
        if result.dataset.task == "forecasting":
            expected = result.dataset.inverse_targets(expected)
        np.testing.assert_allclose(np.asarray(answer["pred"]), expected, rtol=1e-4, atol=1e-4)
    from mlflow import MlflowClient

    assert MlflowClient(uri).get_run(clf.run_id).data.tags["model.inputs"] == "raw"


def test_mlflow_models_serve_answers_invocations_with_raw_series(trained) -> None:
    """The registered champion, served as `models:/NAME@champion`, answers HTTP with raw series."""
    import mlflow as client_side
    import requests

    from recipes.model_registry import register

    root, uri, clf, _ = trained
    client_side.set_tracking_uri(uri)
    assert register(clf.run_id, "gunpoint-served").alias == "champion"
    port = free_port()
    mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
    server = subprocess.Popen([mlflow, "models", "serve", "-m", "models:/gunpoint-served@champion", "--env-manager",
                               "local", "--host", "127.0.0.1", "--port", str(port)], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                              env={**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": os.pathsep.join(
                                  [os.path.dirname(sys.executable), os.environ.get("PATH", "")])})  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ping", server, 240, "mlflow models serve")
        raw = _raw(clf)
        answer = requests.post(f"http://127.0.0.1:{port}/invocations", json={"inputs": raw.tolist()}, timeout=60)
        assert answer.status_code == 200, answer.text[:2000]
        expected = clf.model.predict(clf.dataset.test.x[:5], verbose=0)
        np.testing.assert_allclose(np.asarray(answer.json()["predictions"]), expected, rtol=1e-4, atol=1e-4)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def test_zoo_predict_gives_raw_data_the_predictions_its_run_scored(trained) -> None:
    import pandas as pd

    from tests.test_cli import AS_A_USER, ZOO

    root, uri, clf, fc = trained
    by_id = subprocess.run([ZOO, "predict", clf.run_id, "--data", "ucr:GunPoint", "--tracking-uri", uri, "--out",
                            "p.csv"], cwd=root, capture_output=True, text=True, timeout=300, env=AS_A_USER)  # fmt: skip
    assert by_id.returncode == 0, by_id.stderr[-3000:]
    frame = pd.read_csv(root / "p.csv")
    assert len(frame) == 150 and {"predicted", "p_1", "p_2", "label"} <= set(frame.columns)
    assert f"accuracy {clf.test_metrics['accuracy']:.4f}" in by_id.stdout  # what the run scored on test

    by_folder = subprocess.run([ZOO, "predict", str(fc.run_dir), "--data", "forecast:airline", "-o", "horizon=6",
                                "--split", "val", "--out", "f.parquet"], cwd=root, capture_output=True, text=True,
                               timeout=300, env=AS_A_USER)  # fmt: skip
    assert by_folder.returncode == 0, by_folder.stderr[-3000:]
    forecasts = pd.read_parquet(root / "f.parquet")
    assert len(forecasts) == len(fc.dataset.val) and "passengers_step_6" in forecasts.columns
    assert forecasts["passengers_step_1"].min() > 50  # data units (passengers), not scaled values

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
