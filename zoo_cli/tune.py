"""`zoo tune`: keras-tuner searches, alone or as a chief and workers."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from zoo.errors import EXIT_INTERRUPTED
from zoo_cli.app import cli, make_console
from zoo_cli.compare import show_comparison
from zoo_cli.options import config_options, key_values


@cli.command()
@click.option("--models", required=True, help="Models to search: a name, a list (lstm,gru,cnn_lstm) or a pattern.")
@click.option("--data", required=True, help="Dataset address, as for zoo train.")
@config_options("tuning.config:SearchConfig")
@click.option("--fixed", "fixed_pairs", multiple=True, metavar="KEY=VALUE", help="Pin a knob (repeatable).")
@click.option("--data-option", "-o", "data_pairs", multiple=True, metavar="KEY=VALUE", help="Data option.")
@click.option("--directory", default="tuning_runs", show_default=True, help="keras-tuner state and trial folders.")
@click.option("--project", help="Search name [default: from models, data and tuner].")
@click.option("--overwrite", is_flag=True, help="Start over instead of resuming the same search.")
@click.option("--tracking-uri", help="MLflow store [default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db].")
@click.option("--experiment", help="MLflow experiment [default: lstm-zoo].")
@click.option("--compare/--no-compare", "then_compare", default=True, show_default=True,
              help="End with the leaderboard and pictures of the search's runs (zoo compare --parent).")  # fmt: skip
@click.option("--role", type=click.Choice(["chief", "worker"]),
              help="Distributed search: the chief serves the oracle and records the best, workers run trials "
                   "[default: $KERASTUNER_TUNER_ID, else one process].")  # fmt: skip
@click.option("--oracle-address", metavar="HOST:PORT",
              help="Where the chief listens / workers connect [default: $KERASTUNER_ORACLE_IP:PORT, else "
                   "127.0.0.1:8000].")  # fmt: skip
@click.option("--worker-id", help="A worker's name [default: worker-HOSTNAME-PID].")
@click.option("--worker-timeout", type=float, metavar="SECONDS",
              help="Silence after which a worker, or the chief, counts as lost [default: 300].")  # fmt: skip
@click.option("--unlabeled", help="semi: pretraining pool sources, as for zoo pretrain.")
@click.option("--register", "register_name", metavar="NAME",
              help="Register the retrained best as a new version of NAME with alias champion [default: the "
                   "search's project name].")  # fmt: skip
@click.option("--no-register", is_flag=True, help="Do not register the retrained best in the Model Registry.")
def tune(
    models: str,
    data: str,
    fixed_pairs: tuple[str, ...],
    data_pairs: tuple[str, ...],
    directory: str,
    project: str | None,
    overwrite: bool,
    tracking_uri: str | None,
    experiment: str | None,
    then_compare: bool,
    role: str | None,
    oracle_address: str | None,
    worker_id: str | None,
    worker_timeout: float | None,
    unlabeled: str | None,
    register_name: str | None,
    no_register: bool,
    **search_settings: Any,
) -> None:
    """Search models' hyperparameters with keras-tuner; every trial is an MLflow run.

    Run the same command again after an interruption and the search resumes. With --role,
    one chief and any number of workers (on this or other machines, one MLflow server)
    share the search.

    \b
    Examples:
      zoo tune --models lstm,gru,cnn_lstm,attention_lstm --data ucr:GunPoint --max-trials 12
      zoo tune --models lstm_fcn --data ucr:ArrowHead --tuner hyperband --max-epochs 60
      zoo tune --models lstm,gru --data ucr:GunPoint --role chief --oracle-address 0.0.0.0:8000
      zoo tune --models lstm,gru --data ucr:GunPoint --role worker --oracle-address chief-host:8000
      zoo tune --models lstm --data ucr:GunPoint --recipe semi --label-fraction 0.1 --tuner random
      zoo tune --models lstm,gru,cnn_lstm --data anomaly:InternalBleeding16 --task anomaly --max-trials 6
    """

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    fixed = key_values(fixed_pairs, "--fixed")
    data_options = key_values(data_pairs, "--data-option")
    from recipes.device import import_backend

    import_backend()
    import tuning

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    console = make_console()
    progress = _progress(console, search_settings)
    try:
        result = tuning.search(
            models,
            data,
            directory=directory,
            project=project,
            fixed=fixed,
            data_options=data_options,
            overwrite=overwrite,
            tracking_uri=tracking_uri,
            experiment=experiment,
            progress=progress,
            role=role,
            oracle_address=oracle_address,
            worker_id=worker_id,
            worker_timeout=worker_timeout,
            unlabeled=unlabeled,
            register=False if no_register else (register_name or True),
            **{k: v for k, v in search_settings.items() if v is not None},
        )
    except KeyboardInterrupt:
        progress.close()
        click.echo("interrupted: run the same command again to resume the search", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        progress.close()
    if isinstance(result, tuning.WorkerResult):
        done = sum(t["score"] is not None for t in result.trials)
        console.print(f"{result.worker_id}: the search is over; this worker ran {len(result.trials)} trials "
                      f"({done} finished). The chief retrains and records the best.")  # fmt: skip
        return
    _show_best(console, result)
    _show_where(console, result, tracking_uri)
    if then_compare and result.parent_run_id:
        from recipes.compare import compare as run_comparison

        console.print(f"\n[bold]All trials of the search[/bold] (zoo compare --parent {result.parent_run_id}):")
        comparison = run_comparison(
            parent_run_id=result.parent_run_id,
            tracking_uri=tracking_uri,
            out_dir=Path(directory) / result.config_path.parent.name / "compare",
            include_trials=True,
            baselines=True,  # majority and 1-NN (or the classical forecasts) on the same split, beside the models
        )
        show_comparison(console, comparison)


def _show_best(console: Any, result: Any) -> None:
    """The chosen configuration, its objective and its test scores, as one table."""
    from rich.table import Table

    table = Table(title=f"best of {len(result.trials)} trials: {result.model_name} ({result.objective} "
                        f"{result.best_value:.4f})")  # fmt: skip
    if result.ensemble:  # the product averages trials; the table's values are the best's
        members = ", ".join(f"{m['model']} (trial {m['trial_id']})" for m in result.ensemble)
        table.caption = f"tested: the average of {members}; the values above are the first's"
    table.add_column("hyperparameter")
    table.add_column("value", justify="right")
    scoped = {f"{scope}.{k}": v for scope, values in result.recipe_settings.items() for k, v in values.items()}
    for key, value in {**result.hparams, **result.settings, **scoped}.items():
        table.add_row(key, str(value))
    for key, value in result.test_metrics.items():
        table.add_row(f"test {key}", f"{value:.4f}")
    console.print(table)


def _show_where(console: Any, result: Any, tracking_uri: str | None) -> None:
    """How to reproduce, open, score with and serve what the search chose."""
    from recipes.runconfig import COMMANDS

    what = "the best trial (the ensemble's first member)" if result.ensemble else "it"
    console.print(f"reproduce {what}: {COMMANDS[result.recipe]} --config {result.config_path}")
    if result.recipe == "detect" and result.best_run_id:
        console.print(f"score new data with it: zoo detect --model {result.best_run_id} --data ...")
    if result.parent_run_id:
        from recipes.tracking import resolve_uri

        uri = resolve_uri(tracking_uri)
        console.print(f"MLflow search run {result.parent_run_id} in {uri}")
        if uri.startswith("sqlite:"):
            console.print(f"open it with: mlflow ui --backend-store-uri {uri}")
    if result.registered:
        name = result.registered.rsplit(" v", 1)[0]
        console.print(f"registered: {result.registered}, alias champion; serve it: mlflow models serve -m "
                      f"models:/{name}@champion --env-manager local", markup=False)  # fmt: skip


def _progress(console: Any, settings: dict[str, Any]) -> Any:
    """Bars of the trials and of the running training's epochs on a terminal; plain lines (a line
    per trial, and at each quarter of a training's epochs) when piped."""
    from tuning.config import search_config
    from tuning.progress import PlainProgress, RichProgress

    if console.is_terminal:
        cfg = search_config({k: v for k, v in settings.items() if v is not None})
        return RichProgress(console, None if cfg.tuner == "hyperband" else cfg.max_trials)  # Hyperband sizes itself
    return PlainProgress(lambda line: console.print(line, markup=False))
