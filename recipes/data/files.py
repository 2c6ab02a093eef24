"""The `file:` source: the user's own `.npz`, `.csv`, `.parquet` or `.ts` files.

Schemas (see docs/data.md for examples):

- `.npz`: arrays `x_train`, `y_train`, `x_test`, `y_test` (optionally `x_val`, `y_val`,
  `x_unlabeled`); x is `(n, time)` or `(n, time, features)`, y class labels (ints or strings)
  or, with `task=regression`, numbers.
- `.csv` / `.parquet`, wide: one row per series, a label column (`label=`, default "label"),
  every other column a time step (univariate).
- `.csv` / `.parquet`, long (`id=` given): one row per step, an id column, an optional `time=`
  column to order steps, a label column, feature columns (`features=`, default all others).
- `.csv` / `.parquet`, `task=forecasting`: one series, one row per step; `target=` column(s),
  `features=` (default all numeric columns), optional `time=` column; windowed like forecast:.
- `.ts`: sktime's format; give the `_TRAIN.ts` file, its `_TEST.ts` partner sits beside it.

A `split=` column (values train / val / test) picks the test rows of a table; without one, a
fixed stratified 20% of rows (seed 0, whatever the run's seed) is the test split.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

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
from recipes.data.tsfile import fill_missing, read_ts
from recipes.errors import DataError
from zoo.errors import did_you_mean

FORMATS = (".npz", ".csv", ".parquet", ".pq", ".ts")
OPTIONS = {
    ".npz": ["task", "scale"],
    ".ts": ["scale"],
    "table": [
        "task",
        "label",
        "id",
        "time",
        "split",
        "features",
        "target",
        "lookback",
        "horizon",
        "test_fraction",
        "drop_last",
        "seasonality",
        "interpolate",
        "equal_length",
        "scale",
    ],
}
SPLIT_VALUES = {"train": "train", "test": "test", "val": "val", "validation": "val", "valid": "val"}
DEFAULT_LOOKBACK, DEFAULT_HORIZON = 24, 1


def load_file(address: str, path_text: str, *, seed: int, val_fraction: float, options: Mapping[str, Any]) -> Dataset:
    """Load the user's file at `path_text` (see the module docstring for the schemas)."""
    path = pathlib.Path(path_text).expanduser()
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{address}: unsupported file type '{suffix or path.name}'; use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise DataError(
            f"{address}: no such file {path}; check the path (relative paths start at {pathlib.Path.cwd()})"
        )
    info: dict[str, Any] = {"source": str(path.resolve()), "format": suffix.lstrip(".")}
    kwargs = {"seed": seed, "val_fraction": val_fraction}
    if suffix == ".npz":
        return _load_npz(address, path, Options(address, options, OPTIONS[".npz"]), info, **kwargs)
    if suffix == ".ts":
        return _load_ts(address, path, Options(address, options, OPTIONS[".ts"]), info, **kwargs)
    return _load_table(address, path, Options(address, options, OPTIONS["table"]), info, **kwargs)


def _labels(address: str, ys: dict[str, np.ndarray], task: str) -> tuple[dict[str, np.ndarray], list[str] | None]:
    """Class indices (sorted label values as class names) or float targets."""
    if task == "regression":
        out = {}
        for split, y in ys.items():
            if y.dtype.kind not in "fiub":
                raise DataError(f"{address}: {split} y is not numeric ({y.dtype}); regression needs numbers")
            out[split] = y.astype(np.float32).reshape(len(y), -1)
        return out, None
    for split, y in ys.items():
        if y.dtype.kind == "f":
            bad = ~np.isfinite(y) | (y != np.round(y))
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"{address}: {split} label row {row} is {y[row]!r}, not a class; "
                    "classes are ints or strings (pass task=regression for numeric targets)"
                )
    ys = {k: (v.astype(np.int64) if v.dtype.kind == "f" else v) for k, v in ys.items()}
    if len({v.dtype.kind in "iub" for v in ys.values()}) > 1:
        raise DataError(f"{address}: labels are numbers in one split and text in another; use one kind")
    values = np.unique(np.concatenate(list(ys.values())))
    return {k: np.searchsorted(values, v).astype(np.int64) for k, v in ys.items()}, [str(v) for v in values]


def _load_npz(
    address: str, path: pathlib.Path, opts: Options, info: dict, *, seed: int, val_fraction: float
) -> Dataset:
    task = opts.choice("task", "classification", ("classification", "regression"))
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError) as err:
        raise DataError(f"{address}: cannot read {path.name} as .npz ({err}); save it with numpy.savez") from None
    required = ["x_train", "y_train", "x_test", "y_test"]
    for key in required:
        if key not in arrays:
            raise DataError(
                f"{address}: {path.name} has no array '{key}'{did_you_mean(key, arrays)}; "
                f"it needs {', '.join(required)} (optional x_val, y_val, x_unlabeled)"
            )
    if ("x_val" in arrays) != ("y_val" in arrays):
        raise DataError(f"{address}: {path.name} has only one of x_val / y_val; give both or neither")
    splits = [s for s in ("train", "val", "test", "unlabeled") if f"x_{s}" in arrays]
    for split in splits:
        x = arrays[f"x_{split}"]
        if x.dtype.kind not in "fiub":
            raise DataError(f"{address}: x_{split} is not numeric (dtype {x.dtype}); store numbers")
        if x.ndim not in (2, 3):
            raise DataError(f"{address}: x_{split} has shape {x.shape}; use (n, time) or (n, time, features)")
        y = arrays.get(f"y_{split}")
        if y is not None and len(y) != len(x):
            raise DataError(f"{address}: x_{split} has {len(x)} rows but y_{split} has {len(y)}; they must match")
    ys, class_names = _labels(address, {s: arrays[f"y_{s}"].reshape(len(arrays[f"y_{s}"]), -1).squeeze(-1)
                                        if task == "classification" else arrays[f"y_{s}"]
                                        for s in splits if s != "unlabeled"}, task)  # fmt: skip
    raw = {s: (as_series_list(arrays[f"x_{s}"]), ys.get(s)) for s in splits}
    return series_dataset(
        address,
        raw,
        task=task,
        class_names=class_names,
        seed=seed,
        val_fraction=val_fraction,
        info=info,
        target_names=None if class_names else [f"y{i}" for i in range(ys["train"].shape[1])],
        scale=opts.bool("scale", True),
    )


def _load_ts(address: str, path: pathlib.Path, opts: Options, info: dict, *, seed: int, val_fraction: float) -> Dataset:
    if "_TRAIN" not in path.name:
        raise DataError(f"{address}: give the NAME_TRAIN.ts file; its NAME_TEST.ts partner must sit beside it")
    test_path = path.with_name(path.name.replace("_TRAIN", "_TEST"))
    if not test_path.is_file():
        raise DataError(f"{address}: no test file {test_path.name} beside {path.name}; the .ts pair is needed")
    data = {"train": read_ts(path), "test": read_ts(test_path)}
    for ts_path, ts in zip((path, test_path), data.values(), strict=True):
        if not ts.labelled:
            raise DataError(f"{address}: {ts_path.name} has no labels (@classLabel false); label the rows")
    class_names = data["train"].class_names
    if data["test"].class_names != class_names:
        raise DataError(f"{address}: {test_path.name} declares other classes than {path.name}; use one @classLabel")
    raw = {}
    filled = 0
    for split, ts in data.items():
        series = ts.series
        if any(np.isnan(s).any() for s in series):
            series, n = fill_missing(series)
            filled += n
        if class_names is not None:
            y = np.array([class_names.index(label) for label in ts.labels], dtype=np.int64)
        else:
            y = np.array([float(label) for label in ts.labels], dtype=np.float32)[:, None]
        raw[split] = (series, y)
    info = {**info, "source": [str(path.resolve()), str(test_path.resolve())], "description": data["train"].description}
    if filled:
        info["preprocessing"] = {"missing_values_interpolated": filled}
    return series_dataset(
        address,
        raw,
        task="classification" if class_names is not None else "regression",
        class_names=class_names,
        seed=seed,
        val_fraction=val_fraction,
        info=info,
        target_names=None if class_names is not None else ["target"],
        scale=opts.bool("scale", True),
    )


def read_table(address: str, path: pathlib.Path) -> Any:
    """A .csv or .parquet file as a pandas frame (one line when it cannot be read)."""
    import pandas as pd

    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except Exception as err:  # pandas and pyarrow raise many kinds; one line is enough
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"{address}: cannot read {path.name}: {first}") from None


def table_column(address: str, frame: Any, name: str, role: str) -> Any:
    """Column `name` of `frame` (its `role` in the message), or one line with close matches."""
    if name not in frame.columns:
        columns = [str(c) for c in frame.columns]
        raise DataError(
            f"{address}: no {role} column '{name}'{did_you_mean(name, columns)}; columns: {', '.join(columns[:12])}"
            f"{' ...' if len(columns) > 12 else ''} (pass {role}=NAME)"
        )
    return frame[name]


def numeric_values(address: str, frame: Any, columns: list[str], allow_nan: bool = False) -> np.ndarray:
    """The columns as float64 `(rows, columns)`, naming the first non-numeric or missing cell."""
    import pandas as pd

    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        col = frame[name]
        values = pd.to_numeric(col, errors="coerce")
        bad = values.isna().to_numpy() & col.notna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{address}: column '{name}' is not numeric (row {row}: {str(col.iloc[row])[:30]!r}); "
                "convert it, drop it, or leave it out of features="
            )
        out[:, j] = values.to_numpy(dtype=np.float64)
        if not allow_nan and not np.isfinite(out[:, j]).all():
            row = int(np.flatnonzero(~np.isfinite(out[:, j]))[0])
            kind = "NaN" if np.isnan(out[row, j]) else "inf"
            raise DataError(f"{address}: column '{name}' row {row} is {kind}; fill or drop that row")
    return out


def _split_of_rows(address: str, frame: Any, opts: Options) -> np.ndarray | None:
    name = opts.str("split", None)
    if name is None:
        return None
    values = table_column(address, frame, name, "split").astype(str).str.strip().str.lower()
    bad = ~values.isin(list(SPLIT_VALUES))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{address}: split column '{name}' row {row} is {values.iloc[row]!r}; use train, val or test")
    return values.map(SPLIT_VALUES).to_numpy()


def _long_series(
    address: str, frame: Any, labels: Any, row_split: np.ndarray | None, features: list[str], opts: Options
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None]:
    """A long table (one row per step) as one series per id (in `time` order where given), its
    label and its split; a one-line DataError for an id with several labels or splits, or of
    another length than the first under `equal_length`."""
    id_col, time_col = opts.str("id", None), opts.str("time", None)
    ids = table_column(address, frame, id_col, "id")
    if time_col is not None:
        order = np.argsort(numeric_values(address, frame, [time_col])[:, 0], kind="stable")
        frame, labels, ids = frame.iloc[order], labels.iloc[order], ids.iloc[order]
        row_split = None if row_split is None else row_split[order]
    values = numeric_values(address, frame, features).astype(np.float32)
    codes, uniques = _factorize(ids.to_numpy())
    series, y_list, split_list = [], [], []
    equal = opts.bool("equal_length", False)
    for k, key in enumerate(uniques):
        rows = np.flatnonzero(codes == k)
        label_values = labels.iloc[rows]
        if label_values.nunique(dropna=False) > 1:
            raise DataError(f"{address}: id {key!r} has several labels ({label_values.iloc[0]!r}, ...); one per id")
        if row_split is not None and len(set(row_split[rows])) > 1:
            raise DataError(f"{address}: id {key!r} has rows in several splits; put each id in one split")
        series.append(values[rows])
        y_list.append(label_values.iloc[0])
        split_list.append(None if row_split is None else row_split[rows[0]])
        if equal and len(rows) != len(series[0]):
            raise DataError(
                f"{address}: id {key!r} has {len(rows)} steps but equal_length=true and id {uniques[0]!r} "
                f"has {len(series[0])}; fix the rows or drop equal_length"
            )
    y_all = np.asarray(y_list, dtype=object if labels.dtype == object else labels.dtype)
    return series, y_all, None if row_split is None else np.asarray(split_list)


def _checked_labels(address: str, label: str, y_all: np.ndarray) -> np.ndarray:
    """The labels, text as str; a one-line DataError naming the first empty one."""
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in y_all], dtype=bool)
    if missing.any():
        raise DataError(f"{address}: label column '{label}' row {int(np.flatnonzero(missing)[0])} is empty; label it")
    return y_all.astype(str) if y_all.dtype == object else y_all


def _parts(
    address: str, row_split: np.ndarray | None, split_col: str | None, y_all: np.ndarray, task: str, info: dict
) -> dict[str, np.ndarray]:
    """The series indices of each split: the split column's, else a fixed stratified test share
    (recorded in `info`); a one-line DataError when train or test is empty."""
    if row_split is None:
        _, test, _ = split_indices(
            len(y_all), FIXED_TEST_FRACTION, FIXED_TEST_SEED, _codes(y_all) if task == "classification" else None
        )
        row_split = np.full(len(y_all), "train", dtype=object)
        row_split[test] = "test"
        info["test_split"] = f"stratified {FIXED_TEST_FRACTION:.0%} of rows, seed {FIXED_TEST_SEED} (fixed)"
    else:
        info["test_split"] = f"column '{split_col}'"
    parts = {s: np.flatnonzero(row_split == s) for s in ("train", "val", "test") if (row_split == s).any()}
    for s in ("train", "test"):
        if s not in parts:
            raise DataError(f"{address}: the {s} split is empty (split column '{split_col}'); give it some rows")
    return parts


def _load_table(
    address: str, path: pathlib.Path, opts: Options, info: dict, *, seed: int, val_fraction: float
) -> Dataset:
    frame = read_table(address, path)
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise DataError(f"{address}: {path.name} has no rows")
    task = opts.choice("task", "classification", ("classification", "regression", "forecasting"))
    if task == "forecasting":
        return _load_forecasting_table(address, frame, opts, info, val_fraction=val_fraction)
    label = opts.str("label", "label")
    labels = table_column(address, frame, label, "label")
    split_col = opts.str("split", None)
    row_split = _split_of_rows(address, frame, opts)
    id_col, time_col = opts.str("id", None), opts.str("time", None)
    used = {label, split_col, id_col, time_col} - {None}
    features = opts.list("features", None)
    if features is None:
        features = [c for c in frame.columns if c not in used]
    if not features:
        raise DataError(f"{address}: no feature columns besides {', '.join(sorted(used))}")
    for name in features:
        table_column(address, frame, name, "feature")
    if id_col is None:  # wide: one row per series, one column per step
        info["layout"] = "wide: one row per series, columns are time steps"
        values = numeric_values(address, frame, features)
        series = [row[:, None] for row in values.astype(np.float32)]
        y_all = labels.to_numpy()
    else:  # long: one row per step
        info["layout"] = "long: one row per step, grouped by id"
        series, y_all, row_split = _long_series(address, frame, labels, row_split, features, opts)
    y_all = _checked_labels(address, label, y_all)
    parts = _parts(address, row_split, split_col, y_all, task, info)
    ys, class_names = _labels(address, {s: y_all[idx] for s, idx in parts.items()}, task)
    raw = {s: ([series[i] for i in idx], ys[s]) for s, idx in parts.items()}
    return series_dataset(
        address,
        raw,
        task=task,
        class_names=class_names,
        seed=seed,
        val_fraction=val_fraction,
        info=info,
        target_names=[label] if task == "regression" else None,
        scale=opts.bool("scale", True),
    )


def _factorize(values: np.ndarray) -> tuple[np.ndarray, list]:
    """Codes in first-appearance order, and the unique values in that order."""
    index: dict[Any, int] = {}
    codes = np.array([index.setdefault(v, len(index)) for v in values.tolist()], dtype=np.int64)
    return codes, list(index)


def _codes(y: np.ndarray) -> np.ndarray:
    return np.unique(y, return_inverse=True)[1].reshape(-1)


def _load_forecasting_table(address: str, frame: Any, opts: Options, info: dict, *, val_fraction: float) -> Dataset:
    time_col = opts.str("time", None)
    times = None
    if time_col is not None:
        column = table_column(address, frame, time_col, "time")
        frame = frame.iloc[np.argsort(column.to_numpy(), kind="stable")]
        times = [str(t) for t in frame[time_col].tolist()]
    candidates = [c for c in frame.columns if c != time_col]
    features = opts.list("features", None)
    targets = opts.list("target", None)
    if targets is None:
        if len(candidates) != 1:
            raise DataError(f"{address}: task=forecasting needs target=COLUMN (columns: {', '.join(candidates)})")
        targets = candidates
    features = features or candidates
    for name in [*targets, *features]:
        table_column(address, frame, name, "target" if name in targets else "feature")
    columns = list(dict.fromkeys([*targets, *features]))
    interpolate_nan = opts.bool("interpolate", False)
    values = numeric_values(address, frame, columns, allow_nan=interpolate_nan)
    if interpolate_nan and np.isnan(values).any():
        values, filled = interpolate(values)
        info["preprocessing"] = {"interpolated_points": filled}
    info["layout"] = "one series, one row per step"
    info["seasonality"] = opts.int("seasonality", 1)
    return forecast_dataset(
        address,
        values,
        columns,
        targets=targets,
        features=features,
        lookback=opts.int("lookback", DEFAULT_LOOKBACK),
        horizon=opts.int("horizon", DEFAULT_HORIZON),
        val_fraction=val_fraction,
        test_fraction=opts.float("test_fraction", 0.15),
        times=times,
        info=info,
        drop_last=opts.int("drop_last", 0, minimum=0),
    )
