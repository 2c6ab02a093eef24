"""Datasets by address, through the real shipped files and the real TFDS path.

Every shipped dataset used here is prepared once into one session-wide TFDS data_dir and
loaded once per module (fixtures), so the whole file stays fast.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import numpy as np
import pytest

from recipes.data import PAD_VALUE, list_datasets, load
from recipes.data.packaged import FORECAST, read_forecast, ucr_files
from recipes.data.prepare import split_indices
from recipes.data.tsfile import read_ts
from recipes.errors import DataError


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("tensorflow_datasets"))


@pytest.fixture(scope="module")
def gunpoint(data_dir):
    return load("ucr:GunPoint", data_dir=data_dir)


@pytest.fixture(scope="module")
def vowels(data_dir):
    return load("ucr:JapaneseVowels", data_dir=data_dir)


@pytest.fixture(scope="module")
def airline(data_dir):
    return load("forecast:airline", data_dir=data_dir)


@pytest.fixture(scope="module")
def rotten(data_dir):
    return load("text:rotten_tomatoes", data_dir=data_dir)


def error_of(address: str, **kwargs) -> str:
    """The one-line message of the DataError that loading `address` raises."""
    with pytest.raises(DataError) as caught:
        load(address, **kwargs)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


def rows(x: np.ndarray) -> set[bytes]:
    return {r.tobytes() for r in x}


# --- the package ------------------------------------------------------------------------


def test_import_is_light_and_lists_shipped_datasets() -> None:
    heavy = ("tensorflow", "tensorflow_datasets", "pandas", "keras", "sktime", "statsmodels")
    code = f"import sys, recipes.data as d; d.list_datasets(); print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    names = list_datasets()
    assert len(names) == 16
    for name in ("ucr:GunPoint", "ucr:JapaneseVowels", "ucr:PLAID", "forecast:airline", "forecast:macrodata"):
        assert name in names
    assert "text:rotten_tomatoes" in names


def test_data_dir_defaults_to_env_then_cache(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from recipes.data.tfds_io import data_dir_for

    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    assert data_dir_for() == str(tmp_path)
    assert data_dir_for("/elsewhere") == "/elsewhere"
    monkeypatch.delenv("ZOO_DATA_DIR")
    assert data_dir_for().endswith("lstm-zoo/tensorflow_datasets")


# --- ucr: ---------------------------------------------------------------------------------


def test_gunpoint_shapes_and_splits(gunpoint) -> None:
    d = gunpoint
    assert (len(d.train) + len(d.val), len(d.test)) == (50, 150)
    assert (len(d.train), len(d.val)) == (40, 10)
    assert d.train.x.shape[1:] == (150, 1) and d.train.x.dtype == np.float32
    assert d.task == "classification" and d.class_names == ["1", "2"] and d.num_outputs == 2
    assert d.train.y.dtype == np.int64 and not d.variable_length and d.train.lengths is None
    assert d.input_shape() == (150, 1)
    assert not rows(d.val.x) & rows(d.train.x)
    assert d.info["tfds"]["name"] == "zoo_ucr/GunPoint/1.0.0"
    assert d.info["source"][0] == "sktime/datasets/data/GunPoint/GunPoint_TRAIN.ts"


def test_validation_is_stratified_and_moves_with_the_seed_but_test_does_not(gunpoint, data_dir) -> None:
    d = gunpoint
    train_counts = np.bincount(np.concatenate([d.train.y, d.val.y]))
    val_counts = np.bincount(d.val.y, minlength=2)
    assert np.abs(val_counts - train_counts * 0.2).max() <= 1
    other = load("ucr:GunPoint", seed=1, data_dir=data_dir)
    assert rows(other.val.x) != rows(d.val.x)
    np.testing.assert_array_equal(other.test.y, d.test.y)
    assert d.info["preprocessing"]["validation"] == {
        "carved_from": "train",
        "fraction": 0.2,
        "seed": 0,
        "stratified": True,
    }


def test_scaler_is_fitted_on_train_only(gunpoint) -> None:
    d = gunpoint
    np.testing.assert_allclose(d.train.x.mean(axis=(0, 1)), 0, atol=1e-5)
    np.testing.assert_allclose(d.train.x.std(axis=(0, 1)), 1, atol=1e-4)
    scaler = d.info["preprocessing"]["scaler"]
    assert scaler["fitted_on"] == "train"
    raw_test = np.stack(read_ts(ucr_files("GunPoint")["test"]).series)
    restored = d.test.x * np.array(scaler["std"]) + np.array(scaler["mean"])
    np.testing.assert_allclose(restored, raw_test, atol=1e-4)  # test in file order, train statistics


def test_japanese_vowels_is_variable_length_and_right_padded(vowels) -> None:
    d = vowels
    assert (len(d.train) + len(d.val), len(d.test)) == (270, 370)
    assert d.num_features == 12 and d.num_outputs == 9 and d.variable_length
    assert d.max_length == 29 and d.input_shape() == (None, 12) and d.mask_value == PAD_VALUE
    lengths = np.concatenate([d.train.lengths, d.val.lengths, d.test.lengths])
    assert lengths.dtype == np.int32 and lengths.min() == 7 and lengths.max() == 29
    for split in (d.train, d.test):
        for x, n in zip(split.x, split.lengths, strict=True):
            assert (x[n:] == PAD_VALUE).all()
    # one scaler over the valid train steps (padding ignored), not a z-normalisation per series
    valid = np.concatenate([x[:n] for x, n in zip(d.train.x, d.train.lengths, strict=True)])
    np.testing.assert_allclose(valid.mean(axis=0), 0, atol=1e-4)
    val_valid = np.concatenate([x[:n] for x, n in zip(d.val.x, d.val.lengths, strict=True)])
    assert np.abs(val_valid.mean(axis=0)).max() > 0.02  # val took no part in the fit
    per_series = np.array([x[:n].mean(axis=0) for x, n in zip(d.train.x, d.train.lengths, strict=True)])
    assert np.abs(per_series).max() > 0.5
    assert d.info["preprocessing"]["padding"]["side"] == "right"


def test_basic_motions_has_six_channels_and_header_class_order(data_dir) -> None:
    d = load("ucr:BasicMotions", data_dir=data_dir)
    assert d.train.x.shape[1:] == (100, 6) and len(d.test) == 40 and len(d.train) + len(d.val) == 40
    assert d.class_names == ["Standing", "Running", "Walking", "Badminton"]


def test_prepared_data_loads_with_plain_tfds_offline(gunpoint, data_dir) -> None:
    import pathlib

    import tensorflow_datasets as tfds

    ds = tfds.load("zoo_ucr/GunPoint", split="test", data_dir=data_dir, download=False)
    assert sum(1 for _ in ds) == 150
    builder = tfds.builder_from_directory(str(pathlib.Path(data_dir) / "zoo_ucr" / "GunPoint" / "1.0.0"))
    assert builder.info.splits["train"].num_examples == 50
    assert builder.info.features["series"].shape == (None, 1)


# --- forecast: ------------------------------------------------------------------------------


def test_airline_windows_are_time_ordered_without_leakage(airline) -> None:
    d = airline
    assert d.task == "forecasting" and d.horizon == 12 and d.info["seasonality"] == 12
    assert d.train.x.shape[1:] == (24, 1) and d.train.y.shape[1:] == (12, 1)
    pre = d.info["preprocessing"]
    seg, first, n = pre["segments"], pre["first_target"], pre["windows"]
    assert n == {"train": len(d.train), "val": len(d.val), "test": len(d.test)}
    last_target_end = {k: first[k] + n[k] - 1 + d.horizon for k in n}
    assert last_target_end["train"] <= seg["val"][0] <= first["val"]
    assert last_target_end["val"] <= seg["test"][0] <= first["test"]
    assert first["test"] > first["val"] + n["val"] - 1  # first test target after the last val target start
    assert last_target_end["test"] == 144


def test_airline_inverse_targets_give_the_raw_series(airline) -> None:
    d = airline
    _, columns = read_forecast(FORECAST["airline"])
    raw = columns["passengers"]
    first = d.info["preprocessing"]["first_target"]
    for name, split in (("train", d.train), ("val", d.val), ("test", d.test)):
        expected = np.stack([raw[first[name] + i : first[name] + i + 12] for i in range(len(split))])[..., None]
        np.testing.assert_allclose(d.inverse_targets(split.y), expected, rtol=1e-5)
    # train-segment statistics only: the scaled train segment is centred, the later test is not
    mean, _ = d.target_scale
    np.testing.assert_allclose(mean, raw[: d.info["preprocessing"]["segments"]["train"][1]].mean(), rtol=1e-5)
    assert d.test.y.mean() > 1.0
    assert len(d.info["test_target_times"]) == len(d.test) and d.info["test_target_times"][0] == "1959-03"


def test_co2_missing_weeks_are_interpolated_and_macrodata_is_multivariate(data_dir) -> None:
    co2 = load("forecast:co2", data_dir=data_dir)
    assert co2.info["preprocessing"]["interpolated_points"] == 59 and co2.info["seasonality"] == 52
    assert np.isfinite(co2.train.x).all()
    macro = load("forecast:macrodata", data_dir=data_dir, target="unemp", features="unemp,realgdp,infl", lookback="8")
    assert macro.train.x.shape[1:] == (8, 3) and macro.target_names == ["unemp"] and macro.info["seasonality"] == 4


def test_forecast_errors_say_what_would_fit(airline) -> None:
    message = error_of("forecast:airline", lookback=200, data_dir=airline.info["tfds"]["data_dir"])
    assert "144 points" in message and "lookback 200" in message and "lookback <=" in message
    message = error_of("forecast:airline", lookbak=3)
    assert "unknown option 'lookbak'" in message and "did you mean: lookback" in message
    message = error_of("forecast:airline", target="pasengers", data_dir=airline.info["tfds"]["data_dir"])
    assert "no column 'pasengers'" in message and "passengers" in message


# --- text: ----------------------------------------------------------------------------------


def test_rotten_tomatoes_tokens(rotten) -> None:
    d = rotten
    assert d.input_kind == "tokens" and d.class_names == ["rotten", "fresh"] and d.variable_length
    assert d.train.x.dtype == np.int32 and d.train.x.shape[1] == d.info["sequence_length"] == 40
    assert len(d.unlabeled) == 1083 and d.unlabeled.y is None  # 1097 plots, 14 of them empty
    assert len(d.train) + len(d.val) + len(d.test) == 12752  # 12808 snippets, 56 exact duplicates
    vocabulary = d.info["vocabulary"]
    assert vocabulary[:2] == ["", "[UNK]"] and d.vocab_size == len(vocabulary) <= 20000
    for split in (d.train, d.test, d.unlabeled):
        for x, n in zip(split.x[:200], split.lengths[:200], strict=True):
            assert n >= 1 and (x[:n] != 0).all() and (x[n:] == 0).all()


STRIP = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


def test_vocabulary_comes_from_train_only(rotten, data_dir) -> None:
    import tensorflow_datasets as tfds

    from recipes.data.tfds_io import read_split

    builder = tfds.builder("zoo_text/rotten_tomatoes", data_dir=data_dir)
    train = [t.lower() for t in read_split(builder, "train")["text"]]
    train_words = {w for t in train for w in [*re.sub(STRIP, "", t).split(), *re.findall(r"\w+", t)]}
    raw = read_split(builder, "test")
    test = [raw["text"][i] for i in np.argsort(raw["row"], kind="stable")]  # the Dataset keeps file order
    vocabulary = set(rotten.info["vocabulary"])
    found = 0
    for i, text in enumerate(test):
        if not text.isascii():
            continue
        # TextVectorization's standardisation: ASCII lower case, ASCII punctuation stripped
        for pos, word in enumerate(re.sub(STRIP, "", text.lower()).split()[:40]):
            if word.isalpha() and word not in train_words:
                assert word not in vocabulary
                assert rotten.test.x[i, pos] == 1  # the OOV id
                found += 1
    assert found > 50


def test_info_is_json_friendly(gunpoint, vowels, airline, rotten) -> None:
    import json

    for d in (gunpoint, vowels, airline, rotten):
        assert json.loads(json.dumps(d.info)) == d.info
        assert json.loads(json.dumps(d.summary())) == d.summary()
    assert rotten.info["vocab_size"] == rotten.vocab_size and rotten.info["tfds"]["name"].startswith("zoo_text/")


# --- tfds: ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_builders(data_dir):
    """Tiny TFDS datasets registered here: text; series without a test split; one whose files are bad.

    They subclass `ZooBuilder` (local files), so `load` prepares them on first use.
    """
    import tensorflow_datasets as tfds

    from recipes.data.builders import ZooBuilder

    class TinyReviews(ZooBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = {"text": tfds.features.Text(), "label": tfds.features.ClassLabel(names=["neg", "pos"])}
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(features))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples("train"), "test": self._generate_examples("test")}

        def _generate_examples(self, split):
            words = ["good fine great", "bad awful poor"] if split == "train" else ["good zebra", "awful zebra"]
            for i in range(20 if split == "train" else 4):
                yield i, {"text": words[i % 2], "label": 1 - i % 2}

    class TinySeries(ZooBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = {
                "signal": tfds.features.Tensor(shape=(None, 3), dtype=np.float32),
                "kind": tfds.features.ClassLabel(names=["a", "b", "c"]),
            }
            return tfds.core.DatasetInfo(
                builder=self, features=tfds.features.FeaturesDict(features), supervised_keys=("signal", "kind")
            )

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            rng = np.random.default_rng(0)
            for i in range(30):
                yield i, {"signal": rng.normal(i % 3, 1, (5 + i % 4, 3)).astype(np.float32), "kind": i % 3}

    class TinyBroken(ZooBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = {
                "x": tfds.features.Tensor(shape=(None,), dtype=np.float32),
                "y": tfds.features.ClassLabel(num_classes=2),
            }
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(features))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            yield 0, {"x": np.zeros(3, np.float32), "y": 0}
            raise DataError("tiny.csv line 3: 'abc' is not a number")

    return data_dir


def test_tfds_text_dataset(tiny_builders) -> None:
    d = load("tfds:tiny_reviews", data_dir=tiny_builders)
    assert d.input_kind == "tokens" and d.class_names == ["neg", "pos"] and len(d.test) == 4
    assert set(d.info["vocabulary"]) == {"", "[UNK]", "good", "fine", "great", "bad", "awful", "poor"}
    assert (d.test.x[:, 1] == 1).all()  # "zebra" is only in test: OOV


def test_tfds_series_dataset_without_test_split(tiny_builders) -> None:
    d = load("tfds:tiny_series", data_dir=tiny_builders)
    assert d.num_features == 3 and d.variable_length and d.max_length == 8
    assert (len(d.train), len(d.val), len(d.test)) == (19, 5, 6)
    assert sorted(np.bincount(d.test.y)) == [2, 2, 2]


def test_tfds_builder_errors_reach_the_user_as_one_line(tiny_builders) -> None:
    message = error_of("tfds:tiny_broken", data_dir=tiny_builders)
    assert message == "tiny.csv line 3: 'abc' is not a number"
    message = error_of("tfds:tiny_series", data_dir=tiny_builders, x="signl")
    assert "no feature 'signl'" in message


def test_tfds_offline_without_prepared_data_fails_fast(tmp_path) -> None:
    start = time.monotonic()
    message = error_of("tfds:imdb_reviews", data_dir=str(tmp_path))
    assert time.monotonic() - start < 10
    assert "not found in" in message and "download=true" in message
    assert "did you mean: imdb_reviews" in error_of("tfds:imdb_reviewz", data_dir=str(tmp_path))


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("ucr:GunPont", ["unknown dataset 'ucr:GunPont'", "did you mean: ucr:GunPoint"]),
        ("JapaneseVowels", ["did you mean: ucr:JapaneseVowels"]),
        ("forcast:airline", ["unknown dataset source 'forcast:'", "did you mean: forecast"]),
        ("text:rotten", ["did you mean: text:rotten_tomatoes"]),
    ],
)
def test_unknown_names_suggest_close_matches(address: str, words: list[str]) -> None:
    message = error_of(address)
    for word in words:
        assert word in message


# --- file: ---------------------------------------------------------------------------------


def wide_csv(path, n: int = 20, length: int = 6, classes: int = 2):
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n, length)), columns=[f"t{i}" for i in range(length)])
    frame["label"] = [f"c{i % classes}" for i in range(n)]
    frame.to_csv(path, index=False)
    return frame


def test_file_npz(tmp_path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    np.savez(
        path,
        x_train=rng.normal(size=(30, 12)),
        y_train=np.array(["up", "down", "flat"] * 10),
        x_test=rng.normal(size=(9, 12)),
        y_test=np.array(["up", "down", "flat"] * 3),
        x_unlabeled=rng.normal(size=(4, 12)),
    )
    d = load(f"file:{path}")
    assert d.class_names == ["down", "flat", "up"] and d.train.x.shape[1:] == (12, 1)
    assert (len(d.train), len(d.val), len(d.test), len(d.unlabeled)) == (24, 6, 9, 4)
    x_train, x_test = rng.normal(size=(30, 12, 2)), rng.normal(size=(5, 12, 2))
    np.savez(path, x_train=x_train, y_train=rng.normal(size=30), x_test=x_test, y_test=rng.normal(size=5))
    d = load(f"file:{path}", task="regression")
    assert d.task == "regression" and d.train.y.shape == (24, 1)
    np.testing.assert_allclose(d.inverse_targets(d.test.y)[:, 0], np.load(path)["y_test"], rtol=1e-5)


def test_file_csv_wide_parquet_and_fixed_test_split(tmp_path) -> None:
    frame = wide_csv(tmp_path / "wide.csv")
    a = load(f"file:{tmp_path / 'wide.csv'}", scale=False)
    b = load(f"file:{tmp_path / 'wide.csv'}", seed=3, scale="false")
    assert a.train.x.shape[1:] == (6, 1) and len(a.test) == 4 and a.class_names == ["c0", "c1"]
    np.testing.assert_array_equal(a.test.x, b.test.x)
    frame.to_parquet(tmp_path / "wide.parquet")
    c = load(f"file:{tmp_path / 'wide.parquet'}", scale=False)
    np.testing.assert_allclose(c.test.x, a.test.x)


def test_file_long_format_variable_length(tmp_path) -> None:
    import pandas as pd

    records = []
    for sid in range(12):
        for step in range(4 + sid % 3):
            split = "test" if sid >= 9 else "train"
            records.append({"sid": sid, "t": step, "a": sid + step, "b": step * 2.0, "y": sid % 2, "part": split})
    frame = pd.DataFrame(records).sample(frac=1, random_state=0)  # steps out of order: `time` sorts them
    frame.to_csv(tmp_path / "long.csv", index=False)
    d = load(f"file:{tmp_path / 'long.csv'}", id="sid", time="t", label="y", split="part")
    assert d.num_features == 2 and d.variable_length and d.max_length == 6 and len(d.test) == 3
    assert sorted(np.concatenate([d.train.lengths, d.val.lengths]).tolist()) == [4, 4, 4, 5, 5, 5, 6, 6, 6]
    message = error_of(f"file:{tmp_path / 'long.csv'}", id="sid", time="t", label="y", split="part", equal_length=True)
    assert "equal_length" in message and "id" in message


def test_file_forecasting_csv(tmp_path) -> None:
    import pandas as pd

    t = np.arange(120)
    frame = pd.DataFrame({"month": t, "sales": 10 + np.sin(t / 3), "price": np.cos(t / 5)})
    frame.to_csv(tmp_path / "s.csv", index=False)
    d = load(f"file:{tmp_path / 's.csv'}", task="forecasting", target="sales", time="month", lookback=12, horizon=3)
    assert d.train.x.shape[1:] == (12, 2) and d.test.y.shape[1:] == (3, 1) and d.target_names == ["sales"]
    message = error_of(f"file:{tmp_path / 's.csv'}", task="forecasting", target="sales", lookback=100, horizon=3)
    assert "lookback 100" in message and "120 points" in message


@pytest.mark.parametrize(
    ("change", "options", "words"),
    [
        (lambda f: f.assign(t3=f["t3"].where(f.index != 3)), {}, ["column 't3' row 3", "NaN"]),
        (lambda f: f.assign(t2=["x" if i == 5 else "1" for i in range(len(f))]), {}, ["'t2'", "not numeric", "row 5"]),
        (lambda f: f.assign(label="c0"), {}, ["single class", "c0"]),
        (lambda f: f.drop(columns="label"), {}, ["no label column 'label'", "label=NAME"]),
        (lambda f: f, {"label": "lable"}, ["no label column 'lable'", "did you mean: label"]),
    ],
    ids=["nan", "non-numeric", "single-class", "no-label", "label-typo"],
)
def test_file_errors(tmp_path, change, options, words) -> None:
    frame = change(wide_csv(tmp_path / "base.csv"))
    frame.to_csv(tmp_path / "bad.csv", index=False)
    message = error_of(f"file:{tmp_path / 'bad.csv'}", **options)
    for word in words:
        assert word in message, message


def test_file_npz_nan_names_split_field_row(tmp_path) -> None:
    x = np.zeros((10, 5))
    x[7, 2] = np.nan
    np.savez(tmp_path / "n.npz", x_train=x, y_train=np.arange(10) % 2, x_test=np.ones((4, 5)), y_test=np.arange(4) % 2)
    message = error_of(f"file:{tmp_path / 'n.npz'}")
    assert "train x row" in message and "NaN" in message
    assert "no such file" in error_of(f"file:{tmp_path / 'missing.csv'}")


TS_HEADER = "# a tiny set\n@problemName Tiny\n@timeStamps false\n@missing {missing}\n@univariate true\n"
TS_HEADER += "@equalLength {equal}\n@classLabel true a b\n@data\n"


@pytest.mark.parametrize(
    ("body", "missing", "equal", "words"),
    [
        ("1,2,3:a\n1,2:b\n", "false", "true", ["Tiny_TRAIN.ts line 10", "@equalLength true promises 3"]),
        ("1,2,3:a\n1,2,3:c\n", "false", "true", ["line 10", "label 'c' is not in @classLabel (a, b)"]),
        ("1,?,3:a\n1,2,3:b\n", "false", "true", ["line 9", "missing value", "@missing true"]),
        ("1,2,x:a\n", "false", "true", ["line 9", "'x' is not a number"]),
    ],
    ids=["ragged", "label", "missing", "text"],
)
def test_ts_file_header_promises(tmp_path, body, missing, equal, words) -> None:
    (tmp_path / "Tiny_TRAIN.ts").write_text(TS_HEADER.format(missing=missing, equal=equal) + body)
    (tmp_path / "Tiny_TEST.ts").write_text(TS_HEADER.format(missing=missing, equal=equal) + "1,2,3:a\n3,2,1:b\n")
    message = error_of(f"file:{tmp_path / 'Tiny_TRAIN.ts'}")
    for word in words:
        assert word in message, message


def test_ts_file_with_missing_values_and_variable_lengths(tmp_path) -> None:
    header = TS_HEADER.format(missing="true", equal="false")
    body = "".join(f"{i},?,{i + 2},{i},?:{'ab'[i % 2]}\n" for i in range(10))
    (tmp_path / "Tiny_TRAIN.ts").write_text(header + body)
    (tmp_path / "Tiny_TEST.ts").write_text(header + "1,2,3:a\n3,2,1,0:b\n")
    d = load(f"file:{tmp_path / 'Tiny_TRAIN.ts'}")
    assert d.info["preprocessing"]["missing_values_interpolated"] == 10  # interior '?'; trailing ones are trimmed
    assert d.variable_length and d.max_length == 4 and sorted(set(d.test.lengths.tolist())) == [3, 4]


# --- carving --------------------------------------------------------------------------------


def test_split_indices_stratifies_and_keeps_singletons_in_train() -> None:
    labels = np.array([0] * 50 + [1] * 30 + [2])
    keep, carved, stratified = split_indices(len(labels), 0.2, seed=0, labels=labels)
    assert stratified and np.bincount(labels[carved], minlength=3).tolist() == [10, 6, 0]
    assert 80 in keep and not set(keep) & set(carved) and len(keep) + len(carved) == 81
    again, _, _ = split_indices(len(labels), 0.2, seed=0, labels=labels)
    np.testing.assert_array_equal(keep, again)
    tiny = np.array([0, 0, 1, 1, 2, 2])
    keep, carved, _ = split_indices(6, 0.5, seed=0, labels=tiny)
    assert set(tiny[keep].tolist()) == {0, 1, 2} and len(carved) == 3
