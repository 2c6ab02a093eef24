"""The speed benchmark's ``device`` section: the zoo's models on whatever Keras backend and device.

Runs without TensorFlow (the GPU machines lent here have JAX and PyTorch, not TensorFlow), so
it trains with plain `model.fit` on NumPy arrays, compiled as `recipes.train` compiles. Per
model: samples/s with float32 and with mixed precision (side by side, alternating), whether
the recurrent layers took the backend's cuDNN path (counted while training, not inferred),
GPU utilisation sampled with nvidia-smi during the timed epochs, and, for lstm and gru,
`torch.nn.LSTM`/`torch.nn.GRU` (cuDNN on a GPU) on the same shapes, where PyTorch is installed.

    KERAS_BACKEND=jax python benchmarks/speed.py --sections device --conditions '...'
"""

from __future__ import annotations

import contextlib
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from benchmarks.common import CLASSES, forward_flops, paired, synthetic, throughput_callback, zoo_model

TORCH_REFERENCE = {"lstm": "LSTM", "gru": "GRU"}


class CudnnCounter:
    """Counts the recurrent calls that took the backend's cuDNN kernel and those that fell back.

    Keras' LSTM and GRU layers call `keras.src.backend.lstm`/`gru` first; those raise
    NotImplementedError when the cuDNN kernel cannot run (no GPU, or a config it does not take)
    and the layer falls back to its generic loop.
    """

    def __init__(self) -> None:
        self.fast = 0
        self.fallback = 0

    @contextlib.contextmanager
    def counting(self) -> Iterator[CudnnCounter]:
        from keras.src import backend

        saved = {name: getattr(backend, name, None) for name in ("lstm", "gru")}

        def wrap(fn: Any) -> Any:
            def counted(*args: Any, **kwargs: Any) -> Any:
                try:
                    out = fn(*args, **kwargs)
                except NotImplementedError:
                    self.fallback += 1
                    raise
                self.fast += 1
                return out

            return counted

        for name, fn in saved.items():
            if fn is not None:
                setattr(backend, name, wrap(fn))
        try:
            yield self
        finally:
            for name, fn in saved.items():
                if fn is not None:
                    setattr(backend, name, fn)

    def verdict(self) -> str:
        if not self.fast and not self.fallback:
            return "n/a (no recurrent layer)"
        if self.fast and not self.fallback:
            return "yes"
        return "no" if not self.fast else f"partly ({self.fast} of {self.fast + self.fallback} calls)"


class GpuSampler:
    """Median GPU utilisation (%) from nvidia-smi, sampled every 0.2 s while the block runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()

    def _poll(self, smi: str) -> None:
        while not self._stop.is_set():
            out = subprocess.run([smi, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, check=False).stdout  # fmt: skip
            with contextlib.suppress(ValueError, IndexError):
                self.samples.append(float(out.split()[0]))
            self._stop.wait(0.2)

    @contextlib.contextmanager
    def sampling(self, enabled: bool) -> Iterator[GpuSampler]:
        smi = shutil.which("nvidia-smi")
        thread = threading.Thread(target=self._poll, args=(smi,), daemon=True) if enabled and smi else None
        if thread:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            if thread:
                thread.join()

    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


def fit_keras(name: str, x: Any, y: Any, *, epochs: int, batch: int, seed: int, mixed: bool,
              counter: CudnnCounter | None = None, sampler: GpuSampler | None = None) -> float:  # fmt: skip
    """Samples/s of the zoo model with `model.fit` on NumPy arrays, compiled as the recipe compiles."""
    import keras

    from recipes.config import train_config
    from recipes.device import precision
    from recipes.train import compile_model

    keras.utils.set_random_seed(max(seed, 0))
    with precision(mixed):
        model = zoo_model(name, x.shape[1], x.shape[2])
        compile_model(model, "classification", train_config())
        timer = throughput_callback()
        with contextlib.ExitStack() as stack:
            if counter is not None:
                stack.enter_context(counter.counting())
            if sampler is not None:
                stack.enter_context(sampler.sampling(enabled=True))
            model.fit(x, y, epochs=epochs, batch_size=batch, shuffle=True, callbacks=[timer], verbose=0)
    keras.utils.clear_session(free_memory=True)
    return timer.rate(len(x))


def fit_torch(name: str, x: Any, y: Any, *, epochs: int, batch: int, seed: int) -> tuple[float, str]:
    """Samples/s of `torch.nn.LSTM`/`GRU` (64 units) + dropout + a linear head, and its device."""
    import torch

    torch.manual_seed(max(seed, 0))
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = getattr(torch.nn, TORCH_REFERENCE[name])(x.shape[2], 64, batch_first=True)
            self.drop = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(64, CLASSES)

        def forward(self, inputs: Any) -> Any:
            out, _ = self.rnn(inputs)
            return self.head(self.drop(out[:, -1]))

    net = Net().to(dev)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xs, ys = torch.from_numpy(x).to(dev), torch.from_numpy(y).long().to(dev)
    durations = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(xs), device=dev)
        for lo in range(0, len(xs), batch):
            idx = order[lo : lo + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(xs[idx]), ys[idx])
            loss.backward()
            optimizer.step()
        loss.item()  # waits for the device
        durations.append(time.perf_counter() - start)
    kind = f"cuDNN on {torch.cuda.get_device_name(dev)}" if dev.type == "cuda" else "CPU"
    return len(xs) / min(durations[1:]), kind


def device(args: Any) -> list[dict[str, Any]]:
    """Every model on the current backend and device; see the module's docstring."""
    import keras

    from recipes.device import describe_devices

    backend = keras.backend.backend()
    where = describe_devices()
    gpu = where != "CPU"
    train = synthetic(args.samples, args.length).train
    x, y = train.x, train.y
    common = {"epochs": args.epochs, "batch": args.batch}
    out = []
    for name in args.models:
        counter, sampler = CudnnCounter(), GpuSampler()
        fit_keras(name, x[: args.batch * 4], y[: args.batch * 4], epochs=2, batch=args.batch, seed=0, mixed=False,
                  counter=counter)  # fmt: skip
        # Utilisation from a run of its own, so that the sampler's subprocesses disturb no timed run.
        if gpu:
            fit_keras(name, x, y, seed=0, mixed=False, sampler=sampler, **common)
        if gpu:  # mixed precision on a CPU is bfloat16 emulation; the knobs section measures it there
            res = paired(lambda r, n=name: fit_keras(n, x, y, seed=r, mixed=True, **common),
                         lambda r, n=name: fit_keras(n, x, y, seed=r, mixed=False, **common), args.repeats)  # fmt: skip
        else:
            fit_keras(name, x, y, seed=-1, mixed=False, **common)  # untimed: a process's first trainings run slower
            rates = [fit_keras(name, x, y, seed=r, mixed=False, **common) for r in range(args.repeats)]
            res = {"b": [round(v, 2) for v in rates], "b_median": statistics.median(rates), "ratio_median": None}
        flops = 3 * forward_flops(name, args.length, 1)
        record = {"section": "device", "what": f"{backend} on {where}", "model": name, "backend": backend,
                  "device": where, "samples": args.samples, "length": args.length, "batch": args.batch,
                  "epochs": args.epochs, "samples_per_s": res["b_median"], "mixed_samples_per_s": res.get("a_median"),
                  "cudnn": counter.verdict() if gpu else "n/a (CPU)", "gpu_utilisation": sampler.median(),
                  "train_flops_per_sample": flops, "achieved_flops": flops * res["b_median"], **res}  # fmt: skip
        if name in TORCH_REFERENCE:
            try:
                import torch

                torch.set_num_threads(max(args.threads, 1))
                runs = [fit_torch(name, x, y, seed=r, **common) for r in range(args.repeats)]
                record.update(torch=statistics.median(r[0] for r in runs), torch_device=runs[0][1],
                              torch_version=torch.__version__)  # fmt: skip
            except ImportError:
                record["torch"] = None
        out.append(record)
        ref = f", torch.nn.{TORCH_REFERENCE[name]} {record['torch']:.0f}/s" if record.get("torch") else ""
        mixed = "" if res["ratio_median"] is None else f", mixed x{res['ratio_median']:.2f}"
        print(f"  device {name} ({backend} on {where}): {res['b_median']:.0f}/s float32{mixed}, "
              f"cuDNN {record['cudnn']}{ref}", flush=True)  # fmt: skip
    return out


def render(rows: list[dict[str, Any]], models: Sequence[str]) -> list[str]:
    """The report's device tables: GPU rows (or `models` 'not measured'), then the CPU rows per backend."""
    gpu = [r for r in rows if r["device"] != "CPU"]
    cpu = [r for r in rows if r["device"] == "CPU"]
    header = ("| model | backend | device | samples/s (float32) | mixed precision / float32 | cuDNN path | "
              "GPU utilisation | torch reference samples/s | zoo / torch |")  # fmt: skip
    rule = "|---|---|---|---:|---:|---|---:|---:|---:|"

    def row(r: dict[str, Any]) -> str:
        util = "-" if r.get("gpu_utilisation") is None else f"{r['gpu_utilisation']:.0f}%"
        torch_rate = r.get("torch")
        ref = f"{torch_rate:.0f} ({r['torch_device']})" if torch_rate else "-"
        ratio = f"**{r['samples_per_s'] / torch_rate:.2f}**" if torch_rate else "-"
        mixed = "-"
        if r.get("ratio_median") is not None:
            mixed = f"{r['ratio_median']:.2f} ({r['ratio_min']:.2f}-{r['ratio_max']:.2f})"
        return (f"| {r['model']} | {r['backend']} | {r['device']} | {r['samples_per_s']:.0f} | {mixed} | "
                f"{r['cudnn']} | {util} | {ref} | {ratio} |")  # fmt: skip

    lines = ["## GPU", ""]
    if gpu:
        lines += [header, rule, *(row(r) for r in gpu), ""]
    else:
        lines += ["| model | samples/s | cuDNN path | mixed precision | GPU utilisation | torch.nn.LSTM (cuDNN) |",
                  "|---|---|---|---|---|---|", *(f"| {name} |" + " not measured |" * 5 for name in models), "",
                  "No GPU was lent to the sessions that ran this benchmark; nothing here is estimated. The `device` "
                  "section measures it where one is: `KERAS_BACKEND=jax python benchmarks/speed.py --sections "
                  "device` (it runs without TensorFlow).", ""]  # fmt: skip
    if cpu:
        c0 = cpu[0]
        lines += ["## Backends and PyTorch on the CPU", "",
                  f"The `device` section on this machine's CPU: `model.fit` on NumPy arrays (no tf.data, no "
                  f"recipe callbacks), compiled as `recipes.train` compiles (Adam, XLA off on TensorFlow; JAX always "
                  f"compiles with XLA); {c0['samples']} examples x {c0['length']} steps, batch {c0['batch']}, fastest "
                  f"epoch after the first, median of {len(c0['b'])} repeats. The torch reference is `torch.nn.LSTM`/"
                  f"`GRU` (64 units) + dropout + a linear head with Adam, the same shapes, trained with a plain loop "
                  f"(no framework around it). Mixed precision on a CPU: see the knobs table.", "",
                  header, rule, *(row(r) for r in sorted(cpu, key=lambda r: (r["model"], r["backend"])))]  # fmt: skip
        by = {(r["model"], r["backend"]): r["samples_per_s"] for r in cpu}
        pairs = [f"{m} {by[m, 'jax'] / by[m, 'tensorflow']:.2f}" for m in models if (m, "jax") in by and
                 (m, "tensorflow") in by]  # fmt: skip
        if pairs:
            lines += ["", f"JAX / TensorFlow on this CPU, same models and data: {', '.join(pairs)}. The recipes run on "
                      "either backend (`KERAS_BACKEND=jax zoo train ...`: tf.data still feeds the batches); TensorFlow "
                      "stays the default backend (a project decision: it owns tf.data and TFDS)."]  # fmt: skip
        versions = sorted({f"JAX {r['machine']['jax']}" for r in cpu if r["machine"].get("jax")}
                          | {f"PyTorch {r['torch_version']}" for r in cpu if r.get("torch_version")})  # fmt: skip
        if versions:
            lines += ["", f"Versions: {', '.join(versions)} (CPU builds; not project dependencies: installed apart "
                      "and put on PYTHONPATH for these runs)."]  # fmt: skip
        lines.append("")
    return lines
