"""benchmarks/serving.py's report, rendered from a small results file (nothing trains or serves)."""

from __future__ import annotations

import pytest

from benchmarks import common, serving

MACHINE = {"cpu": "cpu", "cores": 2, "cpus_used": [0], "ram_gb": 8, "python": "3.11", "platform": "linux",
           "tensorflow": "2.21", "keras": "3.15", "gpus": 0}  # fmt: skip
COMMAND = "TF_CPP_MIN_LOG_LEVEL=2 taskset -c 0 .venv/bin/python benchmarks/serving.py --threads 1"
MODEL = {"train_command": "MLFLOW_TRACKING_URI=sqlite:///TMP/mlflow.db zoo train lstm_fcn --data ucr:GunPoint "
         "--epochs 10 --register serving-benchmark", "train_seconds": 25.0, "run_id": "abc", "epochs": 10,
         "registered": "serving-benchmark v1", "model_uri": "models:/serving-benchmark@champion",
         "test_accuracy": 0.9, "params": 283010, "mlflow": "3.17.2"}  # fmt: skip


def _record(cell: str, minute: int, **fields) -> dict:
    return {"cell": cell, "model": MODEL, "note": "another benchmark on core 1", "machine": MACHINE, "threads": 1,
            "date": f"2026-12-01T00:{minute:02d}:00+00:00", "command": COMMAND, "other_cores_busy": {"1": 1.0},
            "own_cores_foreign": 0.01, "quiet_wait": 120.0, "waited_for_quiet_seconds": 10.0, "dropped": [],
            "topped_up": 0, **fields}  # fmt: skip


def _serve(server: str, size: int, seconds: list[float], **fields) -> dict:
    return _record(f"serve-{server}-{size}", 5, section="serve", server=server, size=size, body_bytes=size * 3400,
                   seconds=seconds, **fields)  # fmt: skip


def test_the_report_gives_cold_and_warm_latency_and_the_predict_times(tmp_path):
    results = tmp_path / "serving.jsonl"
    cold = {"starts": 3, "up_seconds": [6.0, 5.0, 7.0]}
    disturbed = [{"seconds": 2.0, "foreign": 0.5}]
    predict = {"section": "predict", "file": "series_10000.npz", "file_mb": 11.5, "n_series": 10000, "n_train": 50,
               "steps": 150}  # fmt: skip
    command = "MLFLOW_TRACKING_URI=sqlite:///TMP/mlflow.db zoo predict RUN_ID --data file:series_10000.npz --out p.csv"
    records = [
        _record("model", 1, section="model"),
        _serve("cold", 1, [0.9, 0.1, 0.2], second_request_seconds=[0.01, 0.01, 0.01], **cold),  # a later line wins
        _serve("cold", 1, [0.14, 0.15, 0.16], second_request_seconds=[0.008, 0.009, 0.010], **cold),
        _serve("cold", 256, [0.6, 0.7, 0.65], second_request_seconds=[0.2, 0.2, 0.2], **cold, topped_up=1),
        _serve("warm", 1, [i / 1000 for i in range(1, 51)], warmup=5, chunk=10, dropped=disturbed),
        _serve("warm", 256, [0.25] * 50, warmup=5, chunk=10, cpu_seconds=[0.2] * 50),
        _record(
            "predict-cli",
            9,
            kind="cli",
            seconds=[20.0, 19.0, 21.0],
            predict_command=command,
            scored="scored on ...: accuracy 0.9000",
            dropped=disturbed * 2,
            **predict,
        ),
        _record("predict-in-process-first", 9, seconds=[12.0], **predict),
        _record("predict-in-process-later", 9, seconds=[10.0, 11.0], **predict),
        _record("predict-in-process-model", 9, seconds=[9.0, 10.0, 9.5], cpu_seconds=[9.0] * 3, **predict),
        {**_record("serve", 9), "error": "RuntimeError: a later try that failed"},
    ]
    for record in records:
        common.append(results, record)
    records = common.read_results(results)

    assert serving.summary([i / 1000 for i in range(1, 51)])["p90"] == pytest.approx(0.0451)
    assert serving.latest(records)["serve-cold-1"]["seconds"] == [0.14, 0.15, 0.16]

    text = serving.render(records)
    assert "| 1 series (3 KiB) | warm | 50 (after 5 untimed; 1 run of 10 disturbed, dropped) | 25.5 | 45.1 |" in text
    assert (
        "| 1 series (3 KiB) | cold (first request) | 3 (one per fresh server) | 150.0 | 158.0 | 140.0 | 160.0 | — |"
        in text
    )
    assert "| 256 series (850 KiB) | cold (first request) | 3 (one per fresh server; 1 disturbed, kept) |" in text
    assert (
        "| 256 series (850 KiB) | warm | 50 (after 5 untimed) | 250.0 | 250.0 | 250.0 | 250.0 | 200.0 | 1,024 |" in text
    )
    assert "3 fresh servers per size, 6 starts in all" in text and "answered `/ping` after 6.0 s" in text
    assert "256 series 200.0 ms median (warm: 250.0)" in text
    assert "## `zoo predict` on 10,000 series" in text
    assert f"| `{command}`, the command's wall time | 3 (2 disturbed, dropped) | 20.0 | 19.0 | 21.0 | — | 500 |" in text
    assert (
        "first call | 1 | 12.0 | 12.0 | 12.0 | — | 833 |" in text
        and "later calls | 2 | 10.5 | 10.0 | 11.0 | — |" in text
    )
    assert "model loaded and traced | 3 | 9.5 | 9.0 | 10.0 | 9.0 | 1,053 |" in text
    assert "283,010 parameters" in text and "test accuracy 0.900" in text
    assert "busy 100% of the time" in text and "noted: another benchmark on core 1." in text and "upper bounds" in text
    assert "serve-warm-1 1.0%" in text and "80 s in all" in text
    assert "- serve: RuntimeError: a later try that failed" in text
    assert COMMAND in text and "MLflow 3.17.2" in text
