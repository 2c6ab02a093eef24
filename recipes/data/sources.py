"""The `ucr:`, `forecast:`, `text:` and `tfds:` sources: read through TFDS, then prepare in NumPy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from recipes.data import packaged
from recipes.data.base import Dataset
from recipes.data.prepare import (
    FIXED_TEST_FRACTION,
    FIXED_TEST_SEED,
    Options,
    as_series_list,
    forecast_dataset,
    interpolate,
    series_dataset,
    split_indices,
)
from recipes.data.tfds_io import get_builder, prepare, read_split, tfds_module
from recipes.data.tsfile import fill_missing
from recipes.errors import DataError
from zoo.errors import did_you_mean

TEST_FRACTION = 0.15  # forecasting: the last 15% of points are the test segment
DEFAULT_MAX_TOKENS = 20000


def _own_builder(address: str, name: str, data_dir: str) -> Any:
    from recipes.data import builders  # noqa: F401  (registers the zoo_* builders with TFDS)

    return prepare(address, get_builder(address, name, data_dir))


def _tfds_info(builder: Any, data_dir: str) -> dict[str, Any]:
    return {"tfds": {"name": builder.info.full_name, "data_dir": data_dir}}


def _by_row(columns: dict[str, Any]) -> dict[str, Any]:
    """Put the examples of one split back in file order (TFDS stores them hashed)."""
    order = np.argsort(np.asarray(columns["row"]), kind="stable")
    return {k: (v[order] if isinstance(v, np.ndarray) else [v[i] for i in order]) for k, v in columns.items()}


def _package_relative(package: str, relative: str) -> str:
    return f"{package}/{relative}"


def _ts_description(path: Any) -> str:
    comments = []
    with open(path, encoding="utf-8-sig") as handle:
        for line in handle:
            line = line.strip().lstrip("\ufeff")
            if line.lower().startswith("@data"):
                break
            if line.startswith("#"):
                comments.append(line.lstrip("#\ufeff ").strip())
    text = " ".join(c for c in comments if c)
    return text if len(text) <= 600 else text[:597].rsplit(" ", 1)[0] + " ..."


def load_ucr(
    address: str, name: str, *, seed: int, val_fraction: float, data_dir: str, options: Mapping[str, Any]
) -> Dataset:
    """A shipped UCR/UEA set: archive train/test, val carved from train, per-channel scaling, right-padding."""
    opts = Options(address, options, ["scale"])
    spec = packaged.UCR[name]
    builder = _own_builder(address, f"zoo_ucr/{name}", data_dir)
    raw: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}
    filled = 0
    for split in ("train", "test"):
        columns = _by_row(read_split(builder, split))
        series = as_series_list(columns["series"])
        if any(np.isnan(s).any() for s in series):  # '?' values of '@missing true' files
            series, n = fill_missing(series)
            filled += n
        raw[split] = (series, np.asarray(columns["label"], dtype=np.int64))
    files = packaged.ucr_files(name)
    info: dict[str, Any] = {
        "source": [_package_relative("sktime", f"datasets/data/{name}/{p.name}") for p in files.values()],
        "description": _ts_description(files["train"]),
        **_tfds_info(builder, data_dir),
    }
    if filled:
        info["preprocessing"] = {"missing_values_interpolated": filled}
    return series_dataset(
        address,
        raw,
        task="classification",
        class_names=list(spec.class_names),
        seed=seed,
        val_fraction=val_fraction,
        info=info,
        scale=opts.bool("scale", True),
    )


def load_forecast(
    address: str, name: str, *, seed: int, val_fraction: float, data_dir: str, options: Mapping[str, Any]
) -> Dataset:
    """A shipped series windowed into (lookback -> horizon) samples with a time-ordered split."""
    del seed  # the split is time-ordered: nothing is random
    spec = packaged.FORECAST[name]
    opts = Options(address, options, ["lookback", "horizon", "target", "features", "test_fraction", "drop_last"])
    builder = _own_builder(address, f"zoo_forecast/{name}", data_dir)
    columns = read_split(builder, "full")
    times = list(columns["time"][0])
    values = np.stack([np.asarray(columns[c][0], dtype=np.float64) for c in spec.columns], axis=1)
    info: dict[str, Any] = {
        "source": _package_relative(spec.package, spec.path),
        "description": spec.description,
        "frequency": spec.frequency,
        "seasonality": spec.seasonality,
        **_tfds_info(builder, data_dir),
    }
    if np.isnan(values).any():
        values, filled = interpolate(values)
        info["preprocessing"] = {"interpolated_points": filled}
    targets = opts.list("target", spec.target)
    features = opts.list("features", spec.features)
    return forecast_dataset(
        address,
        values,
        spec.columns,
        targets=targets,
        features=features,
        lookback=opts.int("lookback", spec.lookback),
        horizon=opts.int("horizon", spec.horizon),
        val_fraction=val_fraction,
        test_fraction=opts.float("test_fraction", TEST_FRACTION),
        times=times,
        info=info,
        drop_last=opts.int("drop_last", 0, minimum=0),
    )


def load_text(
    address: str, name: str, *, seed: int, val_fraction: float, data_dir: str, options: Mapping[str, Any]
) -> Dataset:
    """Rotten Tomatoes: fixed test split, val carved from train, vocabulary adapted on train only."""
    from recipes.data.text import text_dataset

    opts = Options(address, options, ["max_tokens", "sequence_length"])
    builder = _own_builder(address, f"zoo_text/{name}", data_dir)
    splits = {k: _by_row(read_split(builder, k)) for k in ("train", "test", "unlabeled")}
    package, relative = packaged.TEXT[name]
    info = {
        "source": _package_relative(package, relative),
        "description": (
            "Rotten Tomatoes critic snippets (fresh/rotten; duplicates kept once) with a fixed stratified "
            "20% test split (seed 0); plot synopses form the unlabeled pool."
        ),
        **_tfds_info(builder, data_dir),
    }
    return text_dataset(
        address,
        {k: v["text"] for k, v in splits.items()},
        {k: v["label"] for k, v in splits.items() if k != "unlabeled"},
        class_names=list(packaged.TEXT_CLASSES),
        seed=seed,
        val_fraction=val_fraction,
        max_tokens=opts.int("max_tokens", DEFAULT_MAX_TOKENS, minimum=3),
        sequence_length=opts.int("sequence_length", None),
        info=info,
    )


TFDS_OPTIONS = [
    "download",
    "x",
    "y",
    "train_split",
    "test_split",
    "val_split",
    "unlabeled_split",
    "max_tokens",
    "sequence_length",
    "scale",
]


def load_tfds(
    address: str, name: str, *, seed: int, val_fraction: float, data_dir: str, options: Mapping[str, Any]
) -> Dataset:
    """Any TFDS dataset with a text or tensor input and a label; offline unless download=true."""
    from recipes.data import builders  # noqa: F401  (so tfds:zoo_ucr/GunPoint works too)

    tfds = tfds_module()
    opts = Options(address, options, TFDS_OPTIONS)
    builder = prepare(address, get_builder(address, name, data_dir), download=opts.bool("download", False))
    features = builder.info.features
    x_key, y_key = _tfds_keys(address, name, builder, opts)
    split_names = _tfds_splits(address, builder, opts)
    x_feature, y_feature = features[x_key], features[y_key]
    is_text = isinstance(x_feature, tfds.features.Text)
    task, class_names = _tfds_task(address, y_key, y_feature, is_text)
    data: dict[str, tuple[Any, Any]] = {}
    for split, tfds_split in split_names.items():
        if tfds_split is None:
            continue
        columns = read_split(builder, tfds_split)
        data[split] = (columns[x_key], None if split == "unlabeled" else np.asarray(columns[y_key]))
    record: dict[str, Any] = {"splits": {k: v for k, v in split_names.items() if v}}
    if "test" not in data:  # no test split: a fixed stratified 20% of train, independent of the seed
        xs, ys = data["train"]
        keep, test, _ = split_indices(
            len(ys), FIXED_TEST_FRACTION, FIXED_TEST_SEED, ys if task == "classification" else None
        )
        data["test"] = ([xs[i] for i in test], ys[test])
        data["train"] = ([xs[i] for i in keep], ys[keep])
        record["test"] = f"carved from train: stratified {FIXED_TEST_FRACTION:.0%}, seed {FIXED_TEST_SEED}"
    if task == "classification" and class_names is None:
        values = np.unique(np.concatenate([v[1] for k, v in data.items() if k != "unlabeled"]))
        class_names = [str(v) for v in values]
        data = {k: (x, None if y is None else np.searchsorted(values, y)) for k, (x, y) in data.items()}
    info = {"source": f"tfds:{name}", "description": builder.info.description, **_tfds_info(builder, data_dir)}
    info["preprocessing"] = record
    if is_text:
        from recipes.data.text import text_dataset

        return text_dataset(
            address,
            {k: list(v[0]) for k, v in data.items()},
            {k: v[1] for k, v in data.items() if k != "unlabeled"},
            class_names=class_names or [],
            seed=seed,
            val_fraction=val_fraction,
            max_tokens=opts.int("max_tokens", DEFAULT_MAX_TOKENS, minimum=3),
            sequence_length=opts.int("sequence_length", None),
            info=info,
        )
    shape = getattr(x_feature, "shape", None)
    if shape is None or len(shape) not in (1, 2) or np.dtype(x_feature.np_dtype).kind not in "fiu":
        raise DataError(
            f"{address}: input feature '{x_key}' ({type(x_feature).__name__} {shape}) is not a series; "
            "it needs a numeric (time,) or (time, features) tensor, or text"
        )
    raw = {
        k: (as_series_list(x), None if y is None else (y if task == "classification" else y.reshape(len(y), -1)))
        for k, (x, y) in data.items()
    }
    return series_dataset(
        address,
        raw,
        task=task,
        class_names=class_names,
        seed=seed,
        val_fraction=val_fraction,
        info=info,
        target_names=[y_key] if task == "regression" else None,
        scale=opts.bool("scale", True),
    )


def _tfds_keys(address: str, name: str, builder: Any, opts: Options) -> tuple[str, str]:
    """The input and label features: given (x=, y=), else the builder's supervised keys, else
    text and label; a one-line error naming the features where they are not there."""
    features = builder.info.features
    keys = builder.info.supervised_keys
    if isinstance(keys, tuple) and len(keys) == 2 and all(isinstance(k, str) for k in keys):
        default_x, default_y = keys
    else:
        default_x, default_y = "text", "label"
    x_key, y_key = opts.str("x", default_x), opts.str("y", default_y)
    if x_key not in features and y_key not in features and not (opts.str("x", None) or opts.str("y", None)):
        hint = f" (for the series itself use forecast:{name.split('/')[-1]})" if name.startswith("zoo_forecast") else ""
        raise DataError(
            f"{address}: cannot tell input and label features{hint} ({', '.join(features.keys())}); "
            "pass x=FEATURE and y=FEATURE"
        )
    for key in (x_key, y_key):
        if key not in features:
            names = list(features.keys())
            raise DataError(
                f"{address}: no feature '{key}'{did_you_mean(key, names)}; features: {', '.join(names)} "
                "(pass x=FEATURE and y=FEATURE)"
            )
    return x_key, y_key


def _tfds_splits(address: str, builder: Any, opts: Options) -> dict[str, str | None]:
    """Which TFDS split is train, test, val and unlabeled: as given, else the usual names."""
    available = list(builder.info.splits.keys())

    def pick(option: str, default: str | None, candidates: tuple[str, ...]) -> str | None:
        chosen = opts.str(option, default)
        if chosen is None:
            return next((c for c in candidates if c in available), None)
        if chosen.split("[")[0] not in available:
            raise DataError(f"{address}: no split '{chosen}' (option {option}); splits: {', '.join(available)}")
        return chosen

    return {
        "train": pick("train_split", "train", ()),
        "test": pick("test_split", None, ("test",)),
        "val": pick("val_split", None, ("validation", "valid", "val")),
        "unlabeled": pick("unlabeled_split", None, ("unsupervised", "unlabeled")),
    }


def _tfds_task(address: str, y_key: str, y_feature: Any, is_text: bool) -> tuple[str, list[str] | None]:
    """The task the label feature makes (and its class names, where the feature has them)."""
    tfds = tfds_module()
    if isinstance(y_feature, tfds.features.ClassLabel):
        return "classification", list(y_feature.names)
    if np.dtype(y_feature.np_dtype).kind in "iu":
        return "classification", None
    if np.dtype(y_feature.np_dtype).kind == "f" and not is_text:
        return "regression", None
    raise DataError(f"{address}: label feature '{y_key}' ({type(y_feature).__name__}) is not a class or a number")
