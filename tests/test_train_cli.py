"""`zoo train` as a user runs it: real processes, real kills, a real MLflow server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.servers import mlflow_server
from tests.test_cli import AS_A_USER, ZOO

pytestmark = pytest.mark.slow
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def _train(*args: str, cwd: Path, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ZOO, "train", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env or QUIET
    )


def _wait_for_epoch(run_root: Path, epoch: int, proc: subprocess.Popen, timeout: float = 180) -> None:
    """Wait until some run folder's backup says `epoch` epochs are done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for meta in run_root.glob("*/backup/training_metadata.json"):
            try:
                if json.loads(meta.read_text())["epoch"] >= epoch:
                    return
            except (ValueError, KeyError, OSError):
                pass
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"training ended before epoch {epoch}: {err[-2000:]}")
        time.sleep(0.05)
    proc.kill()
    proc.communicate()
    raise AssertionError(f"no epoch {epoch} within {timeout} s")


def _runs(uri: str) -> list:
    from mlflow import MlflowClient

    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).exists():
        return []
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("lstm-zoo")
    return client.search_runs([experiment.experiment_id]) if experiment else []


def test_killed_training_resumes_in_the_same_run(tmp_path) -> None:
    """SIGKILL mid-run, then SIGTERM mid-run, then run to the end: one MLflow run, no epoch lost."""
    from mlflow import MlflowClient

    (tmp_path / "run.yaml").write_text(
        "model: lstm\ndata: ucr:GunPoint\nhparams: {units: 8}\n"
        "train: {epochs: 14, batch_size: 8, patience: 0, checkpoint_seconds: 0}\n"
    )
    command = [ZOO, "train", "--config", "run.yaml"]
    uri = f"sqlite:///{tmp_path}/mlflow.db"

    first = subprocess.Popen(
        command, cwd=tmp_path, env=QUIET, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for_epoch(tmp_path / "runs", 2, first)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    [run] = _runs(uri)
    assert run.info.status == "RUNNING"  # nobody could close it: the next command will

    second = subprocess.Popen(
        command, cwd=tmp_path, env=QUIET, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for_epoch(tmp_path / "runs", 6, second)
    second.send_signal(signal.SIGTERM)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    [run] = _runs(uri)
    assert run.info.status == "KILLED"

    third = _train("--config", "run.yaml", cwd=tmp_path)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "14 epochs, resumed at epoch" in third.stdout
    [run] = _runs(uri)
    assert run.info.status == "FINISHED"
    steps = [m.step for m in MlflowClient(uri).get_metric_history(run.info.run_id, "loss")]
    assert set(steps) == set(range(14))  # every epoch logged, in one run
    assert "accuracy" in third.stdout and "mlflow ui --backend-store-uri" in third.stdout


@pytest.mark.parametrize(
    ("args", "config", "words"),
    [
        (("lstm", "--data", "ucr:Nope"), None, ["ucr:Nope", "GunPoint"]),
        (("lstm", "--data", "ucr:GunPoint", "--hp", "unitz=3"), None, ["unitz", "did you mean: units"]),
        (("lstm", "--data", "ucr:GunPoint", "--epochs", "-1"), None, ["epochs=-1"]),
        (("lstm", "--data", "ucr:GunPoint", "--ensemble", "0"), None, ["ensemble=0"]),
        (("--config", "run.yaml"), "model: lstm\ndata: ucr:GunPoint\ntrian: {epochs: 2}\n", ["trian", "train"]),
        (("--config", "run.yaml"), "model: lstm\ndata: ucr:GunPoint\ntrain: {epoch: 2}\n", ["epoch", "epochs"]),
        (("--config", "run.yaml"), "model: [lstm\n", ["not valid YAML", "line"]),
        (("gru",), None, ["--data"]),
        (("lstm", "--data", "ucr:GunPoint", "--jit-compile", "maybe"), None, ["--jit-compile", "auto", "true"]),
        (("--config", "run.yaml"), "model: lstm\ndata: ucr:GunPoint\ntrain: {jit_compile: xla}\n", ["'xla'", "'auto'"]),
        (("lstm", "--data", "ucr:GunPoint", "--tracking-uri", "sqlite:///no/such/folder/m.db"), None, ["folder"]),
        (
            ("lstm", "--data", "ucr:GunPoint", "--unfreeze-lr-factor", "0.5"),
            None,
            ["--unfreeze-lr-factor", "--backbone"],
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_no_run(tmp_path, args, config, words) -> None:
    """Run as on an AVX-512 machine (oneDNN's notices on): still one line."""
    if config:
        (tmp_path / "run.yaml").write_text(config)
    started = time.monotonic()
    result = _train(*args, cwd=tmp_path, env=AS_A_USER)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    for word in words:
        assert word in lines[0]
    assert time.monotonic() - started < 60
    assert all(r.info.status != "RUNNING" for r in _runs(f"sqlite:///{tmp_path}/mlflow.db"))


def test_a_diverging_run_is_a_failure_exit_1_with_one_line_and_a_failed_run(tmp_path) -> None:
    """Exit 1, not 2: the command was right, running it failed."""
    import numpy as np

    rng = np.random.default_rng(0)
    x, y = (rng.normal(size=(32, 8, 1)) * 1e30).astype("float32"), np.arange(32) % 2
    np.savez(tmp_path / "huge.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    result = _train("mlp", "--data", "file:huge.npz", "--epochs", "5", "--optimizer", "sgd", "--learning-rate", "10",
                    "--clipnorm", "0", cwd=tmp_path, env=AS_A_USER)  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "the loss became" in line
    [run] = _runs(f"sqlite:///{tmp_path}/mlflow.db")
    assert run.info.status == "FAILED"


def test_a_server_lost_mid_training_loses_nothing_trained(tmp_path) -> None:
    """Train against a real `mlflow server`, stop the server after two epochs: training finishes."""
    with mlflow_server(tmp_path) as (uri, server):
        env = {**QUIET, "MLFLOW_TRACKING_URI": uri}
        command = [ZOO, "train", "lstm", "--data", "ucr:GunPoint", "--hp", "units=8", "--epochs", "12",
                   "--batch-size", "8", "--patience", "0", "--checkpoint-seconds", "0",
                   "--jit-compile", "false"]  # fmt: skip
        proc = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        _wait_for_epoch(tmp_path / "runs", 2, proc)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert "12 epochs" in out and "accuracy" in out
    assert "MLflow store was lost" in err and "Traceback" not in err
    [run_dir] = (tmp_path / "runs").iterdir()
    for name in ("model.keras", "metrics.csv", "learning_curves.png", "confusion_matrix.png", "test_metrics.json"):
        assert (run_dir / name).exists(), name
    assert str(run_dir.name) in err

    # With the server still down, the next command fails fast, before any training.
    started = time.monotonic()
    again = _train("lstm", "--data", "ucr:GunPoint", cwd=tmp_path, env=env)
    assert again.returncode == 1 and "cannot be reached" in again.stderr  # a failure, not a usage error
    assert time.monotonic() - started < 30
