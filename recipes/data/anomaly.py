"""Anomaly-detection data by address: learn what normal looks like, then score a test part.

Addresses (the `anomaly:` prefix is optional):
    anomaly:InternalBleeding16          The UCR anomaly archive series 135 (arterial blood
                                        pressure) shipped in aeon's wheel: a normal prefix of
                                        1,200 points, then 6,301 test points with one
                                        labelled anomaly.
    anomaly:ucr:NAME[/normal=LABEL]     The one-class protocol over a shipped UCR/UEA set:
                                        train on the normal class's train series, test on the
                                        whole test split; the other classes are anomalies.
                                        LABEL is a class name as in the data (default: the
                                        first class).
    anomaly:file:PATH                   A user's .csv / .parquet series (one row a step), with
                                        value columns, an optional 0/1 `is_anomaly` column and
                                        a normal prefix (`normal_until=N`) or a `split` column.

Two kinds of data come back in one record, `AnomalyData`: a "stream" (one long series whose
steps are labelled, test `(1, T, C)`) or a "collection" (many series labelled one by one).
Values are raw; normalisation statistics come from the normal (train) part only. The files
are found without importing aeon or sktime. See docs/data.md.
"""

from __future__ import annotations

import csv
import importlib.util
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recipes.errors import DataError
from zoo.errors import did_you_mean

STREAMS = {
    "InternalBleeding16": (
        "aeon",
        "datasets/data/KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_{split}.csv",
        "UCR anomaly archive series 135 (KDD Cup 2021): arterial blood pressure of a pig; "
        "train is the normal prefix, test the rest of the recording with one labelled anomaly.",
    ),
}
ONE_CLASS_SETS = ("GunPoint", "ItalyPowerDemand", "ArrowHead", "BasicMotions", "ACSF1", "OSULeaf")
ANOMALY_DATASETS = (
    *(f"anomaly:{name}" for name in STREAMS),
    *(f"anomaly:ucr:{name}" for name in ONE_CLASS_SETS),
)
KINDS = ("stream", "collection")
FILE_OPTIONS = ("features", "label", "split", "normal_until")
_NOT_VALUES = {"timestamp", "time", "date", "datetime", "index", "step"}
_SPLIT_WORDS = {"train": True, "normal": True, "test": False}


@dataclass(frozen=True)
class AnomalyData:
    """Normal data to learn from and test data to score, with whatever labels exist.

    Attributes:
        name: The canonical address, e.g. "anomaly:ucr:GunPoint/normal=1".
        kind: "stream" (one long series, labelled per step) or "collection" (many series,
            labelled one by one).
        train: Normal data, raw float64 `(n, T, C)`; n=1 for a stream, n=0 (and T=0) when
            the data has no normal part (a file to score with an already trained detector).
        test: Data to score, raw float64 `(m, T, C)`; m=1 for a stream.
        step_labels: True where a test step is anomalous, bool `(m, T)`; None when unknown
            (collections and unlabelled files).
        series_labels: True where a test series is anomalous, bool `(m,)`; None when unknown.
            For a labelled stream, whether the series holds any anomaly.
        ranges: Labelled anomalous ranges of a stream as half-open `(start, stop)` test step
            indices; () for a labelled stream without anomalies, None for collections and
            unlabelled data.
        channels: One name per channel.
        info: JSON-friendly provenance: source files, sizes, the normal class, offsets.
    """

    name: str
    kind: str
    train: np.ndarray
    test: np.ndarray
    step_labels: np.ndarray | None
    series_labels: np.ndarray | None
    ranges: tuple[tuple[int, int], ...] | None
    channels: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"{self.name}: kind '{self.kind}' must be one of {', '.join(KINDS)}")
        if self.train.ndim != 3 or self.test.ndim != 3:
            raise DataError(f"{self.name}: train and test must be (series, steps, channels) arrays")
        if self.test.shape[2] != len(self.channels) or (len(self.train) and self.train.shape[2] != len(self.channels)):
            raise DataError(f"{self.name}: train, test and channel names disagree on the number of channels")

    @property
    def has_normal(self) -> bool:
        """Whether there is normal data to learn from."""
        return self.train.shape[0] > 0 and self.train.shape[1] > 0

    def normal_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel mean and standard deviation of the normal data, `(C,)` each.

        A constant channel gets a standard deviation of 1 (so standardising leaves it centred).

        Raises:
            DataError: The data has no normal part.
        """
        if not self.has_normal:
            raise DataError(
                f"{self.name}: no normal data to learn from; mark a normal prefix (normal_until=N) "
                "or a split column with train rows"
            )
        flat = self.train.reshape(-1, self.train.shape[2])
        mean, std = flat.mean(axis=0), flat.std(axis=0)
        return mean, np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)

    def standardise(self, x: np.ndarray) -> np.ndarray:
        """`x` (`(..., C)`, e.g. `train` or `test`) standardised with the normal data's statistics."""
        mean, std = self.normal_stats()
        return (np.asarray(x, dtype=np.float64) - mean) / std

    def summary(self) -> dict[str, Any]:
        """Shapes and label counts, JSON-friendly (what a run logs)."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "train_shape": list(self.train.shape),
            "test_shape": list(self.test.shape),
            "channels": list(self.channels),
        }
        if self.step_labels is not None:
            out["anomalous_steps"] = int(self.step_labels.sum())
        if self.series_labels is not None:
            out["anomalous_series"] = int(self.series_labels.sum())
        if self.ranges is not None:
            out["ranges"] = [list(r) for r in self.ranges]
        return out


def ranges_of(flags: np.ndarray) -> tuple[tuple[int, int], ...]:
    """The runs of True in a 1-D flag array as half-open `(start, stop)` index pairs."""
    flags = np.asarray(flags, dtype=bool).reshape(-1)
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return tuple(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def load_anomaly(address: str, **options: Any) -> AnomalyData:
    """Load anomaly-detection data by address (see the module docstring for the addresses).

    Args:
        address: "anomaly:InternalBleeding16", "anomaly:ucr:NAME[/normal=LABEL]" or
            "anomaly:file:PATH" (the "anomaly:" prefix is optional).
        **options: `normal=LABEL` (one-class sets, same as `/normal=`); `features=` (value
            columns, a list or "a,b"), `label=` (0/1 column, default "is_anomaly" when present),
            `split=` (column of train/normal/test, default "split" when present) and
            `normal_until=N` (the first N rows are normal) for files. Unknown options are an error.

    Returns:
        The data, raw values.

    Raises:
        DataError: One line naming the address and how to fix it (unknown names get close matches).
    """
    if not isinstance(address, str) or not address.strip():
        raise _unknown(str(address))
    text = address.strip()
    rest = text[len("anomaly:") :] if text.lower().startswith("anomaly:") else text
    scheme, _, name = rest.partition(":")
    if scheme.lower() == "file" and name:
        return _load_file(f"anomaly:file:{name}", name, options)
    if scheme.lower() == "ucr" and name:
        return _load_one_class(name, options)
    if ":" not in rest:
        streams = {n.lower(): n for n in STREAMS}
        if rest.lower() in streams:
            _no_options(f"anomaly:{streams[rest.lower()]}", options)
            return _load_stream(streams[rest.lower()])
    raise _unknown(text)


def _unknown(address: str) -> DataError:
    word = address.split(":")[-1].split("/")[0]
    names = [a.split(":")[-1] for a in ANOMALY_DATASETS]
    close = [ANOMALY_DATASETS[names.index(n)] for n in _close(word, names)]
    hint = f" (did you mean: {', '.join(close)}?)" if close else ""
    return DataError(
        f"unknown anomaly dataset '{address}'{hint}; shipped: {', '.join(ANOMALY_DATASETS)}; or anomaly:file:PATH"
    )


def _close(word: str, choices: list[str]) -> list[str]:
    """Close matches of `word` among `choices`, case-insensitively (at most 3)."""
    import difflib

    lower = {c.lower(): c for c in choices}
    return [lower[m] for m in difflib.get_close_matches(word.lower(), list(lower), n=3, cutoff=0.6)]


def _no_options(address: str, options: Mapping[str, Any]) -> None:
    given = sorted(k for k, v in options.items() if v is not None)
    if given:
        raise DataError(f"{address}: unknown option '{given[0]}'; this dataset takes no options")


def _aeon_file(relative: str) -> pathlib.Path:
    """A data file inside the installed aeon package, found without importing aeon."""
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "anomaly data ships in the 'aeon' package (data only), which is not installed; reinstall with make install"
        )
    path = pathlib.Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise DataError(f"aeon/{relative} is missing from the installed aeon; reinstall with make install")
    return path


def _read_csv_stream(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Timestamps, values and 0/1 labels of an aeon `timestamp,value,is_anomaly` file."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if [h.strip() for h in rows[0]] != ["timestamp", "value", "is_anomaly"]:
        raise DataError(f"{path.name}: header {rows[0]} is not timestamp,value,is_anomaly; reinstall with make install")
    body = np.array([[float(v) for v in r] for r in rows[1:] if r], dtype=np.float64)
    return body[:, 0].astype(np.int64), body[:, 1], body[:, 2] > 0


def _load_stream(name: str) -> AnomalyData:
    package, pattern, description = STREAMS[name]
    paths = {split: _aeon_file(pattern.format(split=split)) for split in ("TRAIN", "TEST")}
    _, train_x, train_y = _read_csv_stream(paths["TRAIN"])
    whole_t, whole_x, whole_y = _read_csv_stream(paths["TEST"])
    offset = len(train_x)
    # aeon's TEST file is the whole recording (its first rows repeat TRAIN); test is what follows.
    if (
        train_y.any()
        or not np.array_equal(whole_x[:offset], train_x)
        or not np.array_equal(whole_t, np.arange(len(whole_t)))
    ):
        raise DataError(f"anomaly:{name}: the files in {package} are not as expected; reinstall with make install")
    labels = whole_y[offset:]
    ranges = ranges_of(labels)
    info = {
        "source": [f"{package}/{pattern.format(split=s)}" for s in paths],
        "description": description,
        "test_offset": offset,
        "file_ranges": [[a + offset, b + offset] for a, b in ranges],
        "protocol": "train = the normal prefix; test = the rest of the recording (file steps offset..end)",
    }
    return AnomalyData(
        name=f"anomaly:{name}",
        kind="stream",
        train=train_x[None, :, None],
        test=whole_x[None, offset:, None],
        step_labels=labels[None, :],
        series_labels=np.array([labels.any()]),
        ranges=ranges,
        channels=("value",),
        info=info,
    )


def _load_one_class(spec_text: str, options: Mapping[str, Any]) -> AnomalyData:
    from recipes.data import packaged
    from recipes.data.tsfile import read_ts

    name, _, tail = spec_text.partition("/")
    sets = {n.lower(): n for n in ONE_CLASS_SETS}
    if name.strip().lower() not in sets:
        shipped = {n.lower(): n for n in packaged.UCR}
        if name.strip().lower() in shipped:
            raise DataError(
                f"anomaly:ucr:{shipped[name.strip().lower()]}: its series vary in length; the one-class "
                f"protocol takes equal-length sets: {', '.join(ONE_CLASS_SETS)}"
            )
        raise _unknown(f"anomaly:ucr:{name}")
    name = sets[name.strip().lower()]
    normal = _normal_option(name, tail, options)
    files = packaged.ucr_files(name)
    data = {split: read_ts(path) for split, path in files.items()}
    classes = list(packaged.UCR[name].class_names)
    normal = classes[0] if normal is None else normal
    address = f"anomaly:ucr:{name}/normal={normal}"
    if normal not in classes:
        raise DataError(f"{address}: no class '{normal}'{did_you_mean(normal, classes)}; classes: {', '.join(classes)}")
    train = [s for s, y in zip(data["train"].series, data["train"].labels, strict=True) if y == normal]
    test_y = np.array(data["test"].labels)
    if any(np.isnan(s).any() for split in data.values() for s in split.series):
        raise DataError(f"{address}: the set has missing values; the one-class protocol needs complete series")
    info = {
        "source": [f"sktime/datasets/data/{name}/{p.name}" for p in files.values()],
        "protocol": "one-class: train = the normal class's train series; test = the whole test split, "
        "anomalous = the other classes",
        "normal_class": normal,
        "classes": classes,
        "test_class_counts": {c: int((test_y == c).sum()) for c in classes},
    }
    return AnomalyData(
        name=address,
        kind="collection",
        train=np.stack(train).astype(np.float64),
        test=np.stack(data["test"].series).astype(np.float64),
        step_labels=None,
        series_labels=test_y != normal,
        ranges=None,
        channels=tuple(f"channel_{i}" for i in range(data["test"].channels))
        if data["test"].channels > 1
        else ("value",),
        info=info,
    )


def _normal_option(name: str, tail: str, options: Mapping[str, Any]) -> str | None:
    """The normal class from `/normal=LABEL` or the `normal=` option (not both, nothing else)."""
    unknown = sorted(k for k, v in options.items() if v is not None and k != "normal")
    if unknown:
        raise DataError(
            f"anomaly:ucr:{name}: unknown option '{unknown[0]}'{did_you_mean(unknown[0], ['normal'])}; "
            "valid options: normal"
        )
    from_address = None
    if tail:
        key, sep, value = tail.partition("=")
        if key.strip().lower() != "normal" or not sep or not value.strip():
            raise DataError(f"anomaly:ucr:{name}/{tail}: write the normal class as anomaly:ucr:{name}/normal=LABEL")
        from_address = value.strip()
    from_option = None if options.get("normal") is None else str(options["normal"]).strip()
    if from_address and from_option and from_address != from_option:
        raise DataError(f"anomaly:ucr:{name}: normal={from_option} disagrees with /normal={from_address}; give one")
    return from_address or from_option


def _load_file(address: str, path_text: str, options: Mapping[str, Any]) -> AnomalyData:
    from recipes.data.files import numeric_values, read_table, table_column
    from recipes.data.prepare import Options

    opts = Options(address, options, FILE_OPTIONS)
    path = pathlib.Path(path_text).expanduser()
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise DataError(f"{address}: anomaly files are .csv or .parquet (one row a step), not '{path.suffix}'")
    if not path.is_file():
        raise DataError(f"{address}: no such file {path}")
    frame = read_table(address, path)
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise DataError(f"{address}: the file has no rows")
    label = opts.str("label", "is_anomaly" if "is_anomaly" in frame.columns else None)
    split = opts.str("split", "split" if "split" in frame.columns else None)
    values = _value_columns(address, frame, opts.list("features", None), {label, split})
    x = numeric_values(address, frame, values)
    y = None if label is None else _flags(address, table_column(address, frame, label, "label"), label)
    is_train = _train_rows(address, frame, opts, split, table_column)
    if y is not None and (y & is_train).any():
        row = int(np.flatnonzero(y & is_train)[0])
        raise DataError(f"{address}: row {row} is in the normal part but labelled anomalous; fix {label} or the split")
    test = x[~is_train]
    if len(test) == 0:
        raise DataError(f"{address}: every row is normal (train); leave test rows after normal_until or in the split")
    labels = None if y is None else y[~is_train]
    return AnomalyData(
        name=address,
        kind="stream",
        train=x[is_train][None] if is_train.any() else np.zeros((0, 0, len(values))),
        test=test[None],
        step_labels=None if labels is None else labels[None],
        series_labels=None if labels is None else np.array([labels.any()]),
        ranges=None if labels is None else ranges_of(labels),
        channels=tuple(values),
        info=_file_info(path, len(frame), is_train, label),
    )


def _value_columns(address: str, frame: Any, features: list[str] | None, others: set[str | None]) -> list[str]:
    import pandas as pd

    if features:
        columns = [str(c) for c in frame.columns]
        for name in features:
            if name not in columns:
                raise DataError(
                    f"{address}: no value column '{name}'{did_you_mean(name, columns)}; columns: {', '.join(columns)}"
                )
        return list(features)
    chosen = [
        c
        for c in frame.columns
        if c not in others and c.lower() not in _NOT_VALUES and pd.api.types.is_numeric_dtype(frame[c])
    ]
    if not chosen:
        raise DataError(f"{address}: no numeric value column besides labels and time; pass features=NAME")
    return chosen


def _flags(address: str, column: Any, name: str) -> np.ndarray:
    import pandas as pd

    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{address}: label column '{name}' row {row} is {column.iloc[row]!r}; use 0 or 1")
    return values > 0


def _train_rows(address: str, frame: Any, opts: Any, split: str | None, column: Any) -> np.ndarray:
    """True for the normal (train) rows: from `normal_until=N` or a train/normal/test split column."""
    until = opts.int("normal_until", None, minimum=1)
    if until is not None and split is not None and opts.str("split", None) is not None:
        raise DataError(f"{address}: give normal_until= or split=, not both")
    if until is not None:
        if until >= len(frame):
            raise DataError(f"{address}: normal_until={until} leaves no test rows (the file has {len(frame)})")
        return np.arange(len(frame)) < until
    if split is None:
        return np.zeros(len(frame), dtype=bool)
    words = column(address, frame, split, "split").astype(str).str.strip().str.lower()
    bad = ~words.isin(list(_SPLIT_WORDS))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{address}: split column '{split}' row {row} is {words.iloc[row]!r}; use train, normal or test"
        )
    return words.map(_SPLIT_WORDS).to_numpy(dtype=bool)


def _file_info(path: pathlib.Path, rows: int, is_train: np.ndarray, label: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {"source": str(path), "rows": rows, "normal_rows": int(is_train.sum()), "label": label}
    normal = int(is_train.sum())
    if normal and is_train[:normal].all():  # a normal prefix: the test rows continue it
        info["test_offset"] = normal
    return info
