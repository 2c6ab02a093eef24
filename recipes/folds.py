"""K-fold cross-validation over a dataset's labelled examples (train + val), never its test.

A search ranks its trials on validation data. Where the carved validation split is a handful
of series (10 on GunPoint), one prediction moves the accuracy by ten points and trials tie;
K folds give every labelled example one turn in validation, so a trial's score is the mean of
K scores over all of them.

    >>> for fold in folds(dataset, 5, seed=0): ...   # Datasets: fold.train, fold.val, same test

Classification folds are stratified; regression folds plain; forecasting windows overlap in
time and are refused (their carved split is the latest stretch before test). Scalers and
vocabularies stay the dataset's own (fitted on its train carve).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from recipes.data.base import Dataset, Split
from recipes.protocol import MIN_VAL
from zoo.errors import ConfigError

DEFAULT_FOLDS = 5


def labelled(dataset: Dataset) -> Split:
    """Train and val as one split."""
    if len(dataset.val) == 0:
        return dataset.train
    train, val = dataset.train, dataset.val
    lengths = None if train.lengths is None else np.concatenate([train.lengths, val.lengths])
    return Split(np.concatenate([train.x, val.x]), np.concatenate([train.y, val.y]), lengths)


def default_folds(dataset: Dataset) -> int:
    """The default K: folds where the carved validation split is too small to rank by, else 0.

    Classification only, where a carve under `protocol.MIN_VAL` series judges by a handful of
    predictions; K is at most `DEFAULT_FOLDS` and at most the smallest class's count.
    """
    if dataset.task != "classification" or len(dataset.val) >= MIN_VAL:
        return 0
    smallest = int(np.bincount(labelled(dataset).y).min())
    return max(2, min(DEFAULT_FOLDS, smallest)) if smallest >= 2 else 0


def check(dataset: Dataset, k: int) -> None:
    """Refuse a K this dataset cannot be split into (one line)."""
    if k == 1 or k < 0:
        raise ConfigError(f"cv={k}: give 2 folds or more (0: rank on the carved validation split)")
    if k and dataset.task == "forecasting":
        raise ConfigError(f"cv={k}: forecasting windows overlap in time, so folds would leak; "
                          "use --cv 0 (the carved split is the stretch before test)")  # fmt: skip
    pool = labelled(dataset)
    if k > len(pool):
        raise ConfigError(f"cv={k}: {dataset.name} has only {len(pool)} labelled examples")
    if k and dataset.task == "classification":
        smallest = int(np.bincount(pool.y).min())
        if smallest < k:
            raise ConfigError(f"cv={k}: {dataset.name}'s smallest class has {smallest} train examples; "
                              f"give --cv {smallest} or fewer")  # fmt: skip


def folds(dataset: Dataset, k: int, seed: int) -> list[Dataset]:
    """`k` datasets whose train and val split the labelled examples; test is the dataset's own."""
    from sklearn.model_selection import KFold, StratifiedKFold

    check(dataset, k)
    pool = labelled(dataset)
    if dataset.task == "classification":
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(pool.x, pool.y)
    else:
        splitter = KFold(n_splits=k, shuffle=True, random_state=seed).split(pool.x)
    out = []
    for i, (fit, held) in enumerate(splitter):
        info = {**dataset.info, "fold": {"index": i, "of": k, "seed": seed, "val": len(held)}}
        out.append(dataclasses.replace(dataset, train=pool.take(fit), val=pool.take(held), info=info))
    return out
