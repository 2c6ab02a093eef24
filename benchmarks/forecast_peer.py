"""Forecasting beside a peer (issue 16): statsforecast's automatic classical forecasters on the
test windows the zoo models and `recipes.baselines` forecast, scored with the same code.

For each dataset (its default lookback and horizon, as `benchmarks/forecasting.py` runs it), the
series is rebuilt from the dataset's windows (`recipes.forecasting.series_of`); at each test
window's origin every peer is fitted on all the points before it and forecasts the window's
horizon, so the peers forecast exactly the origins and steps a zoo model forecasts. Each peer is
a statsforecast model with its defaults and the dataset's season (`recipes.forecasting.season_of`):

- `AutoETS`: ETS state-space model chosen by AICc over error, trend and season types;
- `AutoARIMA`: (seasonal) ARIMA orders chosen by the stepwise Hyndman-Khandakar search;
- `AutoTheta`: the best of the standard, optimised and dynamic Theta models;
- `AutoCES`: complex exponential smoothing, its seasonal form chosen by AICc.

The forecasts are scored as a zoo run's test windows are (`recipes.tasks.Task.scores` in data
units, MASE scaled by `recipes.forecasting.mase_scale`). The zoo's own baselines
(`recipes.baselines.compute`: naive, seasonal naive, Holt-Winters, the airline SARIMA) are
recomputed on the same data by the same run, and the best default zoo model's figure is read
from `benchmarks/results/forecasting.jsonl` (its cells with every default). Results are appended
to a JSON-lines file; a second run skips the cells there; the report is re-rendered from it.

statsforecast is an optional dependency, not a dependency of the zoo; 2.1.1 declares `pandas<3`
(and so does fugue, which it imports), while the zoo runs on pandas 3. The models used here take
NumPy arrays and work on pandas 3; they were installed beside the virtual environment:

    .venv/bin/pip install --no-deps --target /tmp/peers statsforecast==2.1.1 coreforecast==0.0.20 \\
        utilsforecast==0.2.17 fugue==0.9.7 triad==1.0.4 adagio==0.2.6
    PYTHONPATH=/tmp/peers TF_CPP_MIN_LOG_LEVEL=2 taskset -c 0 .venv/bin/python benchmarks/forecast_peer.py
    .venv/bin/python benchmarks/forecast_peer.py --report-only
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, before benchmarks/

import benchmarks.common as common

DATASETS = ("forecast:airline", "forecast:sunspots", "forecast:lynx", "forecast:nile")
PEERS = ("AutoETS", "AutoARIMA", "AutoTheta", "AutoCES")
RESULTS = common.ROOT / "benchmarks" / "results" / "forecast_peer.jsonl"
ZOO_RESULTS = common.ROOT / "benchmarks" / "results" / "forecasting.jsonl"
REPORT = common.ROOT / "docs" / "benchmarks" / "forecast_peer.md"
# The zoo cells read have every default (benchmarks/forecasting.py's DEFAULT and DEFAULT_LOSS).
WINDOW_NORM, LOSS = "differencing", "mae"  # the forecasting defaults (window_norm "last" before 2026-12-02)
STATSFORECAST = "statsforecast==2.1.1"
MISSING = (
    f"statsforecast is not installed: `pip install {STATSFORECAST}` (it caps pandas<3; to keep pandas 3, "
    "install it with --no-deps beside the venv as benchmarks/forecast_peer.py's docstring shows)"
)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS)
    parser.add_argument("--zoo-results", type=Path, default=ZOO_RESULTS, help="the forecasting benchmark's results")
    common.output_flags(parser, RESULTS, REPORT)
    return parser.parse_args(argv)


def require_statsforecast() -> Any:
    """The statsforecast module, or exit with one line saying what to install."""
    try:
        import statsforecast
        import statsforecast.models
    except ImportError:
        raise SystemExit(MISSING) from None
    return statsforecast


def make_peer(name: str, season: int) -> Any:
    """A statsforecast model with its defaults and the data's season."""
    from statsforecast import models

    return getattr(models, name)(season_length=season)


def origins(dataset: Any) -> tuple[np.ndarray, int]:
    """The series in data units `(points, targets)` and the index of the first test window's first
    target; checks that the test windows' targets are the series' points from each origin on."""
    from recipes.forecasting import one_series, series_of

    if not one_series(dataset):
        raise ValueError(f"{dataset.name}: not the windows of one series; no history to fit a peer on")
    series = series_of(dataset)
    first = dataset.info["preprocessing"]["first_target"]["test"]
    truth = dataset.inverse_targets(np.asarray(dataset.test.y, dtype=np.float64))
    for i in range(len(dataset.test)):
        np.testing.assert_allclose(series[first + i : first + i + dataset.horizon], truth[i], rtol=1e-4, atol=1e-3)
    return series, first


def chosen(name: str, model: Any) -> str:
    """The model a fitted peer chose: "ETS(M,N,M)", "ARIMA(0,1,1)(0,1,1)[12]", "Theta(SES)", "CES(P)"."""
    fitted = model.model_
    if name == "AutoARIMA":
        from statsforecast.arima import arima_string

        return arima_string(fitted).strip()
    if name == "AutoETS":
        return str(fitted["method"])
    return f"Theta({fitted['modeltype']})" if name == "AutoTheta" else f"CES({fitted['seasontype']})"


def forecasts(dataset: Any, name: str) -> tuple[np.ndarray, dict[str, int]]:
    """Peer `name`'s forecasts `(test windows, horizon, targets)`: at each origin, fitted on every
    point before it (the window's inputs and all earlier points), for the window's horizon; and
    how many origins chose each model."""
    from recipes.forecasting import season_of

    series, first = origins(dataset)
    season, horizon = season_of(dataset), dataset.horizon
    out = np.zeros((len(dataset.test), horizon, dataset.num_outputs))
    models: dict[str, int] = defaultdict(int)
    for i in range(len(dataset.test)):
        for t in range(dataset.num_outputs):
            model = make_peer(name, season).fit(series[: first + i, t])
            out[i, :, t] = model.predict(h=horizon)["mean"]
            models[chosen(name, model)] += 1
    return out, dict(sorted(models.items(), key=lambda kv: (-kv[1], kv[0])))


def scores(dataset: Any, predictions: np.ndarray) -> dict[str, float]:
    """Test metrics of forecasts in data units, as a zoo run and `recipes.baselines` score them."""
    from recipes.forecasting import mase_scale_of
    from recipes.tasks import get_task

    truth = dataset.inverse_targets(np.asarray(dataset.test.y, dtype=np.float64))
    return get_task(dataset.task).scores(truth, predictions, mase_scale=mase_scale_of(dataset))


def _warm_up(name: str) -> None:
    """One small untimed forecast, so no peer is charged for first-call set-up."""
    t = np.arange(48, dtype=np.float64)
    make_peer(name, 12).fit(100 + t + 10 * np.sin(2 * np.pi * t / 12)).predict(h=12)


def run(args: argparse.Namespace, argv: list[str]) -> None:
    statsforecast = require_statsforecast()
    import pandas as pd

    from recipes.baselines import compute
    from recipes.data import load
    from recipes.forecasting import season_of

    where = Path(statsforecast.__file__).resolve().parent.parent
    command = common.command_line(argv, common.cpus_used(), script="forecast_peer.py")
    if not str(where).startswith(str(Path(sys.prefix).resolve())):
        command = f"PYTHONPATH={where} {command}"
    versions = {"statsforecast": statsforecast.__version__, "pandas": pd.__version__}
    done = {(r["dataset"], r["kind"], r["name"]) for r in common.read_results(args.results) if "error" not in r}
    for name in args.peers:
        _warm_up(name)
    for address in args.datasets:
        dataset = load(address, seed=0)  # the test split does not move with the seed
        shape = {"lookback": dataset.info["lookback"], "horizon": dataset.horizon, "season": season_of(dataset),
                 "windows": len(dataset.test)}  # fmt: skip
        provenance = {"machine": common.machine(), "command": command}
        if (address, "baseline", "naive") not in done:
            for result in compute(dataset):
                record = {"kind": "baseline", "dataset": address, "name": result.name, **shape,
                          "metrics": result.metrics, "seconds": result.seconds}  # fmt: skip
                common.append(args.results, record | {"date": common.now()} | provenance)
        for name in args.peers:
            if (address, "peer", name) in done:
                continue
            record = {"kind": "peer", "dataset": address, "name": name, **shape, **versions}
            started = time.perf_counter()
            try:
                predictions, models = forecasts(dataset, name)
                seconds = time.perf_counter() - started
                record |= {"metrics": scores(dataset, predictions), "seconds": seconds, "chosen": models}
                print(f"{address} {name}: mae {record['metrics']['mae']:.3f} in {seconds:.1f} s", flush=True)
            except Exception as err:  # recorded, not fatal: the report lists it
                record |= {"error": f"{type(err).__name__}: {err}"[:500], "seconds": time.perf_counter() - started}
            record["load"] = os.getloadavg()[0]  # the machine's 1-minute load: others' work slows the clock
            common.append(args.results, record | {"date": common.now()} | provenance)


# ---------------------------------------------------------------------------------------------
# The report


def best_zoo(address: str, shape: dict[str, Any], zoo_records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The zoo model with the lowest mean test MAE over its seeds among the forecasting benchmark's
    cells with every default (`common.default_forecaster`) of `address` measured on the
    same lookback and horizon (None: none yet)."""
    cells = defaultdict(list)
    windows = (shape["lookback"], shape["horizon"])
    for r in zoo_records:
        if r.get("dataset") != address or not common.default_forecaster(r, window_norm=WINDOW_NORM, loss=LOSS):
            continue
        if "error" not in r and (r.get("lookback"), r.get("horizon")) == windows:
            cells[r["name"]].append(r)
    if not cells:
        return None
    name = min(sorted(cells), key=lambda m: np.mean([r["metrics"]["mae"] for r in cells[m]]))
    runs = cells[name]
    mean = {k: float(np.mean([r["metrics"][k] for r in runs])) for k in ("mae", "mase", "rmse", "smape")}
    resolved = sorted({r.get("resolved") for r in runs if r.get("resolved")})
    return {"name": name, "seeds": sorted(r["seed"] for r in runs), "metrics": mean, "resolved": resolved,
            "seconds": float(np.mean([r["seconds"] for r in runs]))}  # fmt: skip


def _row(label: str, source: str, metrics: dict[str, float], seconds: str) -> str:
    return (f"| {label} | {source} | {metrics['mae']:.2f} | {metrics['mase']:.3f} | {metrics['rmse']:.2f} | "
            f"{metrics['smape']:.2f} | {seconds} |")  # fmt: skip


def _table(address: str, records: list[dict[str, Any]], zoo: dict[str, Any] | None) -> list[str]:
    mine = [r for r in records if r["dataset"] == address]
    shape = mine[0]
    lines = ["", f"## {address} (lookback {shape['lookback']}, horizon {shape['horizon']}, season {shape['season']}, "
                 f"{shape['windows']} test windows)", "",
             "| forecaster | from | MAE | MASE | RMSE | sMAPE % | seconds |",
             "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    rows = []
    for r in mine:
        if "error" in r:
            continue
        source = f"statsforecast {r['statsforecast']}" if r["kind"] == "peer" else "recipes.baselines"
        label = f"**{r['name']}**" if r["kind"] == "peer" else r["name"]
        rows.append((r["metrics"]["mae"], _row(label, source, r["metrics"], f"{r['seconds']:.2f}")))
    if zoo:
        chosen = f" ({', '.join(zoo['resolved'])})" if zoo["resolved"] and zoo["resolved"] != [WINDOW_NORM] else ""
        norm = f"window_norm {WINDOW_NORM}{chosen}"
        source = f"best zoo model, {norm}, mean of seeds {','.join(map(str, zoo['seeds']))}"
        rows.append((zoo["metrics"]["mae"], _row(zoo["name"], source, zoo["metrics"], f"{zoo['seconds']:.1f} (train)")))
    lines += [row for _, row in sorted(rows, key=lambda x: x[0])]
    picks = [f"{r['name']} " + ", ".join(f"{m} x{n}" for m, n in r["chosen"].items())
             for r in mine if r["kind"] == "peer" and r.get("chosen")]  # fmt: skip
    if picks:
        lines += ["", "What each peer chose at the origins: " + "; ".join(picks) + "."]
    if not zoo:
        lines += ["", f"Best zoo model (window_norm {WINDOW_NORM}): not measured yet."]
    return lines


def _summary(datasets: list[str], records: list[dict[str, Any]], zoo: dict[str, Any]) -> list[str]:
    lines = ["", "## Summary", "", "MAE in data units on the same test windows (MASE in brackets).", "",
             f"| dataset | best peer | best zoo baseline | Holt-Winters (ets) | best zoo model ({WINDOW_NORM}) |",
             "|---|---|---|---|---|"]  # fmt: skip

    def cell(r: dict[str, Any] | None) -> str:
        return f"{r['name']} {r['metrics']['mae']:.2f} ({r['metrics']['mase']:.3f})" if r else "—"

    for address in datasets:
        ok = [r for r in records if r["dataset"] == address and "error" not in r]
        peers = [r for r in ok if r["kind"] == "peer"]
        base = [r for r in ok if r["kind"] == "baseline"]
        best_peer = min(peers, key=lambda r: r["metrics"]["mae"]) if peers else None
        best_base = min(base, key=lambda r: r["metrics"]["mae"]) if base else None
        ets = next((r for r in base if r["name"] == "ets"), None)
        best = zoo.get(address)
        model = (f"{best['name']} {best['metrics']['mae']:.2f} ({best['metrics']['mase']:.3f}, n={len(best['seeds'])})"
                 if best else "not measured yet")  # fmt: skip
        lines.append(f"| {address} | {cell(best_peer)} | {cell(best_base)} | {cell(ets)} | {model} |")
    return lines


INSTALLED = """## What was installed, and what was not

- **statsforecast 2.1.1: measured, installed beside the virtual environment.** The releases
  checked (2.1.1, 2.1.0, 2.0.3, 2.0.2) all conflict with the zoo's environment as declared:
  2.1.x requires `pandas<3`, and so does fugue 0.9.7, which statsforecast imports (pip would
  downgrade pandas 3.0.6 to 2.3.3); 2.0.x requires `scipy<1.16` (pip would take scipy 1.17.1 to
  1.15.3, and pandas to 2.3.3 through fugue). So it is not an extra of the zoo. The models used
  here (`statsforecast.models`, NumPy in and out) ran on pandas 3.0.6 with statsforecast and its
  libraries installed with `--no-deps` into a folder on `PYTHONPATH` (command below); the zoo's
  environment was left as it was.
- **NeuralForecast (its LSTM): not installed.** neuralforecast 3.3.0 resolves here, but it pulls in
  PyTorch 2.14.1 built for CUDA 13 with fifteen nvidia-* libraries (cuBLAS, cuDNN, NCCL, ...),
  cuda-toolkit, triton, ray, optuna, pytorch-lightning and a newer setuptools: several gigabytes
  of download (not fetched to measure), and a second deep-learning framework beside TensorFlow
  in the zoo's environment. A CPU-only torch (2.13.0+cpu) is served too; it was not tried, for
  that second reason.
"""


def render(records: list[dict[str, Any]], zoo_records: list[dict[str, Any]]) -> str:
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    shapes = {r["dataset"]: r for r in records}
    zoo = {a: best_zoo(a, shapes[a], zoo_records) for a in datasets}
    zoo = {a: z for a, z in zoo.items() if z}
    errors = [r for r in records if "error" in r]
    commands, dates = common.commands_and_dates(records)
    peer = next((r for r in records if r["kind"] == "peer"), {})
    cores = len(records[0]["machine"].get("cpus_used") or []) if records else 0
    lines = [
        "# Forecasting beside a peer: statsforecast",
        "",
        "statsforecast's automatic classical forecasters (`AutoETS`, `AutoARIMA`, `AutoTheta`, `AutoCES`,",
        "each with its defaults and the dataset's season) forecast **exactly the test windows the zoo",
        "models forecast**: same origins, same horizon, each peer fitted at every origin on all the",
        "points before it (the series rebuilt from the windows by `recipes.forecasting.series_of`).",
        "They are scored by the zoo's own code (`recipes.tasks.Task.scores`) in data units: MAE, MASE",
        "(scaled by the in-sample seasonal-naive MAE of the train segment; below 1 beats it), RMSE,",
        "sMAPE. Beside them: the zoo's baselines (`recipes.baselines`, recomputed by the same run:",
        "`naive`, `seasonal_naive`, `ets` Holt-Winters refitted at each origin, `sarima` the airline",
        "model estimated before the test segment), and the best default zoo model of",
        f"`docs/benchmarks/forecasting.md` (window_norm {WINDOW_NORM}; mean over its seeds; chosen by test MAE,",
        "which is how issue 16's target is checked, not how a model should be chosen). Seconds: wall",
        "time of all the test windows of a dataset (each peer's first-call set-up excluded); for the",
        "zoo model, one training run. Sorted by MAE; peers in bold.",
        "",
        f"Measured {dates[0][:10]} to {dates[-1][:10]} on {records[0]['machine'].get('cpu', 'this machine')}"
        f"{f', {cores} core' + ('s' if cores > 1 else '') if cores else ''}; statsforecast "
        f"{peer.get('statsforecast', '?')}, pandas {peer.get('pandas', '?')}."
        if records
        else "No results yet.",
    ]
    loads = [r["load"] for r in records if "load" in r]
    if loads:
        cores = records[0]["machine"].get("cores", "?")
        lines += ["", f"The machine's 1-minute load average as each peer finished: {min(loads):.1f} to "
                      f"{max(loads):.1f} on {cores} cores (other jobs ran beside it; the seconds are wall time "
                      "under that load)."]  # fmt: skip
    lines += _summary(datasets, records, zoo)
    for address in datasets:
        lines += _table(address, records, zoo.get(address))
    if errors:
        lines += ["", "## Runs that failed", ""] + [f"- {r['dataset']} {r['name']}: {r['error']}" for r in errors]
    lines += ["", *INSTALLED.splitlines()]
    lines += ["", "## Commands", "",
              "    .venv/bin/pip install --no-deps --target /tmp/peers statsforecast==2.1.1 coreforecast==0.0.20 \\",
              "        utilsforecast==0.2.17 fugue==0.9.7 triad==1.0.4 adagio==0.2.6",
              *[f"    {c}" for c in commands]]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    common.run_and_report(
        argv, parse, run, lambda args: render(common.read_results(args.results), common.read_results(args.zoo_results))
    )


if __name__ == "__main__":
    main()
