"""The `zoo` command line: the composition root above zoo, recipes and tuning.

Each command imports what it needs when it runs, so `zoo --help`, `zoo list` and
`zoo describe` answer without importing Keras or TensorFlow.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from zoo.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, ConfigError, ZooError

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


def _console() -> Any:
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


def _key_values(pairs: tuple[str, ...], flag: str) -> dict[str, Any]:
    """`("units=32", "cell=gru")` to `{"units": 32, "cell": "gru"}` (values read as YAML scalars)."""
    import yaml

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {pair!r}: expected KEY=VALUE, e.g. {flag} units=32")
        out[key.strip()] = yaml.safe_load(value) if value.strip() else None
    return out


CONFIG_KEYS = ("model", "data", "data_options", "hparams", "train", "experiment", "tracking_uri", "run_name")


def _read_config(path: str) -> dict[str, Any]:
    """A run's YAML config, validated: an unknown key is an error naming it."""
    import yaml

    from recipes.config import TRAIN_KEYS, check_keys

    try:
        with open(path) as f:
            doc = yaml.safe_load(f) or {}
    except OSError as err:
        raise ConfigError(f"--config {path}: cannot read it ({err.strerror})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"--config {path}: not valid YAML{where}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"--config {path}: expected a mapping of {', '.join(CONFIG_KEYS)}")
    check_keys(f"--config {path}", doc, CONFIG_KEYS)
    for key in ("data_options", "hparams", "train"):
        if not isinstance(doc.get(key) or {}, dict):
            raise ConfigError(f"--config {path}: {key} must be a mapping, got {type(doc[key]).__name__}")
    check_keys(f"--config {path}: train", doc.get("train") or {}, TRAIN_KEYS)
    return doc


def _config_options(cls_path: str, *, prefix: str = "", skip: tuple[str, ...] = ()) -> Any:
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
            doc = f"{p.doc} [default: {p.default}]"
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


_train_options = _config_options("recipes.config:TrainConfig")


@cli.command()
@click.argument("model", required=False)
@click.option(
    "--data", help="Dataset address: ucr:GunPoint, forecast:airline, text:rotten_tomatoes, tfds:NAME, file:PATH."
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML run config; flags override it.")
@click.option("--hp", "hp_pairs", multiple=True, metavar="KEY=VALUE", help="Model hyperparameter (repeatable).")
@click.option(
    "--data-option", "-o", "data_pairs", multiple=True, metavar="KEY=VALUE", help="Data option, e.g. horizon=12."
)
@_train_options
@click.option("--tracking-uri", help="MLflow store [default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db].")
@click.option("--experiment", help="MLflow experiment [default: lstm-zoo].")
@click.option("--run-name", help="MLflow run name [default: 'MODEL on DATA'].")
@click.option("--runs-dir", type=click.Path(file_okay=False), help="Local run folders [default: ./runs].")
@click.option("--fresh", is_flag=True, help="Start over instead of resuming a killed run of the same settings.")
@click.option("--no-tracking", is_flag=True, help="Do not log to MLflow (local files only).")
@click.option("--backbone", "backbone_ref", metavar="PATH|URI",
              help="Start from a pretrained encoder: encoder.keras, a run folder, or runs:/<id>/encoder.")  # fmt: skip
@click.option(
    "--freeze-backbone", is_flag=True, help="Keep the encoder frozen for --epochs (then see --unfreeze-epochs)."
)
@click.option("--unfreeze-epochs", type=int, default=0, show_default=True,
              help="After the frozen epochs, train everything this many epochs more.")  # fmt: skip
@click.option("--unfreeze-lr-factor", type=float, default=0.1, show_default=True,
              help="Learning-rate factor once unfrozen.")  # fmt: skip
def train(
    model: str | None,
    data: str | None,
    config_path: str | None,
    hp_pairs: tuple[str, ...],
    data_pairs: tuple[str, ...],
    tracking_uri: str | None,
    experiment: str | None,
    run_name: str | None,
    runs_dir: str | None,
    fresh: bool,
    no_tracking: bool,
    backbone_ref: str | None,
    freeze_backbone: bool,
    unfreeze_epochs: int,
    unfreeze_lr_factor: float,
    **settings: Any,
) -> None:
    """Train MODEL on a dataset, evaluate it on test, and track the run in MLflow.

    Running the same command again after an interruption resumes from the last finished epoch.

    \b
    Examples:
      zoo train lstm_fcn --data ucr:GunPoint --epochs 50
      zoo train gru --data forecast:airline -o horizon=12 --hp units=32
      zoo train --config run.yaml --seed 1
      zoo train lstm_fcn --data ucr:GunPoint --backbone runs:/RUN_ID/encoder --freeze-backbone \\
          --epochs 30 --unfreeze-epochs 70
    """
    import os
    import signal

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    doc = _read_config(config_path) if config_path else {}
    model = model or doc.get("model")
    data = data or doc.get("data")
    if not model or not data:
        raise ConfigError("zoo train needs a MODEL and --data (on the command line or in --config)")
    hparams = {**(doc.get("hparams") or {}), **_key_values(hp_pairs, "--hp")}
    data_options = {**(doc.get("data_options") or {}), **_key_values(data_pairs, "--data-option")}
    train_settings = {**(doc.get("train") or {}), **{k: v for k, v in settings.items() if v is not None}}

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from recipes import train as run_training

    backbone = None
    if backbone_ref:
        from recipes.semi import check_encoder, load_encoder

        if hparams:
            raise ConfigError("--hp: a pretrained backbone keeps its own hyperparameters; drop --hp")
        backbone, meta = load_encoder(backbone_ref, tracking_uri=None if no_tracking else tracking_uri)
        check_encoder(model, meta)
    elif freeze_backbone or unfreeze_epochs:
        raise ConfigError("--freeze-backbone / --unfreeze-epochs need --backbone PATH|runs:/<id>/encoder")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    console = _console()
    try:
        result = run_training(
            model,
            data,
            backbone=backbone,
            freeze_backbone=freeze_backbone,
            unfreeze_epochs=unfreeze_epochs,
            unfreeze_lr_factor=unfreeze_lr_factor,
            hparams=hparams,
            data_options=data_options,
            tracking=not no_tracking,
            tracking_uri=tracking_uri or doc.get("tracking_uri"),
            experiment=experiment or doc.get("experiment"),
            run_name=run_name or doc.get("run_name"),
            runs_dir=runs_dir,
            resume=not fresh,
            verbose=1 if sys.stdout.isatty() else 2,
            **train_settings,
        )
    except KeyboardInterrupt:
        click.echo("interrupted: the MLflow run is marked KILLED; run the same command again to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    _report(console, result)


def _split_list(text: str | None, flag: str, kind: type) -> list[Any]:
    """ "0.05,0.1" -> [0.05, 0.1], with a one-line error naming the flag."""
    if text is None:
        return []
    try:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: expected a comma-separated list of {kind.__name__}s") from None


def _common_semi(fn: Any) -> Any:
    """Options `zoo pretrain` and `zoo semi` share: data, model, pool, tracking."""
    for option in reversed(
        [
            click.argument("model"),
            click.option("--data", required=True, help="Dataset address, as for zoo train."),
            click.option("--hp", "hp_pairs", multiple=True, metavar="KEY=VALUE", help="Model hyperparameter."),
            click.option(
                "--unlabeled",
                help="Pool sources, comma-separated: train, unlabeled, or dataset addresses "
                "[default: train, plus the dataset's own unlabeled pool].",
            ),
            click.option("--transductive", is_flag=True, help="Also pretrain on the test inputs (never labels)."),
            click.option(
                "--tracking-uri", help="MLflow store [default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db]."
            ),
            click.option("--experiment", help="MLflow experiment [default: lstm-zoo]."),
            click.option("--runs-dir", type=click.Path(file_okay=False), help="Local run folders [default: ./runs]."),
        ]
    ):
        fn = option(fn)
    return fn


@cli.command()
@_common_semi
@_config_options("recipes.pretext:PretrainConfig")
@click.option("--no-tracking", is_flag=True, help="Do not log to MLflow (local files only).")
def pretrain(
    model: str,
    data: str,
    hp_pairs: tuple[str, ...],
    unlabeled: str | None,
    transductive: bool,
    tracking_uri: str | None,
    experiment: str | None,
    runs_dir: str | None,
    no_tracking: bool,
    **settings: Any,
) -> None:
    """Pretrain MODEL's encoder on unlabeled sequences (masked, autoencode or next_step pretext).

    \b
    Examples:
      zoo pretrain lstm_fcn --data ucr:GunPoint --pretext masked --epochs 100
      zoo pretrain lstm --data text:rotten_tomatoes --pretext next_step --unlabeled train,unlabeled
      zoo train lstm_fcn --data ucr:GunPoint --backbone runs:/RUN_ID/encoder --freeze-backbone
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from recipes.semi import pretrain as run_pretraining

    result = run_pretraining(
        model,
        data,
        hparams=_key_values(hp_pairs, "--hp"),
        unlabeled=unlabeled,
        transductive=transductive,
        tracking=not no_tracking,
        tracking_uri=tracking_uri,
        experiment=experiment,
        runs_dir=runs_dir,
        verbose=1 if sys.stdout.isatty() else 2,
        **{k: v for k, v in settings.items() if v is not None},
    )
    console = _console()
    losses = result.history.get("loss", [])
    sources = ", ".join(f"{k} {v}" for k, v in result.pool["sources"].items())
    console.print(f"pretrained {model} on {result.pool['n']} unlabeled examples ({sources}): {len(losses)} epochs, "
                  f"{result.seconds:.0f} s, final loss {losses[-1]:.4f}")  # fmt: skip
    console.print(
        f"encoder: {result.encoder_path}" + (f"  (MLflow: {result.encoder_uri})" if result.encoder_uri else "")
    )
    ref = result.encoder_uri or result.encoder_path
    console.print(f"fine-tune it: zoo train {model} --data {data} --backbone {ref} --freeze-backbone --epochs 30 "
                  "--unfreeze-epochs 70")  # fmt: skip


@cli.command()
@_common_semi
@click.option("--fractions", default="0.05,0.1,0.25,1", show_default=True, help="Labelled fractions, in (0, 1].")
@click.option("--seeds", default="0,1,2", show_default=True, help="Seeds (subsets and trainings).")
@_config_options("recipes.pretext:PretrainConfig", prefix="pretrain_", skip=("pretext", "seed"))
@click.option("--pretext", type=click.Choice(["masked", "autoencode", "next_step"]), default="masked",
              show_default=True, help="Pretext objective.")  # fmt: skip
@_config_options("recipes.config:FinetuneConfig")
@click.option("--learning-rate", type=float, help="Both arms' learning rate [default: 0.001].")
@click.option("--batch-size", type=int, help="Both arms' batch size [default: 32].")
@click.option("--patience", type=int, help="Both arms' early-stopping patience [default: 20].")
def semi(
    model: str,
    data: str,
    hp_pairs: tuple[str, ...],
    unlabeled: str | None,
    transductive: bool,
    tracking_uri: str | None,
    experiment: str | None,
    runs_dir: str | None,
    fractions: str,
    seeds: str,
    pretext: str,
    learning_rate: float | None,
    batch_size: int | None,
    patience: int | None,
    **settings: Any,
) -> None:
    """Pretrain an encoder, then compare fine-tuning it with training from scratch on few labels.

    For each labelled fraction and seed, the same stratified subset trains both arms; both
    are evaluated on the untouched test split. One MLflow parent run gets the picture and
    the table; the same command after an interruption skips what finished.

    \b
    Examples:
      zoo semi lstm_fcn --data ucr:GunPoint --pretext masked --fractions 0.05,0.1,0.25,1
      zoo semi gru --data ucr:ItalyPowerDemand --pretext next_step --seeds 0,1,2
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from recipes.semi import sweep, table_markdown

    pre = {k[len("pretrain_") :]: v for k, v in settings.items() if k.startswith("pretrain_") and v is not None}
    fine = {k: v for k, v in settings.items() if not k.startswith("pretrain_") and v is not None}
    console = _console()
    import signal

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        result = sweep(
            model,
            data,
            fractions=_split_list(fractions, "--fractions", float),
            seeds=_split_list(seeds, "--seeds", int),
            hparams=_key_values(hp_pairs, "--hp"),
            unlabeled=unlabeled,
            transductive=transductive,
            pretrain_settings={"pretext": pretext, **pre},
            finetune_settings=fine,
            train_settings={"learning_rate": learning_rate, "batch_size": batch_size, "patience": patience},
            tracking_uri=tracking_uri,
            experiment=experiment,
            runs_dir=runs_dir,
            progress=lambda line: console.print(line, markup=False),
        )
    except KeyboardInterrupt:
        click.echo("interrupted: run the same command again to resume the sweep", err=True)
        sys.exit(EXIT_INTERRUPTED)
    console.print(table_markdown(result.table, result.metric), markup=False)
    console.print(f"picture: {result.plot_path}\ntable: {result.table_path}")
    if result.parent_run_id:
        console.print(f"MLflow sweep run {result.parent_run_id}; zoo compare --parent {result.parent_run_id}")


def _report(console: Any, result: Any) -> None:
    from rich.table import Table

    from recipes.tracking import resolve_uri

    ds = result.dataset
    resumed = f", resumed at epoch {result.resumed_from + 1}" if result.resumed_from else ""
    table = Table(title=f"{result.model.name} on {ds.name}: test split ({len(ds.test)} examples)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.test_metrics.items():
        table.add_row(key, f"{value:.4f}")
    console.print(table)
    console.print(f"{result.epochs} epochs{resumed}, {result.seconds:.1f} s; files in {result.run_dir}")
    if result.run_id and not result.tracking_lost:
        uri = resolve_uri()
        console.print(f"MLflow run {result.run_id} in {uri}")
        if uri.startswith("sqlite:"):
            console.print(f"open it with: mlflow ui --backend-store-uri {uri}")
    elif result.tracking_lost:
        click.echo(
            f"warning: the MLflow store was lost during the run ({result.tracking_lost}); the trained model, "
            f"metrics and plots are kept in {result.run_dir}",
            err=True,
        )


@cli.command()
@click.option("--models", required=True, help="Models to search: a name, a list (lstm,gru,cnn_lstm) or a pattern.")
@click.option("--data", required=True, help="Dataset address, as for zoo train.")
@click.option("--tuner", type=click.Choice(["hyperband", "bayesian", "random", "grid"]), default="bayesian",
              show_default=True, help="keras-tuner oracle.")  # fmt: skip
@click.option("--max-trials", type=int, default=10, show_default=True, help="Trials (bayesian, random, grid).")
@click.option("--max-epochs", type=int, default=30, show_default=True, help="Epochs per trial (Hyperband: the most).")
@click.option("--executions-per-trial", type=int, default=1, show_default=True, help="Trainings per trial (seeds).")
@click.option("--objective", help="Validation metric to optimise [default: val_accuracy or val_loss].")
@click.option("--direction", type=click.Choice(["max", "min"]), help="Objective direction [default: by metric].")
@click.option("--fixed", "fixed_pairs", multiple=True, metavar="KEY=VALUE", help="Pin a knob (repeatable).")
@click.option("--data-option", "-o", "data_pairs", multiple=True, metavar="KEY=VALUE", help="Data option.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the oracle, split and trainings.")
@click.option("--directory", default="tuning_runs", show_default=True, help="keras-tuner state and trial folders.")
@click.option("--project", help="Search name [default: from models, data and tuner].")
@click.option("--overwrite", is_flag=True, help="Start over instead of resuming the same search.")
@click.option("--tracking-uri", help="MLflow store [default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db].")
@click.option("--experiment", help="MLflow experiment [default: lstm-zoo].")
@click.option("--compare/--no-compare", "then_compare", default=True, show_default=True,
              help="End with the leaderboard and pictures of the search's runs (zoo compare --parent).")  # fmt: skip
@click.option("--role", type=click.Choice(["chief", "worker"]),
              help="Distributed search: the chief serves the oracle and records the best, workers run trials "
                   "[default: $KERASTUNER_TUNER_ID, else one process].")  # fmt: skip
@click.option("--oracle-address", metavar="HOST:PORT",
              help="Where the chief listens / workers connect [default: $KERASTUNER_ORACLE_IP:PORT, else "
                   "127.0.0.1:8000].")  # fmt: skip
@click.option("--worker-id", help="A worker's name [default: worker-HOSTNAME-PID].")
@click.option("--worker-timeout", type=float, metavar="SECONDS",
              help="Silence after which a worker, or the chief, counts as lost [default: 300].")  # fmt: skip
@click.option("--recipe", type=click.Choice(["supervised", "semi"]), default="supervised", show_default=True,
              help="semi: each trial pretrains an encoder and fine-tunes it on --label-fraction of the labels; "
                   "pretext, mask ratio, pretraining epochs and unfreeze schedule are searched too "
                   "(pin them with --fixed pretrain.KEY=V / finetune.KEY=V).")  # fmt: skip
@click.option("--label-fraction", type=float, default=1.0, show_default=True,
              help="semi: share of the train/val labels kept, in (0, 1].")  # fmt: skip
@click.option("--unlabeled", help="semi: pretraining pool sources, as for zoo pretrain.")
def tune(
    models: str,
    data: str,
    tuner: str,
    max_trials: int,
    max_epochs: int,
    executions_per_trial: int,
    objective: str | None,
    direction: str | None,
    fixed_pairs: tuple[str, ...],
    data_pairs: tuple[str, ...],
    seed: int,
    directory: str,
    project: str | None,
    overwrite: bool,
    tracking_uri: str | None,
    experiment: str | None,
    then_compare: bool,
    role: str | None,
    oracle_address: str | None,
    worker_id: str | None,
    worker_timeout: float | None,
    recipe: str,
    label_fraction: float,
    unlabeled: str | None,
) -> None:
    """Search models' hyperparameters with keras-tuner; every trial is an MLflow run.

    Run the same command again after an interruption and the search resumes. With --role,
    one chief and any number of workers (on this or other machines, one MLflow server)
    share the search.

    \b
    Examples:
      zoo tune --models lstm,gru,cnn_lstm,attention_lstm --data ucr:GunPoint --max-trials 12
      zoo tune --models lstm_fcn --data ucr:ArrowHead --tuner hyperband --max-epochs 60
      zoo tune --models lstm,gru --data ucr:GunPoint --role chief --oracle-address 0.0.0.0:8000
      zoo tune --models lstm,gru --data ucr:GunPoint --role worker --oracle-address chief-host:8000
      zoo tune --models lstm --data ucr:GunPoint --recipe semi --label-fraction 0.1 --tuner random
    """
    import os
    import signal

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    fixed = _key_values(fixed_pairs, "--fixed")
    data_options = _key_values(data_pairs, "--data-option")
    from recipes.device import import_backend

    import_backend()
    import tuning

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    console = _console()
    try:
        result = tuning.search(
            models,
            data,
            tuner=tuner,
            objective=objective,
            direction=direction,
            max_trials=max_trials,
            max_epochs=max_epochs,
            executions_per_trial=executions_per_trial,
            seed=seed,
            directory=directory,
            project=project,
            fixed=fixed,
            data_options=data_options,
            overwrite=overwrite,
            tracking_uri=tracking_uri,
            experiment=experiment,
            progress=lambda line: console.print(line, markup=False),
            role=role,
            oracle_address=oracle_address,
            worker_id=worker_id,
            worker_timeout=worker_timeout,
            recipe=recipe,
            label_fraction=label_fraction,
            unlabeled=unlabeled,
        )
    except KeyboardInterrupt:
        click.echo("interrupted: run the same command again to resume the search", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if isinstance(result, tuning.WorkerResult):
        done = sum(t["score"] is not None for t in result.trials)
        console.print(f"{result.worker_id}: the search is over; this worker ran {len(result.trials)} trials "
                      f"({done} finished). The chief retrains and records the best.")  # fmt: skip
        return
    from rich.table import Table

    table = Table(title=f"best of {len(result.trials)} trials: {result.model_name} ({result.objective} "
                        f"{result.best_value:.4f})")  # fmt: skip
    table.add_column("hyperparameter")
    table.add_column("value", justify="right")
    scoped = {f"{scope}.{k}": v for scope, values in result.recipe_settings.items() for k, v in values.items()}
    for key, value in {**result.hparams, **result.settings, **scoped}.items():
        table.add_row(key, str(value))
    for key, value in result.test_metrics.items():
        table.add_row(f"test {key}", f"{value:.4f}")
    console.print(table)
    if result.recipe_settings:
        console.print(f"best settings: {result.config_path} (zoo pretrain, then zoo train --backbone, with them)")
    else:
        console.print(f"reproduce it: zoo train --config {result.config_path}")
    if result.parent_run_id:
        from recipes.tracking import resolve_uri

        uri = resolve_uri(tracking_uri)
        console.print(f"MLflow search run {result.parent_run_id} in {uri}")
        if uri.startswith("sqlite:"):
            console.print(f"open it with: mlflow ui --backend-store-uri {uri}")
    if then_compare and result.parent_run_id:
        from recipes.compare import compare as run_comparison

        console.print(f"\n[bold]All trials of the search[/bold] (zoo compare --parent {result.parent_run_id}):")
        comparison = run_comparison(
            parent_run_id=result.parent_run_id,
            tracking_uri=tracking_uri,
            out_dir=Path(directory) / result.config_path.parent.name / "compare",
            include_trials=True,
        )
        _show_comparison(console, comparison)


@cli.command()
@click.option("--model", "name", default="cnn_lstm", show_default=True, help="Model to build.")
def demo(name: str) -> None:
    """Show the zoo: build a model for GunPoint-shaped input and print its summary."""
    import zoo
    from recipes.device import import_backend

    import_backend()  # without the backend's start-up chatter

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


@cli.command()
@click.option("--experiment", help="MLflow experiment to compare [default: $MLFLOW_EXPERIMENT_NAME, else lstm-zoo].")
@click.option("--parent", "parent_run_id", metavar="RUN_ID", help="Compare the child runs of this run (a search's).")
@click.option("--metric", help="Rank by: macro_f1, test_rmse, val_loss, NAME:max|min ... [default: the test metric].")
@click.option("--baselines", is_flag=True, help="Compute and log baselines for each dataset and seed (once).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output folder [default: ./compare/NAME].")
@click.option("--tracking-uri", help="MLflow store [default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db].")
@click.option("--top", type=click.IntRange(1, 20), default=5, show_default=True, help="Runs per dataset in the curves.")
def compare(
    experiment: str | None,
    parent_run_id: str | None,
    metric: str | None,
    baselines: bool,
    out_dir: str | None,
    tracking_uri: str | None,
    top: int,
) -> None:
    """Compare tracked runs: a leaderboard (mean ± std over seeds), pictures and one report.

    The pictures, report.md and report.html (one self-contained file) go to --out and are
    logged as a comparison run (stage=compare) in the same experiment.

    \b
    Examples:
      zoo compare --experiment gunpoint
      zoo compare --experiment gunpoint --baselines --metric macro_f1
      zoo compare --parent RUN_ID --top 10
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from recipes.compare import compare as run_comparison

    console = _console()
    result = run_comparison(
        experiment,
        parent_run_id=parent_run_id,
        metric=metric,
        baselines=baselines,
        out_dir=out_dir,
        tracking_uri=tracking_uri,
        top=top,
    )

    _show_comparison(console, result)


def _show_comparison(console: Any, result: Any) -> None:
    """Notes, the leaderboard tables, and where the pictures and report are."""
    from recipes.compare import print_leaderboard

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False)

    for note in result.notes:
        say(note)
    print_leaderboard(console, result.board)
    report = result.report
    say(f"files in {report.out_dir}/: {', '.join(report.files)}")
    if report.run_id:
        say(f"comparison run {report.run_id} in experiment '{result.runs.attrs['experiment']}' ({report.tracking_uri})")
    uri = report.tracking_uri or ""
    if uri.startswith("sqlite:"):
        say(f"open the MLflow UI: mlflow ui --backend-store-uri {uri}  (then http://127.0.0.1:5000)")
    elif report.run_id:
        say(f"open it in the MLflow UI: {uri.rstrip('/')}/#/experiments/{report.experiment_id}/runs/{report.run_id}")
    say(f"open the report: {report.files['report.html']}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="zoo")


if __name__ == "__main__":
    main()
