"""`zoo detect`: train an anomaly detector on normal data and score a test part, or score new
data with a detector trained before."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from zoo.errors import EXIT_INTERRUPTED, ConfigError
from zoo_cli.app import cli, make_console
from zoo_cli.options import config_options, key_values


@cli.command()
@click.argument("model", required=False)
@click.option("--data",
              help="anomaly:InternalBleeding16, anomaly:ucr:NAME[/normal=LABEL] or anomaly:file:PATH (a .csv / "
                   ".parquet with value columns, optional is_anomaly, normal_until=N or a split column).")  # fmt: skip
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="A detector's run config (an anomaly search's best.yaml); flags override it.")  # fmt: skip
@click.option("--model", "trained", metavar="RUN_ID|PATH",
              help="Score --data with a detector trained before (a detect run's id, or its run folder).")  # fmt: skip
@click.option("--data-option", "-o", "data_pairs", multiple=True, metavar="KEY=VALUE",
              help="Data option, e.g. normal_until=2000, label=fault, features=a,b.")  # fmt: skip
@config_options("recipes.anomaly.config:DetectConfig")
@click.option("--hp", "hp_pairs", multiple=True, metavar="KEY=VALUE", help="Model hyperparameter (repeatable).")
@config_options("recipes.config:TrainConfig", skip=("refit",))  # its held-out windows fit the threshold
@click.option("--baselines/--no-baselines", default=True, show_default=True,
              help="Score matrix-profile discords, an isolation forest and a rolling z-score on the same data "
                   "and windows, each logged as a run.")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False),
              help="With --model: where the scores, flags and picture go [default: detect_out].")  # fmt: skip
@click.option("--tracking-uri", help="MLflow store [default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db].")
@click.option("--experiment", help="MLflow experiment [default: lstm-zoo].")
@click.option("--runs-dir", type=click.Path(file_okay=False), help="Local run folders [default: ./runs].")
@click.option("--no-tracking", is_flag=True, help="Do not log to MLflow (local files only).")
def detect(
    model: str | None,
    data: str | None,
    config_path: str | None,
    trained: str | None,
    data_pairs: tuple[str, ...],
    hp_pairs: tuple[str, ...],
    baselines: bool,
    out: str | None,
    tracking_uri: str | None,
    experiment: str | None,
    runs_dir: str | None,
    no_tracking: bool,
    **settings: Any,
) -> None:
    """Learn normal behaviour with MODEL, score every test step, flag what does not fit.

    The threshold is fitted on held-out normal data only; test labels, where the data has them,
    are read only for the metrics. With --model, score new data with a trained detector.

    \b
    Examples:
      zoo detect lstm --data anomaly:InternalBleeding16
      zoo detect gru --data anomaly:ucr:GunPoint/normal=1 --mode reconstruct
      zoo detect lstm --data anomaly:file:pump.csv -o normal_until=5000 --window 128
      zoo detect --model RUN_ID --data anomaly:file:new.csv
      zoo detect --config tuning_runs/SEARCH/best.yaml
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from recipes.runconfig import RunConfig

    doc = RunConfig.from_yaml(config_path).expect("detect", config_path) if config_path else RunConfig(recipe="detect")
    model, data = model or (None if trained else doc.model), data or doc.data
    if bool(model) == bool(trained):
        raise ConfigError("zoo detect takes a MODEL to train, or --model RUN_ID|PATH to score with, not both")
    if not data:
        raise ConfigError("zoo detect needs --data (on the command line or in --config)")
    given = {k: settings.pop(k) for k in _detect_fields() if k in settings}
    detect_settings = {**doc.detect, **{k: v for k, v in given.items() if v is not None}}
    settings = {**doc.train, **{k: v for k, v in settings.items() if v is not None}}
    options = {**doc.data_options, **key_values(data_pairs, "--data-option")}
    experiment, tracking_uri = experiment or doc.experiment, tracking_uri or doc.tracking_uri
    from recipes.data.anomaly import load_anomaly
    from recipes.device import import_backend

    anomaly_data = load_anomaly(data, **options)  # bad addresses fail before the backend starts
    import_backend()
    console = make_console()
    if trained:
        _score_with(console, trained, anomaly_data, Path(out or "detect_out"), None if no_tracking else tracking_uri)
        return
    from recipes.anomaly import detect as run_detection
    from recipes.tracking import Tracking

    tracking = Tracking(enabled=not no_tracking, uri=tracking_uri, experiment=experiment, runs_dir=runs_dir)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        hparams = {**doc.hparams, **key_values(hp_pairs, "--hp")}
        verbose = 2 if not sys.stdout.isatty() else 1
        result = run_detection(model, anomaly_data, config=detect_settings, hparams=hparams, tracking=tracking,
                               baselines=baselines, verbose=verbose, **settings)  # fmt: skip
    except KeyboardInterrupt:
        click.echo("interrupted: the MLflow run is marked KILLED; run the same command again to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    _report(console, result.data, result.metrics, result.baselines, result.detector, result.steps)
    console.print(f"detector, scores and picture in {result.run_dir} ({result.seconds:.1f} s)")
    if result.run_id:
        console.print(f"MLflow run {result.run_id}; score new data: zoo detect --model {result.run_id} --data ...")


def _detect_fields() -> list[str]:
    from recipes.anomaly.config import DetectConfig
    from zoo.params import params

    return [p.name for p in params(DetectConfig)]


def _score_with(console: Any, trained: str, data: Any, out: Path, tracking_uri: str | None) -> None:
    """Score `data` with a saved detector; the files go to `out`."""
    from recipes.anomaly import load_detector, score
    from recipes.anomaly.evaluation import evaluate
    from recipes.anomaly.runs import picture, write_scores

    detector = load_detector(trained, tracking_uri)
    steps = score(detector, data)
    files = write_scores(data, steps, detector.threshold, out)
    files.append(picture(data, steps, detector.threshold, out / "anomaly_scores.png",
                         f"{detector.info.get('model', 'detector')} on {data.name}"))  # fmt: skip
    labelled = data.step_labels is not None or data.series_labels is not None
    _report(console, data, evaluate(data, steps, detector.threshold) if labelled else {}, {}, detector, steps)
    console.print(f"files: {', '.join(str(f) for f in files)}")


def _report(console: Any, data: Any, metrics: dict[str, float], baselines: dict[str, dict[str, float]],
            detector: Any, steps: Any) -> None:  # fmt: skip
    """The metrics beside the baselines', the threshold, and the flagged ranges."""
    from rich.table import Table

    from recipes.anomaly.evaluation import flagged_ranges, series_scores

    if metrics:
        table = Table(title=f"{detector.info.get('model', 'detector')} on {data.name} ({data.kind})")
        table.add_column("metric")
        names = ["zoo detector", *baselines]
        for name in names:
            table.add_column(name, justify="right")
        for key in (k for k in metrics if k not in ("threshold", "flagged")):
            table.add_row(key, *(_cell(m.get(key)) for m in (metrics, *baselines.values())))
        console.print(table)
    console.print(f"threshold {detector.threshold:.4g} ({detector.info.get('threshold_rule', '?')}, on held-out "
                  f"normal data)")  # fmt: skip
    if data.kind == "stream":
        ranges = flagged_ranges(steps[0], detector.threshold)
        shown = ", ".join(f"{a}-{b - 1}" for a, b in ranges[:8]) + (" ..." if len(ranges) > 8 else "")
        console.print(f"flagged: {len(ranges)} range(s) {shown}".rstrip())
    else:
        flagged = int((series_scores(steps) > detector.threshold).sum())
        console.print(f"flagged: {flagged} of {len(steps)} series")


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
