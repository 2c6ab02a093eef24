"""Shared test set-up: the TensorFlow backend, quiet logs, a fresh Keras session per test."""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    yield
    import sys

    if "keras" in sys.modules:
        sys.modules["keras"].utils.clear_session(free_memory=False)
