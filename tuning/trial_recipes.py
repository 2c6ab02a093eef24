"""What a search trial trains: the recipes a search can run, behind one protocol.

A recipe declares its own settings on the trial's hyperparameters (`declare`), checks its
options and the data before any trial (`check`, `validate`), trains one drawn configuration
(`fit`) and writes the best one as a run config that its command replays (`best_config`).

- `Supervised`: a trial is one `recipes.train` (replayed by `zoo train --config`).
- `Semi`: a trial pretrains an encoder, then fine-tunes it on a share of the labels; the
  pretext, its settings and the unfreeze schedule are searched too, and trials that differ
  only in fine-tuning share one pretraining (replayed by `zoo semi --config`).
- `Detect`: the search of an anomaly detector (`--task anomaly`, an `anomaly:` address): a
  trial trains the detector's model on the normal windows and is ranked by its loss on the
  held-out normal windows (no label is read); the best becomes a detector with its threshold
  (`recipes.anomaly.detect`, replayed by `zoo detect --config`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from recipes.anomaly.config import DEFAULTS
from zoo import heads
from zoo.errors import ConfigError, did_you_mean


class Supervised:
    """A trial is one `recipes.train` call: it trains exactly like `zoo train`."""

    name = "supervised"
    scopes: tuple[str, ...] = ()  # the recipe's own settings, pinned as "SCOPE.KEY"
    chosen_by = "the default"  # how a user picks this recipe
    task: str | None = None  # the task its runs are tagged with (None: the data's)
    registers = True  # its retrained best logs an MLflow model (the Model Registry can take it)
    pins: dict[str, Any] = {}  # hyperparameters and settings it fixes unless the user pins them

    def __init__(self, label_fraction: float = 1.0, unlabeled: Sequence[str] | str | None = None) -> None:
        if isinstance(unlabeled, str):
            unlabeled = [u.strip() for u in unlabeled.split(",") if u.strip()]
        self.label_fraction = label_fraction
        self.unlabeled = list(unlabeled) if unlabeled else None
        self.runs_dir: Path = Path("runs")
        self.seed = 0

    def bind(self, runs_dir: Path, seed: int) -> None:
        """Where the search keeps its run folders, and its seed."""
        self.runs_dir, self.seed = Path(runs_dir), seed

    def check(self, tuner: str, models: list[str], fixed: Mapping[str, dict[str, Any]]) -> None:
        """Refuse options this recipe does not take (one line), before anything runs."""
        if self.label_fraction != 1.0 or self.unlabeled:
            raise ConfigError("label_fraction and unlabeled are settings of the semi recipe (recipe='semi')")

    def load(self, data: Any, seed: int, options: Mapping[str, Any]) -> Any:
        """The search's dataset: `data` itself, or the one its address names."""
        from recipes.data import Dataset, load

        return data if isinstance(data, Dataset) else load(data, seed=seed, **dict(options))

    def validate(self, dataset: Any, seed: int) -> None:
        """Refuse data this recipe cannot use, before the first trial."""

    def declare(self, hp: Any, fixed: Mapping[str, dict[str, Any]], max_epochs: int | None) -> dict[str, Any]:
        """The recipe's own settings declared on `hp`, as drawn: {scope: values}."""
        return {}

    def project_suffix(self) -> list[str]:
        """What the search's project name adds for this recipe."""
        return []

    def settings(self) -> dict[str, Any]:
        """The recipe's options, as the search's id and parent-run params record them."""
        return {"recipe": self.name}

    def fit(self, drawn: dict[str, Any], dataset: Any, tracking: Any, **run: Any) -> Any:
        """Train the drawn configuration once; `recipes.train`'s result.

        Args:
            drawn: The trial's values ("model", "hparams", "settings" and the recipe's scopes).
            dataset: The search's dataset.
            tracking: Where this training is recorded (`recipes.tracking.Tracking`: the
                search's parent run, the trial's folder and tags).
            **run: This training's settings (epochs, seed, select_on, ...), stage, verbose,
                log_model, evaluate, pictures.
        """
        import recipes

        return recipes.train(drawn["model"], dataset, hparams=drawn["hparams"], tracking=tracking, **run)

    def best_config(self, config: Any, drawn: dict[str, Any], seed: int) -> Any:
        """The best trial as a `recipes.runconfig.RunConfig` this recipe's command replays."""
        return config


class Semi(Supervised):
    """A trial pretrains an encoder (shared by trials that differ only in fine-tuning), then
    fine-tunes it on `label_fraction` of the labels."""

    name = "semi"
    scopes = ("pretrain", "finetune")
    chosen_by = "--recipe semi"

    def __init__(self, label_fraction: float = 1.0, unlabeled: Sequence[str] | str | None = None) -> None:
        super().__init__(label_fraction, unlabeled)
        self.pretexts: tuple[str, ...] = ()

    def check(self, tuner: str, models: list[str], fixed: Mapping[str, dict[str, Any]]) -> None:
        from recipes.config import FinetuneConfig, check_keys, finetune_config
        from recipes.pretext import PretrainConfig, pretrain_config
        from zoo.params import params

        if tuner == "hyperband":
            raise ConfigError("tuner hyperband budgets the epochs of one training; a semi trial has two "
                              "(pretraining, fine-tuning): use bayesian, random or grid")  # fmt: skip
        for scope, cls in (("pretrain", PretrainConfig), ("finetune", FinetuneConfig)):
            names = tuple(f"{scope}.{p.name}" for p in params(cls))
            check_keys("fixed", {f"{scope}.{k}": v for k, v in fixed[scope].items()}, names)
        if "seed" in fixed["pretrain"]:
            raise ConfigError("fixed: pretrain.seed is set by the search itself (use seed)")
        pretrain_config(fixed["pretrain"])
        finetune_config(fixed["finetune"])
        self.pretexts = pretexts_for(models, fixed["pretrain"].get("pretext"))

    def validate(self, dataset: Any, seed: int) -> None:
        from recipes import semi

        semi.labelled_subset(dataset, self.label_fraction, seed)  # bad fractions and pools fail now
        if self.unlabeled:
            semi.unlabeled_pool(dataset, self.unlabeled, seed=seed)

    def declare(self, hp: Any, fixed: Mapping[str, dict[str, Any]], max_epochs: int | None) -> dict[str, Any]:
        from recipes.config import FinetuneConfig
        from recipes.pretext import PretrainConfig
        from tuning.space import declare

        with hp.name_scope("pretrain"):
            pre = declare(hp, PretrainConfig, fixed=fixed.get("pretrain"), caps=_caps(["epochs"], max_epochs),
                          choices={"pretext": self.pretexts})  # fmt: skip
        with hp.name_scope("finetune"):
            fine = declare(hp, FinetuneConfig, fixed=fixed.get("finetune"))
        return {"pretrain": pre, "finetune": fine}

    def project_suffix(self) -> list[str]:
        return [f"semi{self.label_fraction:g}"]

    def settings(self) -> dict[str, Any]:
        return {"recipe": self.name, "label_fraction": self.label_fraction,
                "unlabeled": ",".join(self.unlabeled or ["default"])}  # fmt: skip

    def fit(self, drawn: dict[str, Any], dataset: Any, tracking: Any, **run: Any) -> Any:
        from recipes import semi

        seed, verbose = run.pop("seed"), run.pop("verbose", 0)
        flags = {k: run.pop(k) for k in ("stage", "log_model", "evaluate", "pictures")}
        # Trials that differ only in fine-tuning share one pretraining (same folder, reused).
        shared = tracking.under(runs_dir=self.runs_dir / "pretrain",
                                tags={k: v for k, v in tracking.tags.items() if k != "execution"})  # fmt: skip
        pre = semi.pretrain(drawn["model"], dataset, hparams=drawn["hparams"], unlabeled=self.unlabeled,
                            tracking=shared, reuse=True, verbose=verbose, **drawn["pretrain"],
                            seed=self.seed)  # fmt: skip
        tuned = tracking.under(tags={**tracking.tags, "pretrain_run": pre.run_id or ""})
        head = {k: v for k, v in drawn["hparams"].items() if k in heads.all_head_names()}  # the new head's options
        result = semi.finetune(drawn["model"], dataset, pre, fraction=self.label_fraction, seed=seed, tracking=tuned,
                               hparams=head, verbose=verbose, **flags, **drawn["finetune"], **run)  # fmt: skip
        if result.run_id and not result.tracking_lost:
            _log_drawn(result.run_id, drawn, self.scopes)
        return result

    def best_config(self, config: Any, drawn: dict[str, Any], seed: int) -> Any:
        # Its epochs, where the search gave some, stay: the budget the fine-tuning phases share out.
        unlabeled = ",".join(self.unlabeled) if self.unlabeled else None
        return dataclasses.replace(config, recipe=self.name, label_fraction=self.label_fraction,
                                   unlabeled=unlabeled, pretrain={**drawn["pretrain"], "seed": seed},
                                   finetune=drawn["finetune"])  # fmt: skip


class Detect(Supervised):
    """A trial trains an anomaly detector's model on the normal data's windows, ranked by its
    loss on the held-out normal windows; the retrained best is a whole detector."""

    name = "detect"
    scopes = ("detect",)
    chosen_by = "--task anomaly, or an anomaly: address"
    task = "anomaly"
    registers = False  # a detector is its model, windows, normalisation and threshold: a run folder
    pins = DEFAULTS  # a detector's model and training defaults (window_norm none, loss mse)

    def __init__(self, label_fraction: float = 1.0, unlabeled: Sequence[str] | str | None = None) -> None:
        super().__init__(label_fraction, unlabeled)
        self.config: Any = None
        self.data: Any = None  # the AnomalyData the windows come from
        self.options: dict[str, Any] = {}  # how the windows were cut, logged as data options

    def check(self, tuner: str, models: list[str], fixed: Mapping[str, dict[str, Any]]) -> None:
        from recipes.anomaly.config import DetectConfig, detect_config
        from recipes.config import check_keys
        from zoo.params import params

        super().check(tuner, models, fixed)
        check_keys("fixed", {f"detect.{k}": v for k, v in fixed["detect"].items()},
                   tuple(f"detect.{p.name}" for p in params(DetectConfig)))  # fmt: skip
        self.config = detect_config(fixed["detect"])

    def load(self, data: Any, seed: int, options: Mapping[str, Any]) -> Any:
        """The normal windows every trial trains on (`recipes.anomaly.detection.normal_windows`)."""
        from recipes.anomaly.detection import normal_windows
        from recipes.data.anomaly import load_anomaly

        self.data = load_anomaly(data, **dict(options)) if isinstance(data, str) else data
        windows = normal_windows(self.data, self.config, seed)
        self.options = windows.options
        resolved = {
            "window": windows.lookback,
            **({"horizon": windows.horizon} if self.config.mode == "forecast" else {}),
        }
        self.config = dataclasses.replace(self.config, **resolved)  # the best's config replays the same windows
        return windows.dataset

    def declare(self, hp: Any, fixed: Mapping[str, dict[str, Any]], max_epochs: int | None) -> dict[str, Any]:
        """The windows and threshold rule are the search's, the same in every trial (losses on
        other windows could not be compared): recorded, not searched."""
        return {"detect": {k: v for k, v in dataclasses.asdict(self.config).items() if v is not None}}

    def project_suffix(self) -> list[str]:
        return [self.config.mode]

    def settings(self) -> dict[str, Any]:
        return {"recipe": self.name, **{f"detect.{k}": v for k, v in dataclasses.asdict(self.config).items()}}

    def fit(self, drawn: dict[str, Any], dataset: Any, tracking: Any, **run: Any) -> Any:
        """A trial: `recipes.train` on the windows. The retrained best (stage "best"): `detect`,
        which also fits the threshold, scores the test part and logs the baselines beside it."""
        import recipes
        from recipes import schema
        from recipes.anomaly import detect

        tracking = tracking.under(tags={**tracking.tags, schema.TASK: self.task})
        if run["stage"] != schema.BEST:
            return recipes.train(drawn["model"], dataset, hparams=drawn["hparams"], data_options=self.options,
                                 tracking=tracking, **{**run, "log_model": False, "pictures": False})  # fmt: skip
        for key in ("log_model", "evaluate", "pictures"):
            run.pop(key)
        return detect(drawn["model"], self.data, config=self.config, hparams=drawn["hparams"], tracking=tracking,
                      baselines=True, **run)  # fmt: skip

    def best_config(self, config: Any, drawn: dict[str, Any], seed: int) -> Any:
        return dataclasses.replace(config, recipe=self.name, detect=drawn["detect"])


RECIPES: dict[str, type[Supervised]] = {"supervised": Supervised, "semi": Semi, "detect": Detect}


def get_recipe(
    name: str, label_fraction: float = 1.0, unlabeled: Sequence[str] | str | None = None, task: str | None = None
) -> Supervised:
    """The recipe called `name` (for task "anomaly": the detect recipe), with its options; a
    one-line ConfigError for an unknown name or a recipe the task does not take."""
    if task == Detect.task:
        if name not in ("supervised", Detect.name):
            raise ConfigError(f"recipe {name}: an anomaly detector learns from normal data alone; drop --recipe")
        name = Detect.name
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}{did_you_mean(name, RECIPES)}; valid: {', '.join(RECIPES)}")
    return RECIPES[name](label_fraction, unlabeled)


def task_of(data: Any) -> str | None:
    """The task an address or a data record implies on its own: "anomaly" for `anomaly:` data."""
    from recipes.data.anomaly import AnomalyData

    if isinstance(data, AnomalyData) or (isinstance(data, str) and data.strip().lower().startswith("anomaly:")):
        return Detect.task
    return None


def pretexts_for(models: list[str], pinned: str | None = None) -> tuple[str, ...]:
    """The pretexts every searched model can be pretrained with (the semi recipe searches them).

    Raises:
        ConfigError: no pretext fits all the models, or a pinned one does not fit one of them.
    """
    import zoo
    from recipes import pretext as px

    if pinned is not None:
        for name in models:
            px.check(zoo.get_spec(name), pinned)
        return (pinned,)
    common = [p for p in px.PRETEXTS if all(p in px.supported(zoo.get_spec(name)) for name in models)]
    if not common:
        raise ConfigError(f"no pretext fits all of {', '.join(models)}; search them separately")
    return tuple(common)


def _caps(names: Sequence[str], max_epochs: int | None) -> dict[str, int]:
    """The search's `max_epochs` as the cap of these epoch knobs (none when it has no number)."""
    return {name: max_epochs for name in names} if max_epochs else {}


def _log_drawn(run_id: str, drawn: dict[str, Any], scopes: Sequence[str]) -> None:
    """The drawn values on a trial's run, beside what the run logged itself."""
    from mlflow import MlflowClient

    from recipes.tracking import log_batch

    client = MlflowClient()
    logged = client.get_run(run_id).data.params
    values = {f"model.{k}": v for k, v in drawn["hparams"].items()}
    values.update({f"{scope}.{k}": v for scope in scopes for k, v in drawn[scope].items()})
    log_batch(client, run_id, params={k: v for k, v in values.items() if k not in logged})
