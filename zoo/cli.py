"""The `zoo` command line: the composition root above zoo, recipes and tuning.

Each command imports what it needs when it runs, so `zoo --help`, `zoo list` and
`zoo describe` answer without importing Keras or TensorFlow.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from zoo.errors import ZooError


class _Group(click.Group):
    """Turns the project's own errors into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZooError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(2)


def _console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lstm-zoo", prog_name="zoo")
def cli() -> None:
    """LSTM Zoo: recurrent and hybrid sequence models, picked by name."""


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
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in infos], indent=2))
        return
    if not infos:
        click.echo("no model matches", err=True)
        return
    from rich.table import Table

    table = Table(title=f"{len(infos)} models")
    for col in ("name", "family", "tasks", "inputs", "cuDNN", "summary"):
        table.add_column(col, overflow="fold")
    for i in infos:
        cudnn = "-" if i.cudnn_fast_path is None else ("yes" if i.cudnn_fast_path else "no")
        table.add_row(i.name, i.family, ", ".join(i.tasks), ", ".join(i.inputs), cudnn, i.summary)
    _console().print(table)


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

    console = _console()
    cudnn = {None: "n/a (no recurrent layer)", True: "yes (default config)", False: "no"}[info.cudnn_fast_path]
    console.print(f"[bold]{info.name}[/bold] ({info.family}): {info.summary}")
    console.print(f"reference: {info.reference}")
    console.print(f"tasks: {', '.join(info.tasks)}    inputs: {', '.join(info.inputs)}")
    length = "variable (None allowed)" if info.variable_length else "fixed"
    console.print(
        f"sequence length: {length}, at least {info.min_length}    padding masked: "
        f"{'yes' if info.masking else 'no'}    cuDNN fast path: {cudnn}"
    )
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

    console = _console()
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


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="zoo")


if __name__ == "__main__":
    main()
