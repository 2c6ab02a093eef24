"""`zoo list`, `zoo describe`, `zoo demo`: the registry, without importing Keras (but demo)."""

from __future__ import annotations

import json
import sys

import click

from zoo.errors import EXIT_FAILURE
from zoo_cli.app import cli, make_console


@cli.command("list")
@click.argument("pattern", required=False)
@click.option("--task", help="Only models for this task (classification, regression, forecasting, reconstruction).")
@click.option("--family", help="Only models of this family.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(pattern: str | None, task: str | None, family: str | None, as_json: bool) -> None:
    """List the registered models (PATTERN takes shell wildcards, e.g. '*lstm*')."""
    from zoo.registry import describe, list_models

    names = list_models(pattern, task=task, family=family)
    infos = [describe(n) for n in names]
    if not infos:
        asked = ", ".join(f"{k} {v!r}" for k, v in (("pattern", pattern), ("task", task), ("family", family)) if v)
        click.echo(f"error: no model matches {asked}; 'zoo list' shows them all", err=True)
        sys.exit(EXIT_FAILURE)
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in infos], indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{len(infos)} models")
    for col in ("name", "family", "tasks", "inputs", "cuDNN", "summary"):
        table.add_column(col, overflow="fold")
    for i in infos:
        cudnn = "-" if i.cudnn_fast_path is None else ("yes" if i.cudnn_fast_path else "no")
        table.add_row(i.name, i.family, ", ".join(i.tasks), ", ".join(i.inputs), cudnn, i.summary)
    make_console().print(table)


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def describe(name: str, as_json: bool) -> None:
    """Show a model: what it is, what it takes, its defaults and its search space."""
    from zoo.registry import describe as describe_model

    info = describe_model(name)
    if as_json:
        click.echo(json.dumps(info.as_dict(), indent=2))
        return
    from rich.table import Table

    console = make_console()
    cudnn = {None: "n/a (no recurrent layer)", True: "yes (default config)", False: "no"}[info.cudnn_fast_path]
    console.print(f"[bold]{info.name}[/bold] ({info.family}): {info.summary}")
    console.print(f"reference: {info.reference}")
    console.print(f"tasks: {', '.join(info.tasks)}    inputs: {', '.join(info.inputs)}")
    length = "variable (None allowed)" if info.variable_length else "fixed"
    console.print(
        f"sequence length: {length}, at least {info.min_length}    padding masked: "
        f"{'yes' if info.masking else 'no'}    cuDNN fast path: {cudnn}"
    )
    from recipes.pretext import supported
    from zoo.registry import get_spec

    console.print(f"pretraining (zoo pretrain / zoo semi): {', '.join(supported(get_spec(info.name)))}")
    table = Table(title="hyperparameters")
    for col in ("name", "default", "search space", "doc"):
        table.add_column(col, overflow="fold")
    for pname, p in {**info.search_space, **info.fixed}.items():
        space = p["search"] if p["tune"] else f"not searched; valid: {p['valid']}"
        table.add_row(pname, repr(p["default"]), space, p["doc"])
    console.print(table)


@cli.command()
@click.option("--model", "name", default="cnn_lstm", show_default=True, help="Model to build.")
def demo(name: str) -> None:
    """Show the zoo: build a model for GunPoint-shaped input and print its summary."""
    import zoo
    from recipes.device import import_backend

    import_backend()  # without the backend's start-up chatter

    console = make_console()
    console.print(f"Building {name!r} for series of 150 steps x 1 feature, 2 classes ...")
    model = zoo.build(name, input_shape=(150, 1), task="classification", num_outputs=2)
    model.summary(expand_nested=True, print_fn=lambda line, **_: console.print(line, markup=False))
    encoder = model.get_layer("backbone")
    forecaster = zoo.build(name, input_shape=(150, 1), task="forecasting", num_outputs=1, horizon=12, backbone=encoder)
    console.print(
        f"The same backbone ({encoder.count_params():,} parameters) under a forecasting head: "
        f"output shape {forecaster.output_shape}."
    )
    console.print("Next: `zoo list`, `zoo describe NAME`; the README shows the Python API.")
