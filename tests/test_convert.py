"""Official MANet checkpoints load: a state dict with exactly the official keys and shapes
(../shared/ma52/official_manet_r50_keys.tsv, derived from the official source) converts to a
model whose outputs equal the model those tensors came from."""

import re

import pytest
import torch

from microaction.cli import main
from microaction.engine.checkpoint import load_checkpoint, model_from_checkpoint
from microaction.models import create_model


def read_tsv(path):
    rows = [ln.split("\t") for ln in path.read_text().splitlines()[1:] if ln.strip()]
    return [(k, tuple(int(v) for v in s.split(",")) if s else (), used == "yes")
            for k, s, used in rows]


def our_name(official: str) -> str | None:
    """The test's own reading of the official layout notes (official_manet_r50_keys.md), written
    apart from the converter: which of our tensors each official key holds."""
    if "action_p2_" in official:
        return None
    k = official
    k = k.replace("cls_head.fc_cls.", "fc.").replace("cls_head.fc_emb_t.", "embed.2.") \
        .replace("cls_head.fc_emb.", "embed.0.")
    k = k.replace("backbone.conv1.conv.", "trunk.conv1.").replace("backbone.conv1.bn.", "trunk.bn1.")
    k = k.replace("backbone.", "trunk.")
    k = k.replace(".conv1.conv.net.", ".conv1.conv.")
    k = k.replace(".conv1.conv.fcce.0.", ".conv1.se.fc1.").replace(".conv1.conv.fcce.2.",
                                                                   ".conv1.se.fc2.")
    k = re.sub(r"\.conv(\d)\.bn\.", r".bn\1.", k)
    k = re.sub(r"\.conv([23])\.conv\.", r".conv\1.", k)
    k = k.replace(".downsample.conv.", ".downsample.0.").replace(".downsample.bn.",
                                                                 ".downsample.1.")
    return k


@pytest.fixture(scope="module")
def official(shared_ma52, tmp_path_factory):
    rows = read_tsv(shared_ma52 / "official_manet_r50_keys.tsv")
    assert len(rows) == 404
    torch.manual_seed(0)
    ref = create_model("manet_r50", embed_dim=300, clip_len=8)
    with torch.no_grad():  # non-trivial BN statistics, so a BN mix-up would show
        for m in ref.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    ref.eval()
    ours = ref.state_dict()
    state, dead = {}, 0
    gen = torch.Generator().manual_seed(1)
    for key, shape, used in rows:
        name = our_name(key)
        if name is None:
            assert not used
            state[key] = torch.randn(shape, generator=gen)
            dead += state[key].numel()
            continue
        assert tuple(ours[name].shape) == shape, (key, name)  # same architecture as released
        state[key] = ours[name].clone()
    assert dead == 10_951_424
    path = tmp_path_factory.mktemp("official") / "manet_official.pth"
    torch.save({"meta": {"epoch": 40, "mmcv_version": "1.x"}, "state_dict": state,
                "optimizer": {"state": {}, "param_groups": []}}, path)
    return ref, state, path


def test_converted_official_checkpoint_equals_the_source_model(official, tmp_path, capsys):
    ref, _, path = official
    out = tmp_path / "manet.pt"
    assert main(["convert", str(path), "--out", str(out)]) == 0
    msg = capsys.readouterr().out
    assert "manet_r50, 52 classes, 32,284,252 parameters" in msg
    assert "dropped 48 unused official tensors (10,951,424 parameters)" in msg
    ckpt = load_checkpoint(out)
    model = model_from_checkpoint(ckpt, str(out))
    x = torch.randn(2, 3, 8, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a, b = ref(x), model(x)
    assert torch.equal(a.logits, b.logits) and torch.equal(a.embedding, b.embedding)
    assert ckpt["class_names"][9] == "nodding" and ckpt["input_spec"]["size"] == 224
    assert main(["info", str(out)]) == 0
    assert "official release" in capsys.readouterr().out


def test_missing_or_misshapen_official_tensor_is_named(official, tmp_path, capsys):
    _, state, _ = official
    broken = dict(state)
    del broken["backbone.layer2.1.conv1.conv.fcce.2.weight"]
    torch.save({"state_dict": broken}, tmp_path / "a.pth")
    assert main(["convert", str(tmp_path / "a.pth"), "--out", str(tmp_path / "a.pt")]) == 1
    assert "missing backbone.layer2.1.conv1.conv.fcce.2.weight" in capsys.readouterr().err
    bad = dict(state)
    bad["backbone.layer3.0.conv2.conv.weight"] = torch.zeros(256, 256, 1, 1)
    torch.save({"state_dict": bad}, tmp_path / "b.pth")
    assert main(["convert", str(tmp_path / "b.pth"), "--out", str(tmp_path / "b.pt")]) == 1
    err = capsys.readouterr().err
    assert "backbone.layer3.0.conv2.conv.weight has shape (256, 256, 1, 1)" in err
    assert not (tmp_path / "a.pt").exists() and not (tmp_path / "b.pt").exists()


def test_tsm_checkpoint_converts_too(tmp_path):
    """An mmaction2 TSM-R50 (shift wrapper, no SE, no embedding head) becomes tsm_r50."""
    from microaction.convert import convert_state, official_key

    torch.manual_seed(3)
    ref = create_model("tsm_r50", num_classes=52).eval()
    state = {official_key(k): v for k, v in ref.state_dict().items()}
    assert "backbone.layer4.2.conv1.conv.net.weight" in state
    model, dropped = convert_state(state)
    assert model.model_name == "tsm_r50" and dropped["tensors"] == 0
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        assert torch.equal(ref(x).logits, model(x).logits)
