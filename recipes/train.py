"""The supervised recipe: a zoo model, a dataset, Keras' own callbacks, one MLflow run.

    >>> import recipes
    >>> result = recipes.train("lstm_fcn", "ucr:GunPoint", epochs=50)
    >>> result.test_metrics["accuracy"]

Running the same call again after the process was killed resumes from the last finished
epoch (Keras `BackupAndRestore`), in the same MLflow run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recipes import forecasting, intervals, protocol, schema
from recipes.config import FinetuneConfig, TrainConfig, train_config
from recipes.data.base import Dataset, Split
from recipes.errors import DataError
from recipes.fitting import FitPlan
from recipes.runs import RunFolder, open_folder, run_key, runs_root
from recipes.tasks import get_task
from recipes.tracking import Tracking, as_tracking
from zoo import heads
from zoo.errors import ConfigError

if TYPE_CHECKING:
    import keras

log = logging.getLogger("recipes.train")
STAGE = schema.SUPERVISED


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        model: The trained model (best validation weights restored).
        dataset: The dataset it was trained on.
        config: The training config used.
        hparams: The model's resolved hyperparameters.
        test_metrics: Final metrics on the test split (data units for regression/forecasting).
        history: Per-epoch metrics of the whole run, resumed epochs included.
        run_id: The MLflow run, or None when tracking was off.
        run_dir: Local folder with the model, metrics CSV and plots.
        epochs: Epochs trained in total.
        refit_epochs: Of those, the ones that refitted a fresh model on train + val (`refit`).
        resumed_from: The epoch a restarted run resumed at (0 when it started fresh).
        seconds: Wall time of this process's training (fit + evaluation).
        tracking_lost: Why the MLflow store was lost mid-run, or None.
        artifacts: The run's files by kind.
        chosen_on: How a hyperparameter chosen on the data was chosen (a forecast's window_norm
            "auto" or "differencing": tag -> the figures, `recipes.forecasting.CHOICE_TAGS`).
    """

    model: keras.Model
    dataset: Dataset
    config: TrainConfig
    hparams: dict[str, Any]
    test_metrics: dict[str, float]
    history: dict[str, list[float]]
    run_id: str | None
    run_dir: Path
    epochs: int
    refit_epochs: int = 0
    resumed_from: int = 0
    seconds: float = 0.0
    tracking_lost: str | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    chosen_on: dict[str, str] = field(default_factory=dict)


COSINE_WARMUP = 0.05  # lr_schedule cosine: the share of the step budget the rate warms up over


def compile_model(model: keras.Model, task: str, cfg: TrainConfig, steps: int = 0) -> None:
    """Compile with the task's loss and metrics and the config's optimizer; `steps`, the step
    budget, is what a cosine schedule decays over (no budget: a constant rate)."""
    import keras

    optimizers = {
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "rmsprop": keras.optimizers.RMSprop,
        "sgd": lambda **kw: keras.optimizers.SGD(momentum=0.9, nesterov=True, **kw),
        "nadam": keras.optimizers.Nadam,
    }
    rate: Any = cfg.learning_rate
    if cfg.lr_schedule == "cosine" and steps > 1:
        warmup = max(1, round(steps * COSINE_WARMUP))
        rate = keras.optimizers.schedules.CosineDecay(cfg.learning_rate / 100, decay_steps=max(1, steps - warmup),
                                                      alpha=0.01, warmup_target=cfg.learning_rate,
                                                      warmup_steps=warmup)  # fmt: skip
    optimizer = optimizers[cfg.optimizer](learning_rate=rate, clipnorm=cfg.clipnorm or None)
    policy = get_task(task)
    model.compile(
        optimizer=optimizer,
        loss=policy.loss_for(cfg.loss),
        metrics=[policy.metric],
        jit_compile=cfg.jit_compile,
        steps_per_execution=cfg.steps_per_execution,
    )


def _check_lengths(name: str, dataset: Dataset, min_length: int) -> None:
    """Refuse arrays narrower than the model's minimum length. A shorter example inside wider
    arrays is fine: its batch is padded to at least the minimum (`_trim`)."""
    for split_name in ("train", "val", "test"):
        split = getattr(dataset, split_name)
        if len(split) and split.x.shape[1] < min_length:
            raise DataError(
                f"{dataset.name}: {split_name} series have {split.x.shape[1]} steps but {name} needs at least "
                f"{min_length} with this config (choose a model with less pooling, or pad the data)"
            )


def _min_length(spec: Any, task: str, resolved: Mapping[str, Any]) -> int:
    """The shortest input the model's resolved config (head options aside) accepts."""
    own = {k: v for k, v in resolved.items() if k not in heads.head_names(task)}
    return spec.min_length(spec.config(**own))


def _trim(spec: Any, dataset: Dataset, resolved: Mapping[str, Any]) -> int | None:
    """`make_dataset`'s trim: None keeps batches at full width (a fixed-length model or data);
    for a variable-length model on variable-length data, the fewest steps a cut batch keeps."""
    if not (dataset.variable_length and spec.variable_length):
        return None
    return _min_length(spec, dataset.task, resolved)


def check_compatible(name: str, dataset: Dataset, hparams: Mapping[str, Any]) -> None:
    """Refuse a model that cannot take this dataset (task, input kind, series too short).

    Raises:
        ConfigError, DataError: one line naming the model, dataset, and for lengths the row.
    """
    import zoo

    spec = zoo.get_spec(name)
    if dataset.task not in spec.tasks:
        raise ConfigError(f"{name} does not support {dataset.name}'s task {dataset.task!r}; it supports {spec.tasks}")
    if dataset.input_kind not in spec.inputs:
        raise ConfigError(f"{name} does not take {dataset.input_kind} inputs ({dataset.name})")
    resolved = heads.resolve(spec.config, dataset.task, hparams, model=name)
    _check_lengths(name, dataset, _min_length(spec, dataset.task, resolved))


def _resolve_model(
    name: str, dataset: Dataset, hparams: Mapping[str, Any], backbone: Any, freeze_backbone: bool
) -> keras.Model:
    import zoo

    spec = zoo.get_spec(name)
    variable = dataset.variable_length and spec.variable_length
    return zoo.build(
        name,
        input_shape=dataset.input_shape(variable=variable),
        task=dataset.task,
        num_outputs=dataset.num_outputs,
        horizon=dataset.horizon,
        vocab_size=dataset.vocab_size,
        mask_value=dataset.mask_value if (dataset.mask_value is not None and spec.masking) else None,
        backbone=backbone,
        freeze_backbone=freeze_backbone,
        **(_head_options(dataset.task, hparams) if backbone is not None else dict(hparams)),
    )


def _head_options(task: str, hparams: Mapping[str, Any]) -> dict[str, Any]:
    """A reused backbone keeps its hyperparameters; the new head's options still apply. A
    forecasting head around a pretrained encoder passes windows as the encoder saw them
    (window_norm none) unless told otherwise."""
    options = heads.split(task, hparams)[1]
    if task == "forecasting":
        options.setdefault("window_norm", "none")
    return options


def train(
    model: str,
    data: str | Dataset,
    *,
    hparams: Mapping[str, Any] | None = None,
    data_options: Mapping[str, Any] | None = None,
    backbone: Any = None,
    freeze_backbone: bool = False,
    unfreeze_epochs: int = 0,
    unfreeze_lr_factor: float | None = None,
    init_weights: str | os.PathLike | None = None,
    tracking: bool | Tracking = True,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    runs_dir: str | os.PathLike | None = None,
    resume: bool = True,
    stage: str = STAGE,
    parent_run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    log_model: bool = True,
    evaluate: bool = True,
    pictures: bool = True,
    callbacks: Sequence[Any] = (),
    verbose: int | str = "auto",
    members: Sequence[TrainResult] | None = None,
    **settings: Any,
) -> TrainResult:
    """Train zoo model `model` on `data`, evaluate it on test, and track it in MLflow.

    Args:
        model: A registry name (`zoo.list_models()`).
        data: A dataset address ("ucr:GunPoint", "forecast:airline", ...) or a `Dataset`.
        hparams: Model hyperparameters (see `zoo describe MODEL`); None values keep defaults.
        data_options: Options for the data source (e.g. lookback, horizon).
        backbone: A pretrained backbone (a zoo model or its "backbone" layer) to reuse.
        freeze_backbone: Keep the reused backbone's weights fixed (for `epochs` epochs).
        unfreeze_epochs: Then train the whole model this many epochs more, at
            `learning_rate * unfreeze_lr_factor` (fine-tuning's second phase).
        unfreeze_lr_factor: The second phase's learning-rate factor (default: fine-tuning's,
            `FinetuneConfig.unfreeze_lr_factor`).
        init_weights: Start from these weights (a `.weights.h5` file of the same model on the
            same data shapes) instead of a fresh initialisation: a Hyperband trial continues
            the trial it was promoted from.
        tracking: Log to MLflow (False: local files only), or a `recipes.tracking.Tracking`
            holding this and the five below.
        tracking_uri: MLflow store; default `MLFLOW_TRACKING_URI`, else sqlite:///mlflow.db.
        experiment: MLflow experiment name (default "lstm-zoo").
        run_name: MLflow run name (default "MODEL on DATA").
        runs_dir: Where local run folders go (default `$ZOO_RUNS_DIR` or ./runs).
        resume: Continue a killed run of the same settings from its last finished epoch.
        stage: Recipe stage recorded as a tag ("supervised", "pretrain", "finetune", ...).
        parent_run_id: Nest the run under this MLflow run (tuning, sweeps).
        tags: Extra MLflow tags.
        log_model: Log the model in MLflow's Keras flavour.
        evaluate: Evaluate on the test split (tuning trials do not: they are chosen on val).
        pictures: Draw the learning curves (and, with `evaluate`, the test pictures). Tuning
            trials do not: MLflow charts their per-epoch metrics, and drawing cost 0.6 s a trial.
        callbacks: More `keras.callbacks.Callback`s for `fit`, after the recipe's loggers.
        verbose: Keras fit verbosity.
        members: Runs already trained on `data` (a search's chosen trials, retrained): the
            run is their average (`zoo.ensemble`), tested and logged as one model, with
            `model`, `hparams` and `settings` those of the first (the lead); their names and
            runs are its tag `ensemble.members`. Nothing is fitted.
        **settings: Training settings (see `recipes.config.TrainConfig`): optimizer,
            learning_rate, batch_size, epochs, patience, seed, mixed_precision, ...

    Returns:
        A `TrainResult`.

    Raises:
        ConfigError, DataError, UnknownModelError, TrackingError: bad input, one line each,
            raised before any training starts.
    """
    import zoo

    hparams = {k: v for k, v in dict(hparams or {}).items() if v is not None}
    cfg = train_config(settings)
    spec = zoo.get_spec(model)
    heads.check(spec.config, hparams, model=model)  # bad hyperparameters fail before data or tracking

    experiment_id = None
    track = as_tracking(tracking, uri=tracking_uri, experiment=experiment, parent_run_id=parent_run_id,
                        runs_dir=runs_dir, tags=tags)  # fmt: skip
    experiment_id = track.connect()

    from recipes.device import import_backend

    import_backend()
    data_options = dict(data_options or {})
    if isinstance(data, Dataset):
        dataset = data
    else:
        from recipes.data import load

        dataset = load(data, seed=cfg.seed, val_fraction=cfg.val_fraction, **data_options)

    if unfreeze_epochs and not (backbone is not None and freeze_backbone):
        raise ConfigError("unfreeze_epochs is a second phase after a frozen backbone: pass backbone= and "
                          "freeze_backbone=True")  # fmt: skip
    if not isinstance(unfreeze_epochs, int) or unfreeze_epochs < 0:
        raise ConfigError(f"unfreeze_epochs={unfreeze_epochs!r} must be an int >= 0")
    if unfreeze_lr_factor is None:
        unfreeze_lr_factor = FinetuneConfig.unfreeze_lr_factor
    if not 0 < unfreeze_lr_factor <= 10:
        raise ConfigError(f"unfreeze_lr_factor={unfreeze_lr_factor!r} must be in (0, 10]")
    get_task(dataset.task).loss_for(cfg.loss)  # a value loss for classes: one line, before any run
    if members:
        _check_members(model, members, cfg, backbone=backbone, init_weights=init_weights, evaluate=evaluate)
    elif cfg.ensemble > 1:
        _check_ensemble(cfg.ensemble, backbone=backbone, init_weights=init_weights, evaluate=evaluate)
    from recipes.forecasting import resolve_head

    chosen_on: dict[str, str] = {}
    if backbone is None:
        check_compatible(model, dataset, hparams)
    elif hparams.get("window_norm") == "auto":
        raise ConfigError("window_norm auto trains a fresh model per anchor, not a given backbone: give "
                          "window_norm=differencing|last|mean|... with backbone=")  # fmt: skip
    if backbone is None or hparams.get("window_norm") == "differencing":  # a backbone's head: none unless given
        hparams, chosen_on = resolve_head(model, dataset, hparams, settings)
        track = track.under(tags={**track.tags, **chosen_on})
    # How a run executes, not what it computes, does not make it another run.
    train_key = {k: v for k, v in cfg.__dict__.items() if k not in ("checkpoint_seconds", "steps_per_execution")}
    settings_key = {"hparams": hparams, "train": train_key, "data": data_options, "stage": stage}
    if backbone is not None:
        settings_key["backbone"] = _fingerprint(backbone)  # the same weights resume the same run
    if init_weights is not None:
        settings_key["init_weights"] = str(init_weights)
    averaged = _member_names(members) if members else ""
    if members:  # other members make another ensemble
        settings_key["members"] = [str(m.run_dir) for m in members]
        track = track.under(tags={**track.tags, "ensemble.members": averaged})
    key = run_key(model, dataset.name, settings_key)
    folder = open_folder(runs_root(track.runs_dir), key, resume=resume, experiment_id=experiment_id)
    unfreeze = (unfreeze_epochs, unfreeze_lr_factor) if unfreeze_epochs else None
    job = _Job(model, dataset, cfg, hparams, backbone, freeze_backbone, unfreeze, folder, log_model, evaluate, pictures,
               verbose, data_options, list(callbacks), init_weights, averaged, chosen_on)  # fmt: skip
    if experiment_id is None:
        return _fit_and_log(job, None, members or _members(job, track, None))
    from recipes.tracking import environment_tags, tracked_run

    tags = {
        **schema.identity(model=model, family=spec.family, task=dataset.task, dataset=dataset.name, stage=stage,
                          seed=cfg.seed),
        **environment_tags(),
        **dict(track.tags),
    }  # fmt: skip
    named = f"an ensemble of {_member_models(members)}" if members else model
    with tracked_run(experiment_id, folder, run_name=run_name or f"{named} on {dataset.name}", tags=tags,
                     parent_run_id=track.parent_run_id) as tracker:  # fmt: skip
        return _fit_and_log(job, tracker, members or _members(job, track, tracker.run_id))


def _member_models(members: Sequence[TrainResult]) -> str:
    """What an ensemble of given runs averages ("lstm_fcn + gru"), as its param and run name read it."""
    return " + ".join(m.model.name for m in members)


def _member_names(members: Sequence[TrainResult]) -> str:
    """An ensemble's members as its tag reads them: "lstm_fcn (run RUN_ID), gru (run ...)"."""
    named = [f"{m.model.name} (run {m.run_id})" if m.run_id else m.model.name for m in members]
    return ", ".join(named)[:5000]


def _check_members(model: str, members: Sequence[TrainResult], cfg: TrainConfig, **run: Any) -> None:
    """Raise a one-line ConfigError where `members` cannot make the run's model."""
    if cfg.ensemble > 1:
        raise ConfigError(f"ensemble={cfg.ensemble} trains its own members: give members= or ensemble, not both")
    if len(members) < 2:
        raise ConfigError(f"members= averages 2 or more trained runs, got {len(members)}: train the one alone")
    if members[0].model.name != model:
        raise ConfigError(f"members= is led by {members[0].model.name}, not {model}: name the run after its first "
                          "member")  # fmt: skip
    if not run["evaluate"]:
        raise ConfigError("members= makes a model judged on test: evaluate it (evaluate=True)")
    _check_ensemble(len(members), **run)


def _check_ensemble(count: int, *, backbone: Any, init_weights: Any, evaluate: bool) -> None:
    """Raise a one-line ConfigError where an ensemble of `count` cannot be trained."""
    if backbone is not None or init_weights is not None:
        raise ConfigError(f"ensemble={count} trains each member from a fresh start: drop backbone= / init_weights=, "
                          "or train one model (ensemble=1)")  # fmt: skip
    if not evaluate:
        raise ConfigError(f"ensemble={count} is judged as one model on test; a run that is not evaluated (a search "
                          "trial) trains one: retrain the chosen config with ensemble")  # fmt: skip


def _members(job: _Job, track: Tracking, parent: str | None) -> list[TrainResult]:
    """An ensemble's members (none for one model): the run's model trained `ensemble` times,
    from seeds seed, seed + 1, ..., each a run of its own (stage "member", nested under the
    ensemble's run, resumed like any run), validated as any run is and not tested."""
    count = job.cfg.ensemble
    if count < 2:
        return []
    where = track.under(parent_run_id=parent) if parent else track.under(enabled=False)
    members = []
    for m in range(count):
        settings = {**job.cfg.__dict__, "ensemble": 1, "seed": job.cfg.seed + m}
        name = f"{job.name} on {job.dataset.name}, member {m + 1} of {count}"
        members.append(train(job.name, job.dataset, hparams=job.hparams, data_options=job.data_options,
                             tracking=where, run_name=name, stage=schema.MEMBER, log_model=False, evaluate=False,
                             pictures=False, callbacks=job.callbacks, verbose=job.verbose, **settings))  # fmt: skip
    return members


@dataclass
class _Job:
    """What one training needs, whether it is tracked or not."""

    name: str
    dataset: Dataset
    cfg: TrainConfig
    hparams: dict[str, Any]
    backbone: Any
    freeze_backbone: bool
    unfreeze: tuple[int, float] | None
    folder: RunFolder
    log_model: bool
    evaluate: bool
    pictures: bool
    verbose: int | str
    data_options: dict[str, Any]
    callbacks: list[Any]
    init_weights: str | os.PathLike | None = None
    ensemble: str = ""  # the given members it averages, named ("lstm_fcn (run ...), gru (run ...)")
    chosen_on: dict[str, str] = field(default_factory=dict)  # resolve_head's tags


def _fit_and_log(job: _Job, tracker: Any, members: Sequence[TrainResult] = ()) -> TrainResult:
    """Build, fit, evaluate and save `job` (given its ensemble's `members`, average them
    instead of fitting); log it through `tracker` when there is one."""
    import zoo

    spec = zoo.get_spec(job.name)
    if job.backbone is not None:
        resolved = _head_options(job.dataset.task, job.hparams)
    else:
        resolved = heads.resolve(spec.config, job.dataset.task, job.hparams, model=job.name)
    fresh_run = job.folder.resumed_from == 0
    if tracker is not None and fresh_run:
        _log_params(job, tracker, resolved)

    started = time.perf_counter()
    plan = protocol.resolve(job.cfg, job.dataset.task, len(job.dataset.train), len(job.dataset.val))
    if plan.refit and (job.backbone is not None or job.init_weights is not None):  # a fresh model would lose them
        plan = replace(plan, refit=False)
    job = replace(job, cfg=replace(job.cfg, lr_schedule=plan.lr_schedule))  # "auto" resolved, as fitting reads it
    trim = _trim(spec, job.dataset, resolved)
    if tracker is not None and fresh_run:
        tracker.params(plan.params())
    if members:
        trained = _averaged(job, members, plan, trim)
        if tracker is not None and fresh_run:
            chosen = {"ensemble.members": _member_models(members)} if job.cfg.ensemble < 2 else {}  # given, not seeds
            tracker.params({"param_count": trained.net.count_params(), **chosen})
    else:
        trained = _fit_one(job, tracker, plan, trim, fresh_run)
    seconds = time.perf_counter() - started + sum(m.seconds for m in members)  # an ensemble costs its members

    artifacts = _save_files(job, trained, resolved)
    metrics = _evaluate(job, trained, resolved, artifacts) if job.evaluate else {}
    if tracker is not None:
        tested = {f"test_{k}": v for k, v in metrics.items()}
        _log_outcome(job, tracker, trained, plan.monitor, {**tested, "train_seconds": seconds})
        for path in artifacts.values():
            tracker.artifact(path)
        if job.log_model and not tracker.lost:
            tracker.call(_log_model, trained.net, job.dataset, trim)
    return TrainResult(
        model=trained.net,
        dataset=job.dataset,
        config=job.cfg,
        hparams=resolved,
        test_metrics=metrics,
        history=trained.history,
        run_id=tracker.run_id if tracker else None,
        run_dir=job.folder.path,
        epochs=trained.epochs,
        refit_epochs=trained.epochs - trained.selected,
        resumed_from=job.folder.resumed_from,
        seconds=seconds,
        tracking_lost=tracker.lost if tracker else None,
        artifacts=artifacts,
        chosen_on=job.chosen_on,
    )


def _log_params(job: _Job, tracker: Any, resolved: Mapping[str, Any]) -> None:
    """A fresh run's params (the model's resolved config, the training config, the data) and
    its dataset."""
    from recipes.tracking import flat_params

    tracker.params(
        {
            "model": job.name,
            **flat_params("model", resolved),
            **flat_params("train", job.cfg.__dict__),
            **flat_params("data", {**job.dataset.summary(), **job.data_options}),
            **_backbone_params(job),
        }
    )
    _log_dataset(tracker, job.dataset)


def _save_files(job: _Job, trained: _Trained, resolved: Mapping[str, Any]) -> dict[str, str]:
    """The run folder's model and descriptions (what `zoo predict` and serving read); their paths."""
    import zoo
    from recipes import plots, serving

    run_dir, dataset = job.folder.path, job.dataset
    trained.net.save(run_dir / "model.keras")
    artifacts = {"model.keras": str(run_dir / "model.keras")}
    if job.folder.history_file.exists():  # an ensemble's epochs are in its members' runs
        artifacts["metrics.csv"] = str(job.folder.history_file)
    if job.pictures and trained.history:
        curves = plots.learning_curves(trained.history, run_dir / "learning_curves.png", _title(job))
        artifacts["learning_curves.png"] = str(curves)
    info = zoo.describe(job.name).as_dict()
    info["resolved_config"] = resolved
    info["dataset"] = dataset.summary()
    (run_dir / "model_spec.json").write_text(json.dumps(info, indent=2, default=str))
    artifacts["model_spec.json"] = str(run_dir / "model_spec.json")
    artifacts[serving.SPEC_FILE] = str(serving.write_spec(dataset, run_dir))  # what `zoo predict` needs
    if job.log_model and serving.servable(dataset) is None:  # the trained net on raw inputs, for Keras users
        serving.serving_model(trained.net, dataset).save(run_dir / serving.SERVING_FILE)
        artifacts[serving.SERVING_FILE] = str(run_dir / serving.SERVING_FILE)
    return artifacts


def _title(job: _Job) -> str:
    return f"{job.name} on {job.dataset.name}"


def _evaluate(job: _Job, trained: _Trained, resolved: Mapping[str, Any], artifacts: dict[str, str]) -> dict:
    """The test metrics in data units (and the interval's, where one was sized), with the
    pictures, the model card and the dataset's description added to `artifacts`."""
    from recipes import serving
    from recipes.model_card import write_card

    dataset, run_dir, raw = job.dataset, job.folder.path, trained.raw
    if dataset.task == "classification":
        truth, pred = dataset.test.y, raw
    else:
        truth, pred = dataset.inverse_targets(dataset.test.y), dataset.inverse_targets(raw)
    metrics = get_task(dataset.task).scores(truth, pred, mase_scale=forecasting.mase_scale_of(dataset))
    widths = None if trained.calibration is None else intervals.half_widths(*trained.calibration)
    if widths is not None:
        metrics.update(intervals.scores(truth, pred, widths))
        artifacts[intervals.FILE] = str(intervals.save(widths, run_dir))
    if job.pictures:
        artifacts.update(_test_pictures(job, truth, pred, widths))
    (run_dir / "test_metrics.json").write_text(json.dumps(metrics, indent=2))
    inputs = "raw" if serving.servable(dataset) is None else "scaled"
    card = write_card(run_dir, model=job.name, dataset=dataset, hparams=resolved, settings=job.cfg.__dict__,
                      metrics=metrics, inputs=inputs, ensemble=job.ensemble)  # fmt: skip
    artifacts["model_card.md"] = str(card)
    # Provenance and preprocessing (scaler statistics, the vocabulary): what serving needs.
    (run_dir / "dataset_info.json").write_text(json.dumps(dataset.info, indent=1, default=str))
    artifacts["dataset_info.json"] = str(run_dir / "dataset_info.json")
    return metrics


def _test_pictures(job: _Job, truth: np.ndarray, pred: np.ndarray, widths: Any) -> dict[str, str]:
    """The test split drawn: a confusion matrix, or forecasts against the actual values (and
    over the series' history, where the data is one series)."""
    from recipes import plots

    dataset, run_dir, title = job.dataset, job.folder.path, _title(job)
    if dataset.task == "classification":
        path = plots.confusion_matrix(truth, pred.argmax(-1), dataset.class_names or [],
                                      run_dir / "confusion_matrix.png", title)  # fmt: skip
        return {"confusion_matrix.png": str(path)}
    if dataset.task != "forecasting":
        return {}
    path = plots.forecast_vs_actual(truth, pred, dataset.target_names or [], run_dir / "forecast_vs_actual.png", title)
    files = {"forecast_vs_actual.png": str(path)}
    if forecasting.one_series(dataset):  # the forecasts over the series' history
        series, first = forecasting.series_of(dataset), dataset.info["preprocessing"]["first_target"]["test"]
        path = plots.forecast_over_history(series, first, pred, dataset.target_names or [],
                                           run_dir / "forecast_over_history.png", title, widths)  # fmt: skip
        files["forecast_over_history.png"] = str(path)
    return files


def _log_outcome(job: _Job, tracker: Any, trained: _Trained, monitor: str, summary: dict[str, float]) -> None:
    """The run's final metrics: the test scores, epochs and seconds, and the validation figures
    at the epoch it kept, as a search reads them."""
    history = trained.history
    summary = {**summary, "epochs_trained": trained.epochs}
    if trained.first_step_seconds is not None:
        summary["time_to_first_step_seconds"] = trained.first_step_seconds
    best = history.get(monitor, [])
    if best:
        summary[f"best_{monitor}"] = float(np.nanmin(best))
    objective, way = get_task(job.dataset.task).objective  # what a search ranks its trials by
    if history.get(objective):  # at the kept epoch, as a search reads it
        kept = protocol.kept_epoch(history, monitor, history[objective], way)
        summary[f"best_{objective}"] = float(history[objective][kept])
        if monitor != "val_loss" and history.get("val_loss"):  # held_out: the scored split's loss there
            summary["best_val_loss"] = float(history["val_loss"][kept])
    tracker.metrics(summary, step=trained.epochs)


@dataclass
class _Trained:
    """What fitting left for evaluation and logging.

    Attributes:
        net: The model to test and save (for an ensemble: its members' average).
        history: Per-epoch metrics (an ensemble's are its members' runs').
        epochs: Epochs trained (an ensemble: its members' together).
        selected: Of those, the ones before a refit.
        first_step_seconds: The first step's start-up time, where one fit measured it.
        calibration: Validation windows, actual and forecast, to size a forecast interval on.
        raw: The test split's outputs, where the run evaluates.
    """

    net: Any
    history: dict[str, list[float]]
    epochs: int
    selected: int
    first_step_seconds: float | None = None
    calibration: tuple[np.ndarray, np.ndarray] | None = None
    raw: np.ndarray | None = None


def _fit_one(job: _Job, tracker: Any, plan: protocol.Protocol, trim: int | None, fresh_run: bool) -> _Trained:
    """Build, compile and fit the run's model (and refit it, where the plan says), then predict test."""
    import keras

    from recipes.data.pipeline import make_dataset
    from recipes.device import precision, strategy

    name, dataset, cfg, hparams, backbone = job.name, job.dataset, job.cfg, job.hparams, job.backbone
    # Seeded here, after data loading (which may draw random numbers the first time it runs).
    keras.utils.set_random_seed(cfg.seed)
    with precision(cfg.mixed_precision) as policy:
        if policy == "mixed_bfloat16":
            log.warning(
                "mixed_precision on a CPU computes in bfloat16, which trains slower here (0.13-0.84x measured, "
                "docs/benchmarks/speed.md); it pays on GPUs"
            )
        dist = strategy(cfg.distribute)
        scope = dist.scope() if dist is not None else contextlib.nullcontext()
        with scope:
            net = _resolve_model(name, dataset, hparams, backbone, job.freeze_backbone)
            compile_model(net, dataset.task, cfg, steps=plan.epochs * plan.steps_per_epoch)
            if job.init_weights is not None:  # a resumed run's backup still wins: `fit` restores it
                net.optimizer.build(net.trainable_variables)  # so its saved state loads too
                net.load_weights(job.init_weights)
        if tracker is not None and fresh_run:
            tracker.params({"param_count": net.count_params(), "dtype_policy": policy})
            tracker.tags({"replicas": str(dist.num_replicas_in_sync if dist else 1)})

        fit_split = _joined(dataset.train, dataset.val) if plan.select_on == "train" else dataset.train
        global_batch = plan.batch_size
        train_ds = make_dataset(
            fit_split, batch_size=global_batch, training=True, seed=cfg.seed, augment=cfg, trim=trim
        )
        has_val = plan.select_on != "train"  # held_out: scored every epoch, never selected on
        val_ds = make_dataset(dataset.val, batch_size=global_batch, trim=trim) if has_val else None
        fitted = _fit_phases(job, net, train_ds, val_ds, tracker, plan)
        # Forecasting: the interval is sized on validation windows the model did not fit on (a refit does).
        calibration = _val_forecasts(net, dataset, trim) if job.evaluate and has_val else None
        selected = len(fitted.history.get("loss", []))
        if plan.refit:
            keras.utils.set_random_seed(cfg.seed)
            with scope:
                net = _resolve_model(name, dataset, hparams, backbone, job.freeze_backbone)
            fitted = _refit(job, net, plan, fitted, tracker, trim)
        raw = _test_outputs(net, dataset, global_batch, trim) if job.evaluate else None
    epochs = len(fitted.history.get("loss", []))
    return _Trained(net, fitted.history, epochs, selected, fitted.first_step_seconds, calibration, raw)


def _averaged(job: _Job, members: Sequence[TrainResult], plan: protocol.Protocol, trim: int | None) -> _Trained:
    """The ensemble of `members` (`zoo.ensemble`), scored on validation for the interval and on test."""
    import zoo

    net = zoo.ensemble([m.model for m in members], name=f"{job.name}_ensemble")
    has_val = plan.select_on != "train" and not plan.refit  # members that fitted on it cannot size an interval
    calibration = _val_forecasts(net, job.dataset, trim) if job.evaluate and has_val else None
    raw = _test_outputs(net, job.dataset, plan.batch_size, trim) if job.evaluate else None
    epochs = sum(m.epochs for m in members)
    return _Trained(net, {}, epochs, epochs - sum(m.refit_epochs for m in members), None, calibration, raw)


def _test_outputs(net: Any, dataset: Dataset, batch_size: int, trim: int | None) -> np.ndarray:
    """The model's outputs on the test split (probabilities, or forecasts in scaled units)."""
    from recipes.data.pipeline import make_dataset

    test_ds = make_dataset(dataset.test, batch_size=max(batch_size, 256), trim=trim)
    return np.asarray(net.predict(test_ds, verbose=0)).astype("float32")


def _joined(train: Split, val: Split) -> Split:
    """Train and val as one split (the `select_on="train"` protocol fits on both)."""
    if len(val) == 0:
        return train
    lengths = None if train.lengths is None else np.concatenate([train.lengths, val.lengths])
    return Split(np.concatenate([train.x, val.x]), np.concatenate([train.y, val.y]), lengths)


def fit_plan(cfg: TrainConfig, plan: protocol.Protocol) -> FitPlan:
    """The fit loop's plan: the protocol's budget and patience; the rate halves when the loss stalls."""
    schedule = plan.lr_patience if cfg.lr_schedule == "plateau" else None
    return FitPlan(epochs=plan.epochs, monitor=plan.monitor, patience=plan.patience, lr_patience=schedule,
                   min_lr=cfg.learning_rate / 100, checkpoint_seconds=cfg.checkpoint_seconds)  # fmt: skip


def _fit_phases(job: _Job, net: Any, train_ds: Any, val_ds: Any, tracker: Any, plan: protocol.Protocol) -> Any:
    """The fit, and for a frozen backbone with `unfreeze`, fine-tuning's second phase: the whole
    model at a lower learning rate, with its own early stopping."""
    import dataclasses

    from recipes import fitting

    what = f"{job.name} on {job.dataset.name}"
    first = fit_plan(job.cfg, plan)
    common = {"folder": job.folder, "tracker": tracker, "what": what, "extra": job.callbacks, "verbose": job.verbose}
    fitted = fitting.fit(net, train_ds, val_ds, plan=first, **common)
    if not job.unfreeze:
        return fitted
    from zoo.build import BACKBONE

    epochs, factor = job.unfreeze
    net.get_layer(BACKBONE).trainable = True
    lower = dataclasses.replace(job.cfg, learning_rate=job.cfg.learning_rate * factor)
    compile_model(net, job.dataset.task, lower, steps=epochs * plan.steps_per_epoch)  # a cosine: over this phase
    second = dataclasses.replace(first, epochs=epochs, patience=plan.patience if plan.patience > 0 else epochs,
                                 phase="unfrozen")  # fmt: skip
    unfrozen = fitting.fit(net, train_ds, val_ds, plan=second, **common)
    return fitting.Fitted(unfrozen.history, fitted.first_step_seconds)


def _refit(job: _Job, net: Any, plan: protocol.Protocol, fitted: Any, tracker: Any, trim: int | None) -> Any:
    """Fit `net`, fresh, on train + val for the epochs the selection kept, at the learning rates
    it ran at, ending with the last epoch's weights: the "refit" phase of the run's history."""
    from recipes import fitting
    from recipes.data.pipeline import make_dataset

    history, cfg = fitted.history, job.cfg
    kept = protocol.kept_epoch(history, plan.monitor, history["loss"], "min") + 1
    joined = _joined(job.dataset.train, job.dataset.val)
    data = make_dataset(joined, batch_size=plan.batch_size, training=True, seed=cfg.seed, augment=cfg, trim=trim)
    compile_model(net, job.dataset.task, cfg, steps=kept * -(-len(joined) // plan.batch_size))
    rates = tuple(history.get("learning_rate", [])[:kept]) if cfg.lr_schedule == "plateau" else ()
    refit = fitting.FitPlan(epochs=kept, monitor="loss", rates=rates, restore_best=False, phase="refit")
    what = f"{job.name} on {job.dataset.name} (refit on train + val)"
    refitted = fitting.fit(net, data, None, plan=refit, folder=job.folder, tracker=tracker, what=what,
                           verbose=job.verbose)  # fmt: skip
    return fitting.Fitted(refitted.history, fitted.first_step_seconds)


def _backbone_params(job: _Job) -> dict[str, Any]:
    """How a reused backbone is trained: frozen, then unfrozen for some epochs at a lower rate."""
    if job.backbone is None:
        return {}
    epochs, factor = job.unfreeze or (0, None)
    return {"backbone.frozen": job.freeze_backbone, "backbone.unfreeze_epochs": epochs,
            "backbone.unfreeze_lr_factor": factor}  # fmt: skip


def _fingerprint(backbone: Any) -> str:
    """A digest of a backbone's architecture and weights (what a run key may depend on)."""
    import keras

    digest = hashlib.sha1(str(backbone.name).encode())
    for weight in backbone.weights:
        digest.update(weight.path.encode())
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
    return digest.hexdigest()[:16]


def _log_model(net: Any, dataset: Dataset, trim: int | None) -> None:
    """Log the model MLflow hands out: on raw series or raw strings where it can
    (`recipes.serving`), exported so that it loads without the zoo; else the trained model on
    the pipeline's inputs."""
    import keras
    import mlflow

    from recipes import serving
    from recipes.model_log import log_keras_model, log_text_model

    reason = serving.servable(dataset) if keras.backend.backend() == "tensorflow" else "an export needs TensorFlow"
    if reason is None:
        model, example = serving.serving_model(net, dataset), serving.example_inputs(dataset)
        if dataset.input_kind == "tokens":
            log_text_model(model, "model", example=example)
        else:
            log_keras_model(model, "model", example=example, exported=True)
        mlflow.set_tag("model.inputs", "raw")
        return
    log_keras_model(net, "model", example=_example(dataset.test.x[:2], dataset.test.lengths, trim))
    mlflow.set_tags({"model.inputs": "scaled", "model.inputs.why": reason})


def _example(x: np.ndarray, lengths: np.ndarray | None, trim: int | None) -> np.ndarray:
    if trim is not None and lengths is not None:
        return x[:, : max(int(lengths[:2].max()), trim)]
    return x


def _val_forecasts(net: Any, dataset: Dataset, trim: int | None) -> tuple[np.ndarray, np.ndarray] | None:
    """A forecaster's validation windows, actual and forecast in data units (None for other
    tasks or without validation windows): what `recipes.intervals` sizes the interval on."""
    from recipes.data.pipeline import make_dataset

    if dataset.task != "forecasting" or not len(dataset.val):
        return None
    val_ds = make_dataset(dataset.val, batch_size=256, trim=trim)
    forecast = np.asarray(net.predict(val_ds, verbose=0)).astype("float32")
    return dataset.inverse_targets(dataset.val.y), dataset.inverse_targets(forecast)


def _log_dataset(tracker: Any, dataset: Dataset) -> None:
    import mlflow

    source = dataset.info.get("source_path")  # an absolute file path MLflow can resolve, if there is one
    for context, split in (("training", dataset.train), ("validation", dataset.val), ("testing", dataset.test)):
        if len(split) == 0:
            continue
        try:
            ds = mlflow.data.from_numpy(split.x, targets=split.y, source=source, name=f"{dataset.name}:{context}")
        except mlflow.exceptions.MlflowException:
            ds = mlflow.data.from_numpy(split.x, targets=split.y, name=f"{dataset.name}:{context}")
        tracker.call(mlflow.log_input, ds, context=context)
