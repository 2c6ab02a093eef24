"""The raw texts a text model predicts (`recipes.predicting`), and their labels when known.

- `text:NAME`: the split's texts as the dataset holds them (`recipes.data.text.raw_texts`);
- `file:PATH.txt`: every line a text, no labels;
- `file:PATH.csv` / `.parquet`: every row; the `text` column (`-o text=COLUMN`) and, when
  present, the `label` column (`-o label=COLUMN`), which scores the predictions.

Texts never go through a vocabulary of their own: the run's model carries its vocabulary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from recipes.errors import DataError

TABLES = (".csv", ".parquet", ".pq")


def read_texts(data: str, split: str, options: dict[str, Any]) -> tuple[np.ndarray, list[str] | None]:
    """`data`'s texts (a 1-D object array) and label names (None without labels).

    Raises:
        DataError: data a text model cannot read, a missing file or column (one line).
    """
    scheme, _, name = data.partition(":")
    if scheme == "text":
        return _dataset_texts(data, split, options)
    if scheme == "file":
        return _file_texts(data, Path(name).expanduser(), options)
    raise DataError(f"{data}: a text model predicts text:NAME, or file:PATH (.txt, a text a line; .csv or .parquet "
                    "with a text column)")  # fmt: skip


def _dataset_texts(data: str, split: str, options: dict[str, Any]) -> tuple[np.ndarray, list[str] | None]:
    from recipes.data import load
    from recipes.data.text import raw_texts

    dataset = load(data, **options)
    labels = getattr(dataset, split).y
    names = dataset.class_names or []
    return np.asarray(raw_texts(dataset)[split], dtype=object), [names[i] for i in labels.astype(int)]


def _file_texts(data: str, path: Path, options: dict[str, Any]) -> tuple[np.ndarray, list[str] | None]:
    from recipes.data.prepare import Options

    if not path.is_file():
        raise DataError(f"{data}: no such file")
    if path.suffix.lower() == ".txt":
        Options(data, options, [])
        return np.asarray(path.read_text(encoding="utf-8").splitlines(), dtype=object), None
    if path.suffix.lower() not in TABLES:
        raise DataError(f"{data}: a text model reads .txt (a text a line), .csv or .parquet files")
    import pandas as pd

    from recipes.data.files import read_table, table_column

    opts = Options(data, options, ["text", "label"])
    table = read_table(data, path)
    text, label = opts.str("text", "text"), opts.str("label", "label")
    texts = np.asarray(["" if pd.isna(t) else str(t) for t in table_column(data, table, text, "text")], dtype=object)
    if label not in table.columns and "label" not in options:  # no labels: predicted, not scored
        return texts, None
    return texts, [str(v) for v in table_column(data, table, label, "label")]
