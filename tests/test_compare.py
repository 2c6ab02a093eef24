"""Comparing runs: leaderboard, pictures, report, baselines and `zoo compare`, on real runs.

One module-scoped SQLite store holds tiny real training runs (2 models x 2 seeds on
ItalyPowerDemand, one forecasting run on airline) plus a FAILED copy of one configuration;
the assertions below read it the way a user would.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import recipes
from recipes import compare
from recipes.baselines import compute, log_baselines
from recipes.data import load
from tests.test_cli import AS_A_USER, ZOO
from zoo.errors import ConfigError

EXPERIMENT = "cmp"
IPD = "ucr:ItalyPowerDemand"
AIRLINE = "forecast:airline"
MODELS = {"gru": {"units": 4}, "mlp": {"units": 4, "num_layers": 1}}
SEEDS = (0, 1)
PNG = b"\x89PNG\r\n\x1a\n"


def _client(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(uri)


def _add_failed_copy(uri: str, run_id: str) -> str:
    """A FAILED run with a source run's tags and params (seed 2) and a test accuracy of 1.0."""
    from mlflow.entities import Metric, Param

    client = _client(uri)
    source = client.get_run(run_id)
    tags = {k: v for k, v in source.data.tags.items() if not k.startswith("mlflow.")}
    run = client.create_run(source.info.experiment_id, run_name="failed copy", tags={**tags, "seed": "2"})
    params = {**source.data.params, "train.seed": "2"}
    client.log_batch(
        run.info.run_id,
        metrics=[Metric("test_accuracy", 1.0, 0, 0)],
        params=[Param(k, v) for k, v in params.items()],
    )
    client.set_terminated(run.info.run_id, "FAILED")
    return run.info.run_id


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("compare")
    uri = f"sqlite:///{root}/mlflow.db"
    common = dict(tracking_uri=uri, runs_dir=root / "runs", experiment=EXPERIMENT, verbose=0, log_model=False)
    first = {}
    for model, hparams in MODELS.items():
        for seed in SEEDS:
            result = recipes.train(model, IPD, hparams=hparams, epochs=2, seed=seed, **common)
            first.setdefault(model, result.run_id)
    recipes.train("mlp", AIRLINE, hparams=MODELS["mlp"], epochs=1, **common)
    _add_failed_copy(uri, first["gru"])
    _client(uri).create_experiment("empty")
    return uri


@pytest.fixture(scope="module")
def runs(store):
    return compare.collect(EXPERIMENT, tracking_uri=store)


@pytest.fixture(scope="module")
def compared(store, tmp_path_factory) -> compare.Comparison:
    """What `zoo compare --baselines --top 2` does, in this process (TensorFlow is imported already)."""
    out = tmp_path_factory.mktemp("report")
    return compare.compare(EXPERIMENT, tracking_uri=store, baselines=True, out_dir=out, top=2)


def _finished_values(uri: str, model: str, dataset: str, metric: str) -> list[float]:
    client = _client(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    query = f"tags.model = '{model}' and tags.dataset = '{dataset}' and attributes.status = 'FINISHED'"
    return [r.data.metrics[metric] for r in client.search_runs([experiment.experiment_id], query)]


def test_collect_reads_every_zoo_run_of_the_experiment(runs, store) -> None:
    zoo_runs = runs[~runs["baseline"]]
    assert len(zoo_runs) == 6
    assert sorted(zoo_runs["model"].unique()) == ["gru", "mlp"]
    assert sorted(zoo_runs["status"].value_counts().items()) == [("FAILED", 1), ("FINISHED", 5)]
    for column in ("metrics.test_accuracy", "metrics.test_mae", "params.model.units", "tags.device", "seed"):
        assert column in runs, column
    assert runs.attrs["tracking_uri"] == store and runs.attrs["experiment"] == EXPERIMENT


def test_leaderboard_means_and_stds_are_over_the_finished_seeds(runs, store) -> None:
    board = compare.leaderboard(runs)
    ipd = board[(board["dataset"] == IPD) & ~board["baseline"]]
    assert list(ipd["metric"].unique()) == ["test_accuracy"] and ipd["higher_is_better"].all()
    assert sorted(ipd["model"]) == ["gru", "mlp"]
    # One configuration per model: labelled with what it sets away from the declared defaults.
    assert all(label.startswith("units=4, epochs=2") for label in ipd["config"]), list(ipd["config"])
    for _, row in ipd.iterrows():
        values = _finished_values(store, row["model"], IPD, "test_accuracy")
        assert row["n"] == len(values) == 2
        assert row["mean"] == pytest.approx(np.mean(values))
        assert row["std"] == pytest.approx(np.std(values, ddof=1))
        f1 = _finished_values(store, row["model"], IPD, "test_macro_f1")
        assert row["test_macro_f1"] == pytest.approx(np.mean(f1))
    gru = ipd[ipd["model"] == "gru"].iloc[0]
    # The failed run (test_accuracy 1.0) is counted, never averaged.
    assert (gru["runs"], gru["FINISHED"], gru["FAILED"]) == (3, 2, 1) and gru["status"] == "2 FINISHED, 1 FAILED"
    assert gru["mean"] < 1.0 and sorted(gru["seeds"]) == [0, 1, 2]
    assert list(ipd["mean"]) == sorted(ipd["mean"], reverse=True)
    assert gru["param_count"] > 0 and gru["train_seconds"] > 0 and gru["epochs"] == 2
    [airline] = board[board["dataset"] == AIRLINE].to_dict("records")
    assert (airline["metric"], airline["higher_is_better"], airline["n"]) == ("test_mae", False, 1)
    assert airline["mean"] == pytest.approx(_finished_values(store, "mlp", AIRLINE, "test_mae")[0])


def test_metric_option_picks_another_metric_and_its_direction(runs) -> None:
    board = compare.leaderboard(runs, metric="log_loss")
    assert set(board["metric"]) == {"test_log_loss"} and not board["higher_is_better"].any()
    assert list(board["mean"]) == sorted(board["mean"])  # lower is better: ascending
    assert board.attrs["dropped"] == [AIRLINE]  # forecasting runs have no log loss
    board = compare.leaderboard(runs, metric="f1")
    assert set(board["metric"]) == {"test_macro_f1"} and list(board["mean"]) == sorted(board["mean"], reverse=True)
    board = compare.leaderboard(runs, metric="epochs_trained:min")
    assert set(board["metric"]) == {"epochs_trained"}
    with pytest.raises(ConfigError, match=r"unknown metric 'acuracy' \(did you mean: .*accuracy"):
        compare.leaderboard(runs, metric="acuracy")
    with pytest.raises(ConfigError, match="epochs_trained:max or epochs_trained:min"):
        compare.leaderboard(runs, metric="epochs_trained")


def test_a_hyperparameter_that_differs_splits_the_model_into_rows(runs) -> None:
    changed = runs.copy()
    mlp = changed.index[(changed["model"] == "mlp") & (changed["dataset"] == IPD)]
    changed.loc[mlp[0], "params.model.units"] = "8"
    rows = compare.leaderboard(changed).query("model == 'mlp' and dataset == @IPD")
    # Each row says all it sets away from the defaults, what its runs share too, as a lone configuration does.
    assert sorted(rows["config"]) == ["units=4, epochs=2, num_layers=1", "units=8, epochs=2, num_layers=1"]
    assert list(rows["n"]) == [1, 1]


def test_a_dataset_whose_runs_all_failed_is_listed_with_its_status(runs) -> None:
    import pandas as pd

    failed = runs[runs["model"] == "gru"].iloc[[0]].copy()
    failed[["dataset", "status", "run_id"]] = ["ucr:GunPoint", "FAILED", "f" * 32]
    failed[[c for c in failed.columns if c.startswith("metrics.")]] = np.nan
    board = compare.leaderboard(pd.concat([runs, failed], ignore_index=True))
    [row] = board[board["dataset"] == "ucr:GunPoint"].to_dict("records")
    assert (row["n"], row["status"], row["FAILED"]) == (0, "1 FAILED", 1) and np.isnan(row["mean"])


def test_report_writes_pictures_and_one_file_and_logs_a_comparison_run(compared, store) -> None:
    out = compared.report
    assert set(out.files) == {*compare.FIGURES, "leaderboard.csv", "report.md", "report.html"}
    for name in compare.FIGURES:
        data = out.files[name].read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name
    page = out.files["report.html"].read_text()
    assert page.count("data:image/png;base64,") == 3 and "gru" in page and "<table>" in page
    text = out.files["report.md"].read_text()
    assert "## ucr:ItalyPowerDemand (classification)" in text and "![" in text and "](metric_by_model.png)" in text
    assert "| # | model | config | test_accuracy ↑ mean ± std (n)" in text
    run = _client(store).get_run(out.run_id)
    assert run.info.status == "FINISHED"
    assert (run.data.tags["stage"], run.data.tags["compare.experiment"]) == ("compare", EXPERIMENT)
    assert {a.path for a in _client(store).list_artifacts(out.run_id)} == set(out.files)
    again = compare.collect(EXPERIMENT, tracking_uri=store)
    assert out.run_id not in set(again["run_id"]) and again.attrs["left_out"]["comparison runs"] >= 1


def test_baselines_are_logged_once_per_dataset_and_seed_and_shown_as_baselines(compared, store) -> None:
    assert f"{IPD} seed 0: baselines logged: 1nn_euclidean, majority" in compared.notes
    assert f"{AIRLINE} seed 0: baselines logged: ets, naive, sarima, season_trend, seasonal_naive" in compared.notes
    base = compared.runs[compared.runs["baseline"]]
    assert set(base.groupby(["dataset", "model", "seed"]).size()) == {1}
    assert set(base.loc[base["dataset"] == IPD, "seed"]) == {0, 1, 2}  # the failed run's seed too
    board = compared.board
    rows = board[board["baseline"]].set_index("model")
    assert set(rows.index) == {"majority", "1nn_euclidean", "naive", "seasonal_naive", "season_trend", "ets", "sarima"}
    assert (rows["stage"] == "baseline").all() and rows.loc["majority", "n"] == 3
    assert compare.add_baselines(compared.runs) == [
        f"{AIRLINE} seed 0: baselines already logged: ets, naive, sarima, season_trend, seasonal_naive",
        f"{IPD} seed 0: baselines already logged: 1nn_euclidean, majority",
        f"{IPD} seed 1: baselines already logged: 1nn_euclidean, majority",
        f"{IPD} seed 2: baselines already logged: 1nn_euclidean, majority",
    ]


def test_classification_baselines_match_a_direct_computation(store) -> None:
    client = _client(store)
    ids = log_baselines(IPD, 0, EXPERIMENT, store)  # logged now, or found from `compared`
    assert set(ids) == {"majority", "1nn_euclidean"}
    data = load(IPD, seed=0)
    x = np.concatenate([data.train.x, data.val.x]).reshape(len(data.train) + len(data.val), -1)
    y = np.concatenate([data.train.y, data.val.y])
    test = data.test.x.reshape(len(data.test), -1)
    majority = (data.test.y == np.bincount(y).argmax()).mean()
    distances = ((test[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    nearest = (data.test.y == y[distances.argmin(axis=1)]).mean()
    for name, expected in (("majority", majority), ("1nn_euclidean", nearest)):
        run = client.get_run(ids[name])
        assert run.data.metrics["test_accuracy"] == pytest.approx(expected)
        tags = run.data.tags
        assert (tags["model"], tags["family"], tags["stage"], tags["seed"]) == (name, "baseline", "baseline", "0")
        assert (tags["task"], tags["dataset"]) == ("classification", IPD)
    assert log_baselines(IPD, 0, EXPERIMENT, store) == ids  # logged once


def test_forecast_baselines_repeat_the_last_value_and_the_last_season() -> None:
    data = load(AIRLINE)
    scaler = data.info["preprocessing"]["scaler"]
    mean, std = scaler["mean"][0], scaler["std"][0]
    inputs = data.test.x[:, :, 0] * std + mean
    truth = data.test.y[:, :, 0] * std + mean
    season, lookback = data.info["seasonality"], data.info["lookback"]
    naive = np.repeat(inputs[:, -1:], data.horizon, axis=1)
    seasonal = inputs[:, [lookback - season + h % season for h in range(data.horizon)]]
    results = {b.name: b.metrics for b in compute(data)}
    assert results["naive"]["mae"] == pytest.approx(np.abs(naive - truth).mean(), rel=1e-5)
    assert results["seasonal_naive"]["mae"] == pytest.approx(np.abs(seasonal - truth).mean(), rel=1e-5)
    assert results["seasonal_naive"]["mae"] < results["naive"]["mae"]  # airline is seasonal


def test_a_parent_runs_children_rank_on_validation_when_they_have_no_test_metric(store) -> None:
    """Tuning trials are chosen on validation and never see test: their leaderboard uses best_val_loss."""
    from mlflow.entities import Metric, Param

    client = _client(store)
    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    parent = client.create_run(experiment_id, run_name="search", tags={"stage": "search"}).info.run_id
    for units, best in ((8, 0.5), (16, 0.4), (32, 0.6)):
        tags = {"mlflow.parentRunId": parent, "stage": "trial", "model": "lstm", "dataset": IPD, "seed": "0"}
        run = client.create_run(experiment_id, tags={**tags, "task": "classification"}).info.run_id
        history = [Metric("val_loss", best + 0.1 * (1 - e), 0, e) for e in range(2)]
        client.log_batch(
            run,
            metrics=[*history, Metric("best_val_loss", best, 0, 2)],
            params=[Param("model.units", str(units)), Param("train.seed", "0")],
        )
        client.set_terminated(run, "FINISHED")
    children = compare.collect(parent_run_id=parent, tracking_uri=store)
    board = compare.leaderboard(children)
    assert list(board["config"]) == ["units=16", "units=8", "units=32"]
    assert set(board["metric"]) == {"best_val_loss"} and not board["higher_is_better"].any()
    with pytest.raises(ConfigError, match="unknown parent run"):
        compare.collect(parent_run_id="0" * 32, tracking_uri=store)
    # Collecting the whole experiment leaves a search's trials (and its parent run) out.
    left_out = compare.collect(EXPERIMENT, tracking_uri=store).attrs["left_out"]
    assert left_out["tuning trials (compare them with --parent SEARCH_RUN_ID)"] == 3


def test_trials_rank_by_what_the_search_ranked_them_by(store) -> None:
    """Trials that logged best_val_accuracy (the classification search's objective) rank by it, highest first;
    equal accuracies by the lower validation loss, as the search breaks its ties."""
    from mlflow.entities import Metric, Param

    client = _client(store)
    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    parent = client.create_run(experiment_id, run_name="search", tags={"stage": "search"}).info.run_id
    for units, accuracy, loss in ((8, 0.9, 0.30), (16, 0.8, 0.20), (32, 0.7, 0.25), (4, 0.9, 0.40)):
        tags = {"mlflow.parentRunId": parent, "stage": "trial", "model": "lstm", "dataset": IPD, "seed": "0"}
        run = client.create_run(experiment_id, tags={**tags, "task": "classification"}).info.run_id
        metrics = [Metric("best_val_accuracy", accuracy, 0, 2), Metric("best_val_loss", loss, 0, 2)]
        client.log_batch(run, metrics=metrics, params=[Param("model.units", str(units)), Param("train.seed", "0")])
        client.set_terminated(run, "FINISHED")
    board = compare.leaderboard(compare.collect(parent_run_id=parent, tracking_uri=store))
    assert list(board["config"]) == ["units=8", "units=4", "units=16", "units=32"]  # 4 first without the tie-break
    assert set(board["metric"]) == {"best_val_accuracy"} and board["higher_is_better"].all()


def test_a_long_config_is_brief_on_the_terminal_and_whole_in_the_board(store) -> None:
    """A trial set away from its defaults in five places shows three on its one terminal line."""
    import io

    from mlflow.entities import Metric, Param
    from rich.console import Console

    client = _client(store)
    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    parent = client.create_run(experiment_id, run_name="search", tags={"stage": "search"}).info.run_id
    tags = {"mlflow.parentRunId": parent, "stage": "trial", "model": "lstm", "dataset": IPD, "seed": "0"}
    run = client.create_run(experiment_id, tags={**tags, "task": "classification"}).info.run_id
    away = {"model.units": "8", "model.dropout": "0.3", "train.learning_rate": "0.01", "train.batch_size": "16",
            "train.clipnorm": "2.5", "train.seed": "0"}  # fmt: skip
    client.log_batch(run, metrics=[Metric("best_val_accuracy", 0.9, 0, 0)],
                     params=[Param(k, v) for k, v in away.items()])  # fmt: skip
    client.set_terminated(run, "FINISHED")
    board = compare.leaderboard(compare.collect(parent_run_id=parent, tracking_uri=store))
    assert board["config"].iloc[0] == "units=8, dropout=0.3, learning_rate=0.01, batch_size=16, clipnorm=2.5"
    screen = io.StringIO()
    compare.print_leaderboard(Console(file=screen, width=200), board)
    [row] = [line for line in screen.getvalue().splitlines() if "lstm" in line]
    assert "units=8, dropout=0.3, learning_rate=0.01 +2 more" in row and len(row) <= 120
    screen = io.StringIO()  # a narrow terminal: the first settings that fit, cut at a comma, never mid-number
    compare.print_leaderboard(Console(file=screen, width=80), board)
    [row] = [line for line in screen.getvalue().splitlines() if "lstm" in line]
    assert "units=8 +4 more" in row and len(row) <= 80, row


def test_a_forecasting_searchs_board_keeps_each_name_whole_on_one_line_of_120(store) -> None:
    """A search's board of a forecast (its objective and four test metrics) leaves the config the
    room that is left, cut with an ellipsis; model names are never folded over lines."""
    import io

    from mlflow.entities import Metric, Param
    from rich.console import Console

    client = _client(store)
    experiment_id = client.create_experiment("a forecasting board")  # its baseline row: not the module's baselines
    parent = client.create_run(experiment_id, run_name="search", tags={"stage": "search"}).info.run_id
    where = {"mlflow.parentRunId": parent, "dataset": AIRLINE, "seed": "0", "task": "forecasting"}
    figures = {"best_val_loss": 0.286, "test_mae": 14.41, "test_mase": 0.494, "test_rmse": 18.76, "test_smape": 3.24}
    for model, stage in (("gru", "best"), ("gru", "trial"), ("seasonal_naive", "baseline")):
        tags = {**where, "stage": stage, "model": model, **({"family": "baseline"} if stage == "baseline" else {})}
        run = client.create_run(experiment_id, tags=tags).info.run_id
        params = {"model.window_norm": "season_trend", "model.season": "12", "train.epochs": "200"}
        client.log_batch(run, metrics=[Metric(k, v, 0, 0) for k, v in figures.items()],
                         params=[Param(k, v) for k, v in params.items()] if stage != "baseline" else [])  # fmt: skip
        client.set_terminated(run, "FINISHED")
    board = compare.leaderboard(compare.collect(parent_run_id=parent, tracking_uri=store))
    screen = io.StringIO()
    compare.print_leaderboard(Console(file=screen, width=120), board)
    lines = screen.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 120, screen.getvalue()
    [best] = [line for line in lines if "gru (best)" in line]
    assert "14.41" in best and "window_norm" in best, screen.getvalue()
    assert any("seasonal_naive (baseline)" in line and "14.41" in line for line in lines), screen.getvalue()


def test_settings_every_trial_shares_are_said_once_under_the_terminal_table(store) -> None:
    """A search's trials all ran 30 epochs on its folds: one note says so; each row keeps what is its own."""
    import io

    from mlflow.entities import Metric, Param
    from rich.console import Console

    client = _client(store)
    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    parent = client.create_run(experiment_id, run_name="search", tags={"stage": "search"}).info.run_id
    for model, units in (("lstm", "64"), ("lstm", "8"), ("gru", "64")):
        tags = {"mlflow.parentRunId": parent, "stage": "trial", "model": model, "dataset": IPD, "seed": "0"}
        run = client.create_run(experiment_id, tags={**tags, "task": "classification"}).info.run_id
        params = {"model.units": units, "train.epochs": "30", "train.select_on": "held_out", "train.seed": "0"}
        client.log_batch(run, metrics=[Metric("best_val_accuracy", 0.9, 0, 0)],
                         params=[Param(k, v) for k, v in params.items()])  # fmt: skip
        client.set_terminated(run, "FINISHED")
    board = compare.leaderboard(compare.collect(parent_run_id=parent, tracking_uri=store))
    assert sorted(board["config"]) == ["epochs=30, select_on=held_out"] * 2 + ["units=8, epochs=30, select_on=held_out"]
    screen = io.StringIO()
    compare.print_leaderboard(Console(file=screen, width=120), board)
    text = screen.getvalue()
    assert "every trial run also: epochs=30, select_on=held_out" in text
    configs = sorted(line.split()[2] for line in text.splitlines() if line.split()[1:2] in (["lstm"], ["gru"]))
    assert configs == ["defaults", "defaults", "units=8"], text


def test_zoo_compare_prints_the_leaderboard_and_says_where_everything_is(compared, store, tmp_path) -> None:
    out = tmp_path / "report"
    argv = [ZOO, "compare", "--experiment", EXPERIMENT, "--tracking-uri", store, "--out", str(out), "--baselines"]
    result = subprocess.run([*argv, "--top", "2"], capture_output=True, text=True, timeout=300, env=AS_A_USER)
    assert result.returncode == 0, result.stderr[-3000:]
    native = [line for line in result.stderr.splitlines() if line[:1] in "IWEF" and line[1:5].isdigit()]
    assert not native, native  # --baselines starts the backend: its start-up lines are filtered
    text = result.stdout
    for words in (IPD, AIRLINE, "test_accuracy ↑", "test_mae ↓", "gru", "mlp", "majority", "1 FAILED"):
        assert words in text, f"{words!r} not in:\n{text}"
    assert "1nn_euclidean" in text and "seasonal_naive" in text and "(baseline)" in text
    assert max(len(line) for line in text.splitlines() if line.startswith((" ", "#", "─"))) <= 120
    assert f"{IPD} seed 1: baselines already logged: 1nn_euclidean, majority" in text
    assert f"files in {out}/" in text and "report.html" in text
    assert f"mlflow ui --backend-store-uri {store}" in text
    assert (out / "report.html").stat().st_size > 30_000 and (out / "validation_curves.png").exists()
    runs = compare.collect(EXPERIMENT, tracking_uri=store)
    assert set(runs[runs["baseline"]].groupby(["dataset", "model", "seed"]).size()) == {1}  # none added


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"experiment": "cmpp"}, ["unknown experiment 'cmpp'", "did you mean: cmp?", "experiments: ", "empty"]),
        ({"parent_run_id": "0123456789abcdef"}, ["unknown parent run '0123456789abcdef'"]),
        ({"experiment": "empty"}, ["experiment 'empty' has no runs to compare"]),
        ({"experiment": EXPERIMENT, "metric": "acuracy"}, ["unknown metric 'acuracy'", "test_accuracy", "logged: "]),
        ({"experiment": EXPERIMENT, "parent_run_id": "0123"}, ["not both"]),
    ],
)
def test_bad_input_is_a_config_error_naming_what_would_be_valid(store, tmp_path, kwargs, words) -> None:
    with pytest.raises(ConfigError) as caught:
        compare.compare(tracking_uri=store, out_dir=tmp_path, **kwargs)
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))
    assert not any(tmp_path.iterdir())  # nothing written before the input was checked


def test_zoo_compare_bad_input_is_one_line_with_its_exit_status(store) -> None:
    cases = {  # words: (arguments, exit status)
        "unknown experiment 'cmpp' (did you mean: cmp?)": (["--experiment", "cmpp", "--tracking-uri", store], 2),
        "http://127.0.0.1:9 cannot be reached": (
            ["--experiment", EXPERIMENT, "--tracking-uri", "http://127.0.0.1:9"],
            1,
        ),
    }
    # Side by side: each process imports MLflow, which takes seconds.
    procs = {
        k: (subprocess.Popen([ZOO, "compare", *v], stdout=-1, stderr=-1, text=True, env=AS_A_USER), code)
        for k, (v, code) in cases.items()
    }
    for words, (proc, code) in procs.items():
        _, err = proc.communicate(timeout=180)
        lines = err.strip().splitlines()
        assert proc.returncode == code, err[-2000:]
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], err[-2000:]


def test_zoo_compare_computing_baselines_prints_no_native_start_up_lines(tmp_path) -> None:
    """Computing baselines loads the data, which starts the backend: as on an AVX-512 machine."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    recipes.train("gru", IPD, hparams={"units": 4}, epochs=1, tracking_uri=uri, experiment="fresh",
                  runs_dir=tmp_path / "runs", verbose=0)  # fmt: skip
    argv = [
        ZOO,
        "compare",
        "--experiment",
        "fresh",
        "--tracking-uri",
        uri,
        "--out",
        str(tmp_path / "out"),
        "--baselines",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=AS_A_USER)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{IPD} seed 0: baselines logged: 1nn_euclidean, majority" in result.stdout
    native = [line for line in result.stderr.splitlines() if line[:1] in "IWEF" and line[1:5].isdigit()]
    assert not native, native
