"""Anomaly-detection benchmark (issue 17): the zoo's detectors (`recipes.anomaly.detect`, default
settings) beside the classical baselines on the same data, windows and threshold rule.

Sections (`--sections`, run in the order given; a rerun skips the cells already in the results):
- `ib16`: the UCR anomaly archive's InternalBleeding16 stream. Each zoo model in each mode
  (forecast, reconstruct) and seed trains on the normal prefix and scores the test segment;
  the baselines (matrix profile, isolation forest per seed, rolling z-score) score it with the
  detectors' default window, thresholded by the same rule (POT, risk 1e-3) on their own normal
  scores. Per cell: every metric, the detect wall time, and the scoring time of the test series.
- `oneclass`: the one-class protocol on GunPoint, ItalyPowerDemand and ArrowHead, each class in
  turn as normal (`anomaly:ucr:NAME/normal=LABEL`): the same detectors and baselines; the report
  gives the series AUC-ROC per normal class. Cells run seed by seed (every model and class of
  seed 0 first), so a run stopped by `--stop-after` still covers every model once.
- `scaling`: a trained IB16 detector (lstm, forecast, seed 0, saved once) scores streams built by
  tiling the IB16 test series to 10^3 .. 10^6 points, each length in a fresh process (its own
  peak RSS, `resource.getrusage` maxrss) after an untimed warm-up on 1,000 points.

    TF_CPP_MIN_LOG_LEVEL=2 taskset -c 0 .venv/bin/python benchmarks/anomaly.py --sections ib16 oneclass --threads 1
    TF_CPP_MIN_LOG_LEVEL=2 taskset -c 0 .venv/bin/python benchmarks/anomaly.py --sections scaling --threads 1
    .venv/bin/python benchmarks/anomaly.py --report-only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, before benchmarks/

import benchmarks.common as common

RESULTS = common.ROOT / "benchmarks" / "results" / "anomaly.jsonl"
REPORT = common.ROOT / "docs" / "benchmarks" / "anomaly.md"
IB16 = "anomaly:InternalBleeding16"
ONE_CLASS = ("GunPoint", "ItalyPowerDemand", "ArrowHead")
MODELS = ("lstm", "gru", "cnn_lstm")
MODES = ("forecast", "reconstruct")
BASELINES = ("matrix_profile", "isolation_forest", "rolling_zscore")
LENGTHS = (10**3, 10**4, 10**5, 10**6)
THRESHOLD_RULE, RISK = "pot", 1e-3  # DetectConfig's defaults, used for the baselines too
SECTIONS = ("ib16", "oneclass", "scaling")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="zoo models (ib16 and oneclass)")
    parser.add_argument("--modes", nargs="+", default=list(MODES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--oneclass-models", nargs="+", help="zoo models of the oneclass section [default: --models]")
    parser.add_argument(
        "--oneclass-seeds", nargs="+", type=int, help="seeds of the oneclass section [default: --seeds]"
    )
    parser.add_argument("--datasets", nargs="+", default=list(ONE_CLASS), help="one-class sets")
    parser.add_argument("--lengths", nargs="+", type=int, default=list(LENGTHS), help="scaling: series lengths")
    parser.add_argument("--length-timeout", type=float, default=900.0, help="scaling: seconds allowed per length")
    parser.add_argument("--stop-after", type=float, help="minutes after which no new detector cell starts")
    parser.add_argument("--score-child", nargs=2, metavar=("DETECTOR", "LENGTH"), help=argparse.SUPPRESS)
    common.output_flags(parser, RESULTS, REPORT)
    return parser.parse_args(argv)


def _key(r: dict[str, Any]) -> tuple:
    return (r["section"], r["dataset"], r["name"], r.get("mode"), r.get("seed"), r.get("length"))


def _done(records: list[dict[str, Any]]) -> set[tuple]:
    return {_key(r) for r in records if "error" not in r}


class Runner:
    """Appends one results line per finished cell (with its provenance); skips finished cells."""

    def __init__(self, args: argparse.Namespace, argv: list[str]) -> None:
        self.args = args
        self.done = _done(common.read_results(args.results))
        self.command = common.command_line(argv, common.cpus_used(), script="anomaly.py")
        self.deadline = time.monotonic() + 60 * args.stop_after if args.stop_after else None
        self.tmp = tempfile.TemporaryDirectory()

    def finished(self, record: dict[str, Any]) -> bool:
        return _key(record) in self.done

    def late(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def write(self, record: dict[str, Any]) -> None:
        record = {**record, "date": common.now(), "machine": common.machine(), "threads": self.args.threads,
                  "command": self.command}  # fmt: skip
        common.append(self.args.results, record)
        self.done.add(_key(record))
        figures = record.get("metrics", {})
        shown = {k: round(figures[k], 3) for k in ("auc_roc", "auc_pr", "ucr_hit") if k in figures}
        print(f"{record['dataset']} {record['name']} {record.get('mode', '')} seed {record.get('seed')} "
              f"{record.get('length', '')}: {record.get('error') or shown}", flush=True)  # fmt: skip

    def tracking(self) -> Any:
        from recipes.tracking import Tracking

        return Tracking(enabled=False, runs_dir=self.tmp.name)


def run(args: argparse.Namespace, argv: list[str]) -> None:
    from recipes.device import import_backend

    if args.score_child:
        import_backend()
        print(json.dumps(_score_child(Path(args.score_child[0]), int(args.score_child[1]))), flush=True)
        return
    import_backend()
    runner = Runner(args, argv)
    for section in args.sections:
        if section == "ib16":
            _ib16(runner)
        elif section == "oneclass":
            _oneclass(runner)
        else:
            _scaling(runner)


# ---------------------------------------------------------------------------------------------
# Cells


def _detector_cell(runner: Runner, section: str, address: str, model: str, mode: str, seed: int) -> None:
    from recipes import anomaly
    from recipes.data.anomaly import load_anomaly

    record = {"section": section, "kind": "detector", "dataset": address, "name": model, "mode": mode, "seed": seed}
    if runner.finished(record) or runner.late():
        return
    import keras

    keras.backend.clear_session()
    data = load_anomaly(address)
    started = time.perf_counter()
    try:
        result = anomaly.detect(model, data, config={"mode": mode}, tracking=runner.tracking(), seed=seed, verbose=0)
    except Exception as err:  # recorded, not fatal: the report lists it
        runner.write({**record, "error": f"{type(err).__name__}: {err}"[:500],
                      "detect_seconds": time.perf_counter() - started})  # fmt: skip
        return
    detect_seconds = time.perf_counter() - started
    timer = time.perf_counter()
    again = anomaly.score(result.detector, data)  # the test data once more: the scoring time alone
    score_seconds = time.perf_counter() - timer
    steps = np.asarray(result.steps)
    det = result.detector
    runner.write({**record, "metrics": result.metrics, "window": det.lookback, "horizon": det.horizon,
                  "threshold_rule": result.threshold.rule, "detect_seconds": detect_seconds,
                  "recipe_seconds": result.seconds, "score_seconds": score_seconds,
                  "train_seconds": detect_seconds - score_seconds, "test_steps": int(steps.size),
                  "nonfinite_steps": int((~np.isfinite(steps)).sum()),
                  "rescore_max_diff": float(np.nanmax(np.abs(again - steps))) if np.isfinite(steps).any() else None,
                  })  # fmt: skip


def _baseline_cells(runner: Runner, section: str, address: str, seeds: Sequence[int]) -> None:
    from recipes.anomaly import baselines
    from recipes.anomaly.evaluation import evaluate, fit_threshold
    from recipes.data.anomaly import load_anomaly

    data = load_anomaly(address)
    window = baselines.default_window(data)  # the detectors' default window (`detection._windows`)
    for method in BASELINES:
        for seed in seeds if method == "isolation_forest" else [None]:
            record = {"section": section, "kind": "baseline", "dataset": address, "name": method, "seed": seed}
            if runner.finished(record):
                continue
            options = {"window": window} | ({"seed": seed} if seed is not None else {})
            started = time.perf_counter()
            try:
                scores = baselines.score(method, data, **options)
                threshold = fit_threshold(scores.normal, THRESHOLD_RULE, RISK)
                metrics = evaluate(data, scores.steps, threshold.value)
            except Exception as err:
                runner.write({**record, "error": f"{type(err).__name__}: {err}"[:500],
                              "seconds": time.perf_counter() - started})  # fmt: skip
                continue
            runner.write({**record, "metrics": metrics, "window": window, "threshold_rule": threshold.rule,
                          "seconds": time.perf_counter() - started,
                          "nonfinite_steps": int((~np.isfinite(scores.steps)).sum())})  # fmt: skip


def _ib16(runner: Runner) -> None:
    args = runner.args
    _baseline_cells(runner, "ib16", IB16, args.seeds)
    for model in args.models:
        for mode in args.modes:
            for seed in args.seeds:
                _detector_cell(runner, "ib16", IB16, model, mode, seed)


def _oneclass(runner: Runner) -> None:
    from recipes.data.anomaly import load_anomaly

    args = runner.args
    seeds = args.oneclass_seeds if args.oneclass_seeds is not None else args.seeds
    models = args.oneclass_models or args.models
    addresses = [f"anomaly:ucr:{name}/normal={label}" for name in args.datasets
                 for label in load_anomaly(f"anomaly:ucr:{name}").info["classes"]]  # fmt: skip
    for address in addresses:
        _baseline_cells(runner, "oneclass", address, args.seeds)  # cheap: every seed, whatever the detectors run
    for seed in seeds:
        for address in addresses:
            for model in models:
                for mode in args.modes:
                    _detector_cell(runner, "oneclass", address, model, mode, seed)


def _scaling(runner: Runner) -> None:
    """Train (or reuse) the lstm forecast detector of seed 0, then score each length in a child."""
    from recipes import anomaly

    args = runner.args
    pending = [n for n in args.lengths if not runner.finished(_scaling_record(n))]
    if not pending:
        return
    folder = Path(runner.tmp.name) / "scaling-detector"
    started = time.perf_counter()
    result = anomaly.detect("lstm", IB16, config={"mode": "forecast"}, tracking=runner.tracking(), seed=0, verbose=0)
    result.detector.save(folder)
    print(f"scaling: detector trained in {time.perf_counter() - started:.0f} s "
          f"(auc_pr {result.metrics['auc_pr']:.3f})", flush=True)  # fmt: skip
    for length in pending:
        record = _scaling_record(length)
        command = [sys.executable, __file__, "--threads", str(args.threads), "--score-child", str(folder), str(length)]
        started = time.perf_counter()
        try:
            child = subprocess.run(command, capture_output=True, text=True, timeout=args.length_timeout)
        except subprocess.TimeoutExpired:
            runner.write({**record, "error": f"no result within {args.length_timeout:.0f} s (killed)",
                          "wall_seconds": time.perf_counter() - started})  # fmt: skip
            continue
        lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
        if child.returncode != 0 or not lines:
            why = "killed (SIGKILL: out of memory?)" if child.returncode == -9 else f"exit {child.returncode}"
            runner.write({**record, "error": f"{why}: {child.stderr.strip()[-400:]}",
                          "wall_seconds": time.perf_counter() - started})  # fmt: skip
            continue
        runner.write({**record, **json.loads(lines[-1]), "wall_seconds": time.perf_counter() - started,
                      "window": result.detector.lookback, "horizon": result.detector.horizon})  # fmt: skip


def _scaling_record(length: int) -> dict[str, Any]:
    return {"section": "scaling", "kind": "scaling", "dataset": IB16, "name": "lstm", "mode": "forecast", "seed": 0,
            "length": length}  # fmt: skip


def _rss_mb() -> dict[str, float]:
    """This process's current RSS and peak RSS since the last `_reset_peak` (/proc: VmRSS, VmHWM),
    and its peak over its whole life (getrusage maxrss), in MiB."""
    found = {"rss": float("nan"), "hwm": float("nan")}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                found["rss" if line.startswith("VmRSS") else "hwm"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return {**found, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _reset_peak() -> bool:
    """Reset the kernel's peak RSS (VmHWM) of this process to its current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _score_child(folder: Path, length: int) -> dict[str, Any]:
    """In a fresh process: load the detector, warm up on 1,000 points, score `length` points."""
    from recipes.anomaly.detector import Detector
    from recipes.data.anomaly import load_anomaly

    data = load_anomaly(IB16)
    detector = Detector.load(folder)
    base = data.test[0]
    series = np.resize(base, (length, base.shape[1]))  # the test series tiled (and cut) to `length`
    detector.step_scores(series[:1000])  # untimed: traces the predict function
    reset = _reset_peak()  # the peak of loading TensorFlow and the model would hide scoring's
    before = _rss_mb()
    started = time.perf_counter()
    steps = detector.step_scores(series)[0]
    seconds = time.perf_counter() - started
    after = _rss_mb()
    return {"score_seconds": seconds, "rss_before_mb": before["rss"], "peak_before_mb": before["peak"],
            "peak_rss_mb": after["peak"], "rss_after_mb": after["rss"],
            "scoring_peak_rss_mb": after["hwm"] if reset else None,
            "nonfinite_steps": int((~np.isfinite(steps)).sum()), "pid": os.getpid()}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Report


def _latest(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per cell: its last successful one, else its last failure."""
    by_key: dict[tuple, dict[str, Any]] = {}
    for r in records:
        if "error" not in r or "error" in by_key.get(_key(r), {"error": ""}):
            by_key[_key(r)] = r
    return list(by_key.values())


def _ms(values: Sequence[float], digits: int = 3) -> str:
    if not values:
        return "—"
    mean = float(np.mean(values))
    spread = f" ± {np.std(values, ddof=1):.{digits}f}" if len(values) > 1 else ""
    return f"{mean:.{digits}f}{spread}"


def _ib16_section(records: list[dict[str, Any]]) -> list[str]:
    rows = [r for r in records if r["section"] == "ib16" and "error" not in r]
    if not rows:
        return []
    detectors, base = defaultdict(list), defaultdict(list)
    for r in rows:
        (detectors[(r["name"], r["mode"])] if r["kind"] == "detector" else base[r["name"]]).append(r)
    window = next((r["window"] for r in rows), None)
    steps = next((r["test_steps"] for r in rows if "test_steps" in r), "the")
    lines = ["", f"## InternalBleeding16 (stream; window {window})", "",
             "UCR hit: the highest step score within 100 steps of the labelled range, per seed (✓/✗) and",
             "the count over the seeds run. Other figures: mean ± std over the seeds (one run for the",
             "deterministic baselines). F1 and range F1 at the threshold fitted on normal scores (POT,",
             "risk 1e-3). Detect s: the whole recipe (train, calibrate, score); score s: scoring the",
             f"{steps} test steps again with the trained detector. "
             "Baseline seconds: scoring and thresholding.", "",
             "| detector | mode | UCR hit (seeds) | AUC-PR | AUC-ROC | F1 | range F1 | UCR distance | detect s | "
             "score s |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip

    def figures(runs: list[dict[str, Any]]) -> str:
        def metric(key: str) -> list[float]:
            return [r["metrics"][key] for r in runs if key in r["metrics"]]

        return (
            " | ".join(_ms(metric(k)) for k in ("auc_pr", "auc_roc", "f1", "range_f1"))
            + " | "
            + _ms(metric("ucr_distance"), 0)
        )

    def hits(runs: list[dict[str, Any]]) -> str:
        ordered = sorted(runs, key=lambda r: r.get("seed") or 0)
        marks = " ".join(("✓" if r["metrics"].get("ucr_hit") else "✗") for r in ordered)
        return f"{sum(bool(r['metrics'].get('ucr_hit')) for r in ordered)}/{len(ordered)} ({marks})"

    for (name, mode), runs in sorted(detectors.items()):
        seconds = f"{_ms([r['detect_seconds'] for r in runs], 1)} | {_ms([r['score_seconds'] for r in runs], 2)}"
        lines.append(f"| {name} | {mode} | {hits(runs)} | {figures(runs)} | {seconds} |")
    for name, runs in sorted(base.items()):
        lines.append(f"| **{name}** (baseline) | — | {hits(runs)} | {figures(runs)} | "
                     f"{_ms([r['seconds'] for r in runs], 1)} | — |")  # fmt: skip
    lines += ["", _ib16_verdict(detectors, base)]
    return lines


def _ib16_verdict(detectors: dict[tuple, list], base: dict[str, list]) -> str:
    if not detectors:
        return ""
    full = {k: v for k, v in detectors.items() if len(v) >= 3}

    def auc_pr(runs: list[dict[str, Any]]) -> float:
        return float(np.mean([r["metrics"]["auc_pr"] for r in runs]))

    pool = full or detectors
    best = max(pool, key=lambda k: (sum(bool(r["metrics"].get("ucr_hit")) for r in pool[k]), auc_pr(pool[k])))
    hit = sum(bool(r["metrics"].get("ucr_hit")) for r in pool[best])
    all3 = [
        f"{n} {m}" for (n, m), runs in sorted(full.items()) if sum(bool(r["metrics"].get("ucr_hit")) for r in runs) == 3
    ]
    verdict = "holds" if hit == 3 and len(pool[best]) >= 3 else "does not hold"
    best_base = max(base, key=lambda k: auc_pr(base[k])) if base else None
    text = (f"**Target \"the best zoo detector locates the anomaly (UCR score) in 3 of 3 seeds\": {verdict}.** "
            f"Best zoo detector (most hits, then mean AUC-PR): {best[0]} {best[1]}, {hit}/{len(pool[best])} hits, "
            f"AUC-PR {auc_pr(pool[best]):.3f}. Detectors with 3/3: {', '.join(all3) or 'none'}.")  # fmt: skip
    if best_base:
        text += f" Best baseline by AUC-PR: {best_base} {auc_pr(base[best_base]):.3f}."
    return text + " (The best detector is picked on the test figures, only to check the target.)"


def _oneclass_section(records: list[dict[str, Any]]) -> list[str]:
    rows = [r for r in records if r["section"] == "oneclass" and "error" not in r]
    if not rows:
        return []
    lines = ["", "## One-class protocol (series AUC-ROC)", "",
             "Each class in turn is normal: the detector learns from that class's train series; every",
             "test series is scored by its highest step score, and the other classes are the anomalies.",
             "Cells: series AUC-ROC, mean over the seeds run (n in the seeds column); `mean`: over the",
             "classes, counted only where a row has every class. The baselines use the same default",
             "window; isolation forest is averaged over its seeds. The \"best\" rows are picked on these",
             "test figures to check the issue's target only; no default was chosen on them. In forecast",
             "mode the first `window` steps of each test series have no window before them and are not",
             "scored (a series' score is the highest of its other steps). s/run: seconds per detector",
             "(train, calibrate, score the test split) or per baseline (score and threshold)."]  # fmt: skip
    by_set: dict[str, list] = defaultdict(list)
    for r in rows:
        by_set[r["dataset"].split(":")[2].split("/")[0]].append(r)
    for name, set_rows in by_set.items():
        classes = sorted({r["dataset"].split("normal=")[1] for r in set_rows}, key=_label_order)
        cells: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for r in set_rows:
            row = (r["name"], r.get("mode") or "—", r["kind"])
            cells[row][r["dataset"].split("normal=")[1]].append(r)
        window = sorted({r["window"] for r in set_rows if "window" in r})
        lines += ["", f"### {name} (window {', '.join(str(w) for w in window)}; classes {', '.join(classes)})", "",
                  "| detector | mode | seeds | " + " | ".join(f"normal={c}" for c in classes) + " | mean | s/run |",
                  "|---|---|---|" + "---:|" * (len(classes) + 2)]  # fmt: skip
        means: dict[tuple, float] = {}
        ordered = sorted(cells, key=lambda k: (k[2] == "baseline", k[0], k[1]))
        for row in ordered:
            per_class = cells[row]
            values = [np.mean([r["metrics"]["auc_roc"] for r in per_class[c]]) if per_class.get(c) else None
                      for c in classes]  # fmt: skip
            complete = all(v is not None for v in values)
            if complete:
                means[row] = float(np.mean(values))
            seeds = sorted({r.get("seed") for c in classes for r in per_class.get(c, []) if r.get("seed") is not None})
            label = f"**{row[0]}** (baseline)" if row[2] == "baseline" else row[0]
            counts = {len(per_class.get(c, [])) for c in classes}
            seeds_text = ",".join(map(str, seeds)) + (f" (n={'/'.join(map(str, sorted(counts)))})" if seeds else "")
            shown = " | ".join("—" if v is None else f"{v:.3f}" for v in values)
            mean = f"{means[row]:.3f}" if complete else "—"
            runs = [r for c in classes for r in per_class.get(c, [])]
            seconds = np.mean([r.get("detect_seconds", r.get("seconds", np.nan)) for r in runs])
            lines.append(f"| {label} | {row[1]} | {seeds_text or '—'} | {shown} | {mean} | {seconds:.1f} |")
        zoo = {k: v for k, v in means.items() if k[2] == "detector"}
        base = {k: v for k, v in means.items() if k[2] == "baseline"}
        if zoo and base:
            best, best_base = max(zoo, key=zoo.get), max(base, key=base.get)
            holds = "holds" if zoo[best] >= base[best_base] else "does not hold"
            lines += ["", f"**Target \"mean AUC-ROC of the best zoo detector ≥ the best baseline's\": {holds}** "
                          f"({best[0]} {best[1]} {zoo[best]:.3f} vs "
                          f"{best_base[0]} {base[best_base]:.3f})."]  # fmt: skip
    return lines


def _label_order(label: str) -> tuple:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _scaling_section(records: list[dict[str, Any]]) -> list[str]:
    rows = sorted((r for r in records if r["section"] == "scaling"), key=lambda r: r["length"])
    if not rows:
        return []
    window = next((f"window {r['window']}, horizon {r['horizon']}" for r in rows if "window" in r), "")
    lines = ["", f"## Scoring time vs series length (lstm, forecast, seed 0; {window})", "",
             "The IB16 test series tiled to each length and scored by `Detector.step_scores` in a fresh",
             "process (after an untimed warm-up on 1,000 points). Peak RSS: the process's maximum",
             "resident set (`getrusage`), including TensorFlow and the loaded model (`RSS before`: after",
             "loading and the warm-up, before scoring; `scoring peak`: the peak RSS while scoring, the",
             "kernel's high-water mark reset just before it). The first `window` steps of each stream",
             "have no window (no normal history is given here) and stay unscored (non-finite).", "",
             "| points | score s | µs / point | RSS before MiB | scoring peak RSS MiB | process peak RSS MiB | "
             "non-finite steps |", "|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    good = []
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['length']:,} | failed: {r['error'][:160]} | | | | | |")
            continue
        good.append(r)
        lines.append(f"| {r['length']:,} | {r['score_seconds']:.2f} | {1e6 * r['score_seconds'] / r['length']:.1f} | "
                     f"{r['rss_before_mb']:.0f} | {_mb(r.get('scoring_peak_rss_mb'))} | {r['peak_rss_mb']:.0f} | "
                     f"{r['nonfinite_steps']} |")  # fmt: skip
    if len(good) >= 2:
        x = np.log10([r["length"] for r in good])
        y = np.log10([r["score_seconds"] for r in good])
        slope = float(np.polyfit(x, y, 1)[0])
        big = [r for r in good if r["length"] >= 10**4]
        slope_big = float(np.polyfit(np.log10([r["length"] for r in big]), np.log10([r["score_seconds"] for r in big]),
                                     1)[0]) if len(big) >= 2 else None  # fmt: skip
        lines += ["", f"Log-log slope of time against length: {slope:.2f} over all lengths"
                      + (f", {slope_big:.2f} from 10^4 up" if slope_big is not None else "")
                      + " (1 = linear)."]  # fmt: skip
    return lines


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _failures(records: list[dict[str, Any]]) -> list[str]:
    failed = [r for r in records if "error" in r and r["section"] != "scaling"]
    if not failed:
        return []
    return ["", "## Cells that failed", ""] + [f"- {r['dataset']} {r['name']} {r.get('mode') or ''} seed "
                                               f"{r.get('seed')}: {r['error']}" for r in failed]  # fmt: skip


def render(all_records: list[dict[str, Any]]) -> str:
    records = _latest(all_records)
    lines = ["# Anomaly-detection benchmark", "",
             "Issue 17's measurements. Zoo detectors are `recipes.anomaly.detect(model, data, seed=...)` with",
             "default settings (`DetectConfig`: window = the normal data's period, horizon = window / 8 in",
             "forecast mode, POT threshold with risk 1e-3 on held-out normal scores; the default training",
             "budget), tracking off. The baselines (`recipes.anomaly.baselines`) score the same data with",
             "the same default window and are thresholded by the same rule on their own normal scores.",
             "Test labels are read only by the metrics. One CPU core (`taskset -c 0`, `--threads 1`)."]  # fmt: skip
    if records:
        commands, dates = common.commands_and_dates(records)
        machine = records[0]["machine"]
        lines += ["", f"Measured {dates[0]} to {dates[-1]} (UTC) on {machine.get('cpu')} "
                      f"({machine.get('ram_gb')} GB RAM; TensorFlow {machine.get('tensorflow', '?')}, "
                      f"Keras {machine.get('keras', '?')}, Python {machine.get('python')})."]  # fmt: skip
    else:
        commands = []
        lines += ["", "No results yet."]
    body = _ib16_section(records) + _oneclass_section(records) + _scaling_section(records) + _failures(records)
    verdicts, heading = [], ""
    for line in body:
        if line.startswith("#"):
            heading = line.lstrip("# ").split(" (")[0]
        elif line.startswith("**Target"):
            verdicts.append(f"- {heading}: {line.split(' Best zoo detector')[0]}")
    if verdicts:
        lines += ["", "## Summary", "", *verdicts]
    lines += body
    lines += common.commands_section(commands)
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    argv_list = list(sys.argv[1:] if argv is None else argv)
    if "--score-child" in argv_list:  # a scaling child: measure, print one JSON line, no report
        args = parse(argv_list)
        common.configure_threads(args.threads)
        run(args, argv_list)
        return
    common.run_and_report(argv, parse, run, lambda args: render(common.read_results(args.results)))


if __name__ == "__main__":
    main()
