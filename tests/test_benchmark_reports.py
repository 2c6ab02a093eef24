"""The benchmark reports render the same text whatever the string-hash seed (no set or tie order
leaks into docs/benchmarks/*.md); each renders from the committed results files, training nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _render(script: str, args: list[str], report: Path, seed: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    cmd = [sys.executable, f"benchmarks/{script}.py", *args, "--report", str(report)]
    subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120)
    return report.read_text()


@pytest.mark.parametrize(
    ("script", "args"),
    [
        ("protocol", []),  # renders only: it has no --report-only flag
        ("accuracy", ["--report-only"]),
        ("forecasting", ["--report-only"]),
        ("forecast_peer", ["--report-only"]),
        ("semi_supervised", ["--report-only"]),
        ("schedule", ["--report-only"]),
        ("serving", ["--report-only"]),
        ("speed", ["--report-only"]),
        ("tuning", ["--report-only"]),
        ("protocol_cv", ["--report-only"]),
        ("finetune_cv", ["--report-only"]),
        ("ensemble", ["--report-only"]),
    ],
)
def test_report_does_not_depend_on_the_hash_seed(tmp_path, script, args):
    first = _render(script, args, tmp_path / "a.md", seed=1)
    second = _render(script, args, tmp_path / "b.md", seed=2)
    assert first == second
    assert first.strip()


def test_a_ucr_set_no_issue_names_is_reported_apart_from_the_issues_targets():
    from benchmarks import protocol

    def cell(dataset: str, name: str, accuracy: float, kind: str = "model") -> dict:
        return {"kind": kind, "dataset": dataset, "name": name, "seed": 0, "metrics": {"accuracy": accuracy},
                "epochs": 10, "seconds": 1.0, "command": "accuracy.py", "date": "2026-12-02T16:00:00"}  # fmt: skip

    records = [cell("ucr:OSULeaf", "fcn", 0.979), cell("ucr:OSULeaf", "lstm", 0.40), cell("ucr:OSULeaf", "gru", 0.60),
               cell("ucr:OSULeaf", "1nn_euclidean", 0.521, "baseline"), cell("ucr:GunPoint", "fcn", 1.0),
               cell("ucr:GunPoint", "1nn_euclidean", 0.913, "baseline")]  # fmt: skip
    text = "\n".join(protocol.render([], [], [], records))
    targets, unseen = text.split("## Against issue 15's targets")[1].split("## The defaults on UCR sets no issue names")
    assert "ucr:GunPoint" in targets and "ucr:OSULeaf" not in targets
    row = next(line for line in unseen.splitlines() if line.startswith("| ucr:OSULeaf"))
    assert "| fcn 0.979 | lstm 0.400 |" in row and "| 0.521 | 1 of 3 |" in row and "NNE 0.988" in row
