"""A model card per trained run (`model_card.md`, in the run folder and on the MLflow run): the
data, its preprocessing, the hyperparameters and training settings, the test metrics beside the
cheap baselines on the same split, and what the model is for and not for.

The baselines here are the ones that cost next to nothing (majority class and 1-NN, the mean,
naive and seasonal-naive forecasts); `zoo compare --baselines` adds the rest (Holt-Winters,
SARIMA, TF-IDF + logistic regression).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recipes.data.base import Dataset

MAX_PAIRS_1NN = 10_000_000  # train x test pairs above which 1-NN is left to zoo compare --baselines


def cheap_baselines(dataset: Dataset) -> list[Any]:
    """The baselines of `recipes.baselines` that cost next to nothing on this data."""
    from recipes import baselines

    if dataset.task == "forecasting":
        return baselines.naive_forecasters(dataset)
    if dataset.task == "regression":
        return [baselines.mean_target(dataset)]
    found = [baselines.majority(dataset)]
    pairs = (len(dataset.train) + len(dataset.val)) * len(dataset.test)
    if dataset.input_kind == "series" and pairs <= MAX_PAIRS_1NN:
        found.append(baselines.nearest_neighbour(dataset))
    return found


def write_card(folder: Path, *, model: str, dataset: Dataset, hparams: Mapping[str, Any],
               settings: Mapping[str, Any], metrics: Mapping[str, float], inputs: str,
               ensemble: str = "") -> Path:  # fmt: skip
    """`model_card.md` in `folder`; `ensemble` names the runs it averages, `model` the first."""
    import zoo

    spec = zoo.describe(model)
    rows = cheap_baselines(dataset)
    shown = [k for k in metrics if "_step_" not in k]
    averaged = [f"The average of the probabilities or forecasts of: {ensemble}. The first is described below.", ""]
    lines = [
        f"# {'An ensemble led by ' if ensemble else ''}{model} on {dataset.name}",
        "",
        *(averaged if ensemble else []),
        f"{spec.summary} Reference: {spec.reference}.",
        "",
        "## Data",
        "",
        f"- `{dataset.name}`, task {dataset.task}: {len(dataset.train)} train, {len(dataset.val)} validation, "
        f"{len(dataset.test)} test examples; inputs {dataset.input_shape()}.",
        f"- Preprocessing: {_preprocessing(dataset)}.",
        f"- The logged model takes {inputs} inputs (docs/serving.md).",
        "",
        "## Hyperparameters and training",
        "",
        *(f"- `{k}` = {v}" for k, v in hparams.items()),
        *(f"- `train.{k}` = {v}" for k, v in settings.items() if v is not None),
        "",
        "## Test metrics, beside the baselines on the same split",
        "",
        "| | " + " | ".join(shown) + " |",
        "|---|" + "---:|" * len(shown),
        f"| **{model}** | " + " | ".join(f"{metrics[k]:.4g}" for k in shown) + " |",
        *(f"| {b.name} (baseline) | " + " | ".join(_cell(b.metrics.get(k)) for k in shown) + " |" for b in rows),
        "",
        "## Intended use and limits",
        "",
        f"- For {dataset.task} of series like `{dataset.name}`'s: the same channels, "
        f"{'length' if not dataset.variable_length else 'at most the longest length'} and units as its train split.",
        "- Chosen and early-stopped on validation data; the test split was read once, for these figures.",
        "- Not checked for data drift, calibration beyond the log loss, or any population the data does not cover.",
    ]
    path = Path(folder) / "model_card.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _preprocessing(dataset: Dataset) -> str:
    found = dataset.info.get("preprocessing", {})
    scaler = found.get("scaler", {})
    text = scaler.get("kind", "none") + (f", fitted on {scaler['fitted_on']}" if "fitted_on" in scaler else "")
    return text if isinstance(text, str) else str(text)


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"
