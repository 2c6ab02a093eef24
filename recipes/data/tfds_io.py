"""Preparing and reading TFDS builders quietly, offline, with errors turned into `DataError`."""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
from typing import Any

import numpy as np

from recipes.errors import DataError
from zoo.errors import did_you_mean

DEFAULT_DATA_DIR = "~/.cache/lstm-zoo/tensorflow_datasets"


def data_dir_for(data_dir: str | os.PathLike | None = None) -> str:
    """The TFDS data directory: `data_dir`, else `$ZOO_DATA_DIR`, else `~/.cache/lstm-zoo/tensorflow_datasets`."""
    chosen = data_dir or os.environ.get("ZOO_DATA_DIR") or DEFAULT_DATA_DIR
    return str(pathlib.Path(chosen).expanduser())


def tfds_module() -> Any:
    """`tensorflow_datasets`, imported with its progress bars off."""
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()
    return tfds


def _data_error(err: BaseException) -> DataError | None:
    """The DataError an exception was raised from (TFDS wraps generator errors), if any."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, DataError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def get_builder(dataset: str, name: str, data_dir: str) -> Any:
    """`tfds.builder(name, data_dir=...)`, unknown names and configs as `DataError` with close matches."""
    tfds = tfds_module()
    base, _, config = name.partition("/")
    base, config = base.split(":")[0], config.split(":")[0]
    known = sorted(set(tfds.list_builders(with_community_datasets=False)))
    if base not in known and not (pathlib.Path(data_dir) / base).is_dir():
        raise DataError(
            f"{dataset}: no TFDS dataset '{base}'{did_you_mean(base, known)}; "
            "see tfds.list_builders() or https://www.tensorflow.org/datasets/catalog"
        )
    if config and base in known:
        configs = [c.name for c in (tfds.builder_cls(base).BUILDER_CONFIGS or [])]
        if config not in configs:
            valid = ", ".join(configs) if configs else "none (drop '/" + config + "')"
            raise DataError(
                f"{dataset}: TFDS dataset '{base}' has no config '{config}'{did_you_mean(config, configs)}; "
                f"configs: {valid}"
            )
    try:
        return tfds.builder(name, data_dir=data_dir)
    except Exception as err:  # TFDS raises many kinds here; report them in one line
        found = _data_error(err)
        if found is not None:
            raise found from None
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"{dataset}: TFDS cannot open '{name}' in {data_dir}: {first}") from None


def is_prepared(builder: Any) -> bool:
    """Whether the builder's data is in its data_dir (without TFDS's warning for a missing folder)."""
    return (builder.data_path / "dataset_info.json").exists() and builder.is_prepared()


def prepare(dataset: str, builder: Any, *, download: bool = False) -> Any:
    """Make sure `builder`'s data is in its data_dir, preparing it once; return the builder.

    Builders marked `PACKAGED` (ours, and any `ZooBuilder` subclass) read local files and are
    prepared on first use. Other TFDS datasets are prepared only with `download=True`; without
    it, missing data fails at once instead of reaching for the network.
    """
    tfds = tfds_module()
    if is_prepared(builder):
        return builder
    own = bool(getattr(type(builder), "PACKAGED", False))
    if not own and not download:
        raise DataError(
            f"{dataset}: TFDS data for '{builder.info.full_name}' not found in {builder.data_dir_root}; "
            "load it with download=true where there is internet, or copy the prepared data there "
            "(or set ZOO_DATA_DIR / data_dir to where it is)"
        )
    config = tfds.download.DownloadConfig(compute_stats=tfds.download.ComputeStatsMode.SKIP)
    quiet = contextlib.redirect_stdout(io.StringIO()) if own else contextlib.nullcontext()
    try:
        with quiet:
            builder.download_and_prepare(download_config=config)
    except Exception as err:
        found = _data_error(err)
        if found is not None:
            raise found from None
        # Another process may have prepared the same data at the same time: use theirs.
        again = type(builder)(config=builder.builder_config, data_dir=builder.data_dir_root) if own else None
        if again is not None and is_prepared(again):
            return again
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"{dataset}: preparing TFDS '{builder.info.full_name}' failed: {first}") from None
    return builder


def read_split(builder: Any, split: str) -> dict[str, Any]:
    """Every example of `split` as NumPy: a stacked array per feature, or a list where shapes vary.

    Text comes back as `str`. Examples keep the stored order (TFDS shuffles them at write time;
    sort by a `row` feature to get file order).
    """
    import tensorflow as tf

    tfds = tfds_module()
    ds = builder.as_dataset(split=split, shuffle_files=False)
    flat = ds.element_spec
    fixed = all(s.shape.is_fully_defined() for s in tf.nest.flatten(flat))
    if fixed:  # one batch of the whole split: TFDS parses it in one go
        whole = tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False, batch_size=-1))
        out = dict(whole) if isinstance(whole, dict) else {}
    else:
        examples = list(tfds.as_numpy(ds))
        out = {k: [e[k] for e in examples] for k in (flat.keys() if isinstance(flat, dict) else [])}
    for key, value in out.items():
        spec = flat[key]
        if spec.dtype == tf.string:
            out[key] = _decode(value)
    return out


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
        return [_decode(v) for v in value.tolist()]
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
