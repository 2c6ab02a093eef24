"""Resident memory of one process over a 30-trial search: does it stay flat?

Runs `tuning.search` (random tuner, tiny lstm/gru, 1 epoch per trial, SQLite MLflow store in
a temporary folder) and samples the process's resident set size after every trial; writes
docs/benchmarks/tuning_memory.md.

    python benchmarks/tuning_memory.py [--trials 30]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "tuning_memory.md"


def main() -> None:
    """Run the search, sample memory, write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()

    import psutil

    import tuning

    process = psutil.Process()
    samples: list[tuple[int, float, float]] = []
    started = time.monotonic()

    def progress(line: str) -> None:
        samples.append((len(samples) + 1, process.memory_info().rss / 2**20, time.monotonic() - started))
        print(line, f"rss={samples[-1][1]:.0f} MiB", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        tuning.search(
            "lstm,gru",
            "ucr:GunPoint",
            tuner="random",
            max_trials=args.trials,
            max_epochs=1,
            fixed={"units": 8, "batch_size": 16},
            directory=Path(tmp) / "tuning",
            tracking_uri=f"sqlite:///{tmp}/mlflow.db",
            experiment="memory",
            retrain_best=False,
            progress=progress,
        )
    first, last = samples[0][1], samples[-1][1]
    tenth = samples[min(9, len(samples) - 1)][1]
    growth = (last - tenth) / max(1, len(samples) - 10)
    rows = "\n".join(f"| {i} | {rss:.0f} | {t:.0f} |" for i, rss, t in samples)
    OUT.write_text(
        f"""# Memory over a {len(samples)}-trial search

Measured {datetime.date.today().isoformat()} on {platform.processor() or platform.machine()},
{os.cpu_count()} CPU cores, with `python benchmarks/tuning_memory.py --trials {args.trials}`:
one process runs `tuning.search("lstm,gru", "ucr:GunPoint", tuner="random")` with 1 epoch per
trial, every trial a nested MLflow run in a SQLite store, the Keras session cleared between
trials. Resident set size (RSS) after each trial:

- after trial 1: **{first:.0f} MiB**; after trial 10: **{tenth:.0f} MiB**; after trial {len(samples)}:
  **{last:.0f} MiB**
- growth from trial 10 to trial {len(samples)}: **{last - tenth:+.0f} MiB**, about **{growth:+.1f} MiB
  per trial** (the first trials also pay one-off imports and graph tracing)

| trial | RSS (MiB) | elapsed (s) |
|---:|---:|---:|
{rows}
"""
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
