"""The `zoo` group: one-line errors with an exit status per kind, and the console."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from zoo.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, ZooError

EXIT_STATUSES = f"""\b
Exit status:
  0    done
  {EXIT_FAILURE}    failed while running (a diverging loss, a lost tracking server, a failed search)
  {EXIT_USAGE}    usage error (bad flag, unknown model or dataset, invalid value, bad config file)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C, SIGTERM): the run is marked KILLED; run the command again to resume
"""


class _Group(click.Group):
    """Turns the project's own errors and bad command lines into one line on stderr and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZooError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(err.exit_code)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as err:  # a bad flag or value: click's own message, on one line
            where = err.ctx.command_path if err.ctx else ctx.command_path
            click.echo(f"error: {err.format_message()} (see '{where} --help')", err=True)
            ctx.exit(EXIT_USAGE)
        except KeyboardInterrupt:  # commands that hold a run say more before they get here
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def make_console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_STATUSES)
@click.version_option(package_name="lstm-zoo", prog_name="zoo")
def cli() -> None:
    """LSTM Zoo: recurrent and hybrid sequence models, picked by name."""
    _recipe_warnings_to_stderr()


class _LevelPrefix(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _recipe_warnings_to_stderr() -> None:
    """The recipes' warnings as 'warning: ...' lines on stderr, whatever else configures logging."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LevelPrefix())
    for name in ("recipes", "tuning", "zoo"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="zoo")
