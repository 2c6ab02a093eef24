"""What a search's trials make together: forward selection on their held-out predictions.

A classification search ranked by K folds has every labelled series predicted once by each
trial, on a fold it did not fit (its held-out predictions, saved in the trial's folder). The
search's product starts from the trial it ranks first and adds, one at a time, the trial whose
probabilities averaged in lower the held-out log loss most (and keep its accuracy), while one
does and up to `most` members (ensemble selection: Caruana et al. 2004, "Ensemble selection from libraries of
models", ICML; as AutoGluon and auto-sklearn end their searches). Chosen on the folds alone:
the test split plays no part.

    >>> chosen = select({"3": p3, "0": p0, "5": p5}, labels, lead="3", most=3)
    >>> chosen.members, chosen.loss, chosen.lead_loss
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FLOOR = 1e-7  # a probability of 0 costs log(FLOOR), not infinity


@dataclass(frozen=True)
class Selection:
    """The members chosen (the lead first) and what they score on the held-out folds."""

    members: tuple[str, ...]
    loss: float  # the members' average: held-out log loss
    accuracy: float
    lead_loss: float  # the lead alone
    lead_accuracy: float


def log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log probability of the true class."""
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(picked, FLOOR, 1.0))))


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(probabilities.argmax(-1) == labels))


def select(candidates: Mapping[str, np.ndarray], labels: np.ndarray, *, lead: str, most: int) -> Selection:
    """Forward selection from `lead`: add the candidate that lowers the log loss of the members'
    average most without lowering its accuracy, while one does, up to `most` members; ties go to
    the earlier candidate."""
    chosen, total = [lead], np.asarray(candidates[lead], dtype="float64")
    loss = lead_loss = log_loss(total, labels)
    right = lead_accuracy = accuracy(total, labels)
    while len(chosen) < most:
        scored = []
        for name, p in candidates.items():
            mean = (total + p) / (len(chosen) + 1)
            if name not in chosen and accuracy(mean, labels) >= right:
                scored.append((log_loss(mean, labels), name))
        best_loss, name = min(scored, key=lambda pair: pair[0], default=(np.inf, ""))  # the first of equals
        if best_loss >= loss:
            break
        chosen.append(name)
        total, loss = total + candidates[name], best_loss
        right = accuracy(total / len(chosen), labels)
    return Selection(tuple(chosen), loss, right, lead_loss, lead_accuracy)


def file_name(k: int, seed: int) -> str:
    """A trial's held-out probabilities, every labelled series once in the order of the K folds
    `seed` draws: a search resumed with other folds writes and reads other files."""
    return f"heldout-{k}-folds-seed-{seed}.npy"


def save(path: Path, probabilities: np.ndarray) -> Path:
    """A trial's held-out probabilities, at `path` (in its folder, named by `file_name`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(probabilities, dtype="float32"))
    return path


def load(paths: Mapping[str, Path], rows: int) -> dict[str, np.ndarray]:
    """The held-out probabilities of the trials that saved them (`rows` series each), by trial id,
    in the order given; a trial run elsewhere (a worker's disk) or before has none and is left out."""
    found = {}
    for trial_id, path in paths.items():
        if path.exists():
            values = np.load(path)
            if values.ndim == 2 and len(values) == rows and np.isfinite(values).all():
                found[trial_id] = values.astype("float64")
    return found
