"""The benchmark scripts' shared module: results files, the command line, and how the scripts import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import common

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if p.name not in {"__init__.py", "common.py"})


def test_results_round_trip_skips_a_line_cut_short(tmp_path):
    path = tmp_path / "results" / "bench.jsonl"
    common.append(path, {"name": "a", "metrics": {"accuracy": 0.5}})
    common.append(path, {"name": "b"})
    with path.open("a") as handle:
        handle.write('{"name": "c", "metr')  # a kill mid-write
    assert common.read_results(path) == [{"metrics": {"accuracy": 0.5}, "name": "a"}, {"name": "b"}]
    assert common.read_results(tmp_path / "missing.jsonl") == []


@pytest.mark.parametrize(
    ("cpus", "backend", "expected"),
    [
        ([1], None, "TF_CPP_MIN_LOG_LEVEL=2 taskset -c 1 .venv/bin/python benchmarks/speed.py --threads 1"),
        ([0, 1], "jax", "TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND=jax .venv/bin/python benchmarks/speed.py --threads 1"),
    ],
)
def test_command_line_names_the_script(monkeypatch, cpus, backend, expected):
    monkeypatch.setattr(common.os, "cpu_count", lambda: 2)
    if backend:
        monkeypatch.setenv("KERAS_BACKEND", backend)
    else:
        monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert common.command_line(["--threads", "1"], cpus, script="speed.py") == expected
    assert common.command_line([], None, script="tuning.py").endswith(".venv/bin/python benchmarks/tuning.py")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_import_no_other_script(script):
    """Each script takes what it shares from `benchmarks.common`; only speed.py loads its device section."""
    allowed = {"benchmarks.common"} | ({"benchmarks.speed_device"} if script.name == "speed.py" else set())
    names = {p.stem for p in SCRIPTS}
    imported = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    benchmark_imports = {m for m in imported if m.startswith("benchmarks") or m in names - {"tuning"}}
    assert benchmark_imports <= allowed
    assert '.replace("accuracy.py"' not in script.read_text()


def test_a_script_run_from_the_root_finds_the_tuning_package():
    """`python benchmarks/tuning.py` puts benchmarks/ first on sys.path; its `import tuning` must not find itself."""
    code = (
        "import importlib.util, runpy, sys; sys.path.insert(0, 'benchmarks'); "
        "runpy.run_path('benchmarks/tuning.py', run_name='check'); print(importlib.util.find_spec('tuning').origin)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert Path(out.strip()) == ROOT / "tuning" / "__init__.py"


def test_accuracy_baselines_come_from_recipes_with_the_benchmarks_fitted_on(monkeypatch):
    import recipes.baselines
    from benchmarks import accuracy

    computed = [
        recipes.baselines.BaselineResult("majority", "", "train+val", {"accuracy": 0.5}),
        recipes.baselines.BaselineResult("naive", "", "train+val", {"mae": 1.0}),
    ]
    monkeypatch.setattr(recipes.baselines, "compute", lambda dataset: list(computed))
    dataset = common.synthetic(16, 8)  # classification: no Holt-Winters
    results = accuracy.baselines(dataset)
    assert [(r.name, r.fitted_on, r.metrics) for r in results] == [
        ("majority", "train+val", {"accuracy": 0.5}),
        ("naive", "test window inputs", {"mae": 1.0}),
    ]


# A benchmark's main as the scripts run it: `run` starts TensorFlow (import_backend runs its first
# op), then reports the threads the process runs and whether a late configure_threads is refused.
_THREADS_SCRIPT = """
import argparse, os, pathlib, sys
import benchmarks.common as common
from recipes.device import import_backend

def parse(argv):
    parser = argparse.ArgumentParser()
    common.output_flags(parser, pathlib.Path(sys.argv[1], "r.jsonl"), pathlib.Path(sys.argv[1], "r.md"))
    return parser.parse_args(argv)

def run(args, argv):
    import_backend()
    env = os.environ
    print(env["TF_NUM_INTRAOP_THREADS"], env["TF_NUM_INTEROP_THREADS"], len(os.listdir("/proc/self/task")))
    try:
        common.configure_threads(args.threads + 1)
    except RuntimeError as error:
        print("late:", error)

common.run_and_report(sys.argv[2:], parse, run, lambda args: "")
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_threads_are_set_before_tensorflow_starts(tmp_path, monkeypatch):
    """`--threads N` sizes TensorFlow's pools although the script's `run` starts TensorFlow at once
    (setting them after its first op raised "Intra op parallelism cannot be modified after initialization")."""
    for name in ("KERAS_BACKEND", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        monkeypatch.delenv(name, raising=False)
    counts = {}
    for threads in (1, 4):
        out = subprocess.run(
            [sys.executable, "-c", _THREADS_SCRIPT, str(tmp_path), "--threads", str(threads)],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
        ).stdout.splitlines()  # fmt: skip
        intra, inter, counts[threads] = out[0].split()
        assert (intra, inter) == (str(threads), str(threads))
        assert out[1].startswith("late: ") and "before recipes.device.import_backend" in out[1]
    assert int(counts[4]) - int(counts[1]) >= 6  # each pool 3 threads larger: the setting took effect
