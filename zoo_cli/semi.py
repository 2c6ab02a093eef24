"""`zoo pretrain` and `zoo semi`: self-supervised encoders and the labelled-fraction sweep."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import click

from zoo.errors import EXIT_INTERRUPTED, ConfigError
from zoo_cli.app import cli, make_console
from zoo_cli.options import config_options, key_values


def _split_list(text: str | None, flag: str, kind: type) -> list[Any]:
    """ "0.05,0.1" -> [0.05, 0.1], with a one-line error naming the flag."""
    if text is None:
        return []
    try:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: expected a comma-separated list of {kind.__name__}s") from None


DEFAULT_FRACTIONS = "0.05,0.1,0.25,1"


def _semi_config(path: str | None) -> Any:
    """`--config`'s record, which must be a semi run's (a semi search's best.yaml)."""
    from recipes.runconfig import RunConfig

    if not path:
        return RunConfig(recipe="semi")
    return RunConfig.from_yaml(path).expect("semi", path)


def _common_semi(fn: Any) -> Any:
    """Options `zoo pretrain` and `zoo semi` share: data, model, pool, tracking."""
    for option in reversed(
        [
            click.argument("model", required=False),
            click.option("--data", help="Dataset address, as for zoo train."),
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
@config_options("recipes.pretext:PretrainConfig")
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

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from recipes.semi import pretrain as run_pretraining

    if not model or not data:
        raise ConfigError("zoo pretrain needs a MODEL and --data")

    result = run_pretraining(
        model,
        data,
        hparams=key_values(hp_pairs, "--hp"),
        unlabeled=unlabeled,
        transductive=transductive,
        tracking=not no_tracking,
        tracking_uri=tracking_uri,
        experiment=experiment,
        runs_dir=runs_dir,
        verbose=1 if sys.stdout.isatty() else 2,
        **{k: v for k, v in settings.items() if v is not None},
    )
    console = make_console()
    losses = result.history.get("loss", [])
    sources = ", ".join(f"{k} {v}" for k, v in result.pool["sources"].items())
    resumed = f" (resumed at epoch {result.resumed_from})" if result.resumed_from else ""
    console.print(f"pretrained {model} on {result.pool['n']} unlabeled examples ({sources}): {len(losses)} epochs"
                  f"{resumed}, {result.seconds:.0f} s, final loss {losses[-1]:.4f}")  # fmt: skip
    console.print(
        f"encoder: {result.encoder_path}" + (f"  (MLflow: {result.encoder_uri})" if result.encoder_uri else "")
    )
    ref = result.encoder_uri or result.encoder_path
    console.print(f"fine-tune it: zoo train {model} --data {data} --backbone {ref} --freeze-backbone --epochs 30 "
                  "--unfreeze-epochs 70")  # fmt: skip


@cli.command()
@_common_semi
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="A semi run config (a semi search's best.yaml); flags override it.")  # fmt: skip
@click.option("--fractions", help="Labelled fractions, in (0, 1] [default: 0.05,0.1,0.25,1, or --config's].")
@click.option("--seeds", help="Seeds (subsets and trainings) [default: 0,1,2, or --config's seed].")
@config_options("recipes.pretext:PretrainConfig", prefix="pretrain_",
                skip=("pretext", "seed", "checkpoint_seconds", "mixed_precision", "distribute"))  # fmt: skip
@click.option("--pretext", type=click.Choice(["masked", "autoencode", "next_step"]),
              help="Pretext objective [default: masked, or --config's].")  # fmt: skip
@config_options("recipes.config:FinetuneConfig")
@click.option("--learning-rate", type=float, help="Both arms' learning rate [default: 0.001].")
@click.option("--batch-size", type=int, help="Both arms' batch size [default: 0, follows the labelled subset's size].")
@click.option("--patience", type=int,
              help="Both arms' early-stopping patience [default: the protocol's: a fifth of the epochs, none where "
                   "the subset is too small for a validation carve].")  # fmt: skip
@click.option("--epochs", type=int, help="Both arms' budget; fine-tuning shares it out [default: as zoo train's].")
def semi(
    model: str,
    data: str,
    hp_pairs: tuple[str, ...],
    unlabeled: str | None,
    transductive: bool,
    tracking_uri: str | None,
    experiment: str | None,
    runs_dir: str | None,
    config_path: str | None,
    fractions: str | None,
    seeds: str | None,
    pretext: str | None,
    learning_rate: float | None,
    batch_size: int | None,
    patience: int | None,
    epochs: int | None,
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
      zoo semi --config tuning_runs/SEARCH/best.yaml    # a semi search's best, replayed
    """

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from recipes.semi import sweep, table_markdown

    doc = _semi_config(config_path)
    model, data = model or doc.model, data or doc.data
    if not model or not data:
        raise ConfigError("zoo semi needs a MODEL and --data (on the command line or in --config)")
    pre = {k[len("pretrain_") :]: v for k, v in settings.items() if k.startswith("pretrain_") and v is not None}
    fine = {k: v for k, v in settings.items() if not k.startswith("pretrain_") and v is not None}
    given = {"learning_rate": learning_rate, "batch_size": batch_size, "patience": patience, "epochs": epochs}
    train_settings = {k: v for k, v in doc.train.items() if k != "seed"}  # the sweep sets it (--seeds)
    train_settings.update({k: v for k, v in given.items() if v is not None})
    fraction_text = fractions or (str(doc.label_fraction) if doc.label_fraction else DEFAULT_FRACTIONS)
    seed = doc.train.get("seed")
    console = make_console()

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        result = sweep(
            model,
            data,
            fractions=_split_list(fraction_text, "--fractions", float),
            seeds=_split_list(seeds or (str(seed) if seed is not None else "0,1,2"), "--seeds", int),
            hparams={**doc.hparams, **key_values(hp_pairs, "--hp")},
            unlabeled=unlabeled or doc.unlabeled,
            transductive=transductive,
            pretrain_settings={**doc.pretrain, **({"pretext": pretext} if pretext else {}), **pre},
            finetune_settings={**doc.finetune, **fine},
            train_settings=train_settings,
            tracking_uri=tracking_uri or doc.tracking_uri,
            experiment=experiment or doc.experiment,
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
