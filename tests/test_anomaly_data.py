"""Anomaly-detection data (shipped files, one-class protocol, user files), metrics and baselines."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from recipes.anomaly import baselines, metrics
from recipes.data.anomaly import ANOMALY_DATASETS, AnomalyData, load_anomaly, ranges_of
from recipes.errors import DataError

# --- data -------------------------------------------------------------------------------------


def test_internal_bleeding_is_the_shipped_ucr_series() -> None:
    data = load_anomaly("anomaly:InternalBleeding16")
    assert data.kind == "stream" and data.name == "anomaly:InternalBleeding16"
    assert data.train.shape == (1, 1200, 1) and data.test.shape == (1, 6301, 1)
    assert data.ranges == ((2987, 2999),)  # file steps 4187..4198, after the 1,200-step normal prefix
    assert data.info["test_offset"] == 1200 and data.info["file_ranges"] == [[4187, 4199]]
    assert data.step_labels.shape == (1, 6301) and data.step_labels.sum() == 12
    assert data.series_labels.tolist() == [True]
    assert data.info["source"][0].startswith("aeon/datasets/data/KDD-TSAD_135/")
    mean, std = data.normal_stats()
    assert mean[0] == pytest.approx(data.train.mean()) and std[0] == pytest.approx(data.train.std())
    assert data.standardise(data.train).mean() == pytest.approx(0.0, abs=1e-9)
    assert load_anomaly("internalbleeding16").name == "anomaly:InternalBleeding16"  # prefix and case optional


def test_one_class_protocol_on_gunpoint() -> None:
    data = load_anomaly("anomaly:ucr:GunPoint/normal=1")
    assert data.kind == "collection" and data.info["normal_class"] == "1"
    assert data.train.shape == (24, 150, 1) and data.test.shape == (150, 150, 1)
    assert data.series_labels.sum() == 74 and data.step_labels is None and data.ranges is None
    assert data.info["test_class_counts"] == {"1": 76, "2": 74}
    assert load_anomaly("anomaly:ucr:GunPoint").name == "anomaly:ucr:GunPoint/normal=1"  # the first class
    other = load_anomaly("ucr:gunpoint", normal="2")
    assert other.name == "anomaly:ucr:GunPoint/normal=2" and other.train.shape[0] == 26
    assert other.series_labels.sum() == 76
    assert other.test.min() < -1 or other.test.max() > 1 or not np.allclose(other.test.std(), 1)  # raw values


def _csv(tmp_path, text: str):
    path = tmp_path / "series.csv"
    path.write_text(text)
    return f"anomaly:file:{path}"


def test_a_user_file_with_a_normal_prefix_and_labels(tmp_path) -> None:
    rows = "\n".join(f"{t},{np.sin(t / 3):.4f},{2 * t},{int(7 <= t < 9)}" for t in range(12))
    address = _csv(tmp_path, "timestamp,a,b,is_anomaly\n" + rows + "\n")
    data = load_anomaly(address, normal_until=5)
    assert data.channels == ("a", "b") and data.train.shape == (1, 5, 2) and data.test.shape == (1, 7, 2)
    assert data.ranges == ((2, 4),) and data.info["test_offset"] == 5
    assert load_anomaly(address, features="a", normal_until=5).channels == ("a",)
    scored_only = load_anomaly(address)  # no normal part: test is every row
    assert not scored_only.has_normal and scored_only.test.shape == (1, 12, 2)
    with pytest.raises(DataError, match="no normal data"):
        scored_only.normal_stats()
    split = _csv(tmp_path, "value,split\n1,train\n2,normal\n3,test\n")
    assert load_anomaly(split).train.shape == (1, 2, 1)


@pytest.mark.parametrize(
    ("address", "options", "message"),
    [
        ("anomaly:InternalBleedin16", {}, "did you mean: anomaly:InternalBleeding16"),
        ("anomaly:ucr:GunPont", {}, "did you mean: anomaly:ucr:GunPoint"),
        ("anomaly:ucr:GunPoint/normal=3", {}, "no class '3'; classes: 1, 2"),
        ("anomaly:ucr:GunPoint/normal=1", {"normal": "2"}, "disagrees"),
        ("anomaly:ucr:GunPoint", {"nromal": "2"}, "did you mean: normal"),
        ("anomaly:ucr:JapaneseVowels", {}, "vary in length"),
        ("anomaly:InternalBleeding16", {"window": 3}, "takes no options"),
        ("anomaly:nowhere:x", {}, "shipped: anomaly:InternalBleeding16"),
    ],
)
def test_bad_addresses_are_one_line(address: str, options: dict, message: str) -> None:
    with pytest.raises(DataError, match=message) as caught:
        load_anomaly(address, **options)
    assert "\n" not in str(caught.value)


def test_bad_files_are_one_line(tmp_path) -> None:
    address = _csv(tmp_path, "timestamp,value,is_anomaly\n0,1.0,0\n1,2.0,1\n2,3.0,0\n")
    cases = [
        ({"features": "vaule"}, "no value column 'vaule' \\(did you mean: value"),
        ({"label": "anomaly"}, "no label column 'anomaly'"),
        ({"normal_until": 2}, "row 1 is in the normal part but labelled anomalous"),
        ({"normal_until": 3}, "leaves no test rows"),
    ]
    for options, message in cases:
        with pytest.raises(DataError, match=message) as caught:
            load_anomaly(address, **options)
        assert "\n" not in str(caught.value)
    with pytest.raises(DataError, match="use 0 or 1"):
        load_anomaly(_csv(tmp_path, "value,is_anomaly\n1,0\n2,5\n"))
    assert len(ANOMALY_DATASETS) == len(set(ANOMALY_DATASETS)) and "anomaly:ucr:GunPoint" in ANOMALY_DATASETS


# --- metrics (hand-computed) ------------------------------------------------------------------


def test_threshold_free_metrics() -> None:
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    assert metrics.auc_roc(labels, scores) == pytest.approx(0.75)
    assert metrics.auc_pr(labels, scores) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)  # average precision
    assert math.isnan(metrics.auc_roc(np.zeros(4), scores)) and math.isnan(metrics.auc_pr(np.zeros(4), scores))
    assert metrics.series_aucs(labels, scores) == {"auc_roc": pytest.approx(0.75), "auc_pr": pytest.approx(5 / 6)}
    with pytest.raises(DataError, match="NaN"):
        metrics.auc_roc(labels, np.array([0.1, np.nan, 0.2, 0.3]))


def test_point_and_range_f1() -> None:
    result = metrics.f1_at([0, 1, 1, 0, 0], [0.0, 0.9, 0.2, 0.8, 0.0], threshold=0.5)
    assert (result.precision, result.recall, result.f1) == (0.5, 0.5, 0.5)
    labels = np.zeros(24, dtype=bool)
    labels[2:6] = labels[10:12] = True  # real ranges [2, 6) and [10, 12)
    flags = np.zeros(24, dtype=bool)
    flags[3:5] = flags[20:22] = True  # one half-covers the first range, one is a false alarm
    result = metrics.range_f1(labels, flags)
    assert (result.recall, result.precision, result.f1) == pytest.approx((0.25, 0.5, 1 / 3))
    pieces = np.zeros(24, dtype=bool)
    pieces[2] = pieces[4:6] = True  # the first range found in two pieces covering 3/4
    assert metrics.range_f1(labels, pieces).recall == pytest.approx(0.375 / 2)
    assert metrics.range_f1(labels, pieces, cardinality="one").recall == pytest.approx(0.75 / 2)
    assert metrics.range_f1(labels, pieces, alpha=1.0).recall == pytest.approx(0.5)  # existence only
    front = np.zeros(4, dtype=bool)
    front[0] = True
    assert metrics.range_f1(np.ones(4), front, bias="front").recall == pytest.approx(4 / 10)
    assert metrics.range_f1(np.ones(4), front, bias="back").recall == pytest.approx(1 / 10)
    assert ranges_of(labels) == ((2, 6), (10, 12))


def test_ucr_score_allows_100_steps_either_side() -> None:
    ranges = [(400, 420)]  # steps 400..419
    for where, hit in [(300, True), (299, False), (410, True), (519, True), (520, False)]:
        scores = np.zeros(1000)
        scores[where] = 1.0
        assert metrics.ucr_score(scores, ranges) is hit, where
    assert metrics.ucr_score(np.eye(1, 1000, 350), ranges, tolerance=10) is False


def test_thresholds_on_normal_scores() -> None:
    assert metrics.quantile_threshold(np.arange(1001) / 1000, q=0.9) == pytest.approx(0.9)
    scores = np.random.default_rng(0).exponential(1.0, 200_000)  # tail above any t is exponential(1)
    fit = metrics.fit_pot(scores, risk=1e-4, level=0.98)
    assert fit.shape == pytest.approx(0.0, abs=0.05) and fit.scale == pytest.approx(1.0, rel=0.05)
    assert fit.peaks == 4000 and fit.threshold == pytest.approx(-math.log(1e-4), abs=0.5)  # 9.21
    assert metrics.pot_threshold(scores, risk=1e-4) == fit.threshold
    with pytest.raises(DataError, match="at least 10 normal"):
        metrics.pot_threshold(np.ones(3))


# --- baselines --------------------------------------------------------------------------------


def _sine_stream() -> AnomalyData:
    rng = np.random.default_rng(0)
    t = np.arange(3000)
    x = np.sin(2 * np.pi * t / 50) + 0.05 * rng.standard_normal(len(t))
    x[2200:2220] += 1.5  # a short level shift in the test part
    labels = np.zeros(2000, dtype=bool)
    labels[1200:1220] = True
    return AnomalyData(
        name="synthetic",
        kind="stream",
        train=x[None, :1000, None],
        test=x[None, 1000:, None],
        step_labels=labels[None],
        series_labels=np.array([True]),
        ranges=((1200, 1220),),
        channels=("value",),
        info={"test_offset": 1000},
    )


def test_window_steps_and_period() -> None:
    assert baselines.windows_to_steps(np.array([[1.0, 2.0, 3.0]]), 2).tolist() == [[1.0, 1.5, 2.5, 3.0]]
    assert baselines.default_window(_sine_stream()) == 50
    assert baselines.period(np.random.default_rng(0).standard_normal(500)) is None


def test_baselines_locate_an_injected_anomaly() -> None:
    data = _sine_stream()
    for method in baselines.METHODS:
        result = baselines.score(method, data)
        assert result.steps.shape == (1, 2000) and result.series.shape == (1,) and result.window == 50
        assert np.isfinite(result.steps).all() and result.normal is not None and result.normal.size > 100
        assert metrics.ucr_score(result.steps, data.ranges, tolerance=50), method
        assert metrics.auc_roc(data.step_labels, result.steps) > 0.9, method
    with pytest.raises(DataError, match="unknown anomaly baseline 'matrix_profil' \\(did you mean: matrix_profile"):
        baselines.score("matrix_profil", data)


def test_the_matrix_profile_is_compiled_once_per_machine_not_per_process() -> None:
    """stumpy's numba functions are cached in the zoo's cache (a per-session folder under test)."""
    import os

    import numba

    from recipes.caches import cache_dir

    baselines.score("matrix_profile", _sine_stream())
    where = os.environ.get("NUMBA_CACHE_DIR") or str(cache_dir("numba"))
    assert numba.config.CACHE_DIR == where
    compiled = {p.name.split("-")[0] for p in Path(where).rglob("*.nbc")}  # module.function-line.py311.1.nbc
    assert "stump._stump" in compiled, sorted(compiled)


def test_baselines_score_collections_per_series() -> None:
    rng = np.random.default_rng(1)
    t = np.linspace(0, 4 * np.pi, 120)
    normal = np.sin(t) + 0.05 * rng.standard_normal((30, 120))
    test = np.sin(t) + 0.05 * rng.standard_normal((20, 120))
    test[10:, 60:75] += 1.0  # half the test series carry a bump
    data = AnomalyData(
        name="synthetic-collection",
        kind="collection",
        train=normal[:, :, None],
        test=test[:, :, None],
        step_labels=None,
        series_labels=np.arange(20) >= 10,
        ranges=None,
        channels=("value",),
    )
    for method in baselines.METHODS:
        result = baselines.score(method, data, window=16)
        assert result.steps.shape == (20, 120) and result.series.shape == (20,)
        assert metrics.series_aucs(data.series_labels, result.series)["auc_roc"] > 0.9, method
