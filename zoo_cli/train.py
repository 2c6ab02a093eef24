"""`zoo train`: one supervised run, tracked, resumable."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import sys
from typing import Any

import click

from zoo.errors import EXIT_INTERRUPTED, ConfigError
from zoo_cli.app import cli, make_console
from zoo_cli.options import key_values, train_options


@cli.command()
@click.argument("model", required=False)
@click.option(
    "--data", help="Dataset address: ucr:GunPoint, forecast:airline, text:rotten_tomatoes, tfds:NAME, file:PATH."
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML run config; flags override it.")
@click.option("--hp", "hp_pairs", multiple=True, metavar="KEY=VALUE", help="Model hyperparameter (repeatable).")
@click.option(
    "--data-option", "-o", "data_pairs", multiple=True, metavar="KEY=VALUE", help="Data option, e.g. horizon=12."
)
@train_options
@click.option("--tracking-uri", help="MLflow store [default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db].")
@click.option("--experiment", help="MLflow experiment [default: lstm-zoo].")
@click.option("--run-name", help="MLflow run name [default: 'MODEL on DATA'].")
@click.option("--runs-dir", type=click.Path(file_okay=False), help="Local run folders [default: ./runs].")
@click.option("--fresh", is_flag=True, help="Start over instead of resuming a killed run of the same settings.")
@click.option("--no-tracking", is_flag=True, help="Do not log to MLflow (local files only).")
@click.option("--register", "register_name", metavar="NAME",
              help="Register the model in the Model Registry: a new version of NAME, alias champion.")  # fmt: skip
@click.option("--backbone", "backbone_ref", metavar="PATH|URI",
              help="Start from a pretrained encoder: encoder.keras, a run folder, or runs:/<id>/encoder.")  # fmt: skip
@click.option(
    "--freeze-backbone", is_flag=True, help="Keep the encoder frozen for --epochs (then see --unfreeze-epochs)."
)
@click.option("--unfreeze-epochs", type=int, default=0, show_default=True,
              help="After the frozen epochs, train everything this many epochs more.")  # fmt: skip
@click.option("--unfreeze-lr-factor", type=float, default=None,
              help="Learning-rate factor once unfrozen [default: fine-tuning's, 1.0].")  # fmt: skip
def train(
    model: str | None,
    data: str | None,
    config_path: str | None,
    hp_pairs: tuple[str, ...],
    data_pairs: tuple[str, ...],
    tracking_uri: str | None,
    experiment: str | None,
    run_name: str | None,
    runs_dir: str | None,
    fresh: bool,
    no_tracking: bool,
    register_name: str | None,
    backbone_ref: str | None,
    freeze_backbone: bool,
    unfreeze_epochs: int,
    unfreeze_lr_factor: float | None,
    **settings: Any,
) -> None:
    """Train MODEL on a dataset, evaluate it on test, and track the run in MLflow.

    Running the same command again after an interruption resumes from the last finished epoch.

    \b
    Examples:
      zoo train lstm_fcn --data ucr:GunPoint --epochs 50
      zoo train gru --data forecast:airline -o horizon=12 --hp units=32
      zoo train --config run.yaml --seed 1
      zoo train lstm_fcn --data ucr:GunPoint --backbone runs:/RUN_ID/encoder --freeze-backbone \\
          --epochs 30 --unfreeze-epochs 70
    """

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    doc = _supervised_config(config_path)
    model = model or doc.model
    data = data or doc.data
    if not model or not data:
        raise ConfigError("zoo train needs a MODEL and --data (on the command line or in --config)")
    run = dataclasses.replace(
        doc,
        model=model,
        data=data,
        hparams={**doc.hparams, **key_values(hp_pairs, "--hp")},
        data_options={**doc.data_options, **key_values(data_pairs, "--data-option")},
        train={**doc.train, **{k: v for k, v in settings.items() if v is not None}},
        tracking_uri=tracking_uri or doc.tracking_uri,
        experiment=experiment or doc.experiment,
        run_name=run_name or doc.run_name,
    )

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    if register_name:
        from recipes.model_registry import check_name

        check_name(register_name)
        if no_tracking:
            raise ConfigError("--register needs MLflow tracking: drop --no-tracking")
    from recipes import train as run_training
    from recipes.tracking import Tracking

    finetuning = _finetuning(
        backbone_ref,
        run,
        tracking_uri=None if no_tracking else tracking_uri,
        freeze=freeze_backbone,
        unfreeze_epochs=unfreeze_epochs,
        unfreeze_lr_factor=unfreeze_lr_factor,
    )
    tracking = Tracking(enabled=not no_tracking, uri=run.tracking_uri, experiment=run.experiment, runs_dir=runs_dir)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    console = make_console()
    try:
        result = run_training(
            run.model,
            run.data,
            hparams=run.hparams,
            data_options=run.data_options,
            tracking=tracking,
            run_name=run.run_name,
            resume=not fresh,
            verbose=1 if sys.stdout.isatty() else 2,
            **finetuning,
            **run.train,
        )
    except KeyboardInterrupt:
        click.echo("interrupted: the MLflow run is marked KILLED; run the same command again to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    _report(console, result)
    if register_name and result.run_id and not result.tracking_lost:
        from recipes.model_registry import register

        version = register(result.run_id, register_name)
        console.print(f"registered: {version.name} v{version.version}, alias champion; serve it: mlflow models "
                      f"serve -m models:/{version.name}@champion --env-manager local", markup=False)  # fmt: skip


def _supervised_config(path: str | None) -> Any:
    """`--config`'s record (an empty one without it), which must be a supervised run's."""
    from recipes.runconfig import RunConfig

    return RunConfig.from_yaml(path).expect("supervised", path) if path else RunConfig()


def _finetuning(
    ref: str | None,
    run: Any,
    *,
    tracking_uri: str | None,
    freeze: bool,
    unfreeze_epochs: int,
    unfreeze_lr_factor: float | None,
) -> dict[str, Any]:
    """`recipes.train`'s fine-tuning keywords from the --backbone flags: the encoder `ref` names,
    loaded and checked against the run's model; without `ref`, the flags that need one refused."""
    backbone = None
    if ref:
        from recipes.semi import check_encoder, load_encoder

        if run.hparams:
            raise ConfigError("--hp: a pretrained backbone keeps its own hyperparameters; drop --hp")
        backbone, meta = load_encoder(ref, tracking_uri=tracking_uri)
        check_encoder(run.model, meta)
    elif freeze or unfreeze_epochs or unfreeze_lr_factor is not None:
        raise ConfigError("--freeze-backbone / --unfreeze-epochs / --unfreeze-lr-factor need --backbone "
                          "PATH|runs:/<id>/encoder")  # fmt: skip
    return {"backbone": backbone, "freeze_backbone": freeze, "unfreeze_epochs": unfreeze_epochs,
            "unfreeze_lr_factor": unfreeze_lr_factor}  # fmt: skip


def _report(console: Any, result: Any) -> None:
    from rich.table import Table

    from recipes.forecasting import CHOICE_TAGS
    from recipes.tracking import resolve_uri

    ds = result.dataset
    resumed = f", resumed at epoch {result.resumed_from + 1}" if result.resumed_from else ""
    table = Table(title=f"{result.model.name} on {ds.name}: test split ({len(ds.test)} examples)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    steps = {k: v for k, v in result.test_metrics.items() if re.fullmatch(r"\w+_step_\d+", k)}
    for key, value in result.test_metrics.items():
        if key not in steps:
            table.add_row(key, f"{value:.4f}")
    console.print(table)
    if steps:  # a forecast's error per horizon step, on one line
        console.print("MAE by step ahead: " + ", ".join(f"{v:.4g}" for v in steps.values()))
    for tag, figures in result.chosen_on.items():  # how a window_norm was chosen on the data
        console.print(f"window_norm {result.hparams['window_norm']}, chosen on {CHOICE_TAGS[tag]}: {figures}")
    refit = f", then {result.refit_epochs} refitting on train + val" if result.refit_epochs else ""
    members = f" over {result.config.ensemble} ensemble members" if result.config.ensemble > 1 else ""
    console.print(f"{result.epochs - result.refit_epochs} epochs{members}{resumed}{refit}, {result.seconds:.1f} s; "
                  f"files in {result.run_dir}")  # fmt: skip
    if result.run_id and not result.tracking_lost:
        uri = resolve_uri()
        console.print(f"MLflow run {result.run_id} in {uri}")
        if uri.startswith("sqlite:"):
            console.print(f"open it with: mlflow ui --backend-store-uri {uri}")
    elif result.tracking_lost:
        click.echo(
            f"warning: the MLflow store was lost during the run ({result.tracking_lost}); the trained model, "
            f"metrics and plots are kept in {result.run_dir}",
            err=True,
        )
