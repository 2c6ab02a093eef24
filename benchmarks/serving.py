"""Serving latency (issue 18): `mlflow models serve` answering `/invocations`, and `zoo predict` on
10,000 series, with a real trained and registered model.

What runs, in one process pinned like the other benchmarks (the processes it starts inherit the
core and TensorFlow's thread counts):

- first, always: `zoo train MODEL --data ucr:GunPoint --epochs N --register NAME` (a real
  subprocess) into a scratch MLflow SQLite store; the registered version gets the alias
  `champion`. Its accuracy does not matter here, only the network that serves.
- `cold`, `warm` (`--sections`): `mlflow models serve -m models:/NAME@champion --env-manager local`
  on 127.0.0.1 and a free port. Cold: `--starts` fresh servers per request size, each asked once
  right after it first answers `/ping` (sizes take turns). Warm: one more server, `--warmup`
  requests of each size, then `--requests` of one series and as many of a batch of `--batch`.
  A request is the POST of a JSON body encoded beforehand (`{"inputs": [...]}`, raw series)
  through a keep-alive session, until its JSON answer is parsed; its CPU time is the client
  thread's and the server's threads' (/proc/PID/task/*/schedstat) over the same span.
- `predict`: a file of 10,000 raw series (GunPoint's test series repeated in order) in the
  `file:` `.npz` layout; `zoo predict RUN_ID --data file:...` as a subprocess, its wall time
  `--repeats` times; then in this process `recipes.predicting.predict(RUN_ID, "file:...")` and
  the serving model's own `predict` on the same 10,000 series.

Other work on the same core skews a timing, and on a shared machine it comes and goes (others'
test runs are not pinned). Before each measurement (a cold start, a run of warm requests, a
`zoo predict` run, an in-process call) the benchmark waits until its core spent under 10% of a
second on work not its own (`--quiet-wait` bounds the wait), and each cell records that share
while it was measured: the core's busy time in /proc/stat less the CPU time of this process and
everything it started (psutil).

Each measured cell appends one JSON line to the results file; the report shows the latest line
of each cell. `--report-only` renders docs/benchmarks/serving.md from the results file alone.

    TF_CPP_MIN_LOG_LEVEL=2 taskset -c 0 .venv/bin/python benchmarks/serving.py --threads 1
    .venv/bin/python benchmarks/serving.py --report-only
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, before benchmarks/

import benchmarks.common as common

RESULTS = common.ROOT / "benchmarks" / "results" / "serving.jsonl"
REPORT = common.ROOT / "docs" / "benchmarks" / "serving.md"
MODEL, DATASET, EPOCHS = "lstm_fcn", "ucr:GunPoint", 10
NAME = "serving-benchmark"
SECTIONS = ("cold", "warm", "predict")
STARTS, REQUESTS, WARMUP, BATCH = 10, 50, 5, 256
SERIES, REPEATS = 10_000, 3
QUIET, QUIET_WAIT = 0.1, 120.0  # before each measurement, wait (at most QUIET_WAIT s) for a quiet core
TRIES, CHUNK, BUDGET = 2, 10, 14.0  # attempts per wanted sample; warm requests per sample; minutes before no retries
BIN = Path(sys.executable).parent  # the venv's zoo, mlflow and uvicorn
log = logging.getLogger("benchmarks.serving")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="zoo train --epochs for the served model")
    parser.add_argument("--starts", type=int, default=STARTS, help="fresh servers per request size (cold)")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="timed warm requests per size")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="untimed requests per size before the warm ones")
    parser.add_argument("--batch", type=int, default=BATCH, help="series in a batch request")
    parser.add_argument("--series", type=int, default=SERIES, help="series zoo predict reads")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="zoo predict runs (and in-process calls)")
    parser.add_argument("--quiet-wait", type=float, default=QUIET_WAIT,
                        help="most seconds to wait, before each measurement, for the core to be free of others' work "
                        f"(under {QUIET:.0%} busy with it for 1 s); 0: do not wait")  # fmt: skip
    parser.add_argument(
        "--budget",
        type=float,
        default=BUDGET,
        help="minutes after which a disturbed measurement is not retried, nor a quiet core awaited",
    )
    parser.add_argument("--note", default="", help="what else ran on the machine meanwhile (the report says it)")
    parser.add_argument("--work-dir", type=Path, help="scratch folder [default: a new temporary one, removed]")
    common.output_flags(parser, RESULTS, REPORT, threads=1)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# The cores: what else ran while a cell was measured


def cpu_ticks() -> dict[int, tuple[int, int]]:
    """Per core: (busy, total) jiffies since boot, from /proc/stat (empty where there is none)."""
    out = {}
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        head, *values = line.split()
        if head.startswith("cpu") and head[3:].isdigit():
            ticks = [int(v) for v in values[:8]]  # user nice system idle iowait irq softirq steal (guest is in user)
            idle = ticks[3] + ticks[4]
            out[int(head[3:])] = (sum(ticks) - idle, sum(ticks))
    return out


ORPHANED_CPU = [0.0]  # CPU seconds of stopped servers' worker processes, which this process never waits for


def threads_on_cpu_seconds(pid: int) -> float:
    """Seconds the live threads of process `pid` spent on a CPU (/proc/PID/task/*/schedstat, in ns:
    finer than the 10 ms ticks of /proc/PID/stat, but a thread that ended takes its time with it)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return total / 1e9


def own_cpu_seconds() -> float:
    """CPU seconds of this process, of its children and their descendants: this process and the children it
    has waited for from getrusage (microseconds), running descendants from their threads' schedstat (and
    their own waited-for children from /proc ticks), stopped servers' workers as counted when stopped."""
    import resource

    import psutil

    total = ORPHANED_CPU[0]
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
            total += threads_on_cpu_seconds(child.pid) + times.children_user + times.children_system
        except psutil.Error:
            continue  # gone meanwhile
    return total


def snapshot() -> tuple[float, dict[int, tuple[int, int]], float]:
    """(wall clock, `cpu_ticks`, `own_cpu_seconds`) now, for `load`."""
    return time.perf_counter(), cpu_ticks(), own_cpu_seconds()


def load(before: tuple[float, dict[int, tuple[int, int]], float]) -> dict[str, Any]:
    """What else ran since `before`: each other core's busy share, and on the cores this process may
    use, the share of the wall time they were busy with work not this process's (nor its children's)."""
    wall0, ticks0, own0 = before
    wall1, ticks1, own1 = snapshot()
    used = set(common.cpus_used() or [])
    others = {}
    for cpu in sorted(set(ticks0) & set(ticks1) - used):
        busy, total = ticks1[cpu][0] - ticks0[cpu][0], ticks1[cpu][1] - ticks0[cpu][1]
        if total > 0:
            others[str(cpu)] = round(busy / total, 3)
    out: dict[str, Any] = {"other_cores_busy": others}
    mine = [cpu for cpu in used if cpu in ticks0 and cpu in ticks1]
    if mine and wall1 > wall0:
        busy = sum(ticks1[c][0] - ticks0[c][0] for c in mine) / os.sysconf("SC_CLK_TCK")
        out["own_cores_foreign"] = round(max(0.0, busy - (own1 - own0)) / (len(mine) * (wall1 - wall0)), 3)
    return out


def quiet(max_wait: float, threshold: float = QUIET, window: float = 1.0) -> float:
    """Wait until this process's cores spend under `threshold` of a `window` on work not this
    process's (others' tests, say), or `max_wait` seconds passed (0: do not wait); the seconds waited."""
    start = time.perf_counter()
    while max_wait > 0:
        before = snapshot()
        time.sleep(window)
        if load(before).get("own_cores_foreign", 0.0) < threshold or time.perf_counter() - start >= max_wait:
            break
    return time.perf_counter() - start


class Cell:
    """The samples of one cell, each taken on a quiet core and kept when the core stayed quiet.

    `with cell.sample() as taken:` waits for a quiet core (`quiet`, at most `max_wait` seconds),
    then the body measures and fills `taken` (`seconds`: one timing or a list); the share of the
    core that went to work not this process's while it ran is noted (`foreign`), and the sample is
    kept when that share is under `QUIET`, else dropped. `more()` says whether to take another:
    until `wanted` are kept, at most `tries` x `wanted` attempts, and after `deadline`
    (`time.perf_counter()`) no more than `wanted` attempts and no waiting. `fields()` tops the
    kept samples up with the least disturbed dropped ones if fewer than `wanted` were kept.
    """

    def __init__(self, wanted: int, max_wait: float, deadline: float, tries: int = TRIES) -> None:
        self.wanted, self.max_wait, self.deadline, self.tries = wanted, max_wait, deadline, tries
        self.start = snapshot()
        self.kept: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []
        self.waited = 0.0

    def attempts(self) -> int:
        return len(self.kept) + len(self.dropped)

    def more(self) -> bool:
        if len(self.kept) >= self.wanted:
            return False
        late = time.perf_counter() > self.deadline
        return self.attempts() < self.wanted or (not late and self.attempts() < self.tries * self.wanted)

    @contextlib.contextmanager
    def sample(self) -> Iterator[dict[str, Any]]:
        if time.perf_counter() < self.deadline:
            self.waited += quiet(self.max_wait)
        before = snapshot()
        taken: dict[str, Any] = {}
        yield taken
        taken["foreign"] = load(before).get("own_cores_foreign", 0.0)
        (self.kept if taken["foreign"] < QUIET else self.dropped).append(taken)

    def fields(self) -> dict[str, Any]:
        """The kept samples (`samples`) and their timings (`seconds`), the dropped ones, what else ran."""
        kept, dropped = list(self.kept), sorted(self.dropped, key=lambda t: t["foreign"])
        topped = max(0, min(self.wanted - len(kept), len(dropped)))
        kept += dropped[:topped]
        dropped = dropped[topped:]

        def flat(key: str) -> list[float]:
            return [x for t in kept if key in t for x in (t[key] if isinstance(t[key], list) else [t[key]])]

        out: dict[str, Any] = {
            "seconds": flat("seconds"),
            "cpu_seconds": flat("cpu"),
            "samples": kept,
            "dropped": dropped,
            "topped_up": topped,
            "other_cores_busy": load(self.start)["other_cores_busy"],
            "quiet_wait": self.max_wait,
            "waited_for_quiet_seconds": round(self.waited, 1),
        }
        if kept:
            out["own_cores_foreign"] = round(statistics.mean(t["foreign"] for t in kept), 3)
        return out


# ---------------------------------------------------------------------------------------------
# The model, the data


def environment(tracking_uri: str) -> dict[str, str]:
    """What the started processes get: this one's environment (thread counts included), the store,
    the venv first on PATH (`mlflow models serve` starts uvicorn by name), and a TMPDIR in the
    scratch folder (the model files MLflow and `zoo predict` download go there, and go with it)."""
    tmp = Path(tracking_uri.removeprefix("sqlite:///")).parent / "tmp"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "TMPDIR": str(tmp),
            "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}  # fmt: skip


def train_model(args: argparse.Namespace, work: Path, tracking_uri: str) -> dict[str, Any]:
    """`zoo train ... --register NAME` as a subprocess; the champion's run and version."""
    import mlflow
    from mlflow import MlflowClient

    argv = ["zoo", "train", args.model, "--data", DATASET, "--epochs", str(args.epochs), "--register", NAME,
            "--experiment", "serving-benchmark", "--runs-dir", str(work / "runs")]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run([str(BIN / "zoo"), *argv[1:]], cwd=work, env=environment(tracking_uri), capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"zoo train exited {done.returncode}: {done.stderr.strip()[-1500:]}")
    client = MlflowClient(tracking_uri)
    version = client.get_model_version_by_alias(NAME, "champion")
    run = client.get_run(version.run_id)
    metrics = run.data.metrics
    return {
        "train_command": "MLFLOW_TRACKING_URI=sqlite:///TMP/mlflow.db " + " ".join(argv[:-2]),
        "train_seconds": round(seconds, 2),
        "run_id": version.run_id,
        "registered": f"{NAME} v{version.version}",
        "model_uri": f"models:/{NAME}@champion",
        "test_accuracy": metrics.get("test_accuracy"),
        "params": int(run.data.params.get("param_count", 0)) or None,
        "epochs": args.epochs,
        "mlflow": mlflow.__version__,
    }


def raw_series(n: int) -> tuple[Any, Any, Any, Any, list[str]]:
    """GunPoint's raw train series (train + val) and test series repeated in order to `n` rows."""
    import numpy as np

    from recipes.data import load
    from recipes.serving import raw_inputs

    data = load(DATASET)
    x_train = np.concatenate([raw_inputs(data.train.x, data), raw_inputs(data.val.x, data)])
    y_train = np.concatenate([data.train.y, data.val.y])
    rows = np.arange(n) % len(data.test)
    return x_train, y_train, raw_inputs(data.test.x, data)[rows], data.test.y[rows], list(data.class_names)


def write_file(path: Path, n: int) -> dict[str, Any]:
    """The `.npz` file `zoo predict --data file:PATH` reads: raw train series, n raw test series."""
    import numpy as np

    x_train, y_train, x_test, y_test, names = raw_series(n)
    label = np.asarray(names)
    np.savez(path, x_train=x_train[..., 0], y_train=label[y_train], x_test=x_test[..., 0], y_test=label[y_test])
    return {"file": path.name, "file_mb": round(path.stat().st_size / 2**20, 2), "n_series": n,
            "n_train": len(x_train), "steps": int(x_test.shape[1])}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`mlflow models serve -m URI --env-manager local` on 127.0.0.1, a free port; stopped on exit."""

    def __init__(self, model_uri: str, work: Path, tracking_uri: str, number: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = work / f"server-{number}.log"
        argv = [str(BIN / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager", "local", "--host",
                "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        self.started = time.perf_counter()
        with self.log.open("w") as out:
            self.process = subprocess.Popen(argv, cwd=work, env=environment(tracking_uri), stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_until_up(self, timeout: float = 300.0) -> float:
        """Seconds from the start to the first 200 from `/ping` (polled every 50 ms)."""
        import requests

        deadline = self.started + timeout
        while True:
            try:
                if requests.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    return time.perf_counter() - self.started
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.perf_counter() > deadline:
                tail = self.log.read_text()[-1500:] if self.log.exists() else ""
                raise RuntimeError(f"mlflow models serve did not answer /ping: {tail}")
            time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """On-CPU seconds of the server's processes' live threads (`threads_on_cpu_seconds`)."""
        import psutil

        try:
            pids = [self.process.pid, *(c.pid for c in psutil.Process(self.process.pid).children(recursive=True))]
        except psutil.Error:
            return 0.0
        return sum(threads_on_cpu_seconds(pid) for pid in pids)

    def stop(self) -> None:
        if self.process.poll() is None:
            import psutil

            try:  # `mlflow models serve` starts uvicorn and does not wait for it when stopped: count it here
                for worker in psutil.Process(self.process.pid).children(recursive=True):
                    times = worker.cpu_times()  # whole-process figures, ended threads included
                    ORPHANED_CPU[0] += times.user + times.system + times.children_user + times.children_system
            except psutil.Error:
                pass
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)


def timed_post(session: Any, server: Server, body: bytes, expected: int) -> tuple[float, float]:
    """Seconds of one `/invocations` POST of the encoded `body`, until its JSON answer is parsed, and
    the CPU seconds the client (this thread) and the server's threads spent meanwhile."""
    served = server.cpu_seconds()
    client = time.thread_time()
    start = time.perf_counter()
    answer = session.post(
        f"{server.url}/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=120
    )
    predictions = answer.json()["predictions"] if answer.status_code == 200 else None
    seconds = time.perf_counter() - start
    client = time.thread_time() - client
    if predictions is None or len(predictions) != expected:
        raise RuntimeError(f"/invocations answered {answer.status_code}: {answer.text[:500]}")
    return seconds, client + server.cpu_seconds() - served


def bodies(batch: int) -> dict[int, bytes]:
    """The JSON bodies, encoded once: the first raw test series, and the first `batch` (repeated in order)."""
    _, _, x, _, _ = raw_series(batch)
    return {1: json.dumps({"inputs": x[:1].tolist()}).encode(), batch: json.dumps({"inputs": x.tolist()}).encode()}


def measure_cold(args: argparse.Namespace, model: dict, work: Path, uri: str, body: dict[int, bytes]) -> list[dict]:
    """`--starts` fresh servers per size (sizes taking turns); each: start to /ping, the first and second request."""
    import requests

    cells = {size: Cell(args.starts, args.quiet_wait, args.deadline) for size in body}
    number = 0
    while any(cell.more() for cell in cells.values()):
        size = min((s for s in cells if cells[s].more()), key=lambda s: (cells[s].attempts(), s))
        with cells[size].sample() as taken, Server(model["model_uri"], work, uri, number) as server:
            up = server.wait_until_up()
            with requests.Session() as session:
                first, cpu = timed_post(session, server, body[size], size)
                second, _ = timed_post(session, server, body[size], size)
            taken.update({"seconds": first, "cpu": cpu, "second": second, "up_seconds": round(up, 3)})
        number += 1
        log.info("cold start %d (%d series): up %.1f s, first %.3f s, second %.3f s, foreign %.0f%%", number, size, up,
                 first, second, 100 * taken["foreign"])  # fmt: skip
    out = []
    for size, cell in cells.items():
        fields = cell.fields()
        out.append({"cell": f"serve-cold-{size}", "section": "serve", "server": "cold", "size": size,
                    "body_bytes": len(body[size]), "starts": len(fields["samples"]),
                    "second_request_seconds": [t["second"] for t in fields["samples"]],
                    "up_seconds": [t["up_seconds"] for t in fields["samples"]], **fields})  # fmt: skip
    return out


def measure_warm(args: argparse.Namespace, model: dict, work: Path, uri: str, body: dict[int, bytes]) -> list[dict]:
    """One server: `--warmup` untimed requests of each size, then `--requests` timed ones of each size in
    turn, in runs of at least `CHUNK` requests and a second (/proc/stat counts in 10 ms ticks: a shorter
    run could not tell other work from rounding); a run disturbed by other work is measured again."""
    import math

    import requests

    out = []
    with Server(model["model_uri"], work, uri, 999) as server, requests.Session() as session:
        server.wait_until_up()
        warmup = {size: [timed_post(session, server, body[size], size)[0] for _ in range(args.warmup)] for size in body}
        for size in sorted(body):
            typical = statistics.median(warmup[size]) if warmup[size] else 1.0
            chunk = min(args.requests, max(CHUNK, math.ceil(1.0 / typical)))
            cell = Cell(math.ceil(args.requests / chunk), args.quiet_wait, args.deadline)
            while cell.more():
                with cell.sample() as taken:
                    timed = [timed_post(session, server, body[size], size) for _ in range(chunk)]
                    taken.update({"seconds": [t for t, _ in timed], "cpu": [c for _, c in timed]})
            fields = cell.fields()
            fields["seconds"], fields["cpu_seconds"] = (
                fields["seconds"][: args.requests],
                fields["cpu_seconds"][: args.requests],
            )
            out.append({"cell": f"serve-warm-{size}", "section": "serve", "server": "warm", "size": size,
                        "body_bytes": len(body[size]), "warmup": args.warmup, "chunk": chunk, **fields})  # fmt: skip
            log.info("warm, %d series: median %.4f s (%d runs dropped)", size, statistics.median(fields["seconds"]),
                     len(fields["dropped"]))  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# zoo predict


def measure_predict(args: argparse.Namespace, model: dict, work: Path, uri: str) -> list[dict]:
    """`zoo predict` as a subprocess (`--repeats` times), then in this process."""
    import numpy as np

    path = work / f"series_{args.series}.npz"
    made = write_file(path, args.series)
    argv = ["zoo", "predict", model["run_id"], "--data", f"file:{path.name}", "--out", "predictions.csv"]
    shown = " ".join(argv).replace(model["run_id"], "RUN_ID")
    scored = ""
    cell = Cell(args.repeats, args.quiet_wait, args.deadline)
    while cell.more():
        with cell.sample() as taken:
            cpu, start = own_cpu_seconds(), time.perf_counter()
            done = subprocess.run([str(BIN / "zoo"), *argv[1:]], cwd=work, env=environment(uri), capture_output=True,
                                  text=True, timeout=900)  # fmt: skip
            taken.update({"seconds": time.perf_counter() - start, "cpu": own_cpu_seconds() - cpu})
        if done.returncode != 0:
            raise RuntimeError(f"zoo predict exited {done.returncode}: {done.stderr.strip()[-1500:]}")
        scored = next((line for line in done.stdout.splitlines() if line.startswith("scored")), "")
        rows = sum(1 for _ in (work / "predictions.csv").open()) - 1
        if rows != args.series:
            raise RuntimeError(f"zoo predict wrote {rows} rows, not {args.series}")
        log.info("zoo predict: %.1f s, foreign %.0f%%", taken["seconds"], 100 * taken["foreign"])
    out = [{"cell": "predict-cli", "section": "predict", "kind": "cli", **made, "scored": scored,
            "predict_command": "MLFLOW_TRACKING_URI=sqlite:///TMP/mlflow.db " + shown, **cell.fields()}]  # fmt: skip

    from recipes.device import import_backend
    from recipes.predicting import load_keras, predict, run_folder
    from recipes.serving import serving_model

    import_backend()
    os.chdir(work)  # the file: address is relative, as the command's was
    tempfile.tempdir = environment(uri)["TMPDIR"]  # each call downloads the run's files to a new folder

    def call(taken: dict[str, Any]) -> None:
        cpu, start = own_cpu_seconds(), time.perf_counter()
        found = predict(model["run_id"], f"file:{path.name}", tracking_uri=uri)
        taken.update({"seconds": time.perf_counter() - start, "cpu": own_cpu_seconds() - cpu})
        if len(found.frame) != args.series:
            raise RuntimeError(f"predict gave {len(found.frame)} rows, not {args.series}")

    first = Cell(1, args.quiet_wait, args.deadline, tries=1)  # the first call is first once: never retried
    with first.sample() as taken:
        call(taken)
    later = Cell(max(1, args.repeats - 1), args.quiet_wait, args.deadline)
    while later.more():
        with later.sample() as taken:
            call(taken)
    folder = run_folder(model["run_id"], uri)
    spec = json.loads((folder / "serving.json").read_text())
    net = serving_model(load_keras(folder / "model.keras"), spec)
    _, _, x, _, _ = raw_series(args.series)
    net.predict(x[: 256 + args.series % 256], batch_size=256, verbose=0)  # traces both batch shapes, untimed
    alone = Cell(args.repeats, args.quiet_wait, args.deadline)
    while alone.more():
        with alone.sample() as taken:
            cpu, start = own_cpu_seconds(), time.perf_counter()
            pred = np.asarray(net.predict(x, batch_size=256, verbose=0))
            taken.update({"seconds": time.perf_counter() - start, "cpu": own_cpu_seconds() - cpu})
        if pred.shape[0] != args.series:
            raise RuntimeError(f"the model gave {pred.shape[0]} rows, not {args.series}")
    for name, cell in (("first", first), ("later", later), ("model", alone)):
        fields = cell.fields()
        out.append({"cell": f"predict-in-process-{name}", "section": "predict", "kind": f"in_process_{name}", **made,
                    **fields})  # fmt: skip
        log.info("in process, %s: %s s", name, [round(t, 1) for t in fields["seconds"]])
    return out


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    """Train and register the model, then each section; one results line per cell."""
    args.deadline = time.perf_counter() + 60 * args.budget
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill stops the servers and removes the scratch
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="zoo-bench-serving-"))
    work.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{work.resolve() / 'mlflow.db'}"
    here = Path.cwd()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cpus = common.cpus_used()

    def record(cell: dict[str, Any], model: dict[str, Any] | None) -> None:
        full = {**cell, "model": model, "note": args.note,
                **common.provenance(argv, cpus, script="serving.py", threads=args.threads)}  # fmt: skip
        common.append(args.results, full)

    from recipes.device import import_backend

    import_backend()  # here too, so that every results line records the same machine (TensorFlow's version)
    try:
        try:
            model = train_model(args, work, uri)
        except Exception as err:
            log.exception("training the model failed")
            record({"cell": "model", "section": "model", "error": f"{type(err).__name__}: {err}"[:2000]}, None)
            return
        log.info("model: %s", model)
        record({"cell": "model", "section": "model"}, model)
        for section in args.sections:
            try:
                if section in ("cold", "warm"):
                    measure = measure_cold if section == "cold" else measure_warm
                    cells = measure(args, model, work, uri, bodies(args.batch))
                else:
                    cells = measure_predict(args, model, work, uri)
            except Exception as err:  # the section's line says why; the next section still runs
                log.exception("%s failed", section)
                cells = [{"cell": section, "section": section, "error": f"{type(err).__name__}: {err}"[:2000]}]
            for cell in cells:
                record(cell, model)
    finally:
        os.chdir(here)
        tempfile.tempdir = None
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Report


def summary(seconds: Sequence[float]) -> dict[str, float]:
    """Median, 90th percentile (linear between order statistics), min and max."""
    ordered = sorted(seconds)
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[8] if len(ordered) > 1 else ordered[0]
    return {"median": statistics.median(ordered), "p90": p90, "min": ordered[0], "max": ordered[-1], "n": len(ordered)}


def latest(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last complete record of each cell."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        if "error" not in r:
            out[r["cell"]] = r
    return out


def _ms(value: float) -> str:
    return f"{value * 1000:.1f}" if value < 10 else f"{value * 1000:.0f}"


def _series(size: int) -> str:
    return "1 series" if size == 1 else f"{size} series"


def _serve_order(cell: dict[str, Any]) -> tuple[int, bool]:
    return cell["size"], cell["server"] != "warm"


def _predict_row(what: str, cell: dict[str, Any]) -> str:
    s = summary(cell["seconds"])
    return (f"| {what} | {s['n']}{_disturbed(cell, ' (', ')')} | {s['median']:.1f} | {s['min']:.1f} | {s['max']:.1f} "
            f"| {_cpu(cell, lambda v: f'{v:.1f}')} | {cell['n_series'] / s['median']:,.0f} |")  # fmt: skip


def _cpu(cell: dict[str, Any], shown: Any) -> str:
    """The median CPU seconds of the cell's measurements, as `shown` formats seconds ("—" if not recorded)."""
    return shown(statistics.median(cell["cpu_seconds"])) if cell.get("cpu_seconds") else "—"


def _disturbed(cell: dict[str, Any], before: str = "; ", after: str = "") -> str:
    """The measurements other work disturbed: dropped (and measured again), or kept for want of quiet ones."""

    def count(n: int) -> str:
        return f"{n} run{'s' * (n != 1)} of {cell['chunk']}" if "chunk" in cell else str(n)

    parts = [f"{count(n)} disturbed, {fate}" for n, fate in ((len(cell.get("dropped", [])), "dropped"),
                                                              (cell.get("topped_up", 0), "kept")) if n]  # fmt: skip
    return f"{before}{', '.join(parts)}{after}" if parts else ""


def _busy(cells: Sequence[dict[str, Any]]) -> str:
    shares = [v for c in cells for v in c.get("other_cores_busy", {}).values()]
    if not shares:
        return "not recorded"
    low, high = f"{min(shares):.0%}", f"{max(shares):.0%}"
    return low if low == high else f"{low}-{high}"


def _others(records: Sequence[dict[str, Any]], measured: Sequence[dict[str, Any]]) -> list[str]:
    """What else ran meanwhile: the other cores' busy share, the runs' notes, and the work on the
    benchmark's own core that was not its own (per cell; what was measured again)."""
    notes = list(dict.fromkeys(r["note"] for r in records if r.get("note")))
    shares = [v for c in measured for v in c.get("other_cores_busy", {}).values()]
    lines = [f"- The other cores were busy {_busy(measured)} of the time while the cells ran"
             + ("; work there competes for memory bandwidth and caches, so the figures are upper bounds."
                if shares and max(shares) > 0.5 else ".")
             + (f" What the runs noted: {'; '.join(notes)}." if notes else "")]  # fmt: skip
    foreign = sorted((c for c in measured if "own_cores_foreign" in c), key=lambda c: c["cell"])
    if foreign:
        waited = sum(c.get("waited_for_quiet_seconds", 0.0) for c in measured)
        most_wait = max(c.get("quiet_wait", 0.0) for c in measured)
        lines += [
            "- Others' work on the benchmark's own core (the core's busy time in /proc/stat less the CPU time",
            "  of the benchmark's processes), mean over the measurements each figure above comes from: "
            + ", ".join(f"{c['cell']} {c['own_cores_foreign']:.1%}" for c in foreign)
            + ".",
        ]
        if most_wait:
            lines += [
                f"- Before each measurement the benchmark waited for that share to stay under {QUIET:.0%} for 1 s",
                f"  (at most {most_wait:.0f} s each; {waited:.0f} s in all); a measurement during which it reached",
                f"  {QUIET:.0%} was dropped and measured again (at most {TRIES}x the measurements wanted; past the",
                "  time budget, not at all), so the figures above are from quiet measurements unless a row says",
                "  some disturbed ones were kept.",
            ]
    return lines


def _mlflow_version(records: Sequence[dict[str, Any]]) -> str:
    return next((r["model"]["mlflow"] for r in records if "mlflow" in r.get("model", {})), "?")


def render(records: Sequence[dict[str, Any]]) -> str:
    """The markdown report of `records` (one line per cell)."""
    cells = latest(records)
    model = next((c["model"] for c in reversed(list(cells.values())) if c.get("model")), None)
    commands, dates = common.commands_and_dates(records)
    lines = [
        "# Serving latency: `mlflow models serve` and `zoo predict`",
        "",
        "Issue 18's measurements: the latency of `/invocations` for one series and for a batch, with the",
        "server cold and warm, and `zoo predict` on 10,000 series. Written by `benchmarks/serving.py` from",
        "`benchmarks/results/serving.jsonl` (one line per cell; the report shows each cell's latest).",
        "",
        "## The model",
        "",
    ]
    if model:
        accuracy = model.get("test_accuracy")
        shown = "" if accuracy is None else f" (test accuracy {accuracy:.3f})"
        lines += [
            "```bash",
            model["train_command"],
            "```",
            "",
            f"A subprocess, into a scratch MLflow SQLite store: `{model['train_command'].split()[3]}` on GunPoint "
            "(series of 150 steps,",
            f"1 channel, 2 classes), {model['epochs']} epoch(s), {model['params']:,} parameters, registered as "
            f"{model['registered']} with",
            f"alias `champion` and served as `{model['model_uri']}`; training took {model['train_seconds']:.0f} s. "
            f"Its accuracy{shown}",
            "does not matter here: what a request costs is the network's size and the server's work, whatever",
            "the weights.",
        ]
        runs = {c["model"]["run_id"] for c in cells.values() if c.get("model")}
        if len(runs) > 1:
            lines += ["", f"The cells below come from {len(runs)} runs of the benchmark (`--sections`), each with its "
                      "own model of this architecture and size, trained the same way."]  # fmt: skip
    else:
        lines.append("(not measured yet)")
    lines += [
        "",
        "## `/invocations` of `mlflow models serve`",
        "",
        "`mlflow models serve -m models:/NAME@champion --env-manager local --host 127.0.0.1 --port PORT`",
        '(one uvicorn worker, MLflow\'s default), asked with raw series as JSON (`{"inputs": [...]}`,',
        "encoded before the clock starts) through a keep-alive `requests` session; a request's time runs",
        "from the POST to its parsed JSON answer. Series: GunPoint's raw test series, the first one, or",
        "the first 256 (its 150 repeated in order). **CPU** is the CPU time the client (its thread) and the server",
        "processes spent during a request (their threads' time on a CPU, read before and after it): what a",
        "request costs the core, and about the latency the core would show with nothing else on it.",
        "",
        "| request | server | requests | median ms | p90 ms | min ms | max ms | CPU ms, median "
        "| series/s at the median |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    serve = sorted((c for c in cells.values() if c["section"] == "serve"), key=_serve_order)
    for c in serve:
        s = summary(c["seconds"])
        server = "warm" if c["server"] == "warm" else "cold (first request)"
        how = f"after {c['warmup']} untimed" if c["server"] == "warm" else "one per fresh server"
        count = f"{s['n']} ({how}{_disturbed(c)})"
        figures = " | ".join(_ms(s[k]) for k in ("median", "p90", "min", "max"))
        lines.append(f"| {_series(c['size'])} ({c['body_bytes'] / 1024:.0f} KiB) | {server} | {count} | {figures} "
                     f"| {_cpu(c, _ms)} | {c['size'] / s['median']:,.0f} |")  # fmt: skip
    cold = [c for c in serve if c["server"] == "cold"]
    warm_median = {c["size"]: statistics.median(c["seconds"]) for c in serve if c["server"] == "warm"}
    if cold:
        up = summary([u for c in cold for u in c["up_seconds"]])
        second = {c["size"]: statistics.median(c["second_request_seconds"]) for c in cold}
        beside = [f"{_series(k)} {_ms(v)} ms median" + (f" (warm: {_ms(warm_median[k])})" if k in warm_median else "")
                  for k, v in sorted(second.items())]  # fmt: skip
        lines += [
            "",
            f"- **Cold** is the first request to a fresh server, sent as soon as it first answers `/ping` "
            f"(polled every 50 ms): {cold[0]['starts']} fresh servers per size, "
            f"{sum(c['starts'] for c in cold)} starts in all, sizes alternating from start to start. The server "
            "loads the model before it answers `/ping`; the first request also traces TensorFlow's function.",
            f"- A fresh server answered `/ping` after {up['median']:.1f} s (median of {up['n']} starts; "
            f"{up['min']:.1f}-{up['max']:.1f} s), the process start, imports and model load included.",
            "- The second request to each of those servers (same size as its first): " + "; ".join(beside) + ".",
        ]
    warm = [c for c in serve if c["server"] == "warm"]
    if warm:
        lines += [
            f"- **Warm**: one more fresh server, {warm[0]['warmup']} untimed requests of each size, then "
            f"{len(warm[0]['seconds'])} timed requests of one series, then as many of the batch, in runs of "
            + " and ".join(f"{c['chunk']} ({_series(c['size'])})" for c in warm if "chunk" in c)
            + " requests (a run is what is dropped and measured again when other work disturbs it).",
        ]
        batch = next((c for c in warm if c["size"] > 1), None)
        fastest = min(batch["seconds"]) if batch else 0.0
        fast = [t for t in batch["seconds"] if t < 1.3 * fastest] if batch else []
        slow = [t for t in batch["seconds"] if t >= 1.3 * fastest] if batch else []
        if fast and slow:
            lines += [
                f"- The warm batch's times fall in two groups: {len(fast)} of {len(batch['seconds'])} requests near "
                f"{_ms(statistics.median(fast))} ms, the other {len(slow)} near {_ms(statistics.median(slow))} ms. "
                "Checked by hand on this machine (not by the script): each slow request includes a full "
                "(generation 2) garbage collection of the server's Python heap, which TensorFlow and MLflow fill "
                "with about 640,000 objects (200-270 ms a collection), and parsing 256 series of JSON allocates "
                "enough to set one off in most requests. Freezing the heap once the model is loaded "
                "(`gc.collect(); gc.freeze()`) brought every such request to about 240 ms in an in-process copy "
                "of the scoring server (`mlflow.pyfunc.scoring_server.init` under uvicorn)."
            ]
    cli = cells.get("predict-cli")
    first, later, alone = (cells.get(f"predict-in-process-{k}") for k in ("first", "later", "model"))
    lines += ["", f"## `zoo predict` on {cli['n_series'] if cli else SERIES:,} series", ""]
    if cli:
        lines += [
            f"The data: `{cli['file']}` ({cli['file_mb']:.1f} MiB), a `file:` `.npz` (`x_train`, `y_train`, `x_test`,",
            f"`y_test`, docs/data.md): `x_train` GunPoint's {cli['n_train']} raw train series, `x_test` "
            f"{cli['n_series']:,} raw series of {cli['steps']} steps, GunPoint's 150 raw test series repeated",
            "in order (row i is test series i mod 150), with their labels, so `zoo predict` scores them too.",
            f"`zoo predict` predicts the file's test split: the {cli['n_series']:,} series. Why not a CSV or",
            "Parquet file: a table names its test rows in a column given by the data option `split=`, and",
            "`zoo predict -o split=COLUMN` failed when this ran (the option's name collided with `predict`'s",
            "own `split` argument; fixed since, f0c9163); without that column a table's test split is a",
            "fixed 20% of its rows.",
            "",
            "| what | runs | median s | min s | max s | CPU s, median | series/s at the median |",
            "|---|---|---|---|---|---|---|",
        ]
        rows = [(f"`{cli['predict_command']}`, the command's wall time", cli),
                ('`recipes.predicting.predict(RUN_ID, "file:...")` in process, first call', first),
                ("the same, later calls", later),
                ("the serving model's `predict` alone (batch 256), model loaded and traced", alone)]  # fmt: skip
        lines += [_predict_row(what, c) for what, c in rows if c and c["seconds"]]
        lines += [
            "",
            "- The command's wall time runs from the start of the `zoo predict` process to its exit: the",
            "  imports (TensorFlow, MLflow), fetching the run's `model.keras` and `serving.json` from the",
            "  store, reading and checking the file, the prediction, writing `predictions.csv`, scoring.",
            "- In process (this process, TensorFlow already imported), `recipes.predicting.predict` does the",
            "  same but for the imports and the CSV: each call fetches the run's files, reads the file, loads",
            "  the model and traces its predict function again; the first call also pays the process's one-time",
            "  costs (modules first imported by it, caches).",
            "- CPU: the CPU time of this process and the processes it started, during the measurement.",
        ]
        if alone and alone.get("cpu_seconds"):
            wall, cpu = statistics.median(alone["seconds"]), statistics.median(alone["cpu_seconds"])
            if cpu < 0.8 * wall:
                lines.append(
                    f"- Keras' `Model.predict` kept the core busy only {cpu / wall:.0%} of its wall time, other work "
                    f"on the core being {alone.get('own_cores_foreign', 0):.0%}: it waits between batches. Checked by "
                    "hand on this machine (not by the script), with the same pools of one thread: a loop of "
                    "`predict_on_batch` over the same batches of 256 took 6.0 s of wall time and 6.0 s of CPU, "
                    "against 10.3 s and 5.7 s for `predict`."
                )
        if cli.get("scored"):
            lines.append(f"- The command's own line: `{cli['scored']}` (the model's accuracy, not a goal here).")
    else:
        lines.append("(not measured yet)")
    errors = [r for r in records if "error" in r]
    if errors:
        lines += ["", "Failed cells:", ""]
        lines += [f"- {r['cell']}: {r['error'].splitlines()[0]}" for r in errors]
    measured = [c for c in cells.values() if c["section"] != "model"]
    lines += [
        "",
        "## Other work on the machine",
        "",
        "The benchmark runs on one core (`taskset -c 0`); every process it starts (`zoo train`, the servers,",
        "`zoo predict`) inherits the core and TensorFlow's thread counts, and the client and the server share",
        "that core.",
        "",
        *_others(records, measured),
        "",
        "## Machine and commands",
        "",
        *common.machine_lines(records, f", MLflow {_mlflow_version(records)}"),
    ]
    if dates:
        lines.append(f"- Measured {dates[0][:16].replace('T', ' ')} to {dates[-1][:16].replace('T', ' ')} UTC.")
    lines += ["- Commands run (from the results file), in order:", "", "```bash", *(commands or ["(none yet)"]),
              "```", ""]  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    common.run_and_report(argv, parse, run, lambda args: render(common.read_results(args.results)))


if __name__ == "__main__":
    main()
