"""benchmarks/peer.py's report, rendered from a small results file (nothing trains)."""

from __future__ import annotations

from benchmarks import common, peer

MACHINE = {"cpu": "cpu", "cores": 2, "cpus_used": [1], "ram_gb": 8, "python": "3.11", "platform": "linux",
           "tensorflow": "2.21", "keras": "3.15", "gpus": 0}  # fmt: skip
COMMAND = "TF_CPP_MIN_LOG_LEVEL=2 taskset -c 1 .venv/bin/python benchmarks/peer.py"


def _record(side: str, seed: int, accuracy: float, wall: float, curve: list[list[float]]) -> dict:
    record = {"side": side, "seed": seed, "accuracy": accuracy, "epochs": curve[-1][0], "wall_seconds": wall,
              "curve": curve, "params": 1000, "date": f"2026-12-01T00:0{seed}:00+00:00", "machine": MACHINE,
              "threads": 1, "command": COMMAND}  # fmt: skip
    if side == "peer":
        record.update({"settings": {"n_epochs": 2000, "batch_size": 128, "random_state": seed}, "sktime": "1.2.0"})
    return record


def test_the_report_times_the_zoo_to_the_peers_final_accuracy(tmp_path):
    results = tmp_path / "peer.jsonl"
    for record in [
        _record("zoo", 0, 1.0, 90.0, [[1, 10.0, 5.0, 0.5], [2, 20.0, 15.0, 0.96], [3, 30.0, 25.0, 1.0]]),
        _record("peer", 0, 0.96, 600.0, [[20, 10.0, 9.0, 0.5], [2000, 590.0, 589.0, 0.96]]),
        _record("zoo", 1, 0.9, 90.0, [[1, 10.0, 5.0, 0.5], [2, 20.0, 15.0, 0.9]]),
        _record("peer", 1, 0.95, 500.0, [[2000, 490.0, 489.0, 0.95]]),
    ]:
        common.append(results, record)
    records = common.read_results(results)

    rows = peer.rows(records)
    assert [(r["seed"], r["to_peer"], r["holds"]) for r in rows] == [(0, 20.0, True), (1, None, False)]
    assert rows[0]["ratio"] == 20.0 / 600.0

    text = peer.render(records)
    assert "| 0 | 90.0 | 3 | 1.000 | 20.0 | 600.0 | 2000 | 0.960 | 0.033 | yes | 0.150 |" in text
    assert "| 1 | 90.0 | 2 | 0.900 | never | 500.0 | 2000 | 0.950 | — | no | 0.180 |" in text
    assert "holds in 1 of 2 seeds" in text and "Seeds not measured: 2." in text
    assert "batch_size=128, n_epochs=2000" in text and "LSTM-FCN 1.000" in text
    assert "taskset -c 1 .venv/bin/python benchmarks/peer.py" in text
