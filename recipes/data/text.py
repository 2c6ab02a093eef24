"""Text to token ids with `keras.layers.TextVectorization`, adapted on the train split only.

Ids are int32: 0 is padding, 1 the out-of-vocabulary token, then words by train frequency.
Rows are right-padded (TextVectorization pads at the end) to one sequence length: the
`sequence_length` option, else the 95th percentile of train lengths rounded up to a multiple
of 8 (between 8 and 512). `lengths` counts the real tokens, so recurrent models can mask.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recipes.data.base import Dataset, Split
from recipes.data.prepare import carved_record, check_carved, check_classes, check_sizes, split_indices
from recipes.errors import DataError

MAX_AUTO_LENGTH = 512
BATCH = 2048


def _encode(vectorizer: Any, texts: Sequence[str], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids cut to `width` columns, and the untruncated token counts."""
    import keras

    ids = np.zeros((len(texts), width), dtype=np.int32)
    counts = np.zeros(len(texts), dtype=np.int64)
    for lo in range(0, len(texts), BATCH):
        chunk = keras.ops.convert_to_numpy(vectorizer(np.asarray(texts[lo : lo + BATCH], dtype=object)))
        counts[lo : lo + len(chunk)] = (chunk != 0).sum(axis=1)
        cut = chunk[:, :width]
        ids[lo : lo + len(chunk), : cut.shape[1]] = cut
    return ids, counts


def text_dataset(
    name: str,
    texts: Mapping[str, Sequence[str]],
    labels: Mapping[str, np.ndarray],
    *,
    class_names: list[str],
    seed: int,
    val_fraction: float,
    max_tokens: int,
    sequence_length: int | None,
    info: dict[str, Any],
) -> Dataset:
    """Carve validation from train, adapt a vocabulary on train, and tokenise every split.

    Args:
        name: The dataset address, for messages.
        texts: "train", "test", optional "val" and "unlabeled" to their texts.
        labels: Class indices for "train", "test" (and "val" when given).
        class_names: Label names.
        seed: Seed of the stratified validation carve.
        val_fraction: Share of train carved for validation (unless "val" is given).
        max_tokens: Vocabulary size cap, including padding and OOV.
        sequence_length: Tokens kept per text; None picks the train 95th percentile.
        info: Provenance; the vocabulary and tokenisation record are added.

    Returns:
        The dataset (input_kind "tokens", variable_length with lengths).
    """
    import keras

    texts = {k: list(v) for k, v in texts.items()}
    labels = {k: np.asarray(v, dtype=np.int64) for k, v in labels.items()}
    record: dict[str, Any] = {}
    if "val" not in texts:
        _carve_val(name, texts, labels, seed, val_fraction, record)
    check_sizes(name, {k: len(v) for k, v in texts.items() if k != "unlabeled"})
    check_classes(name, class_names, {k: v for k, v in labels.items()})
    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="int")
    vectorizer.adapt(np.asarray(texts["train"], dtype=object), batch_size=BATCH)
    vocabulary = [str(w) for w in vectorizer.get_vocabulary()]
    width = max(sequence_length or 0, MAX_AUTO_LENGTH)
    encoded = {k: _encode(vectorizer, v, width) for k, v in texts.items()}
    if sequence_length is None:
        p95 = float(np.percentile(encoded["train"][1], 95))
        sequence_length = int(min(max(8, 8 * math.ceil(p95 / 8)), MAX_AUTO_LENGTH))
        record["sequence_length_rule"] = f"95th percentile of train token counts ({p95:g}) rounded up to 8s"
    splits, empty, truncated = _cut(encoded, labels, sequence_length)
    record.update(
        {
            "tokenizer": "keras TextVectorization (lower case, punctuation stripped, split on whitespace)",
            "fitted_on": "train",
            "max_tokens": max_tokens,
            "vocab_size": len(vocabulary),
            "sequence_length": sequence_length,
            "padding": {"side": "right", "id": 0, "oov_id": 1},
            "truncated": truncated,
            "empty_texts_given_one_oov_token": empty,
        }
    )
    info = {
        **info,
        "vocab_size": len(vocabulary),
        "sequence_length": sequence_length,
        "preprocessing": {**info.get("preprocessing", {}), **record},
        "vocabulary": vocabulary,
    }
    return Dataset(
        name=name,
        task="classification",
        input_kind="tokens",
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        unlabeled=splits.get("unlabeled"),
        class_names=list(class_names),
        vocab_size=len(vocabulary),
        variable_length=True,
        info=info,
    )


def _carve_val(
    name: str, texts: dict[str, list[str]], labels: dict[str, np.ndarray], seed: int, fraction: float, record: dict
) -> None:
    """Carve a stratified validation split from train, in place, and record how."""
    keep, carved, stratified = split_indices(len(texts["train"]), fraction, seed, labels["train"])
    check_carved(name, len(texts["train"]), len(carved))
    texts["val"] = [texts["train"][i] for i in carved]
    labels["val"] = labels["train"][carved]
    texts["train"] = [texts["train"][i] for i in keep]
    labels["train"] = labels["train"][keep]
    record["validation"] = carved_record(fraction, seed, stratified)


def _cut(
    encoded: Mapping[str, tuple[np.ndarray, np.ndarray]], labels: Mapping[str, np.ndarray], sequence_length: int
) -> tuple[dict[str, Split], dict[str, int], dict[str, int]]:
    """Each split's token ids cut to `sequence_length`, with per split the count of texts left
    without a token (given one OOV token: an all-padding row breaks cuDNN masking) and of texts
    truncated."""
    splits: dict[str, Split] = {}
    empty: dict[str, int] = {}
    truncated: dict[str, int] = {}
    for k, (ids, counts) in encoded.items():
        ids = ids[:, :sequence_length].copy()
        lengths = np.minimum(counts, sequence_length).astype(np.int32)
        none = lengths == 0
        if none.any():
            ids[none, 0] = 1
            lengths[none] = 1
            empty[k] = int(none.sum())
        truncated[k] = int((counts > sequence_length).sum())
        splits[k] = Split(ids, labels.get(k), lengths)
    return splits, empty, truncated


def raw_texts(dataset: Dataset) -> dict[str, list[str]]:
    """The raw texts of a `text:` dataset's train, val and test splits, row-aligned with its arrays.

    The token arrays do not keep the texts; this reads them back from the dataset's TFDS build
    (`info["tfds"]`) and carves validation exactly as `text_dataset` did (seed and fraction from
    `info["preprocessing"]["validation"]`). Text baselines (TF-IDF) need them.

    Raises:
        DataError: `dataset` is not a `text:` dataset, or the texts read back do not line up
            with its labels.
    """
    from recipes.data import builders  # noqa: F401  (registers the zoo_* builders with TFDS)
    from recipes.data.tfds_io import get_builder, read_split

    source = dataset.info.get("tfds", {})
    carve = dataset.info.get("preprocessing", {}).get("validation", {})
    if not dataset.name.startswith("text:") or "name" not in source or carve.get("carved_from") != "train":
        raise DataError(f"{dataset.name}: raw texts can be read back for text: datasets only")
    name = source["name"].rsplit("/", 1)[0]  # "zoo_text/rotten_tomatoes/1.0.0" -> "zoo_text/rotten_tomatoes"
    builder = get_builder(dataset.name, name, source["data_dir"])
    texts, labels = {}, {}
    for split in ("train", "test"):
        columns = read_split(builder, split)
        order = np.argsort(np.asarray(columns["row"]), kind="stable")  # back in file order, as the loader reads
        texts[split] = [columns["text"][i] for i in order]
        labels[split] = np.asarray(columns["label"], dtype=np.int64)[order]
    keep, carved, _ = split_indices(len(texts["train"]), float(carve["fraction"]), int(carve["seed"]), labels["train"])
    texts["val"], labels["val"] = [texts["train"][i] for i in carved], labels["train"][carved]
    texts["train"], labels["train"] = [texts["train"][i] for i in keep], labels["train"][keep]
    for split in ("train", "val", "test"):
        expected = getattr(dataset, split).y
        if len(texts[split]) != len(expected) or not np.array_equal(labels[split], expected):
            raise DataError(f"{dataset.name}: the {split} texts read back do not line up with its {split} split")
    return {k: texts[k] for k in ("train", "val", "test")}
