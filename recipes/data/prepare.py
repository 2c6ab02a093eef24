"""NumPy steps every source shares: checks, validation carving, scaling, padding, windowing.

Everything here is fitted on the train split only, and validation is carved from train
(stratified for classification, time-ordered for forecasting), never from test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from recipes.data.base import PAD_VALUE, Dataset, Split
from recipes.errors import DataError
from zoo.errors import did_you_mean

MIN_TRAIN = 2  # fewer train examples (or windows) than this cannot train and validate anything
FIXED_TEST_SEED = 0  # where a source has no test split, this carves one: it never moves with the run's seed
FIXED_TEST_FRACTION = 0.2


class Options:
    """The `**options` of one `load` call, typed and checked against what the source takes.

    Values may come as strings from the command line ("24", "true", "a,b"); getters coerce them.
    """

    def __init__(self, dataset: str, options: Mapping[str, Any], allowed: Sequence[str]) -> None:
        self.dataset = dataset
        self.values = {k: v for k, v in options.items() if v is not None}
        unknown = sorted(set(self.values) - set(allowed))
        if unknown:
            valid = ", ".join(sorted(allowed)) or "none"
            raise DataError(
                f"{dataset}: unknown option '{unknown[0]}'{did_you_mean(unknown[0], allowed)}; valid options: {valid}"
            )

    def int(self, key: str, default: int | None, minimum: int = 1) -> int | None:
        """An integer option (at least `minimum`)."""
        value = self.values.get(key, default)
        if value is None:
            return None
        try:
            number = int(str(value))
        except ValueError:
            raise DataError(f"{self.dataset}: option {key}={value!r} must be an integer") from None
        if number < minimum:
            raise DataError(f"{self.dataset}: option {key}={number} must be at least {minimum}")
        return number

    def float(self, key: str, default: float, low: float = 0.0, high: float = 1.0) -> float:
        """A float option strictly between `low` and `high`."""
        value = self.values.get(key, default)
        try:
            number = float(str(value))
        except ValueError:
            raise DataError(f"{self.dataset}: option {key}={value!r} must be a number") from None
        if not low < number < high:
            raise DataError(f"{self.dataset}: option {key}={number} must be between {low} and {high} (exclusive)")
        return number

    def bool(self, key: str, default: bool) -> bool:
        """A yes/no option ("true"/"false"/"1"/"0" accepted)."""
        value = self.values.get(key, default)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise DataError(f"{self.dataset}: option {key}={value!r} must be true or false")

    def str(self, key: str, default: str | None) -> str | None:
        """A text option."""
        value = self.values.get(key, default)
        return None if value is None else str(value)

    def list(self, key: str, default: Sequence[str] | None) -> list[str] | None:
        """A list option: a list, or one comma-separated string."""
        value = self.values.get(key, default)
        if value is None:
            return None
        items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
        items = [i.strip() for i in items if i.strip()]
        if not items:
            raise DataError(f"{self.dataset}: option {key} is empty; give at least one name")
        return items

    def choice(self, key: str, default: str, choices: Sequence[str]) -> str:
        """One of `choices`."""
        value = str(self.values.get(key, default))
        if value not in choices:
            raise DataError(
                f"{self.dataset}: option {key}={value!r} must be one of {', '.join(choices)}"
                f"{did_you_mean(value, choices)}"
            )
        return value


def check_finite(x: np.ndarray | Sequence[np.ndarray], dataset: str, split: str, field: str, hint: str = "") -> None:
    """Raise if a row of `x` (an array, or a list of per-row arrays) holds NaN or inf, naming the first."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "fc" or x.size == 0:
            return
        bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
        row = int(np.flatnonzero(bad)[0]) if bad.any() else None
    else:
        row = next((i for i, r in enumerate(x) if not np.isfinite(r).all()), None)
    if row is not None:
        kind = "NaN" if np.isnan(np.asarray(x[row], dtype=np.float64)).any() else "inf"
        raise DataError(f"{dataset}: {split} {field} row {row} has {kind} values; drop or fill them{hint or ' first'}")


def check_classes(dataset: str, class_names: Sequence[str], splits: Mapping[str, np.ndarray]) -> None:
    """Raise on labels outside the classes, a single class, or classes without train examples."""
    k = len(class_names)
    for name, y in splits.items():
        if y is None:
            continue
        bad = (y < 0) | (y >= k)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{dataset}: {name} label row {row} is missing or out of range ({y[row]}); label every row")
    train = splits["train"]
    present = np.unique(train)
    if len(present) < 2:
        only = class_names[int(present[0])] if len(present) else "none"
        raise DataError(
            f"{dataset}: train has a single class ('{only}'); classification needs at least 2 classes in train"
        )
    for name, y in splits.items():
        if y is None or name == "train":
            continue
        missing = sorted(set(np.unique(y).tolist()) - set(present.tolist()))
        if missing:
            raise DataError(
                f"{dataset}: class '{class_names[missing[0]]}' is in {name} but has no train examples; "
                "add train examples or drop the class"
            )


def check_sizes(dataset: str, splits: Mapping[str, int], unit: str = "examples") -> None:
    """Raise on an empty split or a train split too small to learn from."""
    for name, n in splits.items():
        if n == 0:
            raise DataError(f"{dataset}: the {name} split is empty; it needs at least one of its {unit}")
    if splits.get("train", MIN_TRAIN) < MIN_TRAIN:
        raise DataError(
            f"{dataset}: train has {splits['train']} {unit}, too few to train; it needs at least {MIN_TRAIN}"
        )


def check_carved(dataset: str, n_train: int, n_val: int) -> None:
    """Raise when a train split is too small to give a validation split."""
    if n_val == 0:
        raise DataError(
            f"{dataset}: train has {n_train} examples, too few to carve a validation split "
            "(every class keeps a train example); add examples or give a val split"
        )


def split_indices(
    n: int, fraction: float, seed: int, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Split `range(n)` into (keep, carved) with about `fraction` carved.

    With labels, the carve is stratified: each class gives its share (largest remainders),
    and every class keeps at least one example (a class with one example stays whole).

    Returns:
        Sorted keep and carved indices, and whether the carve was stratified.
    """
    rng = np.random.default_rng(seed)
    total = min(max(1, round(n * fraction)), n - 1) if n > 1 else 0
    if labels is None or total == 0:
        order = rng.permutation(n)
        return np.sort(order[total:]), np.sort(order[:total]), False
    classes = np.unique(labels)
    members = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    exact = np.array([len(m) * total / n for m in members])
    take = np.minimum(np.floor(exact).astype(int), [len(m) - 1 for m in members])
    stratified = True
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if take.sum() >= total:
            break
        if take[i] < len(members[i]) - 1:
            take[i] += 1
    if take.sum() < total:  # classes too small to give their share: fill from the others
        stratified = False
        for i in np.argsort([-len(m) for m in members], kind="stable"):
            extra = min(total - take.sum(), len(members[i]) - 1 - take[i])
            take[i] += max(0, extra)
    carved = np.concatenate([m[:t] for m, t in zip(members, take, strict=True)])
    keep = np.setdiff1d(np.arange(n), carved)
    return keep, np.sort(carved), stratified


def fit_scaler(x: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std over all steps of `x` (a list of `(time, channels)` arrays).

    A constant channel gets std 1, so scaling leaves it centred instead of dividing by zero.
    """
    stacked = np.concatenate([np.asarray(s, dtype=np.float64) for s in x], axis=0)
    mean = stacked.mean(axis=0)
    std = stacked.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def pad(series: Sequence[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad `(time, channels)` arrays to `length` with `PAD_VALUE`; also return the lengths."""
    channels = series[0].shape[1] if series else 1
    out = np.full((len(series), length, channels), PAD_VALUE, dtype=np.float32)
    lengths = np.zeros(len(series), dtype=np.int32)
    for i, s in enumerate(series):
        out[i, : len(s)] = s
        lengths[i] = len(s)
    return out, lengths


def as_series_list(x: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """`(n, time)` / `(n, time, features)` arrays, or a list of per-example arrays, as a list of 2-D float32."""
    out = []
    for s in x:
        s = np.asarray(s, dtype=np.float32)
        out.append(s[:, None] if s.ndim == 1 else s)
    return out


def series_dataset(
    name: str,
    raw: Mapping[str, tuple[list[np.ndarray], np.ndarray | None]],
    *,
    task: str,
    class_names: list[str] | None,
    seed: int,
    val_fraction: float,
    info: dict[str, Any],
    target_names: list[str] | None = None,
    scale: bool = True,
) -> Dataset:
    """Carve validation, scale per channel on train, right-pad, and return a `Dataset`.

    Args:
        name: The dataset address, for messages.
        raw: Split name ("train", "test", optional "val", "unlabeled") to (series list, labels);
            each series is `(time, channels)`; labels are class indices (classification) or
            `(n, targets)` floats (regression), None for the unlabeled pool.
        task: "classification" or "regression".
        class_names: Classification label names.
        seed: Seed of the validation carve.
        val_fraction: Share of train carved for validation (ignored when `raw` has "val").
        info: Provenance; the preprocessing record is added to it.
        target_names: Regression target names.
        scale: Standardise each channel with train statistics.

    Returns:
        The dataset.
    """
    splits = {k: (as_series_list(v[0]), None if v[1] is None else np.asarray(v[1])) for k, v in raw.items()}
    channels = _check_series(name, splits, task)
    splits, record = _carve_val(name, splits, task, seed, val_fraction)
    check_sizes(name, {k: len(v[0]) for k, v in splits.items() if k != "unlabeled"})
    if task == "classification":
        check_classes(name, class_names or [], {k: v[1] for k, v in splits.items() if k != "unlabeled"})
    if scale:
        splits = _scaled_inputs(splits, record)
    target_scale = None
    if task == "regression":
        splits, target_scale = _scaled_targets(splits, record)
    out, variable = _padded(splits, task, record)
    info = {**info, "preprocessing": {**info.get("preprocessing", {}), **record}}
    return Dataset(
        name=name,
        task=task,
        input_kind="series",
        train=out["train"],
        val=out["val"],
        test=out["test"],
        unlabeled=out.get("unlabeled"),
        class_names=class_names if task == "classification" else None,
        target_names=target_names if task == "regression" else None,
        num_features=channels,
        variable_length=variable,
        target_scale=target_scale,
        info=info,
    )


_RawSplits = dict[str, tuple[list[np.ndarray], np.ndarray | None]]


def _check_series(name: str, splits: _RawSplits, task: str) -> int:
    """The series' one channel count; a one-line DataError for mixed counts, empty series or
    non-finite values."""
    channels = {s.shape[1] for xs, _ in splits.values() for s in xs}
    if len(channels) > 1:
        raise DataError(
            f"{name}: examples have different feature counts {sorted(channels)}; every example needs the same"
        )
    for split, (xs, y) in splits.items():
        check_finite(xs, name, split, "x")
        short = [i for i, s in enumerate(xs) if len(s) == 0]
        if short:
            raise DataError(f"{name}: {split} x row {short[0]} has no steps; drop empty series")
        if y is not None and task == "regression":
            check_finite(y, name, split, "y")
    return channels.pop()


def _carve_val(
    name: str, splits: _RawSplits, task: str, seed: int, val_fraction: float
) -> tuple[_RawSplits, dict[str, Any]]:
    """`splits` with a validation split carved from train (stratified for classification) unless
    one is given, and the preprocessing record saying which."""
    if "val" in splits:
        return splits, {"validation": {"carved_from": "given val split"}}
    train_x, train_y = splits["train"]
    keep, carved, stratified = split_indices(
        len(train_x), val_fraction, seed, train_y if task == "classification" else None
    )
    check_carved(name, len(train_x), len(carved))
    splits = {
        **splits,
        "val": ([train_x[i] for i in carved], train_y[carved]),
        "train": ([train_x[i] for i in keep], train_y[keep]),
    }
    return splits, {"validation": carved_record(val_fraction, seed, stratified)}


def carved_record(fraction: float, seed: int, stratified: bool) -> dict[str, Any]:
    """The preprocessing record of a validation split carved from train (what `raw_texts` reads back)."""
    return {"carved_from": "train", "fraction": fraction, "seed": seed, "stratified": stratified}


def _scaled_inputs(splits: _RawSplits, record: dict[str, Any]) -> _RawSplits:
    """Every split standardised per channel with the train split's statistics (recorded)."""
    mean, std = fit_scaler(splits["train"][0])
    record["scaler"] = {
        "kind": "standard, per channel",
        "fitted_on": "train",
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
    }
    return {k: ([(s - mean) / std for s in xs], y) for k, (xs, y) in splits.items()}


def _scaled_targets(splits: _RawSplits, record: dict[str, Any]) -> tuple[_RawSplits, tuple[np.ndarray, np.ndarray]]:
    """Regression targets as `(n, targets)` standardised with the train split's statistics (recorded)."""
    ys = {k: np.asarray(y, dtype=np.float32).reshape(len(y), -1) for k, (_, y) in splits.items() if y is not None}
    t_mean, t_std = fit_scaler([ys["train"]])
    record["target_scaler"] = {"mean": [float(v) for v in t_mean], "std": [float(v) for v in t_std]}
    return {k: (xs, None if y is None else (ys[k] - t_mean) / t_std) for k, (xs, y) in splits.items()}, (t_mean, t_std)


def _padded(splits: _RawSplits, task: str, record: dict[str, Any]) -> tuple[dict[str, Split], bool]:
    """Each split right-padded to the longest series of all (recorded), and whether lengths vary."""
    lengths_all = [len(s) for xs, _ in splits.values() for s in xs]
    max_length = max(lengths_all)
    variable = len(set(lengths_all)) > 1
    record["padding"] = (
        {"side": "right", "value": PAD_VALUE, "to": max_length, "min_length": min(lengths_all)}
        if variable
        else "none (equal lengths)"
    )
    out: dict[str, Split] = {}
    for k, (xs, y) in splits.items():
        x, lengths = pad(xs, max_length)
        if y is not None and task == "classification":
            y = np.asarray(y, dtype=np.int64)
        out[k] = Split(x, y, lengths if variable else None)
    return out, variable


def forecast_dataset(
    name: str,
    values: np.ndarray,
    columns: Sequence[str],
    *,
    targets: Sequence[str],
    features: Sequence[str],
    lookback: int,
    horizon: int,
    val_fraction: float,
    test_fraction: float,
    times: Sequence[str] | None,
    info: dict[str, Any],
    drop_last: int = 0,
) -> Dataset:
    """Window one series into (lookback -> horizon) samples with a time-ordered split.

    The series' points are cut into train, val and test segments (val is `val_fraction` of the
    points before test). A window belongs to the segment its targets lie in, entirely; its
    inputs may reach back into earlier segments, but no target is ever an earlier split's
    target or input. Columns are standardised with train-segment statistics.

    Args:
        name: The dataset address, for messages.
        values: `(time, columns)` float array, finite.
        columns: Column names of `values`.
        targets: Columns to forecast.
        features: Input columns (targets are added first if missing).
        lookback: Input steps per window.
        horizon: Forecast steps per window.
        val_fraction: Share of the pre-test points used for validation.
        test_fraction: Share of all points used for test.
        times: Time label per point, or None.
        info: Provenance; windowing and scaling records are added.
        drop_last: Points cut off the series' end first: its test segment then ends earlier (a
            backtest from an earlier origin; the defaults are chosen this way, on data before
            the real test segment).

    Returns:
        The dataset, y `(n, horizon, targets)` in scaled units (`inverse_targets` undoes it).
    """
    columns = list(columns)
    for col in [*targets, *features]:
        if col not in columns:
            raise DataError(f"{name}: no column '{col}'{did_you_mean(col, columns)}; columns: {', '.join(columns)}")
    inputs = list(dict.fromkeys([*targets, *features]))
    values = np.asarray(values, dtype=np.float64)
    check_finite(values, name, "series", "values", hint=" (or pass interpolate=true)")
    values, times = _dropped(name, values, times, drop_last)
    total = len(values)
    segments, starts = _windows(total, lookback, horizon, val_fraction, test_fraction)
    _check_windows(name, total, segments, starts, lookback, horizon, (val_fraction, test_fraction))
    x_cols = [columns.index(c) for c in inputs]
    y_cols = [columns.index(c) for c in targets]
    out, mean, std = _scaled_windows(values, segments["train"][1], starts, (lookback, horizon), (x_cols, y_cols))
    t_mean = mean[y_cols].astype(np.float32)
    t_std = std[y_cols].astype(np.float32)
    record = {
        **({"dropped_last": drop_last} if drop_last else {}),
        "split": "time-ordered segments of the series' points; a window belongs to the segment of its targets",
        "segments": {k: [int(lo), int(hi)] for k, (lo, hi) in segments.items()},
        "first_target": {k: int(s[0] + lookback) for k, s in starts.items()},
        "windows": {k: len(s) for k, s in starts.items()},
        "test_fraction": test_fraction,
        "val_fraction": val_fraction,
        "scaler": {
            "kind": "standard, per column",
            "fitted_on": "train segment",
            "columns": inputs,
            "mean": [float(mean[c]) for c in x_cols],
            "std": [float(std[c]) for c in x_cols],
        },
    }
    info = {
        **info,
        "lookback": lookback,
        "horizon": horizon,
        "targets": list(targets),
        "features": inputs,
        "series_length": total,
        "preprocessing": {**info.get("preprocessing", {}), **record},
    }
    if times is not None:
        info["time_range"] = [str(times[0]), str(times[-1])]
        info["test_target_times"] = [str(times[int(s) + lookback]) for s in starts["test"]]
    return Dataset(
        name=name,
        task="forecasting",
        input_kind="series",
        train=out["train"],
        val=out["val"],
        test=out["test"],
        target_names=list(targets),
        num_features=len(inputs),
        horizon=horizon,
        target_scale=(t_mean, t_std),
        info=info,
    )


def _scaled_windows(
    values: np.ndarray,
    train_end: int,
    starts: Mapping[str, np.ndarray],
    sizes: tuple[int, int],
    cols: tuple[list[int], list[int]],
) -> tuple[dict[str, Split], np.ndarray, np.ndarray]:
    """Each split's windows (inputs `x_cols` over the lookback, targets `y_cols` over the
    horizon: `sizes`), standardised per column with the train segment's statistics, and those."""
    (lookback, horizon), (x_cols, y_cols) = sizes, cols
    mean = values[:train_end].mean(axis=0)
    std = values[:train_end].std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    scaled = ((values - mean) / std).astype(np.float32)
    out = {}
    for split, s in starts.items():
        idx = s[:, None] + np.arange(lookback)[None, :]
        tdx = s[:, None] + lookback + np.arange(horizon)[None, :]
        out[split] = Split(scaled[idx][:, :, x_cols], scaled[tdx][:, :, y_cols])
    return out, mean, std


def _check_windows(
    name: str,
    total: int,
    segments: Mapping[str, tuple[int, int]],
    starts: Mapping[str, np.ndarray],
    lookback: int,
    horizon: int,
    fractions: tuple[float, float],
) -> None:
    """A one-line DataError when a segment gets too few windows (train `MIN_TRAIN`, the others
    one), with the largest lookback and horizon that would fit."""
    short = {k: len(v) for k, v in starts.items() if len(v) < (MIN_TRAIN if k == "train" else 1)}
    if not short:
        return
    split = next(iter(short))
    lo, hi = segments[split]
    h = _largest(horizon, lambda h: _fits(total, 1, h, *fractions))
    if h is None:
        advice = "the series is too short for any window; it needs more points"
    else:
        most = _largest(lookback, lambda n: _fits(total, n, h, *fractions))
        advice = f"lookback <= {most} with horizon {h} would fit"
    raise DataError(
        f"{name}: the series has {total} points and its {split} segment ({hi - lo} points) gets "
        f"{short[split]} windows of lookback {lookback} + horizon {horizon}; {advice}"
    )


def _dropped(
    name: str, values: np.ndarray, times: Sequence[str] | None, drop_last: int
) -> tuple[np.ndarray, Sequence[str] | None]:
    """The series without its last `drop_last` points (a DataError when none would be left)."""
    if drop_last <= 0:
        return values, times
    if drop_last >= len(values):
        raise DataError(f"{name}: drop_last={drop_last} leaves none of the series' {len(values)} points; "
                        f"give fewer than {len(values)}")  # fmt: skip
    return values[:-drop_last], None if times is None else list(times)[:-drop_last]


def _windows(
    total: int, lookback: int, horizon: int, val_fraction: float, test_fraction: float
) -> tuple[dict[str, tuple[int, int]], dict[str, np.ndarray]]:
    """The train/val/test point segments and each split's window starts."""
    n_test = max(horizon, round(total * test_fraction))
    n_val = max(horizon, round((total - n_test) * val_fraction))
    test_start = max(total - n_test, 0)
    val_start = max(test_start - n_val, 0)
    segments = {"train": (0, val_start), "val": (val_start, test_start), "test": (test_start, total)}
    # A window starting at s has inputs [s, s+lookback) and targets [s+lookback, s+lookback+horizon):
    # it belongs to the segment holding all its targets.
    starts = {
        split: np.arange(max(lo - lookback, 0), max(hi - lookback - horizon + 1, 0))
        for split, (lo, hi) in segments.items()
    }
    return segments, starts


def _largest(high: int, ok: Callable[[int], bool]) -> int | None:
    """The largest n in [1, high] with ok(n), for ok true up to some n and false after; None if ok(1) fails."""
    if not ok(1):
        return None
    lo, hi = 1, high
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
    return lo


def _fits(total: int, lookback: int, horizon: int, val_fraction: float, test_fraction: float) -> bool:
    _, starts = _windows(total, lookback, horizon, val_fraction, test_fraction)
    return len(starts["train"]) >= MIN_TRAIN and len(starts["val"]) >= 1 and len(starts["test"]) >= 1


def interpolate(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Fill NaN points of each column linearly (edges take the nearest value); return the count filled."""
    values = np.array(values, dtype=np.float64)
    filled = 0
    idx = np.arange(len(values))
    for c in range(values.shape[1]):
        bad = np.isnan(values[:, c])
        if bad.any() and not bad.all():
            values[bad, c] = np.interp(idx[bad], idx[~bad], values[~bad, c])
            filled += int(bad.sum())
    return values, filled
