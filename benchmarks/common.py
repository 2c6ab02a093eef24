"""What the benchmark scripts share: results files, the machine, the command line, figures quoted.

Every script in `benchmarks/` imports from here and from no other script. They are run as
`python benchmarks/<script>.py` from the repository root; each puts the root first on
`sys.path` before importing `benchmarks.common` (and `recipes`, `zoo`, `tuning`: the root
also goes before `benchmarks/`, so `import tuning` finds the package, not `benchmarks/tuning.py`).

- Results files: one JSON object a line, appended and flushed as each measurement ends
  (`append`), read back skipping a line a kill cut short (`read_results`).
- `machine()`: CPU, cores, the cores this process may use, RAM, library versions.
- `command_line(argv, cpus, script=...)`: the command as it was run, for the reports;
  `now()` and `provenance(...)`: the date, machine, threads and command a results line records;
  `commands_and_dates(records)`: what a report quotes of them.
- `configure_threads`: TensorFlow's thread pools, set before its runtime starts (`run_and_report` does).
- `ACCURACY_DATASETS`, `PUBLISHED`, `SOURCES`: the accuracy benchmark's datasets and the
  published figures quoted beside it (accuracy, protocol and tuning reports).
- The training-speed primitives that `speed.py` and its device section (`speed_device.py`)
  both measure with: `synthetic`, `zoo_model`, `forward_flops`, `throughput_callback`, `paired`.

Heavy libraries (Keras, TensorFlow, NumPy) are imported inside the functions that need them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import logging
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("benchmarks")

# ---------------------------------------------------------------------------------------------
# Datasets and published figures (accuracy.py, protocol.py, tuning.py)

ACCURACY_DATASETS = (
    "ucr:GunPoint",
    "ucr:ItalyPowerDemand",
    "ucr:ArrowHead",
    "ucr:BasicMotions",
    "ucr:JapaneseVowels",
    "forecast:airline",
    "forecast:sunspots",
    "text:rotten_tomatoes",
)

# Published test accuracies (single numbers as printed in the papers' result tables).
PUBLISHED: dict[str, list[tuple[str, float, str]]] = {
    "ucr:GunPoint": [
        ("FCN", 1.000, "Fawaz et al. 2019"),
        ("ResNet", 0.991, "Fawaz et al. 2019"),
        ("InceptionTime", 1.000, "Fawaz et al. 2020"),
        ("LSTM-FCN", 1.000, "Karim et al. 2018"),
    ],
    "ucr:ItalyPowerDemand": [
        ("FCN", 0.963, "Fawaz et al. 2019"),
        ("ResNet", 0.962, "Fawaz et al. 2019"),
        ("InceptionTime", 0.965, "Fawaz et al. 2020"),
        ("LSTM-FCN", 0.962, "Karim et al. 2018"),
    ],
    "ucr:ArrowHead": [
        ("FCN", 0.843, "Fawaz et al. 2019"),
        ("ResNet", 0.838, "Fawaz et al. 2019"),
        ("InceptionTime", 0.846, "Fawaz et al. 2020"),
        ("LSTM-FCN", 0.897, "Karim et al. 2018"),
    ],
    "ucr:JapaneseVowels": [
        ("FCN", 0.993, "Fawaz et al. 2019"),
        ("ResNet", 0.992, "Fawaz et al. 2019"),
    ],
    # A set no issue names (the defaults were not chosen on it); ensembles, named as their README does.
    "ucr:OSULeaf": [
        ("Fine-Tuned FCNs", 0.975, "Fawaz et al. 2019b"),
        ("ResNets", 0.983, "Fawaz et al. 2019b"),
        ("NNE", 0.988, "Fawaz et al. 2019b"),
    ],
}
SOURCES = {
    "Fawaz et al. 2019": 'H. Ismail Fawaz et al., "Deep learning for time series classification: a review", '
    "Data Mining and Knowledge Discovery 33 (2019)",
    "Fawaz et al. 2020": 'H. Ismail Fawaz et al., "InceptionTime: Finding AlexNet for time series classification", '
    "Data Mining and Knowledge Discovery 34 (2020)",
    "Fawaz et al. 2019b": 'H. Ismail Fawaz et al., "Deep Neural Network Ensembles for Time Series Classification", '
    "IJCNN 2019; figures from its repository's README (github.com/hfawaz/ijcnn19ensemble)",
    "Karim et al. 2018": 'F. Karim et al., "LSTM Fully Convolutional Networks for Time Series Classification", '
    "IEEE Access 6 (2018); minimum-training-loss results",
}


# ---------------------------------------------------------------------------------------------
# Results files


def read_results(path: Path) -> list[dict[str, Any]]:
    """All complete JSON lines of the results file (a line cut short by a kill is skipped)."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("%s:%d: skipping an incomplete line", path, number)
    return records


def default_forecaster(record: dict[str, Any], *, window_norm: str, loss: str) -> bool:
    """A finished forecasting-benchmark cell of a zoo model with every default: the head's
    `window_norm`, the task's `loss` (cells that recorded none trained on mse, the default then),
    no other hyperparameter or setting, on the real test segment (not a backtest)."""
    finished = record.get("kind") == "model" and "error" not in record and not record.get("backtest")
    defaults = not record.get("hp") and record.get("loss", "mse") == loss
    return finished and defaults and record.get("window_norm") == window_norm


def append(path: Path, record: dict[str, Any]) -> None:
    """Append one record as a JSON line and flush it to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


# ---------------------------------------------------------------------------------------------
# Machine and command line


def output_flags(parser: Any, results: Path, report: Path, threads: int = 0) -> None:
    """The flags every benchmark takes: --threads, --results, --report, --report-only."""
    parser.add_argument("--threads", type=int, default=threads, help="TensorFlow threads (0: default)")
    parser.add_argument("--results", type=Path, default=results)
    parser.add_argument("--report", type=Path, default=report)
    parser.add_argument("--report-only", action="store_true")


def run_and_report(
    argv: Sequence[str] | None,
    parse: Callable[[list[str]], Any],
    run: Callable[[Any, list[str]], None],
    render: Callable[[Any], str],
) -> None:
    """A benchmark's main: measure what is missing (unless --report-only), then write the report."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    if not args.report_only:
        configure_threads(args.threads)  # before `run` starts TensorFlow: its pools are fixed then
        run(args, argv)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(render(args))
    print(f"report: {args.report}")


def cpus_used() -> list[int] | None:
    """The cores this process may run on (None where the platform cannot say)."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


def machine() -> dict[str, Any]:
    """CPU model, cores, the cores this process may use, RAM and library versions."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cpus_used": cpus_used(),
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras

        info.update({"keras": keras.__version__, "keras_backend": keras.backend.backend()})
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            info.update({"tensorflow": tf.__version__, "gpus": len(tf.config.list_physical_devices("GPU"))})
        elif keras.backend.backend() == "jax":
            import jax

            info.update({"jax": jax.__version__, "gpus": sum(d.platform == "gpu" for d in jax.devices())})
    return info


def command_line(argv: Sequence[str], cpus: Sequence[int] | None, *, script: str) -> str:
    """The command as run, `benchmarks/<script>` and its arguments, as the reports quote it.

    It starts with the environment the benchmarks run under (`TF_CPP_MIN_LOG_LEVEL=2`, and
    `KERAS_BACKEND` when not TensorFlow) and the `taskset` prefix when the process was pinned to
    some of the cores: `TF_CPP_MIN_LOG_LEVEL=2 taskset -c 1 .venv/bin/python benchmarks/speed.py --threads 1`.
    """
    prefix = ""
    if cpus is not None and len(cpus) < (os.cpu_count() or len(cpus)):
        prefix = f"taskset -c {','.join(str(c) for c in cpus)} "
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    env = "TF_CPP_MIN_LOG_LEVEL=2 " + (f"KERAS_BACKEND={backend} " if backend != "tensorflow" else "")
    return f"{env}{prefix}.venv/bin/python benchmarks/{script} {shlex.join(argv)}".rstrip()


def now() -> str:
    """The current UTC time as a results line records it (ISO 8601, to the second)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def provenance(argv: Sequence[str], cpus: Sequence[int] | None, *, script: str, threads: int) -> dict[str, Any]:
    """What a results line says of its run, taken as the measurement ends: date, machine, threads, command."""
    return {"date": now(), "machine": machine(), "threads": threads, "command": command_line(argv, cpus, script=script)}


def commands_and_dates(records: Sequence[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The distinct commands of `records` in the order they first ran, and their dates sorted."""
    return list(dict.fromkeys(r["command"] for r in records)), sorted(r["date"] for r in records)


def machine_lines(records: Sequence[dict[str, Any]], extra: str = "") -> list[str]:
    """One line per machine the records ran on: CPU, cores used, TensorFlow threads, RAM, GPUs,
    platform and versions (`extra` appended, e.g. ", MLflow 3.17.0")."""
    lines = []
    for text in sorted({json.dumps(r["machine"], sort_keys=True) for r in records}):
        m = json.loads(text)
        used = m.get("cpus_used")
        threads = sorted({r["threads"] for r in records if json.dumps(r["machine"], sort_keys=True) == text})
        lines.append(
            f"- {m['cpu']}, {m['cores']} cores ({len(used) if used else m['cores']} used: "
            f"{', '.join(map(str, used or []))}; TensorFlow pools of {', '.join(map(str, threads))} thread(s)), "
            f"{m['ram_gb']} GiB RAM, {m.get('gpus', 0)} GPU; {m['platform']}, Python {m['python']}, "
            f"TensorFlow {m.get('tensorflow')}, Keras {m.get('keras')}{extra}."
        )
    return lines


def commands_section(commands: Sequence[str]) -> list[str]:
    """A report's closing section: the commands that measured it, indented as code."""
    return ["", "## Commands", "", *[f"    {c}" for c in commands]]


def configure_threads(threads: int) -> None:
    """Pin TensorFlow's intra- and inter-op pools to `threads` each (0 keeps TensorFlow's defaults;
    other Keras backends: nothing).

    TensorFlow sizes its pools once, as its runtime starts (its first op, which
    `recipes.device.import_backend` runs), so call this before that: `run_and_report` does, before
    a script's `run`. It sets TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS, which TensorFlow
    reads as it starts (the processes a benchmark starts inherit them), and where TensorFlow is
    already imported, `tf.config.threading` too. Called after the runtime started, it raises.
    """
    if threads <= 0:
        return
    keras = sys.modules.get("keras")
    backend = keras.backend.backend() if keras is not None else os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        return
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return  # imported and started later, with the environment above
    threading = tf.config.threading
    if (threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()) == (threads,) * 2:
        return
    try:
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as error:
        raise RuntimeError(
            f"configure_threads({threads}) came after TensorFlow's runtime started (its pools are fixed then); "
            "call it before recipes.device.import_backend or any TensorFlow op"
        ) from error


# ---------------------------------------------------------------------------------------------
# Training speed (speed.py and its device section, speed_device.py)

CLASSES = 4  # classes of the synthetic speed data


def synthetic(n: int, length: int, features: int = 1, seed: int = 0) -> Any:
    """A classification `Dataset` of random-walk series (no val split: both sides train alike)."""
    import numpy as np

    from recipes.data.base import Dataset, Split

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, length, features)).cumsum(axis=1).astype("float32")
    x = (x - x.mean()) / x.std()
    y = rng.integers(0, CLASSES, size=n)
    train = Split(x, y, None)
    empty = train.take(np.arange(0))
    return Dataset(name=f"synthetic:{n}x{length}x{features}", task="classification", input_kind="series",
                   train=train, val=empty, test=train.take(np.arange(min(n, 64))),
                   class_names=[str(c) for c in range(CLASSES)], num_features=features)  # fmt: skip


def fold_sets(address: str, seed: int) -> list[Any]:
    """One dataset per fold: train the other folds, no validation carve, test the held-out fold."""
    import numpy as np

    from recipes import data, folds

    dataset = data.load(address)
    k = folds.default_folds(dataset) or folds.DEFAULT_FOLDS
    out = []
    for fold in folds.folds(dataset, k, seed):
        empty = fold.train.take(np.arange(0))
        out.append(dataclasses.replace(fold, val=empty, test=fold.val))
    return out


@dataclasses.dataclass(frozen=True)
class FoldCell:
    """A (dataset, seed, model) of a cross-validation benchmark, its folds, and the (arm, fold)
    pairs its results file lacks, arms outer."""

    address: str
    seed: int
    model: str
    sets: list[Any]
    todo: list[tuple[str, int]]


def pending_folds(args: Any) -> Iterator[FoldCell]:
    """The cells of `args.datasets` x `args.seeds` x `args.models` with (arm, fold) pairs of
    `args.arms` not yet in `args.results` (a cross-validation benchmark resumes where it stopped)."""
    done = {(r["dataset"], r["model"], r["seed"], r["arm"], r["fold"]) for r in read_results(args.results)}
    for address in args.datasets:
        for seed in args.seeds:
            sets = fold_sets(address, seed)
            for model in args.models:
                todo = [(a, i) for a in args.arms for i in range(len(sets)) if (address, model, seed, a, i) not in done]
                if todo:
                    yield FoldCell(address, seed, model, sets, todo)


def log_fold(args: Any, argv: Sequence[str], script: str, cell: FoldCell, arm: str, fold: int,
             record: dict[str, Any]) -> None:  # fmt: skip
    """Append one held-out fold's `record` (with an `accuracy`) to the results file, and say it."""
    record = record | {"dataset": cell.address, "model": cell.model, "seed": cell.seed, "arm": arm, "fold": fold,
                       "folds": len(cell.sets)}  # fmt: skip
    append(args.results, record | provenance(argv, cpus_used(), script=script, threads=args.threads))
    print(f"{cell.address} {cell.model} seed {cell.seed} {arm} fold {fold}: {record['accuracy']:.3f}", flush=True)


def every_step(name: str) -> dict[str, Any]:
    """The hparams that have zoo model `name` read every step (`patch=1`, and `dimension_shuffle=False`
    for the FCN hybrids; none where it has no such knob)."""
    import zoo

    return zoo.every_step(name)


def zoo_model(name: str, length: int, features: int, **hparams: Any) -> Any:
    """The zoo's `name` for classification of the synthetic data, reading every step (`patch=1`
    where the model has the knob): the architecture the hand-written twins and FLOP counts assume."""
    import zoo

    hparams = {**every_step(name), **hparams}
    return zoo.build(name, input_shape=(length, features), task="classification", num_outputs=CLASSES, **hparams)


def forward_flops(name: str, length: int, features: int) -> float:
    """Multiply-adds x 2 of the default config's layers for one example of `length` steps.

    Forward, per sample; a training step costs about 3x (forward, two backward products).
    """
    h = 64

    def lstm(d: int, steps: int) -> float:
        return steps * 8 * h * (d + h)

    def conv(k: int, c_in: int, c_out: int, steps: int) -> float:
        return 2 * k * c_in * c_out * steps

    head = 2 * h * CLASSES
    if name == "lstm":
        return lstm(features, length) + head
    if name == "gru":
        return length * 6 * h * (features + h) + head
    if name == "cnn_lstm":
        return conv(5, features, 64, length) + conv(5, 64, 64, length // 2) + lstm(64, length // 4) + head
    if name == "attention_lstm":
        return lstm(features, length) + length * (2 * h * 64 + 2 * 64) + 2 * length * h + head
    if name == "lstm_fcn":
        convs = conv(8, features, 128, length) + conv(5, 128, 256, length) + conv(3, 256, 128, length)
        return lstm(features, length) + convs + 2 * (h + 128) * CLASSES
    raise ValueError(name)


def throughput_callback() -> Any:
    """A Keras callback whose `rate(n)` is the samples/s of the fastest epoch after the first."""
    import keras

    class Throughput(keras.callbacks.Callback):
        """Samples/s of the fastest epoch after the first (which traces and warms up).

        An epoch runs from its start to the next one's (to the end of training for the
        last), so the work callbacks do between epochs (checkpoints, logs) counts. The fastest
        rather than the mean or median: it is the least disturbed by the rest of the machine.
        """

        def __init__(self) -> None:
            super().__init__()
            self.begins: list[float] = []
            self.end = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.begins.append(time.perf_counter())

        def on_train_end(self, logs: dict | None = None) -> None:
            self.end = time.perf_counter()

        def durations(self) -> list[float]:
            marks = [*self.begins, self.end]
            return [b - a for a, b in itertools.pairwise(marks[1:])]

        def rate(self, n: int) -> float:
            return n / min(self.durations())

    return Throughput()


def paired(a: Callable[[int], float], b: Callable[[int], float], repeats: int) -> dict[str, Any]:
    """Run a and b alternately (a first on even repeats); the ratio a/b per repeat, and its median.

    One untimed run of each first: the first trainings of a process run slower for a while.
    """
    a(-1), b(-1)
    rows = []
    for r in range(repeats):
        if r % 2 == 0:
            va, vb = a(r), b(r)
        else:
            vb, va = b(r), a(r)
        rows.append((va, vb))
    ratios = [va / vb for va, vb in rows]
    return {
        "a": [round(v, 2) for v, _ in rows],
        "b": [round(v, 2) for _, v in rows],
        "a_median": statistics.median(v for v, _ in rows),
        "b_median": statistics.median(v for _, v in rows),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
    }
