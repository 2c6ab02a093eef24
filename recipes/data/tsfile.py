"""A reader for sktime's `.ts` format (UCR/UEA archive files), without sktime.

Format: `#` comment lines, `@` header lines (`@problemName`, `@univariate`, `@dimensions`,
`@equalLength`, `@seriesLength`, `@classLabel true l1 l2 ...` or `@targetLabel true`,
`@missing`, `@timeStamps`), then `@data` and one row per series:
`ch1v1,ch1v2,...:ch2v1,...:label`. `?` (or `NaN`) marks a missing value.

The header's promises are checked: a ragged row in an `@equalLength true` file, a label not
declared in `@classLabel`, or a missing value without `@missing true` is a `DataError`
naming the file and line.
"""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass, field

import numpy as np

from recipes.errors import DataError

_TRUE = {"true": True, "false": False}


@dataclass
class TsData:
    """The content of one `.ts` file.

    Attributes:
        series: One float32 array `(time, channels)` per row; missing values are NaN.
        labels: The label text per row (class name, or the number for regression).
        class_names: Labels declared by `@classLabel`, in header order; None for regression.
        header: The `@` header fields (lower-case keys, raw string values).
        lines: The file line number of each row (1-based), for messages.
        description: The `#` comment lines joined.
        labelled: Whether rows end with a label (`@classLabel true` or `@targetLabel true`).
    """

    series: list[np.ndarray]
    labels: list[str]
    class_names: list[str] | None
    header: dict[str, str] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)
    description: str = ""
    labelled: bool = True

    @property
    def channels(self) -> int:
        """Channels per step."""
        return int(self.series[0].shape[1]) if self.series else 0

    @property
    def lengths(self) -> np.ndarray:
        """Steps per row."""
        return np.array([len(s) for s in self.series], dtype=np.int32)


def _flag(header: dict[str, str], key: str, where: str) -> bool | None:
    if key not in header:
        return None
    value = header[key].split()[0].lower() if header[key].split() else ""
    if value not in _TRUE:
        raise DataError(f"{where}: @{key} must be true or false, not '{header[key]}'")
    return _TRUE[value]


def _positive(value: str, key: str, where: str) -> int:
    word = (value.split() or [""])[0]
    if not word.isdigit() or int(word) < 1:
        raise DataError(f"{where}: @{key} must be a positive integer, not '{value}'")
    return int(word)


def _number(text: str, where: str, missing: bool) -> float:
    text = text.strip()
    if text == "?" or text.lower() == "nan":
        if not missing:
            raise DataError(f"{where}: missing value '{text}' but the header has no '@missing true'; fix the row")
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise DataError(
            f"{where}: '{text[:20]}' is not a number; values must be numeric (or ? when @missing true)"
        ) from None
    if not math.isfinite(value):
        raise DataError(f"{where}: value '{text}' is not finite; use ? for missing values with '@missing true'")
    return value


def read_ts(path: str | pathlib.Path) -> TsData:
    """Parse a `.ts` file and check its rows against its header.

    Args:
        path: The file.

    Returns:
        The parsed rows, labels and header.

    Raises:
        DataError: One line naming the file and line when the file breaks its header's promises.
    """
    path = pathlib.Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror}") from None
    header: dict[str, str] = {}
    comments: list[str] = []
    series: list[np.ndarray] = []
    labels: list[str] = []
    lines: list[int] = []
    layout: _Layout | None = None  # set at @data
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        where = f"{name} line {number}"
        if layout is not None:
            array, label = _row(line, where, layout, len(series[0]) if series else None)
            series.append(array)
            labels.append(label)
            lines.append(number)
        elif line.startswith("#"):
            comments.append(line.lstrip("#\ufeff ").strip())
        elif not line.startswith("@"):
            raise DataError(f"{where}: expected a # comment or an @ header line before @data")
        else:
            key, _, value = line[1:].partition(" ")
            if key.lower() == "data":
                layout = _layout(header, name, where)
            else:
                header[key.lower()] = value.strip()
    if layout is None:
        raise DataError(f"{name}: no @data line; not a .ts file")
    if not series:
        raise DataError(f"{name}: no rows after @data")
    return TsData(series, labels, layout.class_names, header, lines, " ".join(c for c in comments if c),
                  layout.has_labels)  # fmt: skip


@dataclass
class _Layout:
    """What a `.ts` header promises its rows."""

    channels: int | None  # None: neither @univariate nor @dimensions; the first row tells
    has_labels: bool
    class_names: list[str] | None
    missing: bool
    equal: bool
    length: int | None  # @seriesLength, where @equalLength true


def _layout(header: dict[str, str], name: str, where: str) -> _Layout:
    """The header read at its @data line, refused in one line where it promises nothing usable."""
    if _flag(header, "timestamps", where):
        raise DataError(f"{name}: @timeStamps true files are not supported; export the values without timestamps")
    missing = bool(_flag(header, "missing", where))
    equal = bool(_flag(header, "equallength", where))
    if _flag(header, "univariate", where):
        channels: int | None = 1
    elif "dimensions" in header:
        channels = _positive(header["dimensions"], "dimensions", where)
    else:
        channels = None
    length = _positive(header["serieslength"], "seriesLength", where) if "serieslength" in header and equal else None
    has_labels, class_names = False, None
    if "classlabel" in header:
        words = header["classlabel"].split()
        has_labels = bool(words) and words[0].lower() == "true"
        class_names = words[1:] if has_labels else None
        if has_labels and not class_names:
            raise DataError(f"{where}: @classLabel true lists no labels; add them (e.g. @classLabel true a b)")
    elif "targetlabel" in header:
        has_labels = header["targetlabel"].split()[:1] == ["true"]
    return _Layout(channels, has_labels, class_names, missing, equal, length)


def _row(line: str, where: str, layout: _Layout, first_length: int | None) -> tuple[np.ndarray, str]:
    """One data row as a (steps, channels) array and its label ("" without labels), checked
    against the header (and, for equal lengths, against the first row)."""
    parts = line.split(":")
    if layout.channels is None:
        layout.channels = len(parts) - 1 if layout.has_labels else len(parts)
    channels = layout.channels
    label = ""
    if layout.has_labels:
        if len(parts) != channels + 1:
            raise DataError(f"{where}: {len(parts) - 1} channels and a label, the header says {channels} channels")
        label = parts.pop().strip()
        if layout.class_names is not None and label not in layout.class_names:
            raise DataError(
                f"{where}: label '{label}' is not in @classLabel ({', '.join(layout.class_names)}); "
                "fix the label or the header"
            )
        if layout.class_names is None:
            _number(label, f"{where} (target)", False)
    elif len(parts) != channels:
        raise DataError(f"{where}: {len(parts)} channels, the header says {channels}")
    values = [[_number(v, f"{where} channel {c + 1}", layout.missing) for v in p.split(",")]
              for c, p in enumerate(parts)]  # fmt: skip
    steps = {len(v) for v in values}
    if len(steps) > 1:
        raise DataError(
            f"{where}: channels have different lengths {sorted(steps)}; every channel needs one value per step"
        )
    array = np.asarray(values, dtype=np.float32).T
    if layout.equal:
        expected = layout.length if layout.length is not None else first_length
        expected = len(array) if expected is None else expected
        if len(array) != expected:
            raise DataError(
                f"{where}: {len(array)} steps but @equalLength true promises {expected}; "
                "fix the row or set @equalLength false"
            )
    return array, label


def fill_missing(series: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Trim trailing missing steps and interpolate interior ones, per channel.

    Returns:
        The filled series and how many values were interpolated.
    """
    out, filled = [], 0
    for s in series:
        present = ~np.isnan(s).all(axis=1)
        end = int(np.flatnonzero(present)[-1]) + 1 if present.any() else 0
        s = s[:end].copy()
        for c in range(s.shape[1]):
            bad = np.isnan(s[:, c])
            if bad.any() and not bad.all():
                idx = np.arange(len(s))
                s[bad, c] = np.interp(idx[bad], idx[~bad], s[~bad, c])
                filled += int(bad.sum())
        out.append(s)
    return out, filled
