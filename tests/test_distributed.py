"""keras-tuner's distributed mode as a user runs it: an MLflow server, a chief, workers, a kill."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

import tuning
from tests.servers import free_port, mlflow_server
from tests.test_cli import ZOO
from tests.test_train_cli import QUIET, _runs
from tuning import distributed
from tuning.errors import SearchError
from zoo.errors import ConfigError


def _tune(port: int, *extra: str) -> list[str]:
    return [ZOO, "tune", "--models", "lstm,gru", "--data", "ucr:GunPoint", "--tuner", "random", "--max-trials", "4",
            "--max-epochs", "3", "--cv", "0", "--fixed", "units=8", "--fixed", "batch_size=16", "--no-compare",
            "--oracle-address", f"127.0.0.1:{port}", *extra]  # fmt: skip


def _start(command: list[str], cwd, env) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_a_chief_and_two_workers_run_every_trial_once_under_one_parent(tmp_path) -> None:
    """Kill one worker inside its first trial: the chief hands that trial on and finishes."""
    from mlflow import MlflowClient

    port = free_port()
    with mlflow_server(tmp_path) as (uri, _):
        env = {**QUIET, "MLFLOW_TRACKING_URI": uri}
        chief = _start(_tune(port, "--role", "chief", "--worker-timeout", "10"), tmp_path, env)
        w1 = _start(_tune(port, "--role", "worker", "--worker-id", "w1", "--worker-timeout", "120"), tmp_path, env)
        w2 = _start(_tune(port, "--role", "worker", "--worker-id", "w2", "--worker-timeout", "120"), tmp_path, env)
        try:
            client = MlflowClient(uri)
            deadline = time.monotonic() + 240
            while True:  # w2 is killed once its first trial's run is training
                experiment = client.get_experiment_by_name("lstm-zoo")
                running = experiment and client.search_runs(
                    [experiment.experiment_id], "tags.worker = 'w2' and attributes.status = 'RUNNING'"
                )
                if running:
                    break
                for proc in (chief, w1, w2):
                    assert proc.poll() is None, proc.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "w2 never started a trial"
                time.sleep(0.2)
            lost_trial = running[0].data.tags["trial_id"]
            w2.send_signal(signal.SIGKILL)
            w2.communicate(timeout=30)
            chief_out, chief_err = chief.communicate(timeout=420)
            w1_out, w1_err = w1.communicate(timeout=60)
            runs = _runs(uri)
            history = {r.info.run_id: client.get_metric_history(r.info.run_id, "val_accuracy") for r in runs}
        finally:
            for proc in (chief, w1, w2):
                if proc.poll() is None:
                    proc.kill()

    assert chief.returncode == 0, chief_err[-3000:]
    assert w1.returncode == 0, w1_err[-3000:]
    assert "Traceback" not in chief_err + w1_err
    assert "worker w2 silent for" in chief_out and f"its trial {lost_trial} goes back to the queue" in chief_out
    assert "w1: the search is over" in w1_out

    [parent] = [r for r in runs if r.data.tags.get("stage") == "search"]
    assert parent.info.status == "FINISHED"
    assert all(r.info.status != "RUNNING" for r in runs)
    trials = [r for r in runs if r.data.tags.get("stage") == "trial"]
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in trials)
    finished = sorted(r.data.tags["trial_id"] for r in trials if r.info.status == "FINISHED")
    seen = [(r.data.tags["trial_id"], r.data.tags.get("worker"), r.info.status) for r in trials]
    assert finished == ["0", "1", "2", "3"], (seen, chief_out[-3000:], w1_out[-2000:])  # the lost one included
    assert {r.data.tags["worker"] for r in trials} >= {"w1", "w2"}

    scores = {
        r.data.tags["trial_id"]: max(m.value for m in history[r.info.run_id])
        for r in trials
        if r.info.status == "FINISHED"
    }
    best = parent.data.tags["best_trial_id"]
    assert scores[best] == pytest.approx(max(scores.values()))
    assert parent.data.metrics["best_val_accuracy"] == pytest.approx(max(scores.values()))
    assert "test_accuracy" in parent.data.metrics
    [best_run] = [r for r in runs if r.data.tags.get("stage") == "best"]
    assert best_run.info.status == "FINISHED" and best_run.data.tags["trial_id"] == best


class _Chief:
    """`distributed.serve` in a thread over a real keras-tuner oracle; workers are gRPC clients."""

    def __init__(self, tmp_path, monkeypatch, *, max_trials: int, timeout: float) -> None:
        import threading

        import keras_tuner as kt

        self.oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("score", "max"), max_trials=max_trials)
        self.oracle.hyperparameters.Int("x", 0, 10_000)
        self.oracle._set_project_dir(str(tmp_path), "search")
        self.oracle.save = lambda: None  # an in-memory search
        self.port = free_port()
        self.ended, self.lost, self.error = [], [], None
        self.monkeypatch = monkeypatch
        cluster = distributed.Cluster("chief", "127.0.0.1", self.port, "chief", timeout)
        self.thread = threading.Thread(target=self._serve, args=(cluster,), daemon=True)
        self.thread.start()

    def _serve(self, cluster) -> None:
        tuner = type("Tuner", (), {"oracle": self.oracle, "save": lambda _: None})()
        try:
            distributed.serve(tuner, cluster, on_trial_end=lambda t, _: self.ended.append((t.trial_id, t.status)),
                              on_lost=lambda w, t, _, f: self.lost.append((w, t and t.trial_id, f)),
                              check_failures=lambda _: None, progress=lambda _: None)  # fmt: skip
        except SearchError as err:
            self.error = err

    def worker(self, tuner_id: str):
        from keras_tuner.src.distribute import oracle_client

        for key, value in (("IP", "127.0.0.1"), ("PORT", str(self.port)), ("TUNER_ID", tuner_id)):
            self.monkeypatch.setenv(f"KERASTUNER_ORACLE_{key}" if key != "TUNER_ID" else "KERASTUNER_TUNER_ID", value)
        return oracle_client.OracleClient(self.oracle)


def _finish(client, trial) -> None:
    client.update_trial(trial.trial_id, {"score": 0.5})
    trial.status = "COMPLETED"
    client.end_trial(trial)


def test_a_fast_survivor_waits_for_the_lost_workers_trial_and_runs_it(tmp_path, monkeypatch) -> None:
    """w2 takes a trial and falls silent; w1 finishes the other one before the chief notices.

    w1 is told to wait (IDLE), not to stop, while w2's trial is out; once the chief drops w2,
    w1's next request gets that trial; only then is the search over.
    """
    chief = _Chief(tmp_path, monkeypatch, max_trials=2, timeout=3.0)
    w2, w1 = chief.worker("w2"), chief.worker("w1")
    taken = w2.create_trial("w2")  # ... and w2 is never heard from again
    first = w1.create_trial("w1")
    assert taken.status == first.status == "RUNNING"
    _finish(w1, first)

    answers = []
    deadline = time.monotonic() + 60
    while not answers or answers[-1].status == "IDLE":
        assert time.monotonic() < deadline, "w1 was never handed the lost trial"
        answers.append(w1.create_trial("w1"))
        time.sleep(0.2)
    assert answers[0].status == "IDLE"  # w1 did not end while a trial was out with another worker
    assert answers[-1].status == "RUNNING" and answers[-1].trial_id == taken.trial_id
    _finish(w1, answers[-1])
    assert w1.create_trial("w1").status == "STOPPED"

    chief.thread.join(timeout=30)
    assert not chief.thread.is_alive() and chief.error is None
    assert chief.lost == [("w2", taken.trial_id, False)]
    assert sorted(chief.ended) == sorted([(first.trial_id, "COMPLETED"), (taken.trial_id, "COMPLETED")])


def test_a_lost_trial_with_no_worker_left_keeps_the_chief_waiting_then_fails_resumably(tmp_path, monkeypatch) -> None:
    """The only worker dies in its trial: the trial is queued, not dropped, and the chief says which."""
    chief = _Chief(tmp_path, monkeypatch, max_trials=1, timeout=2.0)
    taken = chief.worker("w1").create_trial("w1")  # ... and w1 dies
    chief.thread.join(timeout=60)
    assert not chief.thread.is_alive()
    assert chief.lost == [("w1", taken.trial_id, False)] and chief.ended == []
    assert f"trials {taken.trial_id} waiting" in str(chief.error) and "the search resumes" in str(chief.error)


def test_a_trial_that_loses_a_worker_three_times_fails_and_the_search_ends(tmp_path, monkeypatch) -> None:
    """Handed on twice, lost a third time: FAILED for a reason of its own (it may be what kills them).

    (A worker restarted under the same id within the timeout is not lost: keras-tuner hands it
    back its own trial.)
    """
    workers = ("w1", "w2", "w3")
    chief = _Chief(tmp_path, monkeypatch, max_trials=1, timeout=1.5)
    taken = []
    for tuner_id in workers:  # each takes the trial once it is handed back, then falls silent
        worker, deadline = chief.worker(tuner_id), time.monotonic() + 60
        while (trial := worker.create_trial(tuner_id)).status == "IDLE":
            assert time.monotonic() < deadline, f"{tuner_id} never got the trial"
            time.sleep(0.2)
        taken.append(trial.trial_id)
    chief.thread.join(timeout=60)
    assert not chief.thread.is_alive() and chief.error is None
    assert taken == [taken[0]] * 3
    assert chief.lost == [(workers[0], taken[0], False), (workers[1], taken[0], False), (workers[2], taken[0], True)]
    assert chief.ended == [(taken[0], "FAILED")]
    assert "it lost a worker 3 times" in chief.oracle.trials[taken[0]].message


def test_a_chief_without_workers_and_a_worker_without_a_chief_stop_in_bounded_time(tmp_path) -> None:
    """No peer: each side waits `worker_timeout` seconds, then says what to do."""
    from mlflow import MlflowClient

    port = free_port()
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    common = {"tuner": "random", "max_trials": 2, "max_epochs": 1, "cv": 0, "fixed": {"units": 8},
              "directory": tmp_path, "tracking_uri": uri, "oracle_address": f"127.0.0.1:{port}",
              "worker_timeout": 6}  # fmt: skip

    with pytest.raises(SearchError, match="start the chief first"):
        tuning.search("lstm", "ucr:GunPoint", role="worker", **common)

    started = time.monotonic()
    with pytest.raises(SearchError, match=r"no worker has contacted the chief .* --role worker"):
        tuning.search("lstm", "ucr:GunPoint", role="chief", **common)
    assert time.monotonic() - started < 30
    [parent] = _runs(uri)
    assert parent.info.status == "FAILED" and "no worker" in parent.data.tags["error"]

    # The search's run exists now but its chief is gone: the worker gives up on gRPC in bounded time.
    with pytest.raises(SearchError, match=f"the chief on 127.0.0.1:{port} did not answer"):
        tuning.search("lstm", "ucr:GunPoint", role="worker", **common)
    assert MlflowClient(uri).get_run(parent.info.run_id).info.status == "FAILED"  # a worker never closes it


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("boss", None, None, None), "'chief' or 'worker'"),
        (("worker", "localhost", None, None), "HOST:PORT"),
        (("worker", "localhost:70000", None, None), "HOST:PORT"),
        (("worker", None, "chief-2", None), "reserves for the chief"),
        (("chief", None, "w1", None), "--worker-id is for workers"),
        (("worker", None, None, 0), "must be > 0"),
        ((None, "10.0.0.1:8000", None, None), "need --role"),
    ],
)
def test_bad_cluster_settings_are_refused(args, words, monkeypatch) -> None:
    for key in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        distributed.resolve(*args)


def test_the_cluster_comes_from_keras_tuner_variables(monkeypatch) -> None:
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner7")
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "10.1.2.3")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "9001")
    cluster = distributed.resolve(None)
    assert (cluster.role, cluster.address, cluster.tuner_id) == ("worker", "10.1.2.3:9001", "tuner7")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert distributed.resolve(None).role == "chief"
    monkeypatch.delenv("KERASTUNER_ORACLE_PORT")
    with pytest.raises(ConfigError, match="set all three"):
        distributed.resolve(None)
