"""What a detection leaves behind: the detector, the scores and flags as CSV, the picture, the
metrics, in the run folder and on the MLflow run; and the baselines logged as runs beside it.

Files (in the run folder, and as artifacts of the run):
    detector/            the model and `detector.json` (windows, normalisation, threshold)
    scores.csv           one row per test step (streams) or per test series (collections):
                         score, flag, label where known
    anomalies.csv        the flagged ranges of a stream (start, stop, peak score)
    anomaly_scores.png   the signal, the score, the threshold, true and flagged ranges
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from recipes import schema
from recipes.anomaly.config import TASK, DetectConfig
from recipes.anomaly.evaluation import evaluate, fit_threshold, flagged_ranges, series_scores
from recipes.data.anomaly import AnomalyData
from recipes.tracking import Tracking


def write_scores(data: AnomalyData, steps: np.ndarray, threshold: float, folder: Path) -> list[Path]:
    """`scores.csv` (and for a stream `anomalies.csv`) in `folder`."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    if data.kind == "stream":
        frame = pd.DataFrame(data.test[0], columns=list(data.channels))
        frame.insert(0, "step", np.arange(len(frame)))
        frame["score"], frame["flag"] = steps[0], steps[0] > threshold
        if data.step_labels is not None:
            frame["is_anomaly"] = data.step_labels[0]
        ranges = flagged_ranges(steps[0], threshold)
        peaks = [float(np.nanmax(steps[0][a:b])) for a, b in ranges]
        flagged = pd.DataFrame({"start": [a for a, _ in ranges], "stop": [b for _, b in ranges], "peak_score": peaks})
        flagged.to_csv(folder / "anomalies.csv", index=False)
        written = [folder / "anomalies.csv"]
    else:
        scores = series_scores(steps)
        frame = pd.DataFrame({"series": np.arange(len(scores)), "score": scores, "flag": scores > threshold})
        if data.series_labels is not None:
            frame["is_anomaly"] = data.series_labels
        written = []
    frame.to_csv(folder / "scores.csv", index=False)
    return [folder / "scores.csv", *written]


def picture(data: AnomalyData, steps: np.ndarray, threshold: float, path: Path, title: str) -> Path:
    """The picture of a scored stream or collection."""
    from recipes import plots
    from recipes.anomaly.evaluation import filled

    if data.kind == "stream":
        return plots.anomaly_stream(data.test[0], filled(steps[0]), threshold, data.ranges,
                                    flagged_ranges(steps[0], threshold), path, title)  # fmt: skip
    return plots.anomaly_collection(series_scores(steps), data.series_labels, threshold, path, title)


def record(result: Any, cfg: DetectConfig) -> None:
    """The detector, scores, flags and picture in the run folder; metrics, params and files on its run."""
    folder = Path(result.run_dir)
    result.detector.save(folder / "detector")
    files = write_scores(result.data, result.steps, result.detector.threshold, folder)
    title = f"{result.detector.info['model']} on {result.data.name}"
    files.append(picture(result.data, result.steps, result.detector.threshold, folder / "anomaly_scores.png", title))
    if not result.run_id:
        return
    from mlflow import MlflowClient

    from recipes.tracking import flat_params, log_batch

    client = MlflowClient()
    made = {"threshold_rule": result.threshold.rule, "lookback": result.detector.lookback,
            "target_steps": result.detector.horizon}  # fmt: skip
    params = flat_params("detect", {**cfg.__dict__, **made})
    params = {k: v for k, v in params.items() if k not in client.get_run(result.run_id).data.params}
    metrics = {f"test_{k}": v for k, v in result.metrics.items()}
    log_batch(client, result.run_id, params=params, metrics={**metrics, "detect_seconds": result.seconds})
    client.log_artifacts(result.run_id, str(folder / "detector"), "detector")
    for path in files:
        client.log_artifact(result.run_id, str(path))


def baseline_runs(data: AnomalyData, cfg: DetectConfig, window: int, track: Tracking) -> dict[str, dict[str, float]]:
    """Score the classical baselines on the same data and windows, threshold each on its own
    normal scores by the same rule; log each as a run (once per dataset and window)."""
    from recipes.anomaly import baselines

    found: dict[str, dict[str, float]] = {}
    for method in baselines.METHODS:
        started = time.perf_counter()
        scored = baselines.score(method, data, window=window)
        threshold = fit_threshold(scored.normal, cfg.threshold, cfg.risk) if scored.normal is not None else None
        value = threshold.value if threshold else float("inf")
        found[method] = evaluate(data, scored.steps, value)
        if track.enabled:
            rule = f"{cfg.threshold}@{cfg.risk:g}"
            _log_baseline(data, method, window, rule, found[method], time.perf_counter() - started, track)
    return found


def _log_baseline(data: AnomalyData, method: str, window: int, threshold: str, metrics: dict[str, float],
                  seconds: float, track: Tracking) -> None:  # fmt: skip
    from mlflow import MlflowClient

    from recipes.tracking import closing_run, create_run, environment_tags, find_run, log_batch

    experiment_id = track.connect()
    key = {schema.STAGE: schema.BASELINE, schema.MODEL: method, schema.DATASET: data.name, "window": str(window),
           "threshold": threshold}  # fmt: skip
    if find_run(experiment_id, **key):  # logged before with the same window and threshold rule
        return
    client = MlflowClient()
    tags = {**environment_tags(), **schema.identity(model=method, family="baseline", task=TASK, dataset=data.name,
                                                    stage=schema.BASELINE, seed=0), "window": str(window),
            "threshold": threshold}  # fmt: skip
    if track.parent_run_id:
        tags[schema.PARENT] = track.parent_run_id
    run_id = create_run(client, experiment_id, run_name=f"{method} on {data.name}", tags=tags)
    with closing_run(run_id):
        log_batch(client, run_id, params={"detect.window": window},
                  metrics={**{f"test_{k}": v for k, v in metrics.items()}, "train_seconds": seconds})  # fmt: skip
