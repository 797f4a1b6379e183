import numpy as np
import pytest
import torch
from torch.nn import functional as F

from microaction.errors import MicroactionError
from microaction.label_embeddings import default_table_path, load_label_embeddings
from microaction.labels import ACTION_NAMES
from microaction.losses import JointEmbeddingLoss
from microaction.models import ModelOutput


def test_joint_loss_is_ce_plus_weighted_mse(shared_ma52):
    table = torch.from_numpy(load_label_embeddings(shared_ma52 / "official_label_embeddings.npy",
                                                   52))
    assert table.shape == (52, 300)
    torch.manual_seed(0)
    out = ModelOutput(torch.randn(4, 52), torch.randn(4, 300))
    y = torch.tensor([0, 9, 51, 9])
    parts = JointEmbeddingLoss(table, weight=50.0)(out, y)
    ce = F.cross_entropy(out.logits, y)
    mse = ((out.embedding - table[y]) ** 2).mean()
    assert torch.allclose(parts["loss"], ce + 50 * mse)
    assert torch.allclose(parts["ce"], ce) and torch.allclose(parts["embed"], mse)
    plain = JointEmbeddingLoss(None)(out, y)
    assert torch.allclose(plain["loss"], ce) and plain["embed"] == 0


def test_shipped_table_and_bad_tables(tmp_path):
    table = load_label_embeddings(None, 52)
    assert table.shape[0] == 52 and np.allclose(np.linalg.norm(table, axis=1), 1, atol=1e-4)
    np.save(tmp_path / "bad.npy", np.zeros((51, 8), np.float32))
    with pytest.raises(MicroactionError, match=r"shape \(51, 8\), expected \(52, D\)"):
        load_label_embeddings(tmp_path / "bad.npy", 52)
    with pytest.raises(MicroactionError, match="not found"):
        load_label_embeddings(tmp_path / "none.npy", 52)
    with pytest.raises(ValueError, match="embedding dim"):
        JointEmbeddingLoss(torch.zeros(52, 8))(ModelOutput(torch.zeros(1, 52), torch.zeros(1, 4)),
                                               torch.tensor([0]))


def test_embed_labels_regenerates_shipped_table_offline(tmp_path, monkeypatch):
    pytest.importorskip("sentence_transformers")
    from microaction.cli import main
    from microaction.labels import write_label_names

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    write_label_names(tmp_path / "label_name.txt", ACTION_NAMES)
    assert main(["embed-labels", str(tmp_path / "label_name.txt"),
                 "--out", str(tmp_path / "emb.npy")]) == 0
    made = np.load(tmp_path / "emb.npy")
    assert np.allclose(made, np.load(default_table_path()), atol=1e-4)
    sims = made @ made.T  # related names sit closer than unrelated ones
    assert sims[43, 41] > sims[43, 24]  # touching nose ~ touching face, not shaking legs
