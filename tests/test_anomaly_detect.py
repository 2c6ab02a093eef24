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


def test_a_stream_reconstructs_with_a_held_out_part_under_two_windows(tmp_path) -> None:
    """Reconstruct windows borrow no context: 120 held-out normal steps give 21 windows of 100."""
    address = _stream_csv(tmp_path / "pump.csv", labels=False)
    result = subprocess.run([ZOO, "detect", "gru", "--data", address, "-o", "normal_until=600", "--mode", "reconstruct",
                             "--window", "100", "--no-baselines", "--no-tracking", "--hp", "units=4", "--epochs", "1",
                             "--runs-dir", "r"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env=AS_A_USER)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "too few" not in result.stderr and "auc" not in result.stdout  # no labels: nothing to score against


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


def test_a_detector_refuses_to_refit_on_the_windows_that_fit_its_threshold() -> None:
    from recipes.anomaly.detection import detect
    from zoo.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^refit: a detector's held-out normal windows fit its threshold; .*"):
        detect("gru", "anomaly:InternalBleeding16", refit=True, tracking=False)


def test_zoo_tune_searches_a_detector_on_normal_data_and_its_best_replays(tmp_path) -> None:
    """`zoo tune --task anomaly`: trials ranked by the held-out normal windows' loss, the best
    retrained as a detector beside its baselines, its best.yaml replayed by `zoo detect --config`."""
    from mlflow import MlflowClient

    address = _stream_csv(tmp_path / "pump.csv")
    store = f"sqlite:///{tmp_path}/mlflow.db"
    common = ["--tracking-uri", store, "--experiment", "tune"]
    searched = subprocess.run([ZOO, "tune", "--models", "gru,lstm", "--data", address, "-o", "normal_until=600",
                               "--task", "anomaly", "--fixed", "detect.window=25", "--fixed", "units=8", "--fixed",
                               "steps=40", "--tuner", "random", "--max-trials", "2", "--directory", "t", *common],
                              cwd=tmp_path, capture_output=True, text=True, timeout=600, env=AS_A_USER)  # fmt: skip
    assert searched.returncode == 0, searched.stderr[-3000:]
    assert "zoo detect --config" in searched.stdout and "zoo detect --model" in searched.stdout

    client = MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("tune").experiment_id])
    [parent] = [r for r in runs if r.data.tags["stage"] == "search"]
    assert parent.info.status == "FINISHED" and parent.data.tags["task"] == "anomaly"
    trials = sorted((r for r in runs if r.data.tags["stage"] == "trial"), key=lambda r: int(r.data.tags["trial_id"]))
    assert [r.data.tags["model"] for r in trials][:1] == ["gru"]  # the first trial: gru's defaults
    assert all(r.data.tags["task"] == "anomaly" and "test_auc_pr" not in r.data.metrics for r in trials)
    best_loss = min(r.data.metrics["best_val_loss"] for r in trials)  # held-out normal windows: no label read
    assert parent.data.metrics["best_val_loss"] == pytest.approx(best_loss)
    [best] = [r for r in runs if r.data.tags["stage"] == "best"]
    assert best.info.status == "FINISHED" and "test_auc_pr" in best.data.metrics
    assert best.data.params["detect.window"] == "25" and best.data.params["model.window_norm"] == "none"
    baselines = [r for r in runs if r.data.tags["stage"] == "baseline"]
    assert len(baselines) == 3 and {r.data.tags["mlflow.parentRunId"] for r in baselines} == {parent.info.run_id}
    assert not client.search_registered_models()  # a detector is a run folder, not a registered model

    [config] = (tmp_path / "t").glob("*/best.yaml")
    refused = subprocess.run([ZOO, "train", "--config", str(config)], cwd=tmp_path, capture_output=True, text=True,
                             timeout=120, env=AS_A_USER)  # fmt: skip
    said = f"error: --config {config} is a detect run (recipe: detect): run it with zoo detect --config {config}"
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [said]
    replay = ["--no-tracking", "--no-baselines", "--runs-dir", "replay"]
    replayed = subprocess.run([ZOO, "detect", "--config", str(config), *replay], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300, env=AS_A_USER)  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    [spec] = (tmp_path / "replay").glob("*/detector/detector.json")
    assert '"lookback": 25' in spec.read_text() and "threshold" in replayed.stdout


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"task": "classification"}, ["anomaly data trains a detector", "zoo tune --task anomaly"]),
        ({"recipe": "semi"}, ["recipe semi", "normal data alone"]),
        ({"register": "pumps"}, ["register", "zoo detect --model"]),
        ({"fixed": {"detect.windw": 9}}, ["detect.windw", "did you mean: detect.window"]),
        ({"fixed": {"detect.window": 2000}}, ["fewer than a window", "detect.window=N"]),
    ],
)
def test_bad_detector_search_input_is_refused_up_front(kwargs, words, tmp_path) -> None:
    import tuning
    from zoo.errors import ZooError

    address = _stream_csv(tmp_path / "pump.csv")
    args = {"tracking": False, "directory": tmp_path, "data_options": {"normal_until": 600}, **kwargs}
    with pytest.raises(ZooError) as info:
        tuning.search("gru", address, **args)
    assert "\n" not in str(info.value)
    for word in words:
        assert word in str(info.value), str(info.value)
