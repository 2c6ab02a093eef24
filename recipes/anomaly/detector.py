"""A trained detector: a zoo model, its windows, its normalisation and its threshold, saved
together so that new data is scored exactly as the data it was calibrated on.

    >>> det = Detector.load("runs/.../detector")          # or load_detector(RUN_ID)
    >>> [steps] = det.step_scores(series)                 # (T,) raw series in, one score a step
    >>> flags = steps > det.threshold

A step's score is the model's error on it, averaged over the windows that cover it, each
channel divided by its mean error on held-out normal data, then averaged over channels: 1
is a typical normal step, whatever the channels' units.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recipes.anomaly import windows
from recipes.errors import DataError

SPEC_FILE, MODEL_FILE = "detector.json", "model.keras"
CHUNK = 16384  # windows per pass of the model


@dataclass
class Detector:
    """What scoring needs.

    Attributes:
        model: The trained Keras model (windows in, forecasts or reconstructions out).
        mode: "forecast" or "reconstruct".
        lookback: Steps a window sees.
        horizon: Steps a window's target spans (the lookback when reconstructing).
        mean, std: Per-channel normalisation of raw values, from the normal data.
        error_scale: Per-channel mean error on held-out normal windows.
        threshold: Step scores above it are flagged.
        channels: Channel names, in input order.
        info: How it was made (model name, data, threshold rule, run id).
    """

    model: Any
    mode: str
    lookback: int
    horizon: int
    mean: np.ndarray
    std: np.ndarray
    error_scale: np.ndarray
    threshold: float = float("nan")
    channels: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)

    def errors(self, *series: np.ndarray) -> list[np.ndarray]:
        """Per-step, per-channel errors of raw series `(T, C)` each, in error-scale units (NaN
        where no window reaches). Windows go through the model in batches of `CHUNK`, those of
        many short series together, those of a long recording a chunk at a time (memory stays
        bounded: windows are views until a chunk is predicted)."""
        cuts = [windows.cut((np.asarray(s, np.float64) - self.mean) / self.std, self.lookback, self.horizon,
                            self.mode) for s in series]  # fmt: skip
        means = [windows.StepMeans(len(s), len(self.mean)) for s in series]
        pending: list[tuple[int, slice]] = []  # (series, window rows) waiting for the next batch
        queued = 0
        for i, (x, _, _) in enumerate(cuts):
            for first in range(0, len(x), CHUNK):
                rows = slice(first, min(first + CHUNK, len(x)))
                pending.append((i, rows))
                queued += rows.stop - rows.start
                if queued >= CHUNK:
                    self._predict(pending, cuts, means)
                    pending, queued = [], 0
        self._predict(pending, cuts, means)
        return [m.mean() / self.error_scale for m in means]

    def _predict(self, pending: list[tuple[int, slice]], cuts: list[tuple], means: list[windows.StepMeans]) -> None:
        """One pass of the model over the pending windows; their errors into the step means."""
        if not pending:
            return
        inputs = np.concatenate([cuts[i][0][rows] for i, rows in pending])
        predicted = np.asarray(self.model.predict(inputs, batch_size=512, verbose=0), dtype=np.float64)
        first = 0
        for i, rows in pending:
            n = rows.stop - rows.start
            _, y, starts = cuts[i]
            means[i].add(np.abs(predicted[first : first + n] - y[rows]), starts[rows])
            first += n

    def step_scores(self, *series: np.ndarray, history: np.ndarray | None = None) -> list[np.ndarray]:
        """One score per step of each raw series `(T, C)` (NaN where no window reaches).

        `history`: raw steps just before each series (a stream's normal prefix), so that its
        first steps are scored too.
        """
        for s in series:
            self.check(s)
        before = 0 if history is None or not len(history) else min(len(history), self.lookback)
        joined = [s if not before else np.concatenate([history[-before:], s]) for s in series]
        return [e[before:].mean(axis=1) for e in self.errors(*joined)]  # NaN steps are NaN in every channel

    def check(self, series: np.ndarray) -> None:
        """Refuse a series the detector cannot score (one line)."""
        if series.ndim != 2 or series.shape[1] != len(self.mean):
            raise DataError(f"the detector takes {len(self.mean)} channel(s) ({', '.join(self.channels)}); "
                            f"the data has {series.shape[-1]}")  # fmt: skip

    def save(self, folder: str | Path) -> Path:
        """The model and `detector.json` in `folder` (created)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save(folder / MODEL_FILE)
        spec = {k: v for k, v in asdict(self).items() if k != "model"}
        spec = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in spec.items()}
        (folder / SPEC_FILE).write_text(json.dumps(spec, indent=1, default=str))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Detector:
        """A detector saved by `save` (the zoo's layers are registered on import)."""
        import keras

        import zoo.layers  # noqa: F401  (custom layers the model holds)

        folder = Path(folder)
        if not (folder / SPEC_FILE).exists():
            raise DataError(f"{folder} holds no detector ({SPEC_FILE}); give a detect run's id or its detector folder")
        spec = json.loads((folder / SPEC_FILE).read_text())
        arrays = {k: np.asarray(spec[k], dtype=np.float64) for k in ("mean", "std", "error_scale")}
        model = keras.models.load_model(folder / MODEL_FILE)
        return cls(model=model, **{**spec, **arrays, "channels": tuple(spec["channels"])})


def load_detector(where: str, tracking_uri: str | None = None) -> Detector:
    """A detector from a folder, or from the MLflow run (id) that logged it."""
    path = Path(where)
    if path.exists():
        return Detector.load(path / "detector" if (path / "detector" / SPEC_FILE).exists() else path)
    import mlflow

    from recipes.tracking import resolve_uri

    try:
        local = mlflow.artifacts.download_artifacts(f"runs:/{where}/detector", tracking_uri=resolve_uri(tracking_uri))
    except Exception as err:  # MLflow raises several kinds for a missing run or artifact
        kind = type(err).__name__
        raise DataError(f"{where!r} is neither a detector folder nor a detect run's id ({kind})") from None
    return Detector.load(local)
