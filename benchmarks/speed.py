"""Speed benchmark: the zoo against the same layers written by hand, and what each knob costs.

Every figure that compares two things is a ratio of the two measured side by side in one
process, in alternating order, median over repeats (these machines are noisy). Sections:

- ``overhead``: training throughput (samples/s after a warm-up epoch) of the zoo-built model
  through `recipes.train` vs the same layers as a plain functional Keras model with `model.fit`
  on an equivalent tf.data pipeline (cache, shuffle, batch, prefetch). Target ratio >= 0.97.
- ``inference``: latency at batch 1 and throughput at batch 256 (`predict_on_batch`), zoo and
  hand-written models.
- ``knobs``: XLA (`jit_compile`) on/off and mixed precision on/off through `recipes.train`.
- ``scaling``: throughput as sequence length and batch size grow (lstm, cnn_lstm), with the
  FLOPs per training step computed from the layer shapes and the achieved FLOP/s.
- ``startup``: `zoo list` wall time and time to the first training step of `zoo train`.
- ``device``: every model on the current Keras backend and device with plain `model.fit` (runs
  without TensorFlow, for GPU machines that have only JAX): samples/s, mixed precision on a GPU,
  whether cuDNN ran, GPU utilisation, `torch.nn.LSTM`/`GRU` beside (`benchmarks/speed_device.py`).

One JSON line per measurement goes to benchmarks/results/speed.jsonl; the report
(docs/benchmarks/speed.md) is rendered from that file alone.

    TF_CPP_MIN_LOG_LEVEL=2 taskset -c 1 .venv/bin/python benchmarks/speed.py --threads 1
    .venv/bin/python benchmarks/speed.py --report-only
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, before benchmarks/

import benchmarks.common as common

# What the records written before `--conditions` existed ran beside (all of them ran on 2026-11-24).
EARLIER_CONDITIONS = "the other core ran the semi-supervised benchmark (Rotten Tomatoes lstm_fcn)"
# Start-up rows of the first runs, before the new and the existing store were told apart (new store then).
RETIRED_STARTUP_ROWS = ("zoo train: time to first step", "zoo train lstm, 1 epoch of GunPoint, tracked (total)")
MODELS = ("lstm", "gru", "cnn_lstm", "attention_lstm", "lstm_fcn")
SECTIONS = ("overhead", "inference", "knobs", "scaling", "startup", "device")
RESULTS = common.ROOT / "benchmarks" / "results" / "speed.jsonl"
REPORT = common.ROOT / "docs" / "benchmarks" / "speed.md"
# Each against the default: XLA, mixed precision, 8 batches per call, the resume checkpoint every epoch.
KNOBS = (("jit_compile", True), ("mixed_precision", True), ("steps_per_execution", 8), ("checkpoint_seconds", 0))


# ---------------------------------------------------------------------------------------------
# The hand-written models (the synthetic data and the zoo's models: benchmarks.common)


def hand_model(name: str, length: int, features: int) -> Any:
    """The zoo's default `name` for classification, written as a user would by hand."""
    import keras
    from keras import layers

    x = inputs = keras.Input((length, features))

    def conv(x: Any, filters: int, kernel: int) -> Any:
        x = layers.Conv1D(filters, kernel, padding="same")(x)
        return layers.Activation("relu")(layers.BatchNormalization()(x))

    if name == "lstm":
        x = layers.Dropout(0.1)(layers.LSTM(64)(x))
    elif name == "gru":
        x = layers.Dropout(0.1)(layers.GRU(64)(x))
    elif name == "cnn_lstm":
        for _ in range(2):
            x = layers.MaxPooling1D(2)(conv(x, 64, 5))
        x = layers.Dropout(0.1)(layers.LSTM(64)(x))
    elif name == "attention_lstm":
        h = layers.Dropout(0.1)(layers.LSTM(64, return_sequences=True)(x))
        scores = layers.Dense(1, use_bias=False)(layers.Dense(64, activation="tanh")(h))
        weights = layers.Softmax(axis=1)(scores)
        x = keras.ops.sum(layers.Multiply()([h, weights]), axis=1)
    elif name == "lstm_fcn":
        recurrent = layers.Dropout(0.8)(layers.LSTM(64)(x))
        conv_branch = conv(conv(conv(x, 128, 8), 256, 5), 128, 3)
        x = layers.Concatenate()([recurrent, layers.GlobalAveragePooling1D()(conv_branch)])
    else:
        raise ValueError(name)
    return keras.Model(inputs, layers.Dense(common.CLASSES, activation="softmax")(x))


# ---------------------------------------------------------------------------------------------
# The CPU's nominal peak FLOP/s (a model's FLOPs per sample: forward_flops, benchmarks.common)


def peak_flops(threads: int) -> dict[str, Any]:
    """The CPU's nominal fp32 peak for `threads` cores: GHz x 32 FLOP/cycle (2 AVX2 FMA units)."""
    mhz = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                mhz = float(line.split(":")[1])
                break
    except OSError:
        pass
    if not mhz:
        return {"ghz": None, "flops": None}
    return {"ghz": mhz / 1000, "flops": threads * mhz * 1e6 * 32}


# ---------------------------------------------------------------------------------------------
# Measuring (throughput_callback and paired: benchmarks.common)


def fit_zoo(name: str, dataset: Any, *, epochs: int, batch: int, seed: int, **settings: Any) -> float:
    """Samples/s of `recipes.train` (its callbacks, checkpoints and pipeline included), on the
    every-step architecture the hand-written twin has (`patch=1` where the model has the knob)."""
    import recipes

    every_step = common.every_step(name)
    timer = common.throughput_callback()
    with tempfile.TemporaryDirectory() as runs:
        recipes.train(name, dataset, hparams=every_step, tracking=False, runs_dir=runs, resume=False,
                      evaluate=False, log_model=False, verbose=0, callbacks=[timer], epochs=epochs,
                      batch_size=batch, patience=0, seed=max(seed, 0), **settings)  # fmt: skip
    return timer.rate(len(dataset.train))


def fit_hand(name: str, dataset: Any, *, epochs: int, batch: int, seed: int) -> float:
    """Samples/s of the hand-written model with `model.fit` on a plain tf.data pipeline."""
    import keras
    import tensorflow as tf

    from recipes.data.pipeline import pipeline_options

    keras.utils.set_random_seed(max(seed, 0))
    split = dataset.train
    model = hand_model(name, split.x.shape[1], split.x.shape[2])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data = tf.data.Dataset.from_tensor_slices((split.x, split.y)).cache().shuffle(len(split), seed=max(seed, 0))
    # The zoo's pipeline options: with the autotuner on, this side would measure tf.data (up to 30% of lstm_fcn's
    # throughput on one core), not the model and the recipe.
    data = data.batch(batch).prefetch(tf.data.AUTOTUNE).with_options(pipeline_options())
    timer = common.throughput_callback()
    model.fit(data, epochs=epochs, callbacks=[timer], verbose=0)
    keras.utils.clear_session(free_memory=True)
    return timer.rate(len(split))


def check_same_parameters(name: str, length: int, features: int) -> int:
    """The hand-written model must have exactly the zoo model's parameter count."""
    import keras

    zoo_count = common.zoo_model(name, length, features).count_params()
    hand_count = hand_model(name, length, features).count_params()
    keras.utils.clear_session(free_memory=True)
    if zoo_count != hand_count:
        raise SystemExit(f"{name}: hand-written model has {hand_count} parameters, the zoo's {zoo_count}")
    return zoo_count


def _training(args: argparse.Namespace) -> Callable[..., Callable[[int], float]]:
    """`training(fit, name, **settings)`: a `repeat -> samples/s` of `fit` (fit_zoo or fit_hand) on
    a section's synthetic data, at its epochs and batch size, seeded by the repeat."""
    dataset = common.synthetic(args.samples, args.length)

    def training(fit: Callable[..., float], name: str, **settings: Any) -> Callable[[int], float]:
        return lambda r: fit(name, dataset, epochs=args.epochs, batch=args.batch, seed=r, **settings)

    return training


def overhead(args: argparse.Namespace) -> list[dict[str, Any]]:
    training = _training(args)
    out = []
    for name in args.models:
        params = check_same_parameters(name, args.length, 1)
        res = common.paired(training(fit_zoo, name), training(fit_hand, name), args.repeats)
        flops = 3 * common.forward_flops(name, args.length, 1)
        out.append({"section": "overhead", "model": name, "params": params, "samples": args.samples,
                    "length": args.length, "batch": args.batch, "epochs": args.epochs, **res,
                    "train_flops_per_sample": flops, "achieved_flops": flops * res["a_median"]})  # fmt: skip
        print(f"  overhead {name}: zoo {res['a_median']:.0f}/s, hand {res['b_median']:.0f}/s, "
              f"ratio {res['ratio_median']:.3f}", flush=True)  # fmt: skip
    return out


def _latency(model: Any, x: Any, calls: int) -> float:
    model.predict_on_batch(x)  # trace
    model.predict_on_batch(x)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        model.predict_on_batch(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def inference(args: argparse.Namespace) -> list[dict[str, Any]]:
    import keras
    import numpy as np

    out = []
    rng = np.random.default_rng(0)
    for name in args.models:
        for batch, calls in ((1, 200), (256, 20)):
            x = rng.normal(size=(batch, args.length, 1)).astype("float32")
            res = common.paired(
                lambda r, n=name, xx=x, c=calls: 1 / _latency(common.zoo_model(n, args.length, 1), xx, c),
                lambda r, n=name, xx=x, c=calls: 1 / _latency(hand_model(n, args.length, 1), xx, c),
                args.repeats,
            )
            keras.utils.clear_session(free_memory=True)
            out.append({"section": "inference", "model": name, "batch": batch, "length": args.length,
                        "latency_ms": 1000 / res["a_median"], "hand_latency_ms": 1000 / res["b_median"],
                        "samples_per_s": batch * res["a_median"], **res})  # fmt: skip
            print(f"  inference {name} batch {batch}: {1000 / res['a_median']:.2f} ms "
                  f"(hand {1000 / res['b_median']:.2f} ms)", flush=True)  # fmt: skip
    return out


def knobs(args: argparse.Namespace) -> list[dict[str, Any]]:
    training = _training(args)
    out = []
    for name in args.models:
        for knob, value in KNOBS:
            try:
                res = common.paired(training(fit_zoo, name, **{knob: value}), training(fit_zoo, name), args.repeats)
            except Exception as err:  # a knob the backend refuses for this model is a result too
                out.append({"section": "knobs", "model": name, "knob": knob, "error": str(err).splitlines()[0][:300]})
                print(f"  {knob} {name}: failed ({str(err).splitlines()[0][:120]})", flush=True)
                continue
            out.append({"section": "knobs", "model": name, "knob": knob, "length": args.length,
                        "batch": args.batch, **res})  # fmt: skip
            print(f"  {knob} {name}: on {res['a_median']:.0f}/s, off {res['b_median']:.0f}/s, "
                  f"ratio {res['ratio_median']:.3f}", flush=True)  # fmt: skip
    return out


def scaling(args: argparse.Namespace) -> list[dict[str, Any]]:
    import keras

    out = []
    points = [("length", t, args.batch) for t in (64, 128, 256, 512, 1024)]
    points += [("batch", args.length, b) for b in (16, 32, 64, 128, 256)]
    fit_zoo("lstm", common.synthetic(512, args.length), epochs=2, batch=args.batch, seed=0)  # untimed warm-up
    for name in ("lstm", "cnn_lstm"):
        for axis, length, batch in points:
            # About the same number of steps per epoch at every point: samples scale with batch.
            n = max(batch * 16, 512)
            dataset = common.synthetic(n, length)
            rates = [fit_zoo(name, dataset, epochs=args.epochs, batch=batch, seed=r) for r in range(args.repeats)]
            keras.utils.clear_session(free_memory=True)
            rate = statistics.median(rates)
            flops = 3 * common.forward_flops(name, length, 1)
            out.append({"section": "scaling", "model": name, "axis": axis, "length": length, "batch": batch,
                        "samples": n, "samples_per_s": rate, "runs": [round(v, 2) for v in rates],
                        "train_flops_per_sample": flops, "achieved_flops": flops * rate})  # fmt: skip
            print(f"  scaling {name} T={length} B={batch}: {rate:.0f}/s, {flops * rate / 1e9:.2f} GFLOP/s", flush=True)
    return out


def startup(args: argparse.Namespace) -> list[dict[str, Any]]:
    """`zoo list` wall time; `zoo train` time to first step (logged by the recipe) and total."""
    import shutil

    from mlflow import MlflowClient

    zoo_bin = shutil.which("zoo", path=os.path.dirname(sys.executable)) or "zoo"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    walls = []
    for _ in range(max(args.repeats, 5)):
        start = time.perf_counter()
        subprocess.run([zoo_bin, "list"], env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
    out = [{"section": "startup", "what": "zoo list", "seconds": statistics.median(walls), "runs": walls}]
    # What the imports alone cost (-X importtime, interpreter start-up excluded).
    imports: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for module, parts in (("keras", ("keras", "keras.src.wrappers")), ("mlflow", ("mlflow",))):
            log = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], env=env,
                                 capture_output=True, text=True, check=True).stderr  # fmt: skip
            for part in parts:
                imports.setdefault(part, []).append(_import_seconds(log, part))
    names = {"keras": "import keras (TensorFlow backend, TensorFlow included)",
             "keras.src.wrappers": "of which Keras' scikit-learn wrappers (they import scikit-learn)",
             "mlflow": "import mlflow"}  # fmt: skip
    out += [
        {"section": "startup", "what": names[k], "seconds": statistics.median(v), "runs": v} for k, v in imports.items()
    ]
    # A first run also creates the SQLite store's tables; later runs open it.
    firsts: dict[str, list[float]] = {"new store": [], "existing store": []}
    totals = []
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            uri = f"sqlite:///{tmp}/mlflow.db"
            for store, seed in (("new store", r), ("existing store", r + 100)):
                start = time.perf_counter()
                subprocess.run([zoo_bin, "train", "lstm", "--data", "ucr:GunPoint", "--epochs", "1", "--seed",
                                str(seed), "--tracking-uri", uri], cwd=tmp, env=env, capture_output=True,
                               check=True)  # fmt: skip
                if store == "new store":
                    totals.append(time.perf_counter() - start)
            client = MlflowClient(uri)
            runs = client.search_runs([client.get_experiment_by_name("lstm-zoo").experiment_id],
                                      order_by=["attributes.start_time ASC"])  # fmt: skip
            for store, run in zip(firsts, runs, strict=True):
                firsts[store].append(run.data.metrics["time_to_first_step_seconds"])
    for store, values in firsts.items():
        out.append({"section": "startup", "what": f"zoo train: time to first step ({store})",
                    "seconds": statistics.median(values), "runs": values})  # fmt: skip
    out.append({"section": "startup", "what": "zoo train lstm, 1 epoch of GunPoint, tracked (total, new store)",
                "seconds": statistics.median(totals), "runs": totals})  # fmt: skip
    for row in out:
        print(f"  startup {row['what']}: {row['seconds']:.2f} s", flush=True)
    return out


def _import_seconds(log: str, module: str) -> float:
    """Cumulative seconds of `module` in a `python -X importtime` log (its first import)."""
    for line in log.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == module and parts[1].strip().isdigit():
            return int(parts[1]) / 1e6
    raise SystemExit(f"{module} is not in the import log")


# ---------------------------------------------------------------------------------------------
# Report


def _fmt_ratio(r: dict[str, Any]) -> str:
    return f"**{r['ratio_median']:.3f}** ({r['ratio_min']:.3f}-{r['ratio_max']:.3f})"


def render(records: list[dict[str, Any]]) -> str:
    lines = ["# Speed: the zoo against hand-written Keras, and what each knob costs", ""]
    if not records:
        return "\n".join([*lines, "Not run yet.", ""])
    latest: dict[tuple, dict[str, Any]] = {}
    for r in records:  # the last measurement of each thing wins
        key = (r["section"], r.get("model"), r.get("batch"), r.get("length"), r.get("knob"), r.get("axis"),
               r.get("what"))  # fmt: skip
        latest[key] = r
    rows = [r for r in latest.values() if not (r["section"] == "startup" and r["what"] in RETIRED_STARTUP_ROWS)]
    m = rows[0]["machine"]
    peak = rows[0].get("peak", {})
    lines += [
        f"Measured {min(r['date'] for r in rows)[:10]} on {m['cpu']} ({m['cores']} cores; {rows[0]['threads']} "
        f"thread(s) per process on cores {m.get('cpus_used')}), TensorFlow {m.get('tensorflow')}, Keras "
        f"{m.get('keras')}, CPU only. Commands:",
        "",
        *sorted({f"    {r['command']}" for r in rows}),
        "",
        "Conditions (what else the machine did while each section ran; ratios are side by side and hold, absolute "
        "figures are somewhat higher on a quiet machine):",
        "",
        *dict.fromkeys(f"- {r['section']} ({r['date'][:10]}): {r.get('conditions', EARLIER_CONDITIONS)}" for r in rows),
        "",
        "Ratios are of two things measured side by side in one process, alternating which goes first, "
        "median (min-max) over the repeats. Throughput is samples/s of the fastest epoch after the first "
        "(the first traces and warms up; an epoch runs from its start to the next one's; the fastest is the "
        "least disturbed by the rest of the machine); the zoo side includes everything `recipes.train` does "
        "during training (its tf.data pipeline, CSV log, resume checkpoint, early stopping). The hand-written "
        "side's pipeline (cache, shuffle, batch, prefetch) runs with the zoo's tf.data options (autotuner off: "
        "see below), so the ratio measures the model and the recipe, not tf.data.",
        "",
    ]
    section = [r for r in rows if r["section"] == "overhead"]
    if section:
        s0 = section[0]
        lines += ["## Zoo overhead (training)", "",
                  f"Synthetic 4-class series, {s0['samples']} examples x {s0['length']} steps x 1 feature, batch "
                  f"{s0['batch']}, {s0['epochs']} epochs, Adam; the hand-written model has the same layers and "
                  "parameter count (checked). Target: ratio >= 0.97.", "",
                  "| model | params | zoo samples/s | hand samples/s | zoo / hand | achieved GFLOP/s | of peak |",
                  "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for r in section:
            share = f"{r['achieved_flops'] / peak['flops']:.0%}" if peak.get("flops") else "-"
            lines.append(f"| {r['model']} | {r['params']:,} | {r['a_median']:.0f} | {r['b_median']:.0f} | "
                         f"{_fmt_ratio(r)} | {r['achieved_flops'] / 1e9:.2f} | {share} |")  # fmt: skip
        if peak.get("flops"):
            lines += ["", f"Peak: {peak['flops'] / 1e9:.1f} GFLOP/s nominal fp32 for one core ({peak['ghz']:.2f} "
                      "GHz x 32 FLOP/cycle: two AVX2 FMA units); FLOPs per training sample = 3 x the forward pass "
                      "counted from the layer shapes (an LSTM step 8·h·(d+h), a convolution 2·k·c_in·c_out per "
                      "output step)."]  # fmt: skip
        lines.append("")
    section = [r for r in rows if r["section"] == "inference"]
    if section:
        lines += ["## Inference", "", "`predict_on_batch`, median of 200 calls (batch 1) or 20 (batch 256) after "
                  "two warm-up calls.", "",
                  "| model | batch | zoo latency ms | hand latency ms | zoo samples/s | zoo / hand speed |",
                  "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
        for r in section:
            lines.append(f"| {r['model']} | {r['batch']} | {r['latency_ms']:.2f} | {r['hand_latency_ms']:.2f} | "
                         f"{r['samples_per_s']:.0f} | {_fmt_ratio(r)} |")  # fmt: skip
        lines.append("")
    section = [r for r in rows if r["section"] == "knobs"]
    if section:
        lines += ["## XLA, mixed precision, steps per execution, checkpoint cadence", "",
                  "Through `recipes.train`; ratio = on / off (above 1: faster on). On CPU mixed precision means "
                  "bfloat16 compute; steps_per_execution on = 8 batches per compiled call; checkpoint_seconds on = 0 "
                  "(the resume checkpoint after every epoch) against the default 30 s.", "",
                  "| model | knob | on samples/s | off samples/s | on / off |", "|---|---|---:|---:|---:|"]  # fmt: skip
        for r in section:
            if "error" in r:
                lines.append(f"| {r['model']} | {r['knob']} | failed | | {r['error']} |")
            else:
                lines.append(f"| {r['model']} | {r['knob']} | {r['a_median']:.0f} | {r['b_median']:.0f} | "
                             f"{_fmt_ratio(r)} |")  # fmt: skip
        lines.append("")
    section = [r for r in rows if r["section"] == "scaling"]
    if not section:
        lines += ["## How cost grows", "", "Not measured yet (`benchmarks/speed.py --sections scaling`).", ""]
    if section:
        peak_text = (f"{peak['flops'] / 1e9:.1f} GFLOP/s nominal ({peak['ghz']:.2f} GHz x 32 fp32 FLOP/cycle, "
                     "two AVX2 FMA units, per thread used)") if peak.get("flops") else "unknown"  # fmt: skip
        lines += ["## How cost grows", "",
                  "Through `recipes.train`, median of the repeats. FLOPs per training sample = 3 x forward, the "
                  "forward counted from the layer shapes (an LSTM layer step: 8·h·(d+h); a convolution: "
                  f"2·k·c_in·c_out per output step). The machine's peak: {peak_text}.", "",
                  "| model | steps | batch | samples/s | MFLOP per sample | achieved GFLOP/s | of peak |",
                  "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for r in section:
            share = f"{r['achieved_flops'] / peak['flops']:.1%}" if peak.get("flops") else "-"
            mflop, gflops = r["train_flops_per_sample"] / 1e6, r["achieved_flops"] / 1e9
            lines.append(f"| {r['model']} | {r['length']} | {r['batch']} | {r['samples_per_s']:.0f} | "
                         f"{mflop:.1f} | {gflops:.2f} | {share} |")  # fmt: skip
        lines.append("")
    section = [r for r in rows if r["section"] == "startup"]
    if section:
        lines += ["## Start-up", "", "| what | median s | runs |", "|---|---:|---|"]
        for r in section:
            lines.append(f"| {r['what']} | {r['seconds']:.2f} | {', '.join(f'{v:.2f}' for v in r['runs'])} |")
        lines += ["", "`zoo list` imports neither Keras nor TensorFlow (a test checks it; target < 1 s). The time "
                  "to first step is logged by every `zoo train` run as the MLflow metric "
                  "`time_to_first_step_seconds` (process start to the start of the second training step: imports, "
                  "data, MLflow, building, tracing). A first run creates the SQLite store's tables (about 1.8 s); "
                  "later runs open it.", "",
                  "Where the time to first step goes (existing store): importing Keras with TensorFlow and "
                  "MLflow is about 7.2 s of the 11.7 (rows above; Keras' own scikit-learn wrappers import "
                  "scikit-learn, ~1 s of it, whenever it is installed, and the data loaders need it). A probe that "
                  "timed each phase of one `zoo train` (one core, the other busy) put the rest at: opening the "
                  "store 0.9 s, loading GunPoint 0.9 s, building and compiling 0.1 s, tracing and running the "
                  "first step 2.3 s. The zoo's own code is none of the large parts; what is left to try is "
                  "overlapping the imports on machines with more cores.", ""]  # fmt: skip
    lines += [
        "## Found and fixed",
        "",
        "- **tf.data's autotuner** halved training throughput on one core: with it, most epochs of a small "
        "GRU (512 x 128 steps, batch 64, one process pinned to one core) took 1.23-1.39 s; with "
        "`options.autotune.enabled = False` 0.60-0.75 s (measured while investigating, 5 epochs x 2 runs "
        "each, the zoo's pipeline otherwise unchanged; prefetch depth 2 instead of AUTOTUNE did not help). "
        "The recipe pipelines read cached arrays and now run without it; before the fix the zoo/hand ratio "
        "here was 0.47-0.90. The other way round, a hand-written pipeline that keeps the autotuner trails the "
        "zoo: lstm_fcn hand 101 samples/s against the zoo's 143 (ratio 1.41, this benchmark's run of "
        "2026-11-24 10:13 before its hand side got the same options; the probe with the options equal: 0.998).",
        "- **The resume checkpoint after every epoch**: now written once `checkpoint_seconds` (default 30) "
        "have passed, and after the last epoch (the `checkpoint_seconds` row above measures every epoch "
        "against the default).",
        "- **No per-step host sync**: the recipe's callbacks had batch-end hooks (Keras' `TerminateOnNaN`, "
        "`BackupAndRestore`, the signal handler, the start-up timer), which make Keras wait for every step's "
        "results on backends that dispatch callbacks asynchronously (JAX, torch). None has one now (a test "
        "checks); on TensorFlow, which dispatches them synchronously anyway, this changes nothing measurable.",
        "- **The recurrent per-step output under pooled heads**: the backbone's last LSTM/GRU returned its whole "
        "sequence (which only a reconstruction head reads) under every head. Probed side by side with plain "
        "`model.fit` (one core, 3 repeats, 2,048 x 128 steps, batch 64): the unused sequence branch and its "
        "dropout cost nothing (full/pooled-only backbone 0.998 gru, 1.023 lstm), the `return_sequences=True` "
        "layer itself 3-4% (pooled-only backbone vs hand-written: gru 0.964, lstm 0.973). `zoo.build` now builds "
        "the backbone without per-step outputs unless the head is reconstruction (same weights; `build_backbone` "
        "still gives both; a conformance test checks the pooled features are equal for every model). cnn_lstm, "
        "which never returns per-step features, had the same waste; lstm_fcn also built its concatenated "
        "per-step features under every head. The overhead rows above are after the change (before it, with the "
        "other core busy and the hand side keeping tf.data's autotuner: lstm 1.045, gru 0.927, cnn_lstm 1.115, "
        "attention_lstm 1.009, lstm_fcn 1.019).",
        "- `steps_per_execution` is a training setting (its row above).",
        "- **Every model trained in a process stayed in memory**, after `keras.utils.clear_session()` too: Keras' "
        "TensorFlow optimizer all-reduces the gradients even without a distribution strategy, through "
        "`tf.custom_gradient`, which registers a gradient function in a global registry that is never emptied and "
        "holds the traced graph (tensorflow/tensorflow#97697). A 30-trial search grew by 12.5 MiB a trial; "
        "`recipes.backend_fixes` skips the one-replica all-reduce (the gradients are the same tensors) and it "
        "grows by 0.1 (`docs/benchmarks/tuning_memory.md`, both measured side by side). A test checks that a "
        "dropped model leaves no traced graph behind.",
        "- **`jit_compile` defaulted to False**, which on the JAX backend runs the train step op by op: the zoo's "
        "lstm trained at 56 samples/s against 1,705 with Keras' own `auto` (probe on one core, 512 x 128 steps, "
        "batch 64, 2 alternating repeats). The default is now `auto`: Keras' choice per backend and device (off "
        "for TensorFlow on CPU, so nothing above changes; on for JAX).",
        "- **Tuning trials drew their learning curves**: 0.6 s a trial of the 0.7-1.2 s a small trial spends "
        "outside `fit` (profile of an 8-trial search). A trial's curves are its per-epoch metrics in MLflow, "
        "which charts them; the retrained best run keeps its pictures.",
        "",
    ]
    lines += ["## Tuning overhead and memory", "",
              "`benchmarks/tuning_memory.py`: a 30-trial search (tiny lstm/gru, one epoch of GunPoint per trial, "
              "SQLite store) in one process, as shipped and with the backend fix off, side by side: resident memory "
              "grows **0.1 MiB per trial** (12.5 with the fix off), and a trial spends a median **0.71 s outside "
              "`fit`** (22% of these deliberately tiny trials; 0.34 s of it between trials, in keras-tuner and "
              "clearing the session). The tuning benchmark's searches on three UCR sets (before the fixes above) "
              "put the median share outside `fit` at 13% (`docs/benchmarks/tuning.md`). Recompilation between "
              "trials: each trial builds a new model, so it traces its train step once (inside `fit` above); "
              "variable-length batches are cut to multiples of 8 steps, so few shapes retrace.", "",
              ]  # fmt: skip
    from benchmarks.speed_device import render as render_device

    lines += render_device([r for r in rows if r["section"] == "device"], MODELS)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=6, help="the first is warm-up")
    parser.add_argument("--repeats", type=int, default=3)
    common.output_flags(parser, RESULTS, REPORT, threads=1)
    parser.add_argument(
        "--conditions", default="the other core idle", help="what else the machine did meanwhile (goes into the report)"
    )
    return parser.parse_args(argv)


def measure(args: Any, argv: list[str]) -> None:
    """Run the requested sections and append their records."""
    from recipes.device import import_backend

    import_backend()
    cpus = common.cpus_used()
    from benchmarks.speed_device import device

    runners = {"overhead": overhead, "inference": inference, "knobs": knobs, "scaling": scaling,
               "startup": startup, "device": device}  # fmt: skip
    for name in args.sections:
        print(name, flush=True)
        for record in runners[name](args):
            record.update(common.provenance(argv, cpus, script="speed.py", threads=args.threads),
                          peak=peak_flops(args.threads), conditions=args.conditions)  # fmt: skip
            common.append(args.results, record)


def main(argv: Sequence[str] | None = None) -> None:
    common.run_and_report(argv, parse, measure, lambda args: render(common.read_results(args.results)))


if __name__ == "__main__":
    main()
