"""Hyperparameter search over the zoo: keras-tuner oracles, the training recipe, MLflow runs.

    >>> import tuning
    >>> best = tuning.search(["lstm", "gru", "cnn_lstm"], "ucr:GunPoint", tuner="bayesian", max_trials=12)
    >>> best.model_name, best.hparams, best.test_metrics

keras-tuner's oracles choose the values; each trial is one `recipes.train` call (so a trial
trains exactly like `zoo train`), logged as an MLflow run nested under one parent run per
search. With several models, the architecture is itself a hyperparameter and each model's
space is conditional on it. Running the same search again after a kill resumes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras_tuner as kt
import numpy as np

from recipes import folds, protocol, schema
from recipes.config import TRAIN_KEYS, TrainConfig
from recipes.tasks import get_task
from recipes.tracking import Tracking, closing_run, create_run, find_run, log_batch, parent_run
from tuning import distributed, ensembles
from tuning.config import SearchConfig, search_config
from tuning.errors import SearchError
from tuning.progress import Progress, as_progress, epoch_callback
from tuning.space import declare
from tuning.trial_recipes import RECIPES, Supervised, get_recipe, task_of
from zoo import heads
from zoo.errors import ConfigError, ZooError, did_you_mean

MAX_CONSECUTIVE_FAILURES = 3
# What breaks a tie between trials' objectives: the mean validation loss of the weights each kept.
TIE_BREAK = "tie_break_val_loss"
UNIT_SCORE = "unit_score_"  # a trial's score on each fold (and execution), in order: unit_score_0, ...


@dataclass
class SearchResult:
    """The outcome of a search.

    Attributes:
        model_name: The best trial's architecture.
        hparams: Its model hyperparameters (the resolved config).
        settings: Its training settings.
        objective: Objective name and direction, e.g. "val_accuracy (max)".
        best_value: The best trial's objective value.
        test_metrics: The best configuration retrained and evaluated on test.
        best_trial_id: keras-tuner's id of the best trial.
        parent_run_id: The search's MLflow run.
        best_run_id: The MLflow run of the retrained best model.
        config_path: A YAML file the recipe's command reproduces the best from (`zoo train
            --config`, `zoo semi --config`, `zoo detect --config`).
        trials: Per trial: id, status, model, objective value, MLflow run id.
        model: The retrained best `keras.Model`.
        recipe_settings: The recipe's own settings of the best: semi's "pretrain" and
            "finetune", detect's "detect" (windows and threshold rule).
        registered: "NAME vN": the Model Registry version (alias "champion") the best became.
        recipe: The trial recipe ("supervised", "semi", "detect").
        ensemble: The trials `model` averages, the best first (trial id and model); empty
            when it is the best trial alone. `config_path` replays the best.
    """

    model_name: str
    hparams: dict[str, Any]
    settings: dict[str, Any]
    objective: str
    best_value: float
    test_metrics: dict[str, float]
    best_trial_id: str
    parent_run_id: str | None
    best_run_id: str | None
    config_path: Path
    trials: list[dict[str, Any]] = field(default_factory=list)
    model: Any = None
    recipe_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    registered: str | None = None
    recipe: str = "supervised"
    ensemble: list[dict[str, str]] = field(default_factory=list)


@dataclass
class WorkerResult:
    """What a worker of a distributed search did (the chief records the best).

    Attributes:
        worker_id: keras-tuner's id of the worker.
        trials: Per trial it ran: id, model, objective value (None if it failed).
        parent_run_id: The search's MLflow run.
    """

    worker_id: str
    trials: list[dict[str, Any]]
    parent_run_id: str | None


def resolve_models(models: str | Sequence[str]) -> list[str]:
    """Model names from a name, a comma-separated list, a list, or shell patterns.

    Raises:
        UnknownModelError, ConfigError: an unknown name or a pattern matching nothing.
    """
    import zoo

    items = [m.strip() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()]
    names: list[str] = []
    for item in items:
        found = zoo.list_models(item) if any(c in item for c in "*?[") else [zoo.get_spec(item).name]
        if not found:
            raise ConfigError(f"models: pattern {item!r} matches no model; `zoo list` shows them")
        names += [n for n in found if n not in names]
    if not names:
        raise ConfigError("models: give at least one model name or pattern (e.g. lstm,gru or '*lstm*')")
    return names


def split_fixed(
    models: list[str], fixed: Mapping[str, Any], recipe: Supervised
) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """Pinned knobs as (training settings, model hyperparameters, recipe settings by scope), checked."""
    import zoo
    from zoo.params import params

    owners = {scope: other for other in RECIPES.values() for scope in other.scopes}
    scoped: dict[str, dict[str, Any]] = {scope: {} for scope in recipe.scopes}
    rest = {}
    for key, value in fixed.items():
        scope, _, name = key.partition(".")
        if scope in owners and name:
            if scope not in recipe.scopes:
                owner = owners[scope]
                raise ConfigError(f"fixed: {key} is a setting of the {owner.name} recipe; it is chosen by "
                                  f"{owner.chosen_by}")  # fmt: skip
            scoped[scope][name] = value
        else:
            rest[key] = value
    train = {k: v for k, v in rest.items() if k in TRAIN_KEYS}
    model = {k: v for k, v in rest.items() if k not in TRAIN_KEYS}
    known = {p.name for name in models for p in params(zoo.get_spec(name).config)} | set(heads.all_head_names())
    for key in model:
        if key not in known:
            valid = sorted(known | set(TRAIN_KEYS))
            raise ConfigError(
                f"fixed: {key!r} is not a hyperparameter of {', '.join(models)} nor a training setting"
                f"{did_you_mean(key, valid)}"
            )
    from recipes.config import train_config

    train_config(train)  # ranges checked now, not in the middle of a search
    known_heads = set(heads.all_head_names())
    for name in models:
        spec = zoo.get_spec(name)
        mine = {k: v for k, v in model.items() if k in {p.name for p in params(spec.config)} | known_heads}
        heads.check(spec.config, mine, model=name)
    return train, model, scoped


def _readable(values: dict[str, Any]) -> dict[str, Any]:
    # Stepped float ranges give values like 0.15000000000000002.
    return {k: round(v, 10) if isinstance(v, float) else v for k, v in values.items() if v is not None}


class ZooHyperModel(kt.HyperModel):
    """The search space: the architecture choice, each model's space under it, training settings.

    A recipe with settings of its own declares them too (the semi recipe: scopes "pretrain"
    and "finetune", their epochs capped at the search's `max_epochs`).

    `build(hp)` declares the space on `hp` and returns the drawn values; it builds no Keras
    model (the trial's recipe does), so keras-tuner explores the space at no cost.
    """

    def __init__(
        self,
        models: list[str],
        fixed_model: dict[str, Any],
        fixed_train: dict[str, Any],
        *,
        recipe: Supervised | None = None,
        fixed_recipe: dict[str, dict[str, Any]] | None = None,
        max_epochs: int | None = None,
        task: str = "",
    ) -> None:
        super().__init__(name="zoo")
        self.models = models
        self.fixed_model = fixed_model
        self.fixed_train = fixed_train
        self.recipe = recipe or Supervised()
        self.fixed_recipe = fixed_recipe or {}
        self.max_epochs = max_epochs
        self.task = task

    def build(self, hp: Any) -> dict[str, Any]:
        import zoo
        from zoo.params import params

        if len(self.models) > 1:
            chosen = hp.Choice("model", self.models)
        else:
            chosen = hp.Fixed("model", self.models[0])
        hparams: dict[str, Any] = {}
        for name in self.models:
            spec = zoo.get_spec(name)
            own = {p.name for p in params(spec.config)}
            pinned = {k: v for k, v in self.fixed_model.items() if k in own}
            # The condition is opened outside the name scope: keras-tuner resolves the parent
            # "model" through the scopes, and would look for "NAME/model" otherwise.
            with hp.conditional_scope("model", [name]), hp.name_scope(name):
                values = declare(hp, spec.config, fixed=pinned)
            if name == chosen:
                hparams = values
        head = heads.HEADS.get(self.task)
        if head is not None:  # the task head's options (forecasting: window_norm), shared by every model
            with hp.name_scope("head"):
                hparams = {**hparams, **declare(hp, head, fixed={k: v for k, v in self.fixed_model.items()
                                                                 if k in heads.head_names(self.task)})}  # fmt: skip
        with hp.name_scope("train"):
            settings = declare(hp, TrainConfig, fixed=self.fixed_train)
        drawn = {"model": chosen, "hparams": _readable(hparams), "settings": _readable(settings)}
        for scope, values in self.recipe.declare(hp, self.fixed_recipe, self.max_epochs).items():
            drawn[scope] = _readable(values)
        return drawn


def _tuner_class(base: type) -> type:
    """A keras-tuner tuner whose trials are `recipes.train` runs nested in MLflow."""

    class ZooTuner(base):
        def __init__(self, *, search: _Search, **kwargs: Any) -> None:
            self.search_state = search
            super().__init__(**kwargs)

        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
            cluster = self.search_state.cluster
            if cluster is None:
                return self.search_state.run_trial(self, trial)
            with distributed.heartbeat(self.oracle, trial.trial_id, cluster.heartbeat):
                return self.search_state.run_trial(self, trial)

        def on_trial_end(self, trial: Any) -> None:
            import keras

            keras.utils.clear_session(free_memory=True)
            super().on_trial_end(trial)
            self.search_state.report(trial)
            if self.search_state.cluster is None:
                check_failures(self.oracle)

    return ZooTuner


@dataclass(kw_only=True)
class _Search:
    """The state one search carries across its trials."""

    dataset: Any
    hypermodel: ZooHyperModel
    objective: tuple[str, str]
    max_epochs: int | None  # None: each training's own budget (`recipes.protocol`)
    executions: int  # trainings per trial, seeds seed, seed + 1, ...
    seed: int
    tracking: Tracking  # the search's: nests trials under its parent run
    runs_dir: Path
    max_trials: int | None
    progress: Progress
    folds: list[Any] = field(default_factory=list)  # K-fold datasets; empty: rank on the carved split
    ensemble: int = 1  # the most trials the product averages (>1: trials keep their held-out predictions)
    warm_start: bool = False  # Hyperband: a promoted trial continues from its earlier round's weights
    register: str | None = None  # the registered model the retrained best becomes a version of
    cluster: distributed.Cluster | None = None
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    best: float | None = None
    trial_runs: dict[str, list[str]] = field(default_factory=dict)
    ran: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)  # trial id -> objective (a worker's get no score here)

    @property
    def parent_run_id(self) -> str | None:
        return self.tracking.parent_run_id

    def run_trial(self, tuner: Any, trial: Any) -> dict[str, float]:
        """Train the trial's values once per execution (and per fold); the objective is their mean."""
        hp = trial.hyperparameters
        drawn = self.hypermodel.build(hp)
        tags = {"trial_id": trial.trial_id, "search_parent": self.parent_run_id or ""}
        if self.cluster is not None:
            tags["worker"] = self.cluster.tuner_id
        for key in ("tuner/bracket", "tuner/round"):
            if key in hp.values:
                tags[key.replace("/", ".")] = str(hp.values[key])
        scores, losses, heldout = [], [], []
        label = self._label(trial, drawn["model"])
        for execution in range(self.executions):
            for fold, data in enumerate(self.folds or [self.dataset]):
                part = {"execution": str(execution), **({"fold": str(fold)} if self.folds else {})}
                which = [f"fold {fold + 1} of {len(self.folds)}"] if self.folds else []
                which += [f"execution {execution + 1} of {self.executions}"] if self.executions > 1 else []
                shown = ", ".join([label, *which])
                score, loss, predicted = self._score(trial, drawn, data, {**tags, **part}, execution, shown)
                scores.append(score)
                losses.append(loss)
                heldout.append(predicted)
        if self.ensemble > 1:  # every labelled series once per execution, in fold order; executions averaged
            stacked = np.stack(np.split(np.concatenate(heldout), self.executions))
            ensembles.save(self.heldout_path(trial.trial_id), stacked.mean(axis=0))
        self.values[trial.trial_id] = float(sum(scores) / len(scores))
        units = {f"{UNIT_SCORE}{i}": float(v) for i, v in enumerate(scores)}  # the same folds in every trial
        return {self.objective[0]: self.values[trial.trial_id], TIE_BREAK: float(np.mean(losses)), **units}

    def trial_folder(self, trial_id: str) -> Path:
        """Where a trial's trainings keep their run folders and files."""
        return self.runs_dir / f"trial_{trial_id}"

    def heldout_path(self, trial_id: str) -> Path:
        """A trial's held-out probabilities (`tuning.ensembles`), named by the search's folds."""
        return self.trial_folder(trial_id) / ensembles.file_name(len(self.folds), self.seed)

    def _label(self, trial: Any, model: str) -> str:
        """How progress names a trial: "trial 3 of 12 (gru)" (a worker: by its id)."""
        if self.cluster is not None:
            return f"trial {trial.trial_id} ({model})"
        total = f" of {self.max_trials}" if self.max_trials else ""
        return f"trial {self.done + 1}{total} ({model})"

    def _score(self, trial: Any, drawn: dict[str, Any], data: Any, tags: dict[str, str], execution: int,
               label: str) -> tuple[float, float, np.ndarray | None]:  # fmt: skip
        """One training of the trial (one execution, one fold): the objective and the validation
        loss of the weights it kept (`kept_epoch`), and where the search ensembles, the kept
        weights' probabilities on the fold's held-out series."""
        import recipes

        hp = trial.hyperparameters.values
        epochs, init = hp.get("tuner/epochs", self.max_epochs), None
        folder = self.trial_folder(trial.trial_id)
        runs_dir = folder / f"fold_{tags['fold']}" if "fold" in tags else folder  # folds differ in data alone
        weights = folder / _weights_name(tags)
        if self.warm_start and hp.get("tuner/trial_id"):
            earlier = self.trial_folder(hp["tuner/trial_id"]) / _weights_name(tags)
            if earlier.exists():  # a worker elsewhere may have run the earlier round
                init, epochs = earlier, epochs - int(hp.get("tuner/initial_epoch", 0))
                tags = {**tags, "warm_start_trial": str(hp["tuner/trial_id"]),
                        "initial_epoch": str(hp.get("tuner/initial_epoch", 0))}  # fmt: skip
        try:
            result = self.fit(drawn, epochs=epochs, seed=self.seed + execution, stage=schema.TRIAL, tags=tags,
                              runs_dir=runs_dir, evaluate=False, data=data, init_weights=init,
                              callbacks=[epoch_callback(label, self.progress.epoch)])  # fmt: skip
        except recipes.TrainingError as err:  # its run is already FAILED, with the reason
            raise kt.errors.FailedTrialError(str(err)) from None
        except ZooError as err:  # refused before its run began (e.g. series too short for it)
            self._record_refused(drawn, tags, err)
            raise kt.errors.FailedTrialError(str(err)) from None
        metric, way = self.objective
        history = result.history.get(metric)
        if not history:
            raise kt.errors.FailedTrialError(f"the trial logged no {metric!r}; metrics: {sorted(result.history)}")
        if self.warm_start:
            result.model.save_weights(weights)
        if result.run_id:
            self.trial_runs.setdefault(trial.trial_id, []).append(result.run_id)
        monitor = "loss" if self.folds else "val_loss"  # what the trial selected its weights on
        epoch = protocol.kept_epoch(result.history, monitor, history, way)
        losses = result.history.get("val_loss") or [np.nan] * len(history)
        return float(history[epoch]), float(losses[epoch]), self._heldout(result.model, data)

    def _heldout(self, model: Any, data: Any) -> np.ndarray | None:
        """`model`'s probabilities on `data`'s validation split, where the search ensembles."""
        if self.ensemble < 2:
            return None
        from keras import ops

        x = data.val.x  # called, not `predict`: a compiled predict function per fold would be traced anew each time
        return np.concatenate(
            [ops.convert_to_numpy(model(x[i : i + 256], training=False)) for i in range(0, len(x), 256)]
        )

    def fit(
        self,
        drawn: dict[str, Any],
        *,
        epochs: int,
        seed: int,
        runs_dir: Path,
        stage: str,
        tags: dict[str, str],
        evaluate: bool,
        data: Any = None,
        init_weights: Path | None = None,
        callbacks: Sequence[Any] = (),
        members: Sequence[Any] | None = None,
    ) -> Any:
        """One training of the drawn values by the search's recipe (on `data`, a fold, or the
        search's dataset), or the average of `members` already trained; `recipes.train`'s result."""
        tracking = self.tracking.under(runs_dir=runs_dir, tags=tags)
        # A trial ranked on the carved split keeps it whatever the data's size. A fold trains as the
        # retrained best will on a set that small (the training loss picks its weights, over the whole
        # budget) and is only scored on its held-out fold, which then never chose an epoch.
        given = {"select_on": "held_out" if self.folds else "val"} if stage == schema.TRIAL else {}
        given.update(drawn["settings"])
        if init_weights is not None:
            given["init_weights"] = init_weights
        if members:
            given["members"] = members
        recipe = self.hypermodel.recipe
        return recipe.fit(drawn, data or self.dataset, tracking, **given, epochs=epochs, seed=seed, stage=stage,
                          verbose=0, log_model=evaluate, evaluate=evaluate, pictures=evaluate,
                          callbacks=list(callbacks))  # fmt: skip

    def _record_refused(self, drawn: dict[str, Any], tags: dict[str, str], err: Exception) -> None:
        """A trial the recipe refused still gets its MLflow run: FAILED, with values and reason."""
        if not self.tracking.enabled or not self.parent_run_id:
            return
        from mlflow import MlflowClient

        client = MlflowClient()
        parent = client.get_run(self.parent_run_id)
        run_tags = {
            **tags,
            "mlflow.parentRunId": self.parent_run_id,
            "stage": schema.TRIAL,
            "model": drawn["model"],
            "dataset": self.dataset.name,
            "error": f"{type(err).__name__}: {err}"[:5000],
        }
        run_id = create_run(client, parent.info.experiment_id, run_name=f"{drawn['model']} (refused)", tags=run_tags)
        params = {"model": drawn["model"], **{f"model.{k}": v for k, v in drawn["hparams"].items()}}
        params.update({f"train.{k}": v for k, v in drawn["settings"].items()})
        for scope in self.hypermodel.recipe.scopes:
            params.update({f"{scope}.{k}": v for k, v in drawn.get(scope, {}).items()})
        log_batch(client, run_id, params=params)
        client.set_terminated(run_id, "FAILED")

    def report(self, trial: Any, worker: str | None = None) -> None:
        """One progress line per trial: i of N, its value, best so far, elapsed."""
        self.done += 1
        value = trial.score
        if value is None and trial.status == "COMPLETED":
            value = self.values.get(trial.trial_id)
        self.ran.append({"trial_id": trial.trial_id, "model": trial.hyperparameters.values.get("model"),
                         "score": value})  # fmt: skip
        if value is not None and (
            self.best is None or (value > self.best if self.objective[1] == "max" else value < self.best)
        ):
            self.best = value
        total = f" of {self.max_trials}" if self.max_trials else ""
        model = trial.hyperparameters.values.get("model", "?")
        shown = "failed" if value is None else f"{self.objective[0]}={value:.4f}"
        best = "-" if self.best is None else f"{self.best:.4f}"
        elapsed = time.monotonic() - self.started
        if self.cluster is not None and self.cluster.role == "worker":  # the chief counts the search's trials
            self.progress.trial_done(
                f"{self.cluster.tuner_id}: trial {trial.trial_id} ({model}): {shown}; {self.done} run here, "
                f"best here {best}; {elapsed / 60:.1f} min elapsed"
            )
            return
        where = f", {worker}" if worker else ""
        left = ""
        if self.max_trials and self.done < self.max_trials:  # trials so far as the measure of the rest
            left = f", about {elapsed / self.done * (self.max_trials - self.done) / 60:.1f} min left"
        self.progress.trial_done(
            f"trial {self.done}{total} ({trial.trial_id}, {model}{where}): {shown}; best so far {best}; "
            f"{elapsed / 60:.1f} min elapsed{left}"
        )

    def lost(self, worker: str, trial: Any, silent: float, fails: bool) -> None:
        """The chief lost a worker: say so, and close the MLflow run it left RUNNING."""
        if trial is None:
            self.progress.line(f"worker {worker} silent for {silent:.0f} s: dropped (it held no trial)")
            return
        fate = "is FAILED (the last of several workers lost in it)" if fails else "goes back to the queue"
        self.progress.line(f"worker {worker} silent for {silent:.0f} s: dropped; its trial {trial.trial_id} {fate}")
        if not self.tracking.enabled or not self.parent_run_id:
            return
        from mlflow import MlflowClient

        client = MlflowClient()
        experiment_id = client.get_run(self.parent_run_id).info.experiment_id
        for run in client.search_runs(
            [experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{self.parent_run_id}' and tags.trial_id = '{trial.trial_id}' "
            f"and tags.worker = '{worker}' and attributes.status = 'RUNNING'",
        ):
            log_batch(client, run.info.run_id, tags={"error": f"worker {worker} lost (silent {silent:.0f} s)"})
            client.set_terminated(run.info.run_id, "KILLED")


def _weights_name(tags: Mapping[str, str]) -> str:
    """The file a trial's training leaves for Hyperband's next round: one per execution and fold."""
    return f"execution{tags['execution']}-fold{tags.get('fold', '-')}.weights.h5"


def check_failures(oracle: Any) -> None:
    """Stop the search when the last MAX_CONSECUTIVE_FAILURES trials all failed.

    Raises:
        SearchError: naming the last trial's reason (its MLflow run has the whole traceback).
    """
    ended = [oracle.trials[t] for t in oracle.end_order[-MAX_CONSECUTIVE_FAILURES:]]
    if len(ended) == MAX_CONSECUTIVE_FAILURES and all(t.status == "FAILED" for t in ended):
        lines = [line.strip() for line in (ended[-1].message or "").splitlines() if line.strip()]
        reason = lines[-1] if lines else "no reason recorded"
        raise SearchError(
            f"the last {MAX_CONSECUTIVE_FAILURES} trials all failed, the search stops; the last: {reason} "
            "(each FAILED trial run in MLflow has its reason)"
        )


def _fold_count(cv: int | None, dataset: Any, recipe: Supervised) -> int:
    """The folds a trial is ranked on (0: the carved split), checked against the data."""
    if recipe.name != "supervised":
        if cv:
            raise ConfigError(f"cv: the {recipe.name} recipe ranks its trials on the carved validation split")
        return 0
    k = folds.default_folds(dataset) if cv is None else cv
    folds.check(dataset, k)
    return k


def _can_ensemble(request: _Request, dataset: Any, k: int) -> bool:
    """Whether the search's product may average trials: classification ranked by folds (every
    labelled series predicted by each trial on a fold it did not fit), trained by `recipes.train`."""
    return k >= 2 and dataset.task == "classification" and request.recipe.name == "supervised"


def _default_epochs(dataset: Any, fixed_train: Mapping[str, Any], k: int) -> int:
    """The epochs `zoo train`'s budget gives a trial of this search (Hyperband needs a number)."""
    from recipes import protocol
    from recipes.config import train_config

    cfg = train_config({**fixed_train, "select_on": "val"})
    n = len(dataset.train) + len(dataset.val)
    n_val = n // k if k else len(dataset.val)
    return protocol.resolve(cfg, dataset.task, n - n_val, n_val).epochs


def _oracle(
    tuner: str,
    objective: Any,
    *,
    models: list[str],
    max_trials: int | None,
    max_epochs: int,
    seed: int,
    hyperband_factor: int,
) -> Any:
    # keras-tuner's own stop on consecutive failures raises inside the oracle's lock (and would
    # hang a chief); `check_failures` does the same check outside it.
    # keras-tuner reads seed 0 as no seed and draws one at random (`seed or random.randint(...)`), so a
    # search at the default seed 0 drew other trials on each run: the oracle gets seed + 1.
    common = {"objective": objective, "seed": seed + 1, "max_consecutive_failed_trials": None}
    if tuner == "hyperband":
        return kt.oracles.HyperbandOracle(max_epochs=max_epochs, factor=hyperband_factor, **common)
    if tuner == "bayesian":
        return _defaults_first(kt.oracles.BayesianOptimizationOracle, models)(max_trials=max_trials, **common)
    if tuner == "random":
        return _defaults_first(kt.oracles.RandomSearchOracle, models)(max_trials=max_trials, **common)
    return kt.oracles.GridSearchOracle(max_trials=max_trials, **common)


def _defaults_first(base: type, models: list[str]) -> type:
    """`base` whose first trials are each searched model's default config, in order.

    The defaults are what `zoo train` gives untuned; a search that tries them can only pick
    something that did better on validation. The grid and Hyperband oracles order their
    trials themselves and are left as they are.
    """

    class DefaultsFirst(base):
        def populate_space(self, trial_id: str) -> dict[str, Any]:
            for model in models:
                values = self.default_values(model)
                if not self._duplicate(values):
                    return {"status": "RUNNING", "values": values}
            return super().populate_space(trial_id)

        def default_values(self, model: str) -> dict[str, Any]:
            """The active values of the space with `model` chosen and every knob at its default."""
            chosen = kt.HyperParameters()
            for hp in self.hyperparameters.space:
                chosen.merge([hp])
                if chosen.is_active(hp):
                    chosen.values[hp.name] = model if hp.name == "model" else hp.default
            return chosen.values

    DefaultsFirst.__name__ = f"DefaultsFirst{base.__name__}"
    return DefaultsFirst


def _close_orphans(experiment_id: str, parent_run_id: str) -> None:
    """Child runs a killed search left RUNNING: mark them KILLED (a resumed trial reopens its own)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    for run in client.search_runs(
        [experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}' and attributes.status = 'RUNNING'"
    ):
        client.set_terminated(run.info.run_id, "KILLED")


def search(
    models: str | Sequence[str],
    data: Any,
    *,
    tuner: str = "bayesian",
    objective: str | None = None,
    direction: str | None = None,
    max_trials: int = 10,
    max_epochs: int | None = None,
    cv: int | None = None,
    executions_per_trial: int = 1,
    ensemble: int | None = None,
    seed: int = 0,
    directory: str | os.PathLike = "tuning_runs",
    project: str | None = None,
    fixed: Mapping[str, Any] | None = None,
    data_options: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    hyperband_factor: int = 3,
    tracking: bool = True,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    retrain_best: bool = True,
    register: bool | str = True,
    progress: Progress | Callable[[str], None] | None = None,
    role: str | None = None,
    oracle_address: str | None = None,
    worker_id: str | None = None,
    worker_timeout: float | None = None,
    recipe: str = "supervised",
    label_fraction: float = 1.0,
    unlabeled: Sequence[str] | str | None = None,
    task: str | None = None,
) -> SearchResult | WorkerResult:
    """Search the hyperparameters of one or several zoo models on a dataset.

    Args:
        models: A name, a list of names, "lstm,gru" or a pattern ("*lstm*"). With several,
            the architecture is a hyperparameter too.
        data: A dataset address ("ucr:GunPoint", ...) or a `recipes.data.Dataset`.
        tuner: "hyperband", "bayesian", "random" or "grid" (keras-tuner's oracles).
        objective: A logged validation metric (default: val_accuracy for classification,
            val_loss otherwise).
        direction: "max" or "min" (default: max for accuracy/f1, else min).
        max_trials: Trials for bayesian/random/grid (Hyperband sizes itself from max_epochs).
        max_epochs: Epochs per trial (Hyperband's largest budget); default: the budget
            `zoo train` gives (`steps` optimizer steps), so a trial trains like a default run.
        cv: Rank each trial by K-fold cross-validation over train + val (the mean of K
            scores; each fold its own MLflow run, tagged "fold"); 0: on the carved validation
            split. Default: `recipes.folds.default_folds` (5 folds where the carve holds fewer
            than 30 series, classification), else 0.
        executions_per_trial: Trainings per trial with seeds seed, seed+1, ...; the
            objective is their mean.
        ensemble: The most trials the retrained product averages (`tuning.ensembles`): from
            the best, the trial that lowers the held-out log loss of the average most is added
            while one does. Classification ranked by folds (the supervised recipe) only; 1: the
            best trial alone [default: `SearchConfig.ensemble`].
        seed: Seeds the oracle, the data split and the trainings.
        directory: Where keras-tuner keeps its state and the trials their run folders.
        project: The search's name inside `directory` (default: from models, data, tuner).
        fixed: Knobs to pin (model hyperparameters or training settings): recorded, not searched.
        data_options: Options for the data source (e.g. horizon).
        overwrite: Start over instead of resuming a search of the same project.
        hyperband_factor: Hyperband's reduction factor.
        tracking: Log to MLflow.
        tracking_uri: MLflow store (default MLFLOW_TRACKING_URI, else sqlite:///mlflow.db).
        experiment: MLflow experiment (default "lstm-zoo").
        retrain_best: Retrain the best configuration with `max_epochs` and evaluate it on test.
        register: Register the retrained best's model in the MLflow Model Registry as a new
            version with alias "champion" (earlier versions stay): under this name, or the
            search's project name when True; False: do not.
        progress: A `tuning.progress.Progress` (`PlainProgress`: a line per trial and at each
            quarter of a training's epochs; `RichProgress`: bars on a terminal), or a callable
            given one line per finished trial (default: print).
        role: "chief" or "worker" for keras-tuner's distributed mode (default: from
            KERASTUNER_TUNER_ID / KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT, else one process).
            The chief serves the oracle and records the best; workers run the trials.
        oracle_address: The chief's HOST:PORT (default 127.0.0.1:8000).
        worker_id: A worker's id (default: worker-HOST-PID).
        worker_timeout: Seconds of silence after which a worker (or the chief) counts as lost
            (default 300).
        recipe: "supervised" (a trial is one `recipes.train`) or "semi" (a trial pretrains
            an encoder, then fine-tunes it on `label_fraction` of the labels; the pretext,
            mask ratio, pretraining epochs and the unfreeze schedule are searched too, and
            trials that differ only in fine-tuning share one pretraining). Pin its settings
            as "pretrain.KEY" / "finetune.KEY" in `fixed`. Hyperband does not apply to it.
        label_fraction: Semi recipe: the share of train/val labels kept (stratified by `seed`).
        unlabeled: Semi recipe: the pretraining pool's sources (see `recipes.semi.unlabeled_pool`).
        task: The task searched for (default: the data's). "anomaly" (the default for an
            `anomaly:` address) searches a detector: trials train on the normal windows and
            are ranked by the held-out normal windows' loss; the best is retrained by
            `recipes.anomaly.detect` (threshold, test scores, baselines). Pin its windows as
            "detect.KEY" in `fixed` (e.g. detect.window, detect.mode).

    Returns:
        A `SearchResult`, or for a worker a `WorkerResult`.
    """
    from recipes.device import import_backend

    cfg = search_config({"tuner": tuner, "max_trials": max_trials, "max_epochs": max_epochs, "cv": cv,
                         "objective": objective, "executions_per_trial": executions_per_trial, "ensemble": ensemble,
                         "direction": direction, "seed": seed, "hyperband_factor": hyperband_factor,
                         "recipe": recipe, "label_fraction": label_fraction,
                         "task": task})  # fmt: skip  # one line per bad value, before anything runs
    cluster = distributed.resolve(role, oracle_address, worker_id, worker_timeout)
    request = _request(models, data, cfg, fixed, unlabeled)
    experiment_id = None
    if tracking:
        from recipes.tracking import connect

        _, experiment_id = connect(tracking_uri, experiment)
    import_backend()
    dataset = _load(request, data, data_options)
    k = _fold_count(cv, dataset, request.recipe)
    averaged = request.cfg.ensemble if _can_ensemble(request, dataset, k) else 1  # the most trials averaged
    if (ensemble or 1) > 1 and averaged == 1:
        raise ConfigError(f"ensemble={ensemble} averages trials ranked by folds (--cv 2 or more) in a classification "
                          f"search of the supervised recipe; this one is not: drop --ensemble")  # fmt: skip
    if tuner == "hyperband" and max_epochs is None:  # it sizes its brackets from a number
        max_epochs = _default_epochs(dataset, request.fixed_train, k)
    metric, direction = _objective(request, dataset)
    project = project or _project_name(request, dataset)
    registered_name = _registered_name(register, request, tracking, project)
    project_dir = Path(directory) / project
    if overwrite and project_dir.exists():
        import shutil

        shutil.rmtree(project_dir)
    with contextlib.ExitStack() as owned:  # the chief's parent run, from its creation on
        parent_run_id = None
        if tracking and cluster is not None and cluster.role == "worker":
            parent_run_id = distributed.wait_for_parent(
                lambda: find_run(experiment_id, search_id=project, stage=schema.SEARCH), cluster, project
            )
        elif tracking:
            tags, params = _parent_record(request, dataset, project, (metric, direction), max_epochs, k, fixed,
                                          averaged)  # fmt: skip
            parent_run_id = parent_run(experiment_id, {"search_id": project, "stage": schema.SEARCH},
                                       run_name=f"search {project}", tags=tags, params=params)  # fmt: skip
            owned.enter_context(closing_run(parent_run_id))  # ends with the status the search earns
            _close_orphans(experiment_id, parent_run_id)

        request.recipe.bind(project_dir / "runs", seed)
        hypermodel = ZooHyperModel(request.names, request.fixed_model, request.fixed_train, recipe=request.recipe,
                                   fixed_recipe=request.fixed_recipe, max_epochs=max_epochs,
                                   task=dataset.task)  # fmt: skip
        state = _Search(
            dataset=dataset,
            hypermodel=hypermodel,
            objective=(metric, direction),
            max_epochs=max_epochs,
            executions=executions_per_trial,
            seed=seed,
            tracking=Tracking(enabled=tracking, uri=tracking_uri, experiment=experiment, parent_run_id=parent_run_id),
            runs_dir=project_dir / "runs",
            max_trials=None if tuner == "hyperband" else max_trials,
            progress=as_progress(progress, metric),
            folds=folds.folds(dataset, k, seed) if k else [],
            ensemble=averaged,
            warm_start=tuner == "hyperband",
            register=registered_name,
            cluster=cluster,
        )
        oracle = _oracle(tuner, kt.Objective(metric, direction), models=request.names, max_trials=max_trials,
                         max_epochs=max_epochs, seed=seed, hyperband_factor=hyperband_factor)  # fmt: skip
        if cluster is not None and cluster.role == "worker":
            _prepare_keras_tuner()
            return _work(state, cluster, oracle, Path(directory), project)
        tuner_obj = _run_trials(state, oracle, Path(directory), project)
        return _finish(state, tuner_obj, request.names, dataset, project_dir, retrain_best, data_options)


@dataclass(frozen=True)
class _Request:
    """What a search was asked for, checked before any data is read."""

    cfg: SearchConfig
    task: str | None
    recipe: Supervised
    names: list[str]
    fixed_train: dict[str, Any]
    fixed_model: dict[str, Any]
    fixed_recipe: dict[str, dict[str, Any]]


def _request(models: str | Sequence[str], data: Any, cfg: SearchConfig, fixed: Mapping[str, Any] | None,
             unlabeled: Sequence[str] | str | None) -> _Request:  # fmt: skip
    """The models, the trial recipe and the pinned knobs, refused in one line where they clash."""
    task = cfg.task or task_of(data)
    trial_recipe = get_recipe(cfg.recipe, cfg.label_fraction, unlabeled, task)
    names = resolve_models(models)
    pinned = {**trial_recipe.pins, **dict(fixed or {})}
    fixed_train, fixed_model, fixed_recipe = split_fixed(names, pinned, trial_recipe)
    trial_recipe.check(cfg.tuner, names, fixed_recipe)
    for key in ("epochs", "seed"):
        if key in fixed_train:
            raise ConfigError(f"fixed: {key} is set by the search itself (use max_epochs / seed)")
    if fixed_train.get("ensemble", 1) != 1:
        raise ConfigError("fixed: ensemble trains several models per run and trials train one; the search averages "
                          "its best trials itself (--ensemble K), or retrain the best with seeds: zoo train --config "
                          "best.yaml --ensemble K")  # fmt: skip
    return _Request(cfg, task, trial_recipe, names, fixed_train, fixed_model, fixed_recipe)


def _load(request: _Request, data: Any, data_options: Mapping[str, Any] | None) -> Any:
    """The search's dataset, refused where the task, a searched model or a pinned head option
    does not fit it (once, not in every trial)."""
    import zoo

    dataset = request.recipe.load(data, request.cfg.seed, data_options or {})
    task = request.task
    if task and (request.recipe.task or dataset.task) != task:
        raise ConfigError(f"task {task}: {dataset.name} is a {dataset.task} dataset; give a {task} dataset "
                          f"or drop --task")  # fmt: skip
    for name in request.names:
        spec = zoo.get_spec(name)
        if dataset.task not in spec.tasks or dataset.input_kind not in spec.inputs:
            raise ConfigError(f"{name} cannot take {dataset.name} ({dataset.task}, {dataset.input_kind} inputs)")
    misplaced = sorted(set(request.fixed_model) & set(heads.all_head_names()) - set(heads.head_names(dataset.task)))
    if misplaced:
        raise ConfigError(f"fixed: {', '.join(misplaced)} is an option of another task's head, not of "
                          f"{dataset.name}'s ({dataset.task})")  # fmt: skip
    request.recipe.validate(dataset, request.cfg.seed)
    return dataset


def _objective(request: _Request, dataset: Any) -> tuple[str, str]:
    """The metric trials are ranked by and its direction: the task's unless given."""
    metric, default_direction = get_task(request.recipe.task or dataset.task).objective
    metric = request.cfg.objective or metric
    direction = request.cfg.direction
    if direction is None:
        direction = default_direction if request.cfg.objective is None else ("max" if "accuracy" in metric else "min")
    return metric, direction


def _project_name(request: _Request, dataset: Any) -> str:
    """The search's default name: its models, data, tuner and recipe."""
    data_name = dataset.name.replace(":", "_").replace("/", "_")
    return "-".join([*request.names[:4], data_name, request.cfg.tuner, *request.recipe.project_suffix()])[:100]


def _registered_name(register: bool | str, request: _Request, tracking: bool, project: str) -> str | None:
    """The registered model the retrained best becomes a version of (None: not registered)."""
    if isinstance(register, str) and not request.recipe.registers:
        raise ConfigError(f"register: the {request.recipe.name} recipe's best is a run folder, not an MLflow "
                          "model; drop --register (zoo detect --model RUN scores new data)")  # fmt: skip
    if not (tracking and register and request.recipe.registers):
        return None
    from recipes.model_registry import check_name, name_from

    return name_from(project) if register is True else check_name(register)


def _parent_record(request: _Request, dataset: Any, search_id: str, objective: tuple[str, str],
                   max_epochs: int | None, k: int, fixed: Mapping[str, Any] | None, averaged: int,
                   ) -> tuple[dict[str, str], dict[str, Any]]:  # fmt: skip
    """The search's parent run: its tags and its params (`averaged`: the most trials its product averages)."""
    cfg, (metric, direction), models = request.cfg, objective, ",".join(request.names)
    task = request.recipe.task or dataset.task
    tags = {"stage": schema.SEARCH, "search_id": search_id, "tuner": cfg.tuner, "objective": f"{metric} ({direction})",
            "models": models, "dataset": dataset.name, "task": task, "recipe": request.recipe.name}  # fmt: skip
    params = {
        "tuner": cfg.tuner,
        "models": models,
        "objective": metric,
        "direction": direction,
        "max_trials": cfg.max_trials,
        "max_epochs": max_epochs or "auto",
        "cv": k,
        **({"hyperband_factor": cfg.hyperband_factor} if cfg.tuner == "hyperband" else {}),
        "executions_per_trial": cfg.executions_per_trial,
        "ensemble": averaged,
        "seed": cfg.seed,
        "fixed": json.dumps(dict(fixed or {}), sort_keys=True),
        "dataset": dataset.name,
        **request.recipe.settings(),
    }
    return tags, params


def _prepare_keras_tuner() -> None:
    """keras-tuner as the search runs it: no artifact progress bars, the zoo's fixes applied
    (e.g. a failed trial's traceback goes to its MLflow run, not the terminal)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from tuning import kt_fixes

    kt_fixes.apply()


def _run_trials(state: _Search, oracle: Any, directory: Path, project: str) -> Any:
    """Run the trials, in this process or as a chief serving workers; the keras-tuner tuner."""
    _prepare_keras_tuner()
    tuner_obj = _tuner_class(kt.Tuner)(
        search=state, oracle=oracle, hypermodel=state.hypermodel, directory=str(directory), project_name=project
    )
    if state.cluster is None:
        tuner_obj.search(verbose=0)
    else:
        distributed.serve(tuner_obj, state.cluster, on_trial_end=state.report, on_lost=state.lost,
                          check_failures=check_failures, progress=state.progress.line)  # fmt: skip
    return tuner_obj


def _work(state: _Search, cluster: distributed.Cluster, oracle: Any, directory: Path, project: str) -> WorkerResult:
    """A worker's part: ask the chief for trials and run them until it says stop."""
    import grpc

    with distributed.environment(cluster):
        tuner_obj = _tuner_class(kt.Tuner)(
            search=state, oracle=oracle, hypermodel=state.hypermodel, directory=str(directory), project_name=project
        )
        distributed.pace_idle(tuner_obj.oracle, cluster.heartbeat, state.progress.line)
        state.progress.line(f"{cluster.tuner_id}: asking the chief on {cluster.address} for trials")
        try:
            tuner_obj.search(verbose=0)
        except grpc.RpcError as err:
            code = err.code().name if hasattr(err, "code") else "error"
            raise SearchError(
                f"{cluster.tuner_id}: the chief on {cluster.address} did not answer ({code}) within "
                f"{cluster.timeout:.0f} s: is it running, and is the address reachable from here? "
                f"The {len(state.ran)} trials this worker finished are recorded"
            ) from None
    return WorkerResult(worker_id=cluster.tuner_id, trials=state.ran, parent_run_id=state.parent_run_id)


def ranked(oracle: Any) -> list[Any]:
    """The oracle's completed trials, best first: by the objective, equal objectives by the lower
    mean validation loss of the kept weights (`TIE_BREAK`), then by trial order; and the best
    default config first unless the best trial is `_clearly_better` than it."""
    trials = oracle.get_best_trials(num_trials=len(oracle.trials))  # keras-tuner's order: objective, then first

    def tie_break(trial: Any) -> float:
        value = trial.metrics.get_last_value(TIE_BREAK) if trial.metrics.exists(TIE_BREAK) else None
        return np.inf if value is None or np.isnan(value) else float(value)

    def key(trial: Any) -> tuple[float, float]:
        if trial.score is None:  # keras-tuner keeps such trials last; so does this
            return np.inf, np.inf
        return (-trial.score if oracle.objective.direction == "max" else trial.score), tie_break(trial)

    order = sorted(trials, key=key)
    default = next((t for t in order if _is_default(oracle, t)), None)
    if default is not None and order[0] is not default and not _clearly_better(order[0], default, oracle):
        order.remove(default)
        order.insert(0, default)
    return order


def _is_default(oracle: Any, trial: Any) -> bool:
    """Whether `trial` is a searched model's default config (oracles that try the defaults first)."""
    if trial.score is None or not hasattr(oracle, "default_values"):
        return False
    values = trial.hyperparameters.values
    return values == oracle.default_values(values.get("model"))


def _clearly_better(trial: Any, default: Any, oracle: Any) -> bool:
    """The one-standard-error rule (Breiman et al. 1984; Hastie et al., The Elements of Statistical
    Learning, 7.10): `trial` replaces the best default config only if its mean score beats the
    default's by more than one standard error of their paired per-fold differences. On a few dozen
    series a config that wins by one series is noise; the defaults are what is known to work.
    Without two or more folds or executions there is no spread to judge by: the scores decide."""

    def units(t: Any) -> list[float]:
        names = sorted(
            (n for n in t.metrics.metrics if n.startswith(UNIT_SCORE)), key=lambda n: int(n[len(UNIT_SCORE) :])
        )
        return [t.metrics.get_last_value(n) for n in names]

    a, b = units(trial), units(default)
    if len(a) < 2 or len(a) != len(b):
        return True
    sign = 1.0 if oracle.objective.direction == "max" else -1.0
    diff = sign * (np.asarray(a) - np.asarray(b))
    # One fold better by d and the rest equal sits exactly at one standard error (d / K): not clear.
    return bool(diff.mean() > diff.std(ddof=1) / np.sqrt(len(diff)) + 1e-9)


def _finish(
    state: _Search,
    tuner: Any,
    names: list[str],
    dataset: Any,
    project_dir: Path,
    retrain_best: bool,
    data_options: Mapping[str, Any] | None,
) -> SearchResult:
    """Pick the best trial, retrain it on the full budget, evaluate on test, record it all."""

    from recipes.runconfig import RunConfig

    trials = ranked(tuner.oracle)
    if not trials:
        raise ConfigError("the search finished without a single successful trial; see the FAILED trial runs")
    best = trials[0]
    _say_if_default_kept(state, trials, best, tuner.oracle.objective.direction)
    drawn = state.hypermodel.build(best.hyperparameters.copy())
    settings = {k: v for k, v in drawn["settings"].items() if v is not None}
    settings.update({"epochs": state.max_epochs, "seed": state.seed} if state.max_epochs else {"seed": state.seed})
    config = RunConfig(drawn["model"], dataset.name, dict(data_options or {}), drawn["hparams"], settings)
    recipe = state.hypermodel.recipe
    config = recipe.best_config(config, drawn, state.seed)
    config_path = config.to_yaml(project_dir / "best.yaml")

    test_metrics: dict[str, float] = {}
    best_run_id, model, registered = None, None, None
    chosen = _choose_members(state, trials, best) if retrain_best else None
    if retrain_best:
        members = _retrained_members(state, tuner.oracle, chosen, project_dir) if chosen else None
        result = state.fit(
            drawn,
            epochs=state.max_epochs,
            seed=state.seed,
            runs_dir=project_dir / "runs",
            stage=schema.BEST,
            tags={"trial_id": best.trial_id},
            evaluate=True,
            callbacks=[epoch_callback(f"the best ({drawn['model']}), retrained", state.progress.epoch)],
            members=members,
        )
        test_metrics, best_run_id, model = result.test_metrics, result.run_id, result.model
    if state.tracking.enabled and state.parent_run_id:
        _record_best(state.parent_run_id, best, drawn, test_metrics, best_run_id, config_path, state.objective,
                     recipe, chosen)  # fmt: skip
        if state.register and best_run_id:
            registered = _register(state.register, best_run_id, state.parent_run_id)
    return SearchResult(
        model_name=drawn["model"],
        hparams=drawn["hparams"],
        settings=config.train,
        objective=f"{state.objective[0]} ({state.objective[1]})",
        best_value=float(best.score),
        test_metrics=test_metrics,
        best_trial_id=best.trial_id,
        parent_run_id=state.parent_run_id,
        best_run_id=best_run_id,
        config_path=config_path,
        trials=_listing(state, tuner),
        model=model,
        recipe_settings={scope: drawn[scope] for scope in recipe.scopes},
        registered=registered,
        recipe=recipe.name,
        ensemble=_member_listing(tuner.oracle, chosen),
    )


def _choose_members(state: _Search, trials: list[Any], best: Any) -> ensembles.Selection | None:
    """The trials the search's product averages, the best first (`tuning.ensembles.select` on
    their held-out predictions), said in a progress line; None for the best alone."""
    if state.ensemble < 2:
        return None
    labels = np.concatenate([fold.val.y for fold in state.folds])
    candidates = _candidates(state, trials, best)
    found = ensembles.load({t.trial_id: state.heldout_path(t.trial_id) for t in candidates}, len(labels))
    if len(found) < len(candidates):
        state.progress.line(f"held-out predictions of {len(found)} of {len(candidates)} trials found under "
                            f"{state.runs_dir} (a worker's stay on its own disk): the ensemble is chosen among "
                            "those")  # fmt: skip
    if best.trial_id not in found or len(found) < 2:
        return None
    chosen = ensembles.select(found, labels, lead=best.trial_id, most=state.ensemble)
    if len(chosen.members) < 2:
        state.progress.line(f"no other trial lowers the best's held-out log loss ({chosen.lead_loss:.4f}): "
                            "the best alone, not an ensemble")  # fmt: skip
        return None
    models = {t.trial_id: t.hyperparameters.values.get("model") for t in trials}
    named = ", ".join(f"{models[t]} (trial {t})" for t in chosen.members)
    state.progress.line(
        f"an ensemble of {len(chosen.members)} trials, {named}: held-out log loss "
        f"{chosen.lead_loss:.4f} -> {chosen.loss:.4f}, accuracy {chosen.lead_accuracy:.4f} -> {chosen.accuracy:.4f}"
    )
    return chosen


def _candidates(state: _Search, trials: list[Any], best: Any) -> list[Any]:
    """The finished trials that may join the best, in rank order: under Hyperband only those that
    trained the whole budget (as their members will), one per configuration; on variable-length
    data only models that take the best's kind of input (a fixed-length one is built for the
    padded length, and `zoo.ensemble` needs one input shape)."""
    import zoo

    def kind(trial: Any) -> bool:
        return zoo.get_spec(trial.hyperparameters.values["model"]).variable_length

    out, seen = [], set()
    for trial in trials:
        values = trial.hyperparameters.values
        config = json.dumps({k: v for k, v in values.items() if not k.startswith("tuner/")}, sort_keys=True)
        if trial.score is None or config in seen or values.get("tuner/epochs", state.max_epochs) != state.max_epochs:
            continue
        if state.dataset.variable_length and kind(trial) != kind(best):
            continue
        seen.add(config)
        out.append(trial)
    return out


def _retrained_members(state: _Search, oracle: Any, chosen: ensembles.Selection, project_dir: Path) -> list[Any]:
    """Each chosen trial retrained as the best is (the whole budget, the whole train split), a run
    of stage "member" nested under the search."""
    results = []
    for i, trial_id in enumerate(chosen.members):
        drawn = state.hypermodel.build(oracle.trials[trial_id].hyperparameters.copy())
        shown = f"member {i + 1} of {len(chosen.members)} ({drawn['model']}, trial {trial_id}), retrained"
        results.append(state.fit(drawn, epochs=state.max_epochs, seed=state.seed, runs_dir=project_dir / "runs",
                                 stage=schema.MEMBER, tags={"trial_id": trial_id}, evaluate=False,
                                 callbacks=[epoch_callback(shown, state.progress.epoch)]))  # fmt: skip
    return results


def _member_listing(oracle: Any, chosen: ensembles.Selection | None) -> list[dict[str, str]]:
    """The product's members (the best first): trial id and model; empty for the best alone."""
    if chosen is None:
        return []
    return [{"trial_id": t, "model": oracle.trials[t].hyperparameters.values.get("model")} for t in chosen.members]


def _say_if_default_kept(state: _Search, trials: list[Any], best: Any, direction: str) -> None:
    """A progress line when the one-standard-error rule kept a default config over a higher score."""
    scored = [t for t in trials if t.score is not None]
    top = (max if direction == "max" else min)(scored, key=lambda t: t.score, default=best)
    if best.score is not None and top.score != best.score:
        state.progress.line(
            f"kept {best.hyperparameters.values.get('model')}'s default config ({best.score:.4f}): the best trial "
            f"({top.hyperparameters.values.get('model')}, {top.score:.4f}) beat it by less than one standard error "
            "of their per-fold differences"
        )


def _listing(state: _Search, tuner: Any) -> list[dict[str, Any]]:
    """Every trial: id, status, model, score and its MLflow runs (a chief's, from the store)."""
    runs = state.trial_runs if state.cluster is None else _trial_runs(state.parent_run_id)
    return [
        {
            "trial_id": t.trial_id,
            "status": t.status,
            "model": t.hyperparameters.values.get("model"),
            "score": t.score,
            "runs": runs.get(t.trial_id, []),
        }
        for t in tuner.oracle.trials.values()
    ]


def _register(name: str, run_id: str, parent_run_id: str) -> str:
    """The retrained best registered as a new version of `name` (alias champion); "NAME vN"."""
    from mlflow import MlflowClient

    from recipes.model_registry import register

    version = register(run_id, name)
    registered = f"{version.name} v{version.version}"
    log_batch(MlflowClient(), parent_run_id, tags={"registered_model": registered})
    return registered


def _trial_runs(parent_run_id: str | None) -> dict[str, list[str]]:
    """Trial id -> MLflow run ids, read back from the store (a chief's trials ran elsewhere)."""
    if not parent_run_id:
        return {}
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment_id = client.get_run(parent_run_id).info.experiment_id
    found: dict[str, list[str]] = {}
    for run in client.search_runs(
        [experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}' and tags.stage = '{schema.TRIAL}'"
    ):
        found.setdefault(run.data.tags.get("trial_id", "?"), []).append(run.info.run_id)
    return found


def _record_best(
    parent: str,
    best: Any,
    drawn: dict[str, Any],
    test_metrics: dict[str, float],
    best_run_id: str | None,
    config_path: Path,
    objective: tuple[str, str],
    recipe: Supervised,
    chosen: ensembles.Selection | None = None,
) -> None:
    """The parent run gets the best trial: id, values, objective, test metrics, model (and the
    trials averaged with it, with their held-out scores)."""

    from mlflow import MlflowClient

    client = MlflowClient()
    values = {"best.model": drawn["model"]}
    values.update({f"best.model.{k}": v for k, v in drawn["hparams"].items()})
    values.update({f"best.train.{k}": v for k, v in drawn["settings"].items() if v is not None})
    for scope in recipe.scopes:  # the recipe's own settings
        values.update({f"best.{scope}.{k}": v for k, v in drawn[scope].items()})
    existing = client.get_run(parent).data.params
    params = {k: v for k, v in values.items() if k not in existing}
    metrics = {f"best_{objective[0]}": best.score, **{f"test_{k}": v for k, v in test_metrics.items()}}
    tags = {"best_trial_id": best.trial_id, **({"best_run_id": best_run_id} if best_run_id else {})}
    if chosen is not None:  # the held-out scores that chose the ensemble (optimistic: chosen on them)
        metrics.update({"heldout_log_loss_best": chosen.lead_loss, "heldout_log_loss_ensemble": chosen.loss,
                        "heldout_accuracy_best": chosen.lead_accuracy,
                        "heldout_accuracy_ensemble": chosen.accuracy})  # fmt: skip
        tags["ensemble_trials"] = ",".join(chosen.members)
    log_batch(client, parent, metrics=metrics, params=params, tags=tags)
    client.log_artifact(parent, str(config_path))
    key = f"best_{objective[0]}"
    if best_run_id and key not in client.get_run(best_run_id).data.metrics:
        # Retrained on train + val (a small set), it has no validation score of its own: it ranks
        # beside its trial by the score that chose it.
        log_batch(client, best_run_id, metrics={key: best.score})
    if best_run_id and recipe.registers:
        _link_model(client, best_run_id, parent)


def _link_model(client: Any, source: str, parent: str) -> None:
    """The logged model of run `source` as an output of run `parent` too (the runs table's
    Models column of the search shows it; `models:/MODEL_ID` loads it)."""
    from mlflow.entities import LoggedModelOutput

    outputs = client.get_run(source).outputs
    models = list(outputs.model_outputs) if outputs else []
    if models:
        client.log_outputs(parent, [LoggedModelOutput(m.model_id, step=m.step) for m in models])
