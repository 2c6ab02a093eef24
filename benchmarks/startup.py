"""CLI start-up time: `zoo --help`, `zoo list`, `zoo describe` vs `import keras`.

Run: `.venv/bin/python benchmarks/startup.py` (writes docs/benchmarks/startup.md).
Median of N runs of each command as a fresh process, measured side by side in one run.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, before benchmarks/

from benchmarks.common import ROOT

ZOO = shutil.which("zoo", path=os.path.dirname(sys.executable)) or "zoo"
REPEATS = int(os.environ.get("REPEATS", "7"))
COMMANDS = {
    "zoo --help": [ZOO, "--help"],
    "zoo list": [ZOO, "list"],
    "zoo describe lstm_fcn": [ZOO, "describe", "lstm_fcn"],
    "python -c 'import zoo'": [sys.executable, "-c", "import zoo"],
    "python -c 'import keras' (reference)": [sys.executable, "-c", "import keras"],
}


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return time.perf_counter() - start


def main() -> None:
    for cmd in COMMANDS.values():  # warm the file cache
        wall(cmd)
    times = {name: [wall(cmd) for _ in range(REPEATS)] for name, cmd in COMMANDS.items()}
    lines = [
        "# CLI start-up",
        "",
        f"Measured by `benchmarks/startup.py` on {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; median (min-max) of {REPEATS} fresh processes, warm file cache.",
        "",
        "| command | median s | min s | max s |",
        "|---|---|---|---|",
    ]
    for name, ts in times.items():
        lines.append(f"| `{name}` | {statistics.median(ts):.3f} | {min(ts):.3f} | {max(ts):.3f} |")
    lines += [
        "",
        "Target: `zoo --help`, `zoo list` and `zoo describe` under 1 s. They import neither Keras nor",
        "TensorFlow (a test checks `sys.modules`), so they stay fast whatever Keras costs to import.",
    ]
    out = ROOT / "docs" / "benchmarks" / "startup.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
