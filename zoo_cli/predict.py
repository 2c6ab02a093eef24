"""`zoo predict`: a trained run's predictions on raw data, written to a file and shown briefly."""

from __future__ import annotations

import os
from pathlib import Path

import click

from zoo.errors import ConfigError
from zoo_cli.app import cli, make_console
from zoo_cli.options import key_values


@cli.command()
@click.argument("run")
@click.option("--data", required=True, help="Dataset address: ucr:NAME, forecast:NAME, text:NAME, file:PATH (as "
              "for zoo train; a text model also: a .txt, a text a line, or a table with a text column).")  # fmt: skip
@click.option("--data-option", "-o", "data_pairs", multiple=True, metavar="KEY=VALUE",
              help="Data option, as for zoo train (e.g. lookback=24 for a forecaster; text=COLUMN, label=COLUMN "
              "for a text model's table).")  # fmt: skip
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True,
              help="Which split of --data to predict (a text model's file: every row).")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False), default="predictions.csv", show_default=True,
              help="Where the predictions go: .csv or .parquet.")  # fmt: skip
@click.option("--tracking-uri", help="MLflow store, for a RUN given by id [default: $MLFLOW_TRACKING_URI, else "
              "sqlite:///mlflow.db].")  # fmt: skip
def predict(run: str, data: str, data_pairs: tuple[str, ...], split: str, out: str, tracking_uri: str | None) -> None:
    """Predict --data with RUN (a zoo train run's folder or MLflow run id) on raw series or texts.

    Classification: the predicted class and each class's probability; forecasting: each
    window's forecast in data units. Scored when the data has labels.

    \b
    Examples:
      zoo predict runs/gru-ucr_GunPoint-1a2b3c4d5e --data ucr:GunPoint
      zoo predict 0123456789abcdef0123456789abcdef --data file:new.csv --out new.parquet
      zoo predict runs/gru-text_rotten_tomatoes-1a2b3c4d5e --data file:reviews.txt
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    if Path(out).suffix not in (".csv", ".parquet"):
        raise ConfigError(f"--out {out}: give a .csv or .parquet file name")
    from recipes.device import import_backend
    from recipes.predicting import predict as run_prediction

    import_backend()
    options = key_values(data_pairs, "--data-option")
    found = run_prediction(run, data, split=split, tracking_uri=tracking_uri, options=options)
    frame = found.frame
    (frame.to_parquet if out.endswith(".parquet") else frame.to_csv)(out, index=False)
    console = make_console()
    brief = frame.drop(columns=["text"], errors="ignore").head(10)  # texts are in the file, not the terminal
    console.print(brief.to_string(max_cols=6, float_format=lambda v: f"{v:.4g}"), markup=False)
    if found.metrics:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in found.metrics.items() if "_step_" not in k)
        console.print(f"scored on the labels of {data} ({split}): {shown}")
    console.print(f"{len(frame)} predictions in {out}")
