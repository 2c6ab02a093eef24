"""Options shared by the commands: KEY=VALUE pairs, config files, flags declared from config records."""

from __future__ import annotations

from typing import Any

import click

from zoo.errors import ConfigError


def key_values(pairs: tuple[str, ...], flag: str) -> dict[str, Any]:
    """`("units=32", "cell=gru")` to `{"units": 32, "cell": "gru"}` (values read as YAML scalars)."""
    import yaml

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {pair!r}: expected KEY=VALUE, e.g. {flag} units=32")
        out[key.strip()] = yaml.safe_load(value) if value.strip() else None
    return out


def config_options(cls_path: str, *, prefix: str = "", skip: tuple[str, ...] = ()) -> Any:
    """One --flag per field of a declared config (declared once), e.g. --learning-rate.

    `cls_path` is "module:Class", imported when the CLI is built (the modules are light).
    With `prefix`, flags and parameter names get it (--pretrain-epochs -> pretrain_epochs).
    """
    import importlib

    from zoo.params import Boolean, Choice, Float, Int, params

    module, _, name = cls_path.partition(":")
    cls = getattr(importlib.import_module(module), name)

    def decorate(fn: Any) -> Any:
        for p in reversed(params(cls)):
            if p.name in skip:
                continue
            flag = f"{prefix}{p.name}".replace("_", "-")
            dest = f"{prefix}{p.name}".replace("-", "_")
            doc = p.doc if "[default:" in p.doc else f"{p.doc} [default: {p.default}]"
            if isinstance(p.valid, Boolean):
                fn = click.option(f"--{flag}/--no-{flag}", dest, default=None, help=doc)(fn)
            elif isinstance(p.valid, Choice) and any(isinstance(v, bool) for v in p.valid.values):
                words = {str(v).lower(): v for v in p.valid.values}
                fn = click.option(f"--{flag}", dest, type=click.Choice(list(words)), default=None, help=doc,
                                  callback=lambda _ctx, _p, v, w=words: None if v is None else w[v])(fn)  # fmt: skip
            elif isinstance(p.valid, Choice) and all(isinstance(v, str) for v in p.valid.values):
                fn = click.option(f"--{flag}", dest, type=click.Choice(p.valid.values), default=None, help=doc)(fn)
            elif isinstance(p.valid, Int):
                fn = click.option(f"--{flag}", dest, type=int, default=None, help=doc)(fn)
            elif isinstance(p.valid, (Float, Choice)):
                fn = click.option(f"--{flag}", dest, type=float, default=None, help=doc)(fn)
        return fn

    return decorate


train_options = config_options("recipes.config:TrainConfig")
