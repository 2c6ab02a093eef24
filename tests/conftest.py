"""Shared test set-up: the TensorFlow backend, quiet logs, a fresh Keras session per test.

Prepared TFDS data and runs downloaded by id go to temporary folders per test session
(inherited by the CLI subprocesses), so tests never read or write the user's caches.
"""

import os
import tempfile

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "ZOO_DATA_DIR" not in os.environ:
    _DATA_DIR = os.environ["ZOO_DATA_DIR"] = tempfile.mkdtemp(prefix="zoo-test-data-")
else:
    _DATA_DIR = None
# Runs `zoo predict` downloads by id: kept per test session, not in the user's cache.
_CACHE_DIR = os.environ["ZOO_CACHE_DIR"] = tempfile.mkdtemp(prefix="zoo-test-cache-")

import pytest


def pytest_sessionfinish(session, exitstatus):
    import shutil

    shutil.rmtree(_CACHE_DIR, ignore_errors=True)
    if _DATA_DIR:
        shutil.rmtree(_DATA_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    yield
    import sys

    if "keras" in sys.modules:
        sys.modules["keras"].utils.clear_session(free_memory=False)


# Modules whose tests are independent and cheap to set up: spread over the xdist workers test by test.
SPREAD = {"test_conformance", "test_registry", "test_cli", "test_docs"}


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """Keep every other module on one worker, so its module-scoped fixtures run once.

    A wrapper, so the marks are there before xdist's own hook turns them into groups (a
    `tryfirst` hook ran after it: its marks grouped nothing).
    """
    for item in items:
        module = item.module.__name__.rpartition(".")[2]
        if module not in SPREAD:
            item.add_marker(pytest.mark.xdist_group(module))
    result = yield
    grouped = [item for item in items if item.get_closest_marker("xdist_group")]
    if getattr(config.option, "loadgroup", False) and grouped and "@" not in grouped[0].nodeid:
        # pytest 9.2 stopped reading the node id xdist 3.8 rewrites: every fixture would run per worker.
        raise pytest.UsageError(f"xdist --dist loadgroup groups nothing under pytest {pytest.__version__}: "
                                "install the pinned test tools (pip install -e '.[dev]')")  # fmt: skip
    return result
