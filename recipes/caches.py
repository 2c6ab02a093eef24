"""Where the zoo keeps what it can rebuild: `$ZOO_CACHE_DIR`, else `~/.cache/lstm-zoo`.

- `runs/`: runs downloaded by id (`zoo predict --model <run id>`), one folder per run.
- `numba/`: stumpy's compiled functions (the matrix-profile baseline), so only the first
  `zoo detect` on a machine pays numba's compile (30-60 s on 2 cores); numba's own
  `NUMBA_CACHE_DIR` wins where it is set.

Prepared datasets have their own folder (`recipes.data.tfds_io.data_dir`).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str) -> Path:
    """The folder for one kind of cached thing (not created here)."""
    return Path(os.environ.get("ZOO_CACHE_DIR") or "~/.cache/lstm-zoo").expanduser() / kind
