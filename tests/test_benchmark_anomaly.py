"""benchmarks/anomaly.py's report, rendered from a small results file (nothing trains)."""

from __future__ import annotations

from benchmarks import anomaly, common

MACHINE = {"cpu": "cpu", "cores": 2, "cpus_used": [0], "ram_gb": 8, "python": "3.11", "platform": "linux",
           "tensorflow": "2.21", "keras": "3.15", "gpus": 0}  # fmt: skip
COMMAND = "TF_CPP_MIN_LOG_LEVEL=2 taskset -c 0 .venv/bin/python benchmarks/anomaly.py --threads 1"
IB16 = "anomaly:InternalBleeding16"


def _meta(minute: int) -> dict:
    return {"date": f"2026-12-01T00:{minute:02d}:00+00:00", "machine": MACHINE, "threads": 1, "command": COMMAND}


def _detector(section: str, dataset: str, name: str, mode: str, seed: int, **metrics: float) -> dict:
    return {"section": section, "kind": "detector", "dataset": dataset, "name": name, "mode": mode, "seed": seed,
            "metrics": metrics, "window": 183, "horizon": 22, "detect_seconds": 60.0 + seed, "score_seconds": 1.5,
            "test_steps": 6301, **_meta(seed)}  # fmt: skip


def _baseline(section: str, dataset: str, name: str, seed: int | None, **metrics: float) -> dict:
    return {"section": section, "kind": "baseline", "dataset": dataset, "name": name, "seed": seed,
            "metrics": metrics, "window": 183, "seconds": 2.0, **_meta(9)}  # fmt: skip


def _scaling(length: int, seconds: float) -> dict:
    return {"section": "scaling", "kind": "scaling", "dataset": IB16, "name": "lstm", "mode": "forecast", "seed": 0,
            "length": length, "score_seconds": seconds, "rss_before_mb": 700.0, "scoring_peak_rss_mb": 900.0,
            "peak_rss_mb": 1200.0, "nonfinite_steps": 183, "window": 183, "horizon": 22, **_meta(30)}  # fmt: skip


def test_the_report_gives_hits_per_seed_one_class_tables_and_the_scaling_slope(tmp_path):
    results = tmp_path / "anomaly.jsonl"
    stream = {"auc_roc": 0.9, "f1": 0.2, "range_f1": 0.3, "ucr_distance": 0.0}
    gun = "anomaly:ucr:GunPoint/normal={}"
    records = [
        *[_detector("ib16", IB16, "lstm", "forecast", s, auc_pr=0.4, ucr_hit=1.0, **stream) for s in (0, 1, 2)],
        *[_detector("ib16", IB16, "gru", "forecast", s, auc_pr=0.5, ucr_hit=float(s > 0), **stream) for s in (0, 1, 2)],
        _baseline("ib16", IB16, "matrix_profile", None, auc_pr=0.7, ucr_hit=1.0, **stream),
        {**_detector("ib16", IB16, "cnn_lstm", "forecast", 0), "error": "DataError: boom"},
        _detector("oneclass", gun.format(1), "lstm", "forecast", 0, auc_roc=0.8),
        _detector("oneclass", gun.format(2), "lstm", "forecast", 0, auc_roc=0.6),
        _detector("oneclass", gun.format(2), "lstm", "forecast", 1, auc_roc=0.8),
        _baseline("oneclass", gun.format(1), "matrix_profile", None, auc_roc=0.9),
        _baseline("oneclass", gun.format(2), "matrix_profile", None, auc_roc=0.5),
        _scaling(1000, 0.3),
        _scaling(10000, 3.0),
        {**_scaling(1000000, 0.0), "error": "killed (SIGKILL: out of memory?): "},
    ]
    for record in records:
        common.append(results, record)
    text = anomaly.render(common.read_results(results))

    assert "| lstm | forecast | 3/3 (✓ ✓ ✓) | 0.400 ± 0.000 | 0.900 ± 0.000 |" in text
    assert "| gru | forecast | 2/3 (✗ ✓ ✓) | 0.500 ± 0.000 |" in text
    assert "| **matrix_profile** (baseline) | — | 1/1 (✓) | 0.700 |" in text
    assert '3 of 3 seeds": holds.** Best zoo detector (most hits, then mean AUC-PR): lstm forecast, 3/3' in text
    assert "| lstm | forecast | 0,1 (n=1/2) | 0.800 | 0.700 | 0.750 | 60.3 |" in text
    assert "| **matrix_profile** (baseline) | — | — | 0.900 | 0.500 | 0.700 | 2.0 |" in text
    assert "the best baseline's\": holds** (lstm forecast 0.750 vs matrix_profile 0.700)" in text
    assert "| 10,000 | 3.00 | 300.0 | 700 | 900 | 1200 | 183 |" in text
    assert "| 1,000,000 | failed: killed (SIGKILL: out of memory?)" in text
    assert "slope of time against length: 1.00" in text
    assert "cnn_lstm forecast seed 0: DataError: boom" in text
    assert COMMAND in text


def test_a_rerun_skips_finished_cells_and_retries_failed_ones():
    done = anomaly._done([{"section": "ib16", "dataset": IB16, "name": "lstm", "mode": "forecast", "seed": 0},
                          {"section": "ib16", "dataset": IB16, "name": "gru", "mode": "forecast", "seed": 0,
                           "error": "x"}])  # fmt: skip
    assert done == {("ib16", IB16, "lstm", "forecast", 0, None)}
