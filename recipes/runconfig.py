"""One run's settings as a YAML file: written by a search (`best.yaml`), read by `zoo train
--config` and `zoo semi --config`, with the same record on both sides."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recipes.config import check_keys
from zoo.errors import ConfigError

COMMANDS = {"supervised": "zoo train", "semi": "zoo semi", "detect": "zoo detect"}  # recipe -> what replays it
RECIPES = tuple(COMMANDS)
_MAPPINGS = ("data_options", "hparams", "train", "pretrain", "finetune", "detect")
_OWN = {"semi": ("label_fraction", "unlabeled", "pretrain", "finetune"), "detect": ("detect",)}  # recipe-only keys


@dataclass
class RunConfig:
    """What a run needs to be run again.

    Attributes:
        model, data: The registry name and the dataset address.
        data_options: Options for the dataset (e.g. horizon).
        hparams: Model hyperparameters.
        train: Training settings (`recipes.config.TrainConfig` fields).
        experiment, tracking_uri, run_name: Where the run is tracked.
        recipe: "supervised", or "semi": pretrain an encoder, then fine-tune it on
            `label_fraction` of the labels (`zoo semi`).
        label_fraction, unlabeled: semi: the labelled share and the pretraining pool's
            sources, as `--unlabeled` takes them ("train,unlabeled").
        pretrain, finetune: semi: `PretrainConfig` and `FinetuneConfig` fields.
        detect: "detect" (an anomaly detector, `zoo detect`): `DetectConfig` fields.
    """

    model: str | None = None
    data: str | None = None
    data_options: dict[str, Any] = field(default_factory=dict)
    hparams: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    experiment: str | None = None
    tracking_uri: str | None = None
    run_name: str | None = None
    recipe: str = "supervised"
    label_fraction: float | None = None
    unlabeled: str | None = None
    pretrain: dict[str, Any] = field(default_factory=dict)
    finetune: dict[str, Any] = field(default_factory=dict)
    detect: dict[str, Any] = field(default_factory=dict)

    def to_yaml(self, path: str | os.PathLike) -> Path:
        """Write the settings that are set (in field order) to `path`."""
        import yaml

        doc = {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, {}) and k != "recipe"}
        if self.recipe != "supervised":
            doc = {"recipe": self.recipe, **doc}
        Path(path).write_text(yaml.safe_dump(doc, sort_keys=False))
        return Path(path)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> RunConfig:
        """Read and check a config file: every problem is one line naming the file and the key.

        Raises:
            ConfigError: unreadable, not YAML, not a mapping, an unknown key or recipe.
        """
        import yaml

        where = f"--config {path}"
        try:
            doc = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as err:
            raise ConfigError(f"{where}: cannot read it ({err.strerror})") from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            raise ConfigError(f"{where}: not valid YAML{f' at line {mark.line + 1}' if mark else ''}") from None
        keys = tuple(f.name for f in dataclasses.fields(cls))
        if not isinstance(doc, dict):
            raise ConfigError(f"{where}: expected a mapping of {', '.join(keys)}")
        check_keys(where, doc, keys)
        for key in _MAPPINGS:
            if not isinstance(doc.get(key) or {}, dict):
                raise ConfigError(f"{where}: {key} must be a mapping, got {type(doc[key]).__name__}")
        config = cls(**{k: v for k, v in doc.items() if v is not None})
        if config.recipe not in RECIPES:
            raise ConfigError(f"{where}: recipe {config.recipe!r} must be one of {', '.join(RECIPES)}")
        for key, allowed in _section_keys().items():
            check_keys(f"{where}: {key}", getattr(config, key), allowed)
        for recipe, keys in _OWN.items():
            misplaced = [k for k in keys if doc.get(k)]
            if config.recipe != recipe and misplaced:
                raise ConfigError(f"{where}: {', '.join(misplaced)} belong to the {recipe} recipe; add "
                                  f"'recipe: {recipe}'")  # fmt: skip
        return config

    def expect(self, recipe: str, path: str | os.PathLike | None) -> RunConfig:
        """This config, which `recipe`'s command runs; else one line naming the command that does."""
        if self.recipe != recipe:
            raise ConfigError(f"--config {path} is a {self.recipe} run (recipe: {self.recipe}): run it with "
                              f"{COMMANDS[self.recipe]} --config {path}")  # fmt: skip
        return self


def _section_keys() -> dict[str, tuple[str, ...]]:
    from recipes.anomaly.config import DetectConfig
    from recipes.config import TRAIN_KEYS, FinetuneConfig
    from recipes.pretext import PretrainConfig

    return {
        "train": TRAIN_KEYS,
        "pretrain": tuple(f.name for f in dataclasses.fields(PretrainConfig)),
        "finetune": tuple(f.name for f in dataclasses.fields(FinetuneConfig)),
        "detect": tuple(f.name for f in dataclasses.fields(DetectConfig)),
    }
