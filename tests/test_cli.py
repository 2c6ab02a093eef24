"""The `zoo` command line, run as a user runs it: a subprocess of the installed script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import zoo

ZOO = shutil.which("zoo", path=os.path.dirname(sys.executable)) or shutil.which("zoo")
# A user's environment (no TF_CPP_MIN_LOG_LEVEL), with oneDNN's custom operations forced on: TensorFlow
# then prints its start-up notices as it does on an AVX-512 machine, whatever this machine's CPU.
AS_A_USER = {
    **{k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
    "TF_ENABLE_ONEDNN_OPTS": "1",
    "PYTHONUNBUFFERED": "1",
}


def run(*args: str, timeout: int = 120, cwd=None) -> subprocess.CompletedProcess:
    assert ZOO, "the console script `zoo` is not installed (pip install -e .)"
    return subprocess.run([ZOO, *args], capture_output=True, text=True, timeout=timeout, env=AS_A_USER, cwd=cwd)


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("list", "describe", "demo", "train", "tune", "compare"):
        assert command in result.stdout


def test_list_shows_every_model_as_a_table() -> None:
    result = run("list")
    assert result.returncode == 0, result.stderr
    for name in zoo.list_models():
        assert name in result.stdout
    assert f"{len(zoo.list_models())} models" in result.stdout


def test_list_filters_and_json() -> None:
    result = run("list", "--task", "reconstruction", "--json")
    names = [m["name"] for m in json.loads(result.stdout)]
    assert names == zoo.list_models(task="reconstruction")
    result = run("list", "*gru*", "--family", "recurrent", "--json")
    assert [m["name"] for m in json.loads(result.stdout)] == ["gru", "stacked_gru"]


def test_describe_shows_defaults_and_space() -> None:
    result = run("describe", "lstm_fcn")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Karim" in out and "cuDNN fast path: yes" in out
    assert "filters_2" in out and "256" in out and "one of 64, 128, 256" in out
    assert "not searched" in out
    info = json.loads(run("describe", "gru", "--json").stdout)
    assert info["defaults"] == zoo.describe("gru").defaults


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("describe", "lstmm"), ["unknown model 'lstmm'", "did you mean: lstm"]),
        (("list", "--task", "forecast"), ["unknown task 'forecast'", "forecasting"]),
        (("list", "--family", "recurent"), ["did you mean: recurrent"]),
        (("list", "--tsak", "forecasting"), ["No such option '--tsak'", "Did you mean '--task'?", "zoo list --help"]),
        (("lsit",), ["No such command 'lsit'", "zoo --help"]),
        (("train", "lstm", "--epochs", "many"), ["'many' is not a valid integer", "zoo train --help"]),
        (
            ("train", "mlp", "--data", "ucr:ItalyPowerDemand", "--loss", "mae", "--no-tracking"),
            ["loss=mae is for tasks that predict values", "give loss=auto"],
        ),
        (("detect", "--data", "anomaly:InternalBleeding16", "--loss", "hinge"), ["'hinge' is not one of", "mae"]),
    ],
)
def test_user_errors_are_one_line_without_traceback(args, words) -> None:
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_list_and_describe_never_import_keras() -> None:
    code = (
        "import sys, atexit; "
        "atexit.register(lambda: print('HEAVY=' + ','.join(m for m in ('keras', 'tensorflow') if m in sys.modules))); "
        "from zoo_cli import main; main(sys.argv[1:])"
    )
    for args in (["--help"], ["list"], ["describe", "attention_lstm"]):
        result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith("HEAVY="), args


def test_make_demo_runs_commands_that_work(tmp_path) -> None:
    """`make demo` after set-up: dry-run the target and run each command it would run.

    The search is shortened to 2 one-epoch trials of small models and runs in a scratch folder
    (its MLflow store and run folders land there); everything else is the target's own command.
    """
    import pathlib
    import shlex

    root = pathlib.Path(__file__).resolve().parent.parent
    dry = subprocess.run(["make", "-n", "demo"], cwd=root, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    commands = [line for line in dry.stdout.splitlines() if line.startswith(".venv/bin/zoo")]
    assert commands and commands[-1].startswith(".venv/bin/zoo tune")
    for line in commands:
        argv = shlex.split(line)
        argv[0] = ZOO
        if argv[1] == "tune":
            argv += ["--max-trials", "2", "--max-epochs", "1", "--fixed", "units=8"]
        result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=AS_A_USER)
        assert result.returncode == 0, f"{line}: {result.stderr[-1500:]}"
    # The demo searches on real data, prints the leaderboard and says where everything is.
    out = result.stdout
    assert "trial 1 of 2" in out and "min left" in out and "trial 2 of 2" in out
    assert "test accuracy" in out and re.search(r"reproduce (it|the best trial .*): zoo train --config", out)
    assert "1nn_euclidean" in out and "majority" in out  # the baselines beside the models
    assert "mlflow ui --backend-store-uri sqlite:///mlflow.db" in out and "report.html" in out
    assert (tmp_path / "tuning_runs" / "demo" / "compare" / "report.html").exists()


def _commands(group, path=()):
    import click

    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_documented_flag_is_exercised_by_a_test() -> None:
    """Each long option in `zoo ... --help` appears, quoted as on a command line, in some test."""
    import pathlib

    import click

    from zoo_cli import cli

    here = pathlib.Path(__file__).resolve().parent
    sources = "\n".join(p.read_text() for p in here.glob("test_*.py"))
    missing = [
        f"zoo {' '.join(path)} {flag}"
        for path, command in _commands(cli)
        for param in command.params
        if isinstance(param, click.Option)
        for flag in (*param.opts, *param.secondary_opts)
        if flag.startswith("--") and flag != "--help" and f'"{flag}"' not in sources
    ]
    assert not missing, f"documented flags that no test runs: {missing}"


def test_demo_builds_the_model_it_is_given() -> None:
    result = run("demo", "--model", "gru")
    assert result.returncode == 0 and result.stderr == ""
    assert "Building 'gru'" in result.stdout and "forecasting head" in result.stdout


def test_a_list_that_matches_nothing_is_one_line_and_exit_1() -> None:
    result = run("list", "xyz*", "--task", "classification")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: no model matches pattern 'xyz*', task 'classification'; 'zoo list' shows them all"
    ]
    assert result.stdout == ""


def test_help_documents_the_exit_statuses() -> None:
    out = run("--help").stdout
    for status, words in (("1", "failed while running"), ("2", "usage error"), ("130", "interrupted")):
        assert any(line.split()[:1] == [status] and words in line for line in out.splitlines()), status
