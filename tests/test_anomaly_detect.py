"""The detect recipe: a zoo model learns normal windows, scores every test step, flags what
does not fit; `zoo detect` trains, logs, compares with the baselines and scores new data."""

from __future__ import annotations

import dataclasses
import subprocess

import numpy as np
import pytest

from recipes.anomaly import windows
from recipes.anomaly.detector import Detector
from recipes.errors import DataError
from tests.test_cli import AS_A_USER, ZOO

TINY = {"units": 8}


def _stream_csv(path, *, labels: bool = True, normal: int = 600, length: int = 1000, seed: int = 0) -> str:
    """A noisy two-channel sine, period 25; a spike burst at steps 800-809 and a level shift of
    channel b at 900-949 (both labelled is_anomaly)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    a = np.sin(2 * np.pi * t / 25) + 0.05 * rng.normal(size=length)
    b = 3 * np.cos(2 * np.pi * t / 25) + 10 + 0.1 * rng.normal(size=length)
    spike, shift = (t >= 800) & (t < 810), (t >= 900) & (t < 950)
    a[spike] += 2.5
    b[shift] += 4.0
    burst = spike | shift
    columns = {"a": a, "b": b, **({"is_anomaly": burst.astype(int)} if labels else {})}
    header = ",".join(["step", *columns])
    rows = [",".join([str(i), *(f"{v[i]:.5f}" for v in columns.values())]) for i in range(length)]
    path.write_text("\n".join([header, *rows]) + "\n")
    return f"anomaly:file:{path}"


def test_window_errors_gather_back_to_the_steps_they_cover() -> None:
    series = np.arange(20, dtype=np.float32).reshape(10, 2)
    x, y, starts = windows.cut(series, lookback=3, horizon=2, mode="forecast")
    assert x.shape == (6, 3, 2) and y.shape == (6, 2, 2) and starts.tolist() == [3, 4, 5, 6, 7, 8]
    np.testing.assert_array_equal(y[0], series[3:5])
    errors = np.ones((6, 2, 2)) * starts[:, None, None]  # window i's error is its start
    steps = windows.gather(errors, starts, len(series))
    assert np.isnan(steps[:3]).all()  # no forecast reaches the first lookback steps
    assert steps[3, 0] == 3 and steps[4, 0] == 3.5 and steps[9, 0] == 8  # the mean of the covering windows
    x, y, starts = windows.cut(series, lookback=4, horizon=0, mode="reconstruct")
    np.testing.assert_array_equal(x, y)
    assert starts.tolist() == list(range(7))


def test_detect_finds_the_burst_and_the_saved_detector_scores_alike(tmp_path) -> None:
    from recipes.anomaly import detect, load_detector, score
    from recipes.data.anomaly import load_anomaly
    from recipes.tracking import Tracking

    local = Tracking(enabled=False, runs_dir=tmp_path / "runs")
    data = load_anomaly(_stream_csv(tmp_path / "pump.csv"), normal_until=600)
    result = detect("gru", data, hparams=TINY, tracking=local, epochs=3, seed=0, config={"window": 25})
    assert result.detector.lookback == 25 and result.detector.horizon == 3
    assert result.steps.shape == (1, 400) and np.isfinite(result.steps).all()  # the normal prefix gives history
    assert result.metrics["ucr_hit"] == 1.0
    steps = result.steps[0]
    typical = np.median(steps)
    assert steps[200:210].mean() > 3 * typical  # the spike (test steps), far above the normal steps
    assert steps[300:350].mean() > 1.5 * typical and (steps[300:350] > typical).mean() > 0.8  # the shift, throughout
    assert {"auc_roc", "auc_pr", "f1", "range_f1"} <= set(result.metrics)
    assert result.threshold.rule in ("pot", "quantile") and np.isfinite(result.detector.threshold)
    for name in ("scores.csv", "anomalies.csv", "anomaly_scores.png", "detector/detector.json"):
        assert (result.run_dir / name).exists(), name

    again = load_detector(str(result.run_dir))
    assert isinstance(again, Detector) and again.threshold == result.detector.threshold
    np.testing.assert_allclose(score(again, data), result.steps, rtol=1e-5)
    swapped = dataclasses.replace(data, train=data.train[..., ::-1], test=data.test[..., ::-1], channels=("b", "a"))
    np.testing.assert_allclose(score(again, swapped), result.steps, rtol=1e-5)  # channels matched by name
    with pytest.raises(DataError, match="trained on a, b"):
        score(again, dataclasses.replace(data, channels=("a", "c")))

    shuffled = np.random.default_rng(1).permutation(data.step_labels[0])[None]
    relabelled = dataclasses.replace(data, step_labels=shuffled)
    rerun = detect(
        "gru",
        relabelled,
        hparams=TINY,
        tracking=local.under(runs_dir=tmp_path / "again"),
        epochs=3,
        seed=0,
        config={"window": 25},
    )
    assert rerun.detector.threshold == pytest.approx(result.detector.threshold)  # labels never fit anything
    np.testing.assert_array_equal(rerun.steps > rerun.detector.threshold, result.steps > result.detector.threshold)


def test_a_collection_is_scored_series_by_series(tmp_path) -> None:
    from recipes.anomaly import detect
    from recipes.tracking import Tracking

    local = Tracking(enabled=False, runs_dir=tmp_path)
    result = detect("gru", "anomaly:ucr:ItalyPowerDemand", hparams=TINY, tracking=local, epochs=2, seed=0)
    assert result.data.kind == "collection" and result.steps.shape == result.data.test.shape[:2]
    assert {"auc_roc", "auc_pr", "f1"} <= set(result.metrics)


def test_zoo_detect_logs_the_detector_beside_its_baselines_and_scores_new_data(tmp_path) -> None:
    from mlflow import MlflowClient

    address = _stream_csv(tmp_path / "pump.csv")
    store = f"sqlite:///{tmp_path}/mlflow.db"
    common = ["--tracking-uri", store, "--experiment", "detect"]
    trained = subprocess.run([ZOO, "detect", "gru", "--data", address, "-o", "normal_until=600", "--window", "25",
                              "--horizon", "3", "--hp", "units=8", "--epochs", "3", *common],
                             cwd=tmp_path, capture_output=True, text=True, timeout=600, env=AS_A_USER)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    out = trained.stdout
    for words in ("zoo detector", "matrix_profile", "isolation_forest", "rolling_zscore", "auc_pr", "threshold",
                  "flagged:", "zoo detect --model"):  # fmt: skip
        assert words in out, f"{words!r} not in:\n{out}"

    client = MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("detect").experiment_id])
    [run] = [r for r in runs if r.data.tags["stage"] == "detect"]
    assert run.info.status == "FINISHED" and run.data.tags["task"] == "anomaly"
    assert "test_auc_pr" in run.data.metrics and run.data.params["detect.window"] == "25"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"detector", "scores.csv", "anomaly_scores.png"}
    assert sorted(r.data.tags["model"] for r in runs if r.data.tags["stage"] == "baseline") == [
        "isolation_forest", "matrix_profile", "rolling_zscore"]  # fmt: skip

    compared = subprocess.run([ZOO, "compare", *common, "--out", "cmp"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300, env=AS_A_USER)  # fmt: skip
    assert compared.returncode == 0, compared.stderr[-3000:]
    assert "auc_pr" in compared.stdout and "matrix_profile" in compared.stdout

    fresh = _stream_csv(tmp_path / "new.csv", labels=False, seed=1)
    scored = subprocess.run([ZOO, "detect", "--model", run.info.run_id, "--data", fresh, "--out", "new", *common[:2]],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300, env=AS_A_USER)  # fmt: skip
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert (tmp_path / "new" / "scores.csv").read_text().count("\n") == 1001  # header + every step
    assert "flagged:" in scored.stdout

    both = subprocess.run([ZOO, "detect", "gru", "--model", run.info.run_id, "--data", fresh], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=AS_A_USER)  # fmt: skip
    assert both.returncode == 2 and both.stderr.count("\n") == 1 and "not both" in both.stderr


def test_zoo_detect_reconstructs_a_collection_with_a_quantile_threshold(tmp_path) -> None:
    result = subprocess.run([ZOO, "detect", "gru", "--data", "anomaly:ucr:ItalyPowerDemand/normal=2", "--mode",
                             "reconstruct", "--threshold", "quantile", "--risk", "0.01", "--normal-fraction", "0.3",
                             "--no-baselines", "--no-tracking", "--hp", "units=4", "--epochs", "1", "--runs-dir", "r"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600, env=AS_A_USER)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(quantile, on held-out normal data)" in result.stdout and "series" in result.stdout
    assert "auc_roc" in result.stdout and "matrix_profile" not in result.stdout
    [spec] = (tmp_path / "r").glob("*/detector/detector.json")
    assert '"mode": "reconstruct"' in spec.read_text()


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ([], "no normal data to learn from"),  # no normal segment marked
        (["-o", "normal_until=600", "--window", "700"], "too few for windows of 700"),
        (["-o", "normal_until=600", "--select-on", "train"], "must stay out of its training"),
        (["-o", "normal_until=600", "--nan"], "is NaN; fill or drop that row"),
    ],
)
def test_zoo_detect_refuses_bad_input_in_one_line(tmp_path, options, words) -> None:
    address = _stream_csv(tmp_path / "pump.csv", labels=False)
    if "--nan" in options:
        options.remove("--nan")
        lines = (tmp_path / "pump.csv").read_text().splitlines()
        lines[101] = lines[101].rsplit(",", 1)[0] + ","  # channel b of step 100 left empty
        (tmp_path / "pump.csv").write_text("\n".join(lines) + "\n")
    result = subprocess.run([ZOO, "detect", "gru", "--data", address, *options, "--no-tracking"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env=AS_A_USER)  # fmt: skip
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
