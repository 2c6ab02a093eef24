"""`zoo export`: a trained run's raw-input model through Keras' own `Model.export`, checked."""

from __future__ import annotations

import os

import click

from zoo_cli.app import cli, make_console


@cli.command("export")
@click.argument("run")
@click.option("--format", "fmt", type=click.Choice(["saved_model", "litert", "onnx"]), default="saved_model",
              show_default=True, help="saved_model (TensorFlow), litert (.tflite), onnx (needs tf2onnx, onnx, "
              "onnxruntime).")  # fmt: skip
@click.option("--out", required=True, type=click.Path(), help="Where it goes (a folder; litert: a .tflite file).")
@click.option("--tracking-uri", help="MLflow store, for a RUN given by id [default: $MLFLOW_TRACKING_URI, else "
              "sqlite:///mlflow.db].")  # fmt: skip
def export_run(run: str, fmt: str, out: str, tracking_uri: str | None) -> None:
    """Export RUN (a zoo train run's folder or MLflow run id) to take raw series, and check the
    export predicts what the Keras model predicts on a batch.

    \b
    Examples:
      zoo export runs/gru-ucr_GunPoint-1a2b3c4d5e --out export/gunpoint
      zoo export RUN_ID --format litert --out gunpoint.tflite
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from recipes.device import import_backend
    from recipes.exporting import export

    import_backend()
    done = export(run, fmt, out, tracking_uri=tracking_uri)
    make_console().print(f"{done.format} export in {done.path}; loaded back, its predictions on a batch are within "
                         f"{done.max_difference:.2g} of the Keras model's")  # fmt: skip
