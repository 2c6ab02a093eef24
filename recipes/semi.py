"""Semi-supervised recipes: pretrain an encoder on unlabeled sequences, fine-tune it on few labels.

    >>> import recipes.semi as semi
    >>> pre = semi.pretrain("lstm_fcn", "ucr:GunPoint", pretext="masked")
    >>> result = semi.finetune("lstm_fcn", "ucr:GunPoint", pre.encoder_path, fraction=0.1)
    >>> sweep = semi.sweep("lstm_fcn", "ucr:GunPoint", fractions=(0.05, 0.1, 0.25, 1.0), seeds=(0, 1, 2))

`pretrain` trains a zoo backbone on a pretext (`recipes.pretext`) over an unlabeled pool and
keeps the backbone: a `.keras` file and an MLflow model (`runs:/<id>/encoder`), both accepted
by `finetune`, `zoo train --backbone` and `zoo.build(backbone=...)`. `finetune` puts the task
head on it and trains on a stratified labelled subset: first with the encoder frozen, then
all of it at a lower learning rate. `sweep` compares that with the same architecture trained
from scratch on the same subsets, for several label fractions and seeds, under one MLflow
parent run with a picture and a table.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recipes import schema
from recipes.config import FinetuneConfig, finetune_config
from recipes.data.base import Dataset, Split
from recipes.errors import DataError
from recipes.pretext import PretrainConfig, pretrain_config
from recipes.runs import RunFolder, load_history, open_folder, run_key, runs_root
from recipes.tasks import get_task
from recipes.tracking import Tracker, Tracking, as_tracking, closing_run, environment_tags, parent_run, tracked_run
from zoo import heads
from zoo.errors import ConfigError

ENCODER_FILE, ENCODER_META = "encoder.keras", "encoder.json"


@dataclass
class PretrainResult:
    """A pretrained encoder and where it is kept.

    Attributes:
        encoder: The backbone (`keras.Model` named "backbone").
        encoder_path: Its `.keras` file (with `encoder.json` beside it).
        encoder_uri: `runs:/<run id>/encoder` when tracked, else None.
        run_id: The pretraining's MLflow run.
        history: Per-epoch pretext loss and val_loss.
        pool: Unlabeled examples used, and where they came from.
        seconds: Pretraining wall time (this attempt's).
        resumed_from: The epoch a killed pretraining resumed at (0 when it started fresh).
    """

    encoder: Any
    encoder_path: Path
    encoder_uri: str | None
    run_id: str | None
    history: dict[str, list[float]]
    pool: dict[str, Any]
    seconds: float
    resumed_from: int = 0


@dataclass
class SweepResult:
    """A labelled-fraction sweep: pretrained vs scratch per fraction and seed.

    Attributes:
        rows: One dict per fine-tune: fraction, seed, init ("pretrained"/"scratch"),
            labelled examples, test metrics, run id.
        table: Mean and std of the metric per (fraction, init).
        metric: The test metric compared.
        parent_run_id: The sweep's MLflow run.
        pretrain: The pretraining.
        plot_path, table_path: The picture and the table (also logged on the parent).
    """

    rows: list[dict[str, Any]]
    table: list[dict[str, Any]]
    metric: str
    parent_run_id: str | None
    pretrain: PretrainResult
    plot_path: Path
    table_path: Path
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Data: the unlabeled pool and the labelled subset


def _resample(x: np.ndarray, length: int) -> np.ndarray:
    """Series resampled to `length` steps by linear interpolation (per feature)."""
    if x.shape[1] == length:
        return x
    old = np.linspace(0.0, 1.0, x.shape[1])
    new = np.linspace(0.0, 1.0, length)
    out = np.empty((x.shape[0], length, x.shape[2]), dtype="float32")
    for i in range(x.shape[0]):
        for f in range(x.shape[2]):
            out[i, :, f] = np.interp(new, old, x[i, :, f])
    return out


def unlabeled_pool(
    dataset: Dataset, sources: Sequence[str] = ("train",), *, transductive: bool = False, seed: int = 0
) -> tuple[Split, dict[str, Any]]:
    """The inputs to pretrain on, without labels, and a record of where they came from.

    Args:
        dataset: The labelled dataset the encoder is for.
        sources: "train" (its train and val inputs), "unlabeled" (its own unlabeled pool,
            e.g. the Rotten Tomatoes plot descriptions) or other dataset addresses (their train
            inputs; series are resampled to this dataset's length, features must match).
        transductive: Add the test inputs (never their labels). Off by default; recorded.
        seed: For loading other datasets.

    Raises:
        DataError: an empty pool, or a source whose inputs cannot be fed to this dataset's model.
    """
    from recipes.data import load

    parts: list[Split] = []
    counts: dict[str, int] = {}
    for source in sources:
        if source == "train":
            for split in (dataset.train, dataset.val):
                if len(split):
                    parts.append(Split(split.x, None, split.lengths))
            counts["train"] = len(dataset.train) + len(dataset.val)
        elif source == "unlabeled":
            if dataset.unlabeled is None or not len(dataset.unlabeled):
                raise DataError(f"{dataset.name} ships no unlabeled pool; use --unlabeled train or another dataset")
            parts.append(dataset.unlabeled)
            counts["unlabeled"] = len(dataset.unlabeled)
        else:
            other = load(source, seed=seed)
            if other.input_kind != dataset.input_kind or (
                dataset.input_kind == "series" and other.num_features != dataset.num_features
            ):
                raise DataError(
                    f"unlabeled source {source}: {other.input_kind} with {other.num_features} features cannot "
                    f"feed a model for {dataset.name} ({dataset.input_kind}, {dataset.num_features} features)"
                )
            if dataset.input_kind == "tokens":
                raise DataError(f"unlabeled source {source}: token ids of another vocabulary cannot be reused")
            x = np.concatenate([other.train.x, other.val.x]) if len(other.val) else other.train.x
            if dataset.variable_length:
                x = x[:, : dataset.max_length]
                if x.shape[1] < dataset.max_length:
                    pad = np.zeros((len(x), dataset.max_length - x.shape[1], x.shape[2]), "float32")
                    x = np.concatenate([x, pad], axis=1)
                lengths = np.full(len(x), min(other.max_length, dataset.max_length), "int32")
                parts.append(Split(x.astype("float32"), None, lengths))
            else:
                parts.append(Split(_resample(x.astype("float32"), dataset.max_length)))
            counts[source] = len(x)
    if transductive:
        parts.append(Split(dataset.test.x, None, dataset.test.lengths))
        counts["test_transductive"] = len(dataset.test)
    parts = [p for p in parts if len(p)]
    if not parts:
        raise DataError(f"no unlabeled data for {dataset.name} from {', '.join(sources) or 'no source'}")
    x = np.concatenate([p.x for p in parts])
    if dataset.variable_length or any(p.lengths is not None for p in parts):
        lengths = np.concatenate(
            [p.lengths if p.lengths is not None else np.full(len(p), p.x.shape[1], "int32") for p in parts]
        )
    else:
        lengths = None
    record = {"n": len(x), "sources": counts, "transductive": transductive}
    return Split(x, None, lengths), record


def labelled_subset(dataset: Dataset, fraction: float, seed: int) -> Dataset:
    """The dataset with `fraction` of its train and val labels kept (stratified, fixed by `seed`).

    Raises:
        ConfigError: a fraction outside (0, 1].
        DataError: fewer labelled train examples than classes.
    """
    if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ConfigError(f"label fraction {fraction!r} must be in (0, 1], e.g. 0.05 for 5%")
    if fraction == 1:
        return dataset
    rng = np.random.default_rng([seed, 7919])

    def take(split: Split, at_least_one: bool) -> Split:
        if not len(split):
            return split
        if dataset.task != "classification":
            keep = max(1 if at_least_one else 0, round(fraction * len(split)))
            return split.take(np.sort(rng.permutation(len(split))[:keep]))
        chosen = []
        for label in np.unique(split.y):
            rows = np.flatnonzero(split.y == label)
            keep = max(1 if at_least_one else 0, round(fraction * len(rows)))
            chosen.append(rng.permutation(rows)[:keep])
        return split.take(np.sort(np.concatenate(chosen)))

    if dataset.task == "classification":
        classes = dataset.num_outputs
        wanted = fraction * len(dataset.train)
        if wanted < classes:
            raise DataError(
                f"{dataset.name}: {fraction:g} of {len(dataset.train)} labelled train examples is {wanted:.1f}, "
                f"fewer than its {classes} classes; use a fraction of at least {classes / len(dataset.train):.3f}"
            )
    return dataclasses.replace(dataset, train=take(dataset.train, True), val=take(dataset.val, False))


# ---------------------------------------------------------------------------------------------
# Encoders: saving, loading


def load_encoder(ref: Any, *, tracking_uri: str | None = None) -> tuple[Any, dict[str, Any]]:
    """A pretrained encoder from a `keras.Model`, a `.keras` file or folder, or an MLflow URI.

    Returns:
        (the backbone, what is known of it: model name, hparams, pretext, dataset).

    Raises:
        ConfigError: a reference that points at nothing loadable.
    """
    from recipes.device import import_backend

    import_backend()  # first: TensorFlow's start-up noise is filtered
    import keras

    import zoo.layers  # noqa: F401  (custom layers registered before loading)
    from zoo.build import BACKBONE

    meta: dict[str, Any] = {}
    if isinstance(ref, keras.Model):
        model = ref
    elif isinstance(ref, str) and ref.startswith(("runs:/", "models:/")):
        import mlflow

        from recipes.tracking import connect

        connect(tracking_uri)
        try:
            model = mlflow.keras.load_model(ref)
        except Exception as err:
            reason = str(err).splitlines()[0][:200]
            raise ConfigError(f"backbone {ref}: cannot load it from MLflow ({reason})") from None
        if ref.startswith("runs:/"):
            run = mlflow.MlflowClient().get_run(ref[len("runs:/") :].split("/", 1)[0])
            meta = {k: run.data.tags[k] for k in ("model", "pretext", "dataset") if k in run.data.tags}
    else:
        path = Path(str(ref)).expanduser()
        if path.is_dir():
            path = next((path / n for n in (ENCODER_FILE, "model.keras") if (path / n).exists()), path / ENCODER_FILE)
        if not path.exists():
            raise ConfigError(
                f"backbone {ref}: no such file; give an encoder .keras file, a run folder, or runs:/<run id>/encoder"
            )
        try:
            model = keras.saving.load_model(path)
        except Exception as err:
            raise ConfigError(f"backbone {path}: not a Keras model file ({str(err).splitlines()[0][:200]})") from None
        sidecar = path.with_name(ENCODER_META)
        if sidecar.exists():
            meta = json.loads(sidecar.read_text())
        elif (path.parent / "model_spec.json").exists():
            meta = {"model": json.loads((path.parent / "model_spec.json").read_text()).get("name")}
    if model.name != BACKBONE:
        try:
            model = model.get_layer(BACKBONE)
        except ValueError:
            raise ConfigError(f"backbone {ref}: the model has no zoo backbone (a layer named {BACKBONE!r})") from None
    return model, meta


def check_encoder(name: str, meta: Mapping[str, Any]) -> None:
    """Refuse to fine-tune an encoder as another architecture than the one it was pretrained as."""
    trained = meta.get("model")
    if trained and trained != name:
        raise ConfigError(f"the encoder was pretrained as {trained}; fine-tune it as {trained}, not {name}")


# ---------------------------------------------------------------------------------------------
# Tracking


# ---------------------------------------------------------------------------------------------
# Pretraining


def pretrain(
    model: str,
    data: str | Dataset,
    *,
    hparams: Mapping[str, Any] | None = None,
    unlabeled: Sequence[str] | str | None = None,
    transductive: bool = False,
    tracking: bool | Tracking = True,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    parent_run_id: str | None = None,
    runs_dir: str | os.PathLike | None = None,
    tags: Mapping[str, str] | None = None,
    reuse: bool = False,
    verbose: int | str = 0,
    **settings: Any,
) -> PretrainResult:
    """Pretrain `model`'s backbone on unlabeled inputs with a pretext objective.

    Args:
        model: A registry name.
        data: The dataset the encoder is for (an address or a `Dataset`): its input shape,
            scaling and vocabulary, and by default its train inputs as the pool.
        hparams: Model hyperparameters (the fine-tuned model inherits them).
        unlabeled: Pool sources (see `unlabeled_pool`); default: train inputs, plus the
            dataset's own unlabeled pool when it has one.
        transductive: Also pretrain on the test inputs (off by default; recorded as a tag).
        tracking, tracking_uri, experiment, parent_run_id: MLflow, as for `recipes.train`
            (`tracking` may be a `recipes.tracking.Tracking` holding all six).
        runs_dir: Where the run folder goes (default `$ZOO_RUNS_DIR` or ./runs).
        tags: Extra MLflow tags.
        reuse: Return the encoder an earlier call with the same model, data, pool and
            settings saved under `runs_dir`, instead of pretraining again (a search's trials
            that differ only in fine-tuning share one pretraining).
        verbose: Keras fit verbosity.
        **settings: `PretrainConfig` fields: pretext, mask_ratio, mean_span, epochs, patience,
            learning_rate, batch_size, decoder_units, seed.

    Raises:
        ConfigError, DataError: bad input, one line, before any training.
    """
    from recipes.device import import_backend

    import_backend()  # first: TensorFlow's start-up noise is filtered

    import zoo
    from recipes import pretext as px

    cfg = pretrain_config(settings)
    spec = zoo.get_spec(model)
    px.check(spec, cfg.pretext)
    # An encoder has no task head: a head's options (forecasting's window_norm) are the fine-tuning's.
    names = heads.all_head_names()
    hparams = {k: v for k, v in dict(hparams or {}).items() if v is not None and k not in names}
    zoo.make_config(spec.config, hparams, model=model)
    track = as_tracking(tracking, uri=tracking_uri, experiment=experiment, parent_run_id=parent_run_id,
                        runs_dir=runs_dir, tags=tags)  # fmt: skip
    experiment_id = track.connect()
    dataset = _load(data, cfg.seed)
    if dataset.input_kind not in spec.inputs:
        raise ConfigError(f"{model} does not take {dataset.input_kind} inputs ({dataset.name})")
    if isinstance(unlabeled, str):
        unlabeled = [u.strip() for u in unlabeled.split(",") if u.strip()]
    sources = list(unlabeled or (["train", "unlabeled"] if dataset.unlabeled is not None else ["train"]))
    pool, record = unlabeled_pool(dataset, sources, transductive=transductive, seed=cfg.seed)

    variable = dataset.variable_length and spec.variable_length
    shape = dataset.input_shape(variable=variable)
    mask_value = dataset.mask_value if (dataset.mask_value is not None and spec.masking) else None
    what = {k: v for k, v in cfg.__dict__.items() if k != "checkpoint_seconds"}  # how often it saves is not another run
    key = run_key(model, dataset.name, {"stage": schema.PRETRAIN, "cfg": what, "hparams": hparams, "pool": record})
    root = runs_root(track.runs_dir)
    if reuse and (root / key / ENCODER_FILE).exists() and (root / key / ENCODER_META).exists():
        return _saved_pretraining(root / key, record)
    folder = open_folder(root, key, resume=True, experiment_id=experiment_id)
    job = _Pretraining(model, spec, dataset, cfg, hparams, pool, record, shape, mask_value, folder, verbose)
    if experiment_id is None:
        return _pretrain(job, None)
    tags = {
        **schema.identity(model=model, family=spec.family, dataset=dataset.name, stage=schema.PRETRAIN,
                          seed=cfg.seed),
        schema.PRETEXT: cfg.pretext,
        "transductive": str(transductive).lower(),
        **environment_tags(),
        **dict(track.tags),
    }  # fmt: skip
    with tracked_run(experiment_id, folder, run_name=f"pretrain {model} ({cfg.pretext}) on {dataset.name}",
                     tags=tags, parent_run_id=track.parent_run_id) as tracker:  # fmt: skip
        return _pretrain(job, tracker)


@dataclass
class _Pretraining:
    """What one pretraining needs, whether it is tracked or not."""

    model: str
    spec: Any
    dataset: Dataset
    cfg: Any
    hparams: dict[str, Any]
    pool: Split
    record: dict[str, Any]
    shape: tuple
    mask_value: float | None
    folder: RunFolder
    verbose: int | str


def _pretrain(job: _Pretraining, tracker: Tracker | None) -> PretrainResult:
    """Build the pretext model, fit it through the run engine, save and log the encoder."""
    import keras

    import zoo
    from recipes import fitting
    from recipes import pretext as px
    from recipes.device import precision, strategy
    from recipes.tracking import flat_params

    model, dataset, cfg, pool, folder = job.model, job.dataset, job.cfg, job.pool, job.folder
    if tracker is not None and folder.resumed_from == 0:
        tracker.params({"model": model, **flat_params("model", zoo.make_config(job.spec.config, job.hparams).__dict__),
                        **flat_params("pretrain", cfg.__dict__),
                        **flat_params("pool", {"n": job.record["n"], **job.record["sources"]}),
                        "pool.transductive": job.record.get("transductive", False)})  # fmt: skip
    rng = np.random.default_rng([cfg.seed, 17])
    order = rng.permutation(len(pool))
    n_val = max(1, len(pool) // 10) if len(pool) >= 10 else 0
    val_rows, train_rows = order[:n_val], order[n_val:]
    valid = px.valid_steps(pool)
    started = time.perf_counter()
    keras.utils.set_random_seed(cfg.seed)
    with precision(cfg.mixed_precision):
        dist = strategy(cfg.distribute)
        with dist.scope() if dist is not None else contextlib.nullcontext():
            net, encoder = px.build(model, input_shape=job.shape, length=dataset.max_length,
                                    vocab_size=dataset.vocab_size, mask_value=job.mask_value, cfg=cfg,
                                    hparams=job.hparams)  # fmt: skip
            px.compile_pretext(net, cfg, dataset.input_kind == "tokens")
        train_data = px.data(pool.x[train_rows], valid[train_rows], cfg, shuffle=True, seed=cfg.seed)
        val_data = (
            px.data(pool.x[val_rows], valid[val_rows], cfg, shuffle=False, seed=cfg.seed + 1, fixed=True)
            if n_val else None
        )  # fmt: skip
        monitor = "val_loss" if n_val else "loss"
        plan = fitting.FitPlan(epochs=cfg.epochs, monitor=monitor, patience=cfg.patience,
                               checkpoint_seconds=cfg.checkpoint_seconds)  # fmt: skip
        fitted = fitting.fit(net, train_data, val_data, folder=folder, plan=plan, tracker=tracker,
                             what=f"pretraining {model} on {dataset.name}", extra=[px.epoch_masks(train_data)],
                             verbose=job.verbose)  # fmt: skip
    history = fitted.history
    seconds = time.perf_counter() - started
    return _keep_encoder(job, encoder, history, monitor, seconds, tracker)


def _keep_encoder(job: _Pretraining, encoder: Any, history: dict[str, list[float]], monitor: str, seconds: float,
                  tracker: Tracker | None) -> PretrainResult:  # fmt: skip
    """Save the encoder (and log it); `encoder.json`, written last, says the pretraining finished."""
    from recipes import plots
    from recipes.model_log import log_keras_model
    from recipes.train import _fingerprint

    model, cfg, run_dir = job.model, job.cfg, job.folder.path
    encoder_path = run_dir / ENCODER_FILE
    encoder.save(encoder_path)
    curves = plots.learning_curves(history, run_dir / "pretext_curves.png", f"{model}: {cfg.pretext} pretext")
    epochs = len(history.get("loss", []))
    uri = None
    if tracker is not None:
        tracker.metrics({"pretrain_epochs": epochs, "pretrain_seconds": seconds,
                         f"best_{monitor}": float(np.nanmin(history[monitor]))}, step=epochs)  # fmt: skip
        for path in (encoder_path, curves, job.folder.history_file):
            tracker.artifact(path)
        tokens = job.dataset.input_kind == "tokens"
        tracker.call(log_keras_model, encoder, "encoder", input_dtype="int32" if tokens else "float32")
        uri = None if tracker.lost else f"runs:/{tracker.run_id}/encoder"
    meta = {"model": model, "hparams": job.hparams, "pretext": cfg.pretext, "dataset": job.dataset.name,
            "input_shape": list(job.shape), "fingerprint": _fingerprint(encoder), "pool": job.record,
            "run_id": tracker.run_id if tracker is not None else None, "encoder_uri": uri,
            "seconds": seconds}  # fmt: skip
    (run_dir / ENCODER_META).write_text(json.dumps(meta, indent=1, default=str))
    if tracker is not None:
        tracker.artifact(run_dir / ENCODER_META)
    return PretrainResult(encoder=encoder, encoder_path=encoder_path, encoder_uri=uri,
                          run_id=tracker.run_id if tracker is not None else None, history=history, pool=job.record,
                          seconds=seconds, resumed_from=job.folder.resumed_from)  # fmt: skip


def _saved_pretraining(run_dir: Path, pool: dict[str, Any]) -> PretrainResult:
    """A finished pretraining read back from its run folder."""
    meta = json.loads((run_dir / ENCODER_META).read_text())
    encoder, _ = load_encoder(run_dir / ENCODER_FILE)
    return PretrainResult(
        encoder=encoder,
        encoder_path=run_dir / ENCODER_FILE,
        encoder_uri=meta.get("encoder_uri"),
        run_id=meta.get("run_id"),
        history=load_history(run_dir / schema.HISTORY_FILE),
        pool=pool,
        seconds=float(meta.get("seconds", 0.0)),
    )


def _load(data: str | Dataset, seed: int, **options: Any) -> Dataset:
    from recipes.device import import_backend

    import_backend()
    if isinstance(data, Dataset):
        return data
    from recipes.data import load

    return load(data, seed=seed, **options)


# ---------------------------------------------------------------------------------------------
# Fine-tuning


def finetune(
    model: str,
    data: str | Dataset,
    encoder: Any,
    *,
    fraction: float = 1.0,
    seed: int = 0,
    freeze_share: float | None = None,
    unfreeze_lr_factor: float | None = None,
    freeze_epochs: int | None = None,
    unfreeze_epochs: int | None = None,
    tracking_uri: str | None = None,
    **train_kwargs: Any,
) -> Any:
    """Fine-tune a pretrained encoder on `fraction` of the labels (stratified by `seed`).

    The run has the budget, batch, schedule and selection of any run on this data
    (`recipes.protocol`). The task head trains first with the encoder frozen for
    `freeze_share` of its epochs, then the whole model trains for the rest at
    `learning_rate * unfreeze_lr_factor`; early stopping's patience is the whole run's.

    Args:
        model: The registry name the encoder was pretrained as.
        data: The dataset (address or `Dataset`).
        encoder: A `PretrainResult`, `keras.Model`, `.keras` path or `runs:/<id>/encoder`.
        fraction: Share of the train (and val) labels kept, in (0, 1].
        seed: Seeds the subset and the training.
        freeze_share, unfreeze_lr_factor, freeze_epochs, unfreeze_epochs: `FinetuneConfig`
            (None: default; epochs given win over the share).
        tracking_uri: MLflow store (also where `runs:/` encoders are read).
        **train_kwargs: Passed to `recipes.train` (learning_rate, batch_size, patience,
            tracking, experiment, parent_run_id, tags, runs_dir, ...).

    Returns:
        `recipes.train`'s `TrainResult`.
    """
    import recipes

    ft = finetune_config({"freeze_share": freeze_share, "unfreeze_lr_factor": unfreeze_lr_factor,
                          "freeze_epochs": freeze_epochs, "unfreeze_epochs": unfreeze_epochs})  # fmt: skip
    if isinstance(encoder, PretrainResult):
        encoder = encoder.encoder_path
    loose = {k: train_kwargs.pop(k, None) for k in ("experiment", "parent_run_id", "runs_dir", "tags")}
    track = as_tracking(train_kwargs.pop("tracking", True), uri=tracking_uri, **loose)
    backbone, meta = load_encoder(encoder, tracking_uri=track.uri if track.enabled else None)
    check_encoder(model, meta)
    dataset = labelled_subset(_load(data, seed), fraction, seed)
    tags = {"fraction": f"{fraction:g}", "init": "pretrained", **dict(track.tags)}
    if meta.get("pretext"):
        tags["pretext"] = str(meta["pretext"])
    if fraction < 1:
        train_kwargs["data_options"] = {"label_fraction": fraction, **dict(train_kwargs.get("data_options") or {})}
    frozen, unfrozen = _phases(ft, dataset, train_kwargs)
    phase = {"epochs": frozen, "unfreeze_epochs": unfrozen} if frozen else {"epochs": unfrozen}
    return recipes.train(
        model,
        dataset,
        backbone=backbone,
        freeze_backbone=frozen > 0,
        unfreeze_lr_factor=ft.unfreeze_lr_factor,
        tracking=track.under(tags=tags),
        stage=train_kwargs.pop("stage", schema.FINETUNE),
        seed=seed,
        **phase,
        **train_kwargs,
    )


def _phases(ft: FinetuneConfig, dataset: Dataset, train_kwargs: dict[str, Any]) -> tuple[int, int]:
    """The frozen and the unfrozen epochs of fine-tuning on `dataset`, out of the budget the
    protocol gives any run on it (`epochs` given is that budget); `train_kwargs` get that
    budget's patience unless they give one."""
    from recipes import protocol
    from recipes.config import TRAIN_KEYS, train_config

    cfg = train_config({k: v for k, v in train_kwargs.items() if k in TRAIN_KEYS})
    plan = protocol.resolve(cfg, dataset.task, len(dataset.train), len(dataset.val))
    frozen, unfrozen = ft.phases(plan.epochs)
    if frozen + unfrozen < 1:
        raise ConfigError(f"fine-tuning: {frozen} epochs frozen and {unfrozen} unfrozen train nothing; "
                          "give freeze_share < 1 or unfreeze_epochs > 0")  # fmt: skip
    if train_kwargs.get("patience") is None:
        train_kwargs["patience"] = plan.patience
    train_kwargs.pop("epochs", None)  # the budget, now split into the phases
    return frozen, unfrozen


# ---------------------------------------------------------------------------------------------
# The labelled-fraction sweep


def _finished_children(parent_run_id: str) -> dict[tuple[str, str, str], Any]:
    """(stage or init, fraction, seed) -> the FINISHED child runs of a sweep (for resuming it)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment_id = client.get_run(parent_run_id).info.experiment_id
    found = {}
    for run in client.search_runs(
        [experiment_id], f"tags.mlflow.parentRunId = '{parent_run_id}' and attributes.status = 'FINISHED'"
    ):
        t = run.data.tags
        found[(t.get("init", t.get("stage", "")), t.get("fraction", ""), t.get("seed", ""))] = run
    return found


def summarize(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Mean, std and count of `metric` per (fraction, init), fractions ascending."""
    table = []
    for fraction in sorted({r["fraction"] for r in rows}):
        for init in ("scratch", "pretrained"):
            values = [r["test"][metric] for r in rows if r["fraction"] == fraction and r["init"] == init]
            if values:
                labelled = int(np.median([r["labelled"] for r in rows if r["fraction"] == fraction]))
                std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
                table.append({"fraction": fraction, "init": init, "n": len(values), "mean": float(np.mean(values)),
                              "std": std, "labelled": labelled})  # fmt: skip
    return table


def plot_sweep(table: list[dict[str, Any]], metric: str, path: Path, title: str) -> Path:
    """Test metric against labelled fraction, pretrained vs scratch, mean ± std over seeds."""
    from recipes.plots import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for init, style in (("scratch", "o--"), ("pretrained", "s-")):
        rows = [r for r in table if r["init"] == init]
        if rows:
            ax.errorbar([r["fraction"] for r in rows], [r["mean"] for r in rows], yerr=[r["std"] for r in rows],
                        fmt=style, capsize=4, label=init)  # fmt: skip
    ax.set_xscale("log")
    fractions = sorted({r["fraction"] for r in table})
    ax.set_xticks(fractions, [f"{f:.0%}" for f in fractions])
    ax.minorticks_off()
    ax.set_xlabel("labelled fraction of the train split")
    ax.set_ylabel(f"test {metric}")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def table_markdown(table: list[dict[str, Any]], metric: str) -> str:
    """The sweep's table: one row per fraction, scratch and pretrained side by side, and the gain."""
    lines = [f"| labelled | examples | scratch {metric} | pretrained {metric} | gain |", "|---:|---:|---:|---:|---:|"]
    for fraction in sorted({r["fraction"] for r in table}):
        cells = {r["init"]: r for r in table if r["fraction"] == fraction}
        shown = {k: f"{v['mean']:.3f} ± {v['std']:.3f} (n={v['n']})" for k, v in cells.items()}
        gain = (f"{cells['pretrained']['mean'] - cells['scratch']['mean']:+.3f}"
                if len(cells) == 2 else "-")  # fmt: skip
        labelled = next(iter(cells.values()))["labelled"]
        lines.append(f"| {fraction:.0%} | {labelled} | {shown.get('scratch', '-')} | {shown.get('pretrained', '-')} "
                     f"| {gain} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def sweep(
    model: str,
    data: str | Dataset,
    *,
    fractions: Sequence[float] = (0.05, 0.1, 0.25, 1.0),
    seeds: Sequence[int] = (0, 1, 2),
    hparams: Mapping[str, Any] | None = None,
    unlabeled: Sequence[str] | str | None = None,
    transductive: bool = False,
    pretrain_settings: Mapping[str, Any] | None = None,
    finetune_settings: Mapping[str, Any] | None = None,
    train_settings: Mapping[str, Any] | None = None,
    tracking: bool | Tracking = True,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    runs_dir: str | os.PathLike | None = None,
    progress: Any = print,
) -> SweepResult:
    """Pretrained vs from scratch, at several labelled fractions and seeds, on the same subsets.

    One pretraining (labels are not used, so every fraction and seed shares it); then for
    each fraction and seed a fine-tune of the encoder and a training of the same architecture
    from scratch with the same epochs, on the same stratified labelled subset, both evaluated on
    the untouched test split. Tracked as one MLflow parent run (stage "semi") with children
    tagged stage, fraction, seed and init; the same call after an interruption skips the
    children that finished.

    Args:
        model: A registry name.
        data: A dataset address or `Dataset`.
        fractions: Labelled fractions in (0, 1].
        seeds: Seeds for the subsets and the trainings.
        hparams: Model hyperparameters (both arms).
        unlabeled, transductive: The pretraining pool (see `pretrain`).
        pretrain_settings: `PretrainConfig` fields (pretext, mask_ratio, epochs, ...).
        finetune_settings: `FinetuneConfig` fields (freeze_share, unfreeze_lr_factor, ...).
        train_settings: Training settings for both arms (learning_rate, batch_size, steps, ...);
            both arms have the budget they give (the fine-tuning phases share it out).
        tracking, tracking_uri, experiment: MLflow (`tracking` may be a `Tracking` holding them).
        runs_dir: Where run folders go (default `$ZOO_RUNS_DIR` or ./runs).
        progress: Called with one line per finished run.

    Returns:
        A `SweepResult`.
    """
    import hashlib

    plan = _sweep_plan(model, fractions, seeds, hparams, unlabeled, transductive, pretrain_settings,
                       finetune_settings, train_settings)  # fmt: skip
    track = as_tracking(tracking, uri=tracking_uri, experiment=experiment, runs_dir=runs_dir)
    experiment_id = track.connect()
    dataset = _load(data, 0)
    from recipes.train import check_compatible

    check_compatible(model, dataset, plan.hparams)
    for f in plan.fractions:  # every subset is possible, before anything trains
        labelled_subset(dataset, f, plan.seeds[0])
    policy = get_task(dataset.task)
    settings = {"model": model, "dataset": dataset.name, "fractions": plan.fractions, "seeds": plan.seeds,
                "hparams": plan.hparams, "pretrain": plan.pretrain.__dict__, "finetune": plan.finetune.__dict__,
                "train": plan.train, "unlabeled": unlabeled, "transductive": transductive}  # fmt: skip
    sweep_id = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
    root = runs_root(track.runs_dir) / f"semi-{model}-{sweep_id}"
    root.mkdir(parents=True, exist_ok=True)
    parent = _sweep_parent(plan, dataset, sweep_id, experiment_id) if experiment_id is not None else None

    with closing_run(parent):
        done = _finished_children(parent) if parent is not None else {}
        pre, encoder_ref = _sweep_pretraining(plan, dataset, done, track.under(parent_run_id=parent,
                                                                                runs_dir=root / "pretrain"),
                                              progress)  # fmt: skip
        rows: list[dict[str, Any]] = []
        total = len(plan.fractions) * len(plan.seeds) * 2
        for fraction in plan.fractions:
            for seed in plan.seeds:
                subset = labelled_subset(dataset, fraction, seed)
                for init in ("scratch", "pretrained"):
                    run = done.get((init, f"{fraction:g}", str(seed)))
                    if run is not None:
                        test = {k[len("test_") :]: v for k, v in run.data.metrics.items() if k.startswith("test_")}
                        rows.append({"fraction": fraction, "seed": seed, "init": init, "labelled": len(subset.train),
                                     "test": test, "run_id": run.info.run_id})  # fmt: skip
                        continue
                    child = track.under(parent_run_id=parent, runs_dir=root / f"{init}-f{fraction:g}-s{seed}",
                                        tags={**track.tags, "init": init, "fraction": f"{fraction:g}",
                                              "seed": str(seed), "sweep_id": sweep_id})  # fmt: skip
                    result = _sweep_arm(plan, init, subset, fraction, seed, encoder_ref, child)
                    rows.append({"fraction": fraction, "seed": seed, "init": init, "labelled": len(subset.train),
                                 "test": result.test_metrics, "run_id": result.run_id})  # fmt: skip
                    score = result.test_metrics[policy.metric]
                    progress(f"{len(rows)} of {total}: {fraction:.0%} labels ({len(subset.train)} examples), "
                             f"seed {seed}, {init}: test {policy.metric} {score:.4f}")  # fmt: skip
        return _sweep_outcome(plan, dataset, rows, root, parent, pre)


@dataclass(frozen=True)
class _SweepPlan:
    """A sweep's request, checked before any data is read."""

    model: str
    fractions: list[float]
    seeds: list[int]
    hparams: dict[str, Any]
    unlabeled: Sequence[str] | str | None
    transductive: bool
    pretrain: PretrainConfig
    finetune: FinetuneConfig
    train: dict[str, Any]  # training settings for both arms


def _sweep_plan(model: str, fractions: Sequence[float], seeds: Sequence[int], hparams: Mapping[str, Any] | None,
                unlabeled: Sequence[str] | str | None, transductive: bool,
                pretrain_settings: Mapping[str, Any] | None, finetune_settings: Mapping[str, Any] | None,
                train_settings: Mapping[str, Any] | None) -> _SweepPlan:  # fmt: skip
    """The sweep's fractions, seeds and configs, each refused in one line where invalid."""
    import zoo
    from recipes import pretext as px
    from recipes.config import train_config

    fractions = [float(f) for f in fractions]
    seeds = [int(s) for s in seeds]
    if not fractions or not seeds:
        raise ConfigError("a sweep needs at least one fraction and one seed")
    for f in fractions:
        if not 0 < f <= 1:
            raise ConfigError(f"label fraction {f!r} must be in (0, 1], e.g. 0.05 for 5%")
    pre_cfg = pretrain_config(pretrain_settings)
    ft_cfg = finetune_config(finetune_settings)
    train = {k: v for k, v in dict(train_settings or {}).items() if v is not None}
    if "seed" in train:
        raise ConfigError("a sweep sets seed itself (--seeds); drop it")
    train_config(train)
    spec = zoo.get_spec(model)
    px.check(spec, pre_cfg.pretext)
    hparams = {k: v for k, v in dict(hparams or {}).items() if v is not None}
    # The encoder pretrains with a per-step head, so it reads every step (no patches, no shuffle); the
    # scratch arm is pinned to the same architecture.
    hparams = {**zoo.every_step(model), **hparams}
    heads.check(spec.config, hparams, model=model)
    return _SweepPlan(model, fractions, seeds, hparams, unlabeled, transductive, pre_cfg, ft_cfg, train)


def _sweep_parent(plan: _SweepPlan, dataset: Dataset, sweep_id: str, experiment_id: str) -> str:
    """The sweep's parent run (found again when the same sweep resumes)."""
    model, pre_cfg = plan.model, plan.pretrain
    tags = {"model": model, "dataset": dataset.name, "pretext": pre_cfg.pretext,
            "transductive": str(plan.transductive).lower(), **environment_tags()}  # fmt: skip
    params = {"model": model, "dataset": dataset.name, "fractions": ",".join(f"{f:g}" for f in plan.fractions),
              "seeds": ",".join(map(str, plan.seeds)), **{f"model.{k}": v for k, v in plan.hparams.items()},
              **{f"pretrain.{k}": v for k, v in pre_cfg.__dict__.items()},
              **{f"finetune.{k}": v for k, v in plan.finetune.__dict__.items()},
              **{f"train.{k}": v for k, v in plan.train.items()},
              "unlabeled": plan.unlabeled or "default", "transductive": plan.transductive}  # fmt: skip
    return parent_run(experiment_id, {"sweep_id": sweep_id, "stage": schema.SWEEP}, tags=tags, params=params,
                      run_name=f"semi {model} ({pre_cfg.pretext}) on {dataset.name}")  # fmt: skip


def _sweep_pretraining(plan: _SweepPlan, dataset: Dataset, done: Mapping[tuple[str, str, str], Any],
                       track: Tracking, progress: Any) -> tuple[PretrainResult, Any]:  # fmt: skip
    """The sweep's one pretraining (its finished run reused on a resumed sweep) and where its
    encoder is."""
    pre_cfg, local = plan.pretrain, Path(track.runs_dir)
    pre_run = done.get((schema.PRETRAIN, "", str(pre_cfg.seed)))
    if pre_run is not None:
        progress(f"pretraining: reusing run {pre_run.info.run_id}")
        logged = pre_run.data.params
        pool = {"n": int(logged.get("pool.n", 0)), "transductive": logged.get("pool.transductive") == "True",
                "sources": {k[len("pool."):]: int(v) for k, v in logged.items()
                            if k.startswith("pool.") and k not in ("pool.n", "pool.transductive")}}  # fmt: skip
        pre = PretrainResult(None, local / ENCODER_FILE, f"runs:/{pre_run.info.run_id}/encoder", pre_run.info.run_id,
                             {}, pool, float(pre_run.data.metrics.get("pretrain_seconds", 0.0)))  # fmt: skip
        return pre, pre.encoder_uri
    pre = pretrain(plan.model, dataset, hparams=plan.hparams, unlabeled=plan.unlabeled,
                   transductive=plan.transductive, tracking=track, **pre_cfg.__dict__)  # fmt: skip
    progress(f"pretraining ({pre_cfg.pretext}) on {pre.pool['n']} unlabeled examples: "
             f"{len(pre.history.get('loss', []))} epochs, {pre.seconds:.0f} s")  # fmt: skip
    return pre, pre.encoder_path


def _sweep_arm(plan: _SweepPlan, init: str, subset: Dataset, fraction: float, seed: int, encoder_ref: Any,
               child: Tracking) -> Any:  # fmt: skip
    """One cell's arm: the encoder fine-tuned, or the same architecture trained from scratch."""
    import recipes

    # The sweep compares; its models stay as files (model.keras) in each run, not as MLflow
    # models, which would cost seconds per run.
    common = {"tracking": child, "log_model": False, "verbose": 0,
              "data_options": {"label_fraction": fraction},  # a param: compare splits by it
              **plan.train}  # fmt: skip
    if init == "pretrained":
        head = {k: v for k, v in plan.hparams.items() if k in heads.all_head_names()}
        return finetune(plan.model, subset, encoder_ref, fraction=1.0, seed=seed, hparams=head,
                        **plan.finetune.__dict__, **common)  # fmt: skip
    # The run any `zoo train` on the subset is: the same budget as fine-tuning's.
    return recipes.train(plan.model, subset, hparams=plan.hparams, stage=schema.FINETUNE, seed=seed, **common)


def _sweep_outcome(plan: _SweepPlan, dataset: Dataset, rows: list[dict[str, Any]], root: Path, parent: str | None,
                   pre: PretrainResult) -> SweepResult:  # fmt: skip
    """The sweep's table, picture and files, logged on its parent run."""
    policy = get_task(dataset.task)
    metric = policy.metric
    table = summarize(rows, metric)
    title = f"{plan.model} on {dataset.name}: {plan.pretrain.pretext} pretraining vs scratch"
    plot_path = plot_sweep(table, metric, root / "sweep.png", title)
    table_path = root / "sweep.md"
    table_path.write_text(f"# {title}\n\n{table_markdown(table, metric)}")
    (root / "sweep.json").write_text(json.dumps({"rows": rows, "table": table}, indent=1, default=str))
    if parent is not None:
        tracker = Tracker(parent)
        gains = {}
        for fraction in plan.fractions:
            cells = {r["init"]: r["mean"] for r in table if r["fraction"] == fraction}
            if len(cells) == 2:
                gains[f"gain_{metric}_at_{fraction:g}"] = cells["pretrained"] - cells["scratch"]
        tracker.metrics({**{f"{r['init']}_{metric}_at_{r['fraction']:g}": r["mean"] for r in table}, **gains})
        for path in (plot_path, table_path, root / "sweep.json"):
            tracker.artifact(path)
    return SweepResult(rows=rows, table=table, metric=metric, parent_run_id=parent, pretrain=pre,
                       plot_path=plot_path, table_path=table_path, extra={"direction": policy.direction})  # fmt: skip
