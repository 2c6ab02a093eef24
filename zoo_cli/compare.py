"""`zoo compare`: the leaderboard, pictures and report of an experiment or a search."""

from __future__ import annotations

import os
from typing import Any

import click

from zoo_cli.app import cli, make_console


@cli.command()
@click.option("--experiment", help="MLflow experiment to compare [default: $MLFLOW_EXPERIMENT_NAME, else lstm-zoo].")
@click.option("--parent", "parent_run_id", metavar="RUN_ID", help="Compare the child runs of this run (a search's).")
@click.option("--metric", help="Rank by: macro_f1, test_rmse, val_loss, NAME:max|min ... [default: the test metric].")
@click.option("--baselines", is_flag=True, help="Compute and log baselines for each dataset and seed (once).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output folder [default: ./compare/NAME].")
@click.option("--tracking-uri", help="MLflow store [default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db].")
@click.option("--top", type=click.IntRange(1, 20), default=5, show_default=True, help="Runs per dataset in the curves.")
def compare(**options: Any) -> None:
    """Compare tracked runs: a leaderboard (mean ± std over seeds), pictures and one report.

    The pictures, report.md and report.html (one self-contained file) go to --out and are
    logged as a comparison run (stage=compare) in the same experiment.

    \b
    Examples:
      zoo compare --experiment gunpoint
      zoo compare --experiment gunpoint --baselines --metric macro_f1
      zoo compare --parent RUN_ID --top 10
    """

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from recipes.compare import compare as run_comparison

    if options["baselines"]:  # they load the data: the backend starts, its native start-up lines filtered
        from recipes.device import import_backend

        import_backend()
    console = make_console()
    result = run_comparison(**options)  # the flags are `recipes.compare.compare`'s keywords, one for one

    show_comparison(console, result)


def show_comparison(console: Any, result: Any) -> None:
    """Notes, the leaderboard tables, and where the pictures and report are."""
    from recipes.compare import print_leaderboard

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False)

    for note in result.notes:
        say(note)
    print_leaderboard(console, result.board)
    report = result.report
    say(f"files in {report.out_dir}/: {', '.join(report.files)}")
    if report.run_id:
        say(f"comparison run {report.run_id} in experiment '{result.runs.attrs['experiment']}' ({report.tracking_uri})")
    uri = report.tracking_uri or ""
    if uri.startswith("sqlite:"):
        say(f"open the MLflow UI: mlflow ui --backend-store-uri {uri}  (then http://127.0.0.1:5000)")
    elif report.run_id:
        say(f"open it in the MLflow UI: {uri.rstrip('/')}/#/experiments/{report.experiment_id}/runs/{report.run_id}")
    say(f"open the report: {report.files['report.html']}")
