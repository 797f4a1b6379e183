"""The paper's comparison methods: pinned sizes, declared inputs, gradients everywhere,
fidelity to the methods' definitions (inflation, TimeSformer's zero-initialised temporal path,
TIN/TANet at identity = TSN), and one epoch of `microaction train` -> test -> score -> predict
per new family."""

import json

import pytest
import torch
from conftest import write_config

from microaction.cli import main
from microaction.models import create_model, list_models
from microaction.models.profile import count_parameters

# mmaction2's model-zoo counts re-headed to 52 classes; TimeSformer's derived layer by layer
PINNED = {"tsn_r50": 23_614_580, "tsm_r50": 23_614_580, "tin_r50": 23_645_588,
          "tanet_r50": 24_877_268, "c3d": 78_208_820, "i3d_r50": 27_330_420,
          "r2plus1d_r34": 63_580_757, "slowfast_r50": 33_677_148,
          "timesformer_b": 590_592 + 768 + 151_296 + 6_144 + 12 * 10_042_368 + 1_536 + 39_988}
# (sampling, clip_len, interval, size) each method declares
DECLARED = {"tsn_r50": ("segment", 8, 1, 224), "tin_r50": ("segment", 8, 1, 224),
            "tanet_r50": ("dense", 8, 8, 224), "c3d": ("dense", 16, 1, 112),
            "i3d_r50": ("dense", 32, 2, 224), "r2plus1d_r34": ("dense", 8, 8, 224),
            "slowfast_r50": ("dense", 32, 2, 224), "timesformer_b": ("dense", 8, 32, 224)}
SMALL = ["tin_r18", "tanet_r18", "c3d_narrow", "i3d_r18", "r2plus1d_r18", "slowfast_r18",
         "timesformer_s"]
# cheap inputs per model for gradient checks: (clip_len, size)
CHEAP = {"c3d": (16, 32), "c3d_narrow": (16, 32), "slowfast_r18": (8, 32),
         "slowfast_r50": (8, 32), "timesformer_b": (2, 32), "timesformer_s": (2, 32)}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_parameter_counts(name):
    assert count_parameters(create_model(name, num_classes=52)) == PINNED[name]
    assert create_model(name).input_spec.size == DECLARED.get(name, ("", 0, 0, 224))[3]


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_declared_inputs(name):
    s = create_model(name).input_spec
    assert (s.sampling, s.clip_len, s.interval, s.size) == DECLARED[name]
    assert s.short_side == (128 if name == "c3d" else 256)


@pytest.mark.parametrize("name", list_models())
def test_every_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    clip_len, size = CHEAP.get(name, (2, 32))
    model = create_model(name, num_classes=5, clip_len=clip_len, size=size, embed_dim=6)
    out = model(torch.randn(2, 3, clip_len, size, size))
    assert out.logits.shape == (2, 5) and out.embedding.shape == (2, 6)
    (out.logits.sum() + out.embedding.sum()).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing


def test_inflated_i3d_equals_the_2d_resnet_on_still_video():
    """A clip of identical frames: an I3D inflated from a 2D ResNet gives the 2D network's
    feature map at every temporal position the zero padding does not reach."""
    import torchvision

    from microaction.models.resnet3d import inflate_state

    torch.manual_seed(0)
    net2d = torchvision.models.resnet18(weights=None).eval()
    with torch.no_grad():  # non-trivial BN statistics
        for m in net2d.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    model = create_model("i3d_r18", clip_len=96, size=32).eval()
    model.trunk.load_state_dict(inflate_state(net2d.state_dict(), model.trunk))
    frame = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        f2d = torch.nn.Sequential(*list(net2d.children())[:-2])(frame)[0]  # (512, 1, 1)
        f3d = model.trunk(frame[:, :, None].expand(1, 3, 96, 32, 32))[0]  # (512, T', 1, 1)
    err = (f3d - f2d[:, None]).abs().amax(dim=(0, 2, 3))
    assert err[len(err) // 2] < 1e-4 * f2d.abs().max()  # the middle is far from the padding
    assert err.max() > 1e-2  # and the padding does reach the ends (the check can tell)
    with pytest.raises(ValueError, match="does not inflate"):
        inflate_state({"conv1.weight": torch.zeros(64, 3, 5, 5)}, model.trunk)


def test_i3d_starts_from_a_local_2d_resnet_file(tmp_path):
    import torchvision

    torch.manual_seed(1)
    net2d = torchvision.models.resnet18(weights=None)
    torch.save(net2d.state_dict(), tmp_path / "r18.pth")
    model = create_model("i3d_r18", pretrained=str(tmp_path / "r18.pth"))
    w3d = model.trunk.layer1[0].conv1.weight  # inflated 3x3x3
    assert torch.allclose(w3d.sum(2), net2d.layer1[0].conv1.weight, atol=1e-6)
    assert model.fc.weight.std() < 0.02  # fine-tuning head init


def _tiny_vit():
    from torchvision.models.vision_transformer import VisionTransformer

    torch.manual_seed(2)
    return VisionTransformer(image_size=32, patch_size=16, num_layers=2, num_heads=2,
                             hidden_dim=16, mlp_dim=64).eval()


def test_fresh_timesformer_is_a_per_frame_vit():
    """With its temporal projections at zero (as it starts) and the ViT's weights: on a still
    clip it computes the ViT exactly; on any clip its first block gives each frame's ViT patch
    tokens, and its class token is the frames' class tokens after the ViT's attention,
    averaged, then through the ViT's MLP."""
    from microaction.models.timesformer import TimeSformer, vit_to_timesformer
    from microaction.models.weights import load_matching

    vit = _tiny_vit()
    model = TimeSformer(5, clip_len=4, size=32, dim=16, depth=2, heads=2).eval()
    fresh = load_matching(model, vit_to_timesformer(vit.state_dict(), 2), "vit")
    # only what a ViT does not have starts fresh: time embedding, temporal projections, head
    assert all(k.startswith(("time_embed", "fc.", "blocks.0.temporal_fc", "blocks.1.temporal_fc"))
               for k in fresh) and "time_embed" in fresh
    frames = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        tokens = torch.cat([vit.class_token.expand(4, -1, -1), vit._process_input(frames)], 1)
        tokens = tokens + vit.encoder.pos_embedding
        still = frames[:1, :, None].expand(1, 3, 4, 32, 32)  # one frame, four times
        cls, patches = model.tokens(still)
        for block in model.blocks:
            cls, patches = block(cls, patches)
        vit_cls = vit.encoder.ln(vit.encoder.layers(tokens[:1]))[:, 0]
        cls1, patches1 = model.blocks[0](*model.tokens(frames.permute(1, 0, 2, 3)[None]))
        layer = vit.encoder.layers[0]
        per_frame = layer(tokens)  # (T, 1 + N, D)
        normed = layer.ln_1(tokens)
        attended = tokens + layer.self_attention(normed, normed, normed)[0]
        z = attended[:, 0].mean(0)
        want_cls = z + layer.mlp(layer.ln_2(z))
    assert torch.allclose(model.norm(cls), vit_cls, atol=1e-5)
    assert torch.allclose(patches1[0], per_frame[:, 1:], atol=1e-5)
    assert torch.allclose(cls1[0], want_cls, atol=1e-5)
    assert not torch.allclose(cls1[0], per_frame[0, 0], atol=1e-3)  # frames do differ


@pytest.mark.parametrize("family", ["tin", "tanet"])
def test_tin_and_tanet_at_identity_reduce_to_tsn(family):
    """TIN with zero offsets and unit weights, TANet with its TAMs replaced by the identity:
    the same outputs as TSN with the same trunk and head."""
    torch.manual_seed(0)
    model = create_model(f"{family}_r18", clip_len=4, size=32).eval()
    tsn = create_model("tsn_r18", clip_len=4, size=32).eval()
    with torch.no_grad():
        for m in model.modules():
            if type(m).__name__ == "TemporalInterlace":
                m.offset_fc2.weight.zero_()
                m.offset_fc2.bias.zero_()  # offsets 4 (sigmoid(0) - 0.5) = 0
                m.weight_conv.weight.zero_()
                m.weight_conv.bias.zero_()  # weights 2 sigmoid(0) = 1
            if hasattr(m, "tam"):
                m.tam = torch.nn.Identity()
    # TIN's interlace wraps each block's first conv (conv1.conv); the weights are the same
    renamed = {k.replace(".conv1.conv.", ".conv1."): v for k, v in model.state_dict().items()}
    shared = {k: v for k, v in renamed.items() if k in tsn.state_dict()}
    missing = tsn.load_state_dict(shared, strict=False).missing_keys
    assert not missing
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x).logits, tsn(x).logits, atol=1e-5)
    fresh = create_model(f"{family}_r18", clip_len=4, size=32).eval()
    fresh.load_state_dict({**fresh.state_dict(), **{k: v for k, v in model.state_dict().items()
                                                    if k in fresh.state_dict() and
                                                    ".tam." not in k and "interlace" not in k
                                                    and "offset" not in k and "weight_conv"
                                                    not in k}})
    with torch.no_grad():  # as initialised, the temporal modules do change the output
        assert not torch.allclose(fresh(x).logits, tsn(x).logits, atol=1e-3)


def test_tin_starts_with_offsets_of_half_a_frame_and_unit_weights():
    """TIN's initialisation (the paper's): where the offset net's last layer adds nothing yet,
    both offsets are 0.5 frames; a fresh weight net scales every group by 1 on a still clip."""
    from microaction.models.layers import TemporalInterlace

    torch.manual_seed(0)
    m = TemporalInterlace(16, num_segments=4)
    with torch.no_grad():
        m.offset_fc2.weight.zero_()
        m.weight_conv.weight.zero_()
        offsets, weights = m.offsets_and_weights(torch.randn(3, 4, 4))
    assert torch.allclose(offsets, torch.full((3, 2), 0.5), atol=1e-4)
    assert torch.allclose(weights, torch.ones(3, 4, 2))


def test_tin_moves_groups_by_their_offsets():
    """The interlace's fractional shift: out(t) = in(t - o), linear between frames, zeros
    past the ends; the four groups take o1, o2, -o1, -o2."""
    from microaction.models.layers import TemporalInterlace, fractional_shift

    x = torch.arange(5.0).view(1, 5, 1) + 1  # frames 1..5
    assert fractional_shift(x, torch.tensor([1.0]))[0, :, 0].tolist() == [0, 1, 2, 3, 4]
    assert fractional_shift(x, torch.tensor([-0.5]))[0, :, 0].tolist() == \
        [1.5, 2.5, 3.5, 4.5, 2.5]
    for far in (7.0, -6.5):  # moved past the clip's end: nothing left
        assert fractional_shift(x, torch.tensor([far]))[0, :, 0].tolist() == [0.0] * 5
    m = TemporalInterlace(16, num_segments=5, shift_div=1)
    with torch.no_grad():
        m.offset_fc2.weight.zero_()
        m.offset_fc2.bias.copy_(torch.tensor([20.0, -20.0]))  # offsets -> +2, -2 (saturated)
        m.weight_conv.weight.zero_()
        m.weight_conv.bias.zero_()
    clip = torch.arange(5.0)[:, None, None, None].expand(5, 16, 1, 1) + 1  # (T, C, 1, 1)
    out = m(clip.contiguous())[:, :, 0, 0]
    assert torch.allclose(out[:, 0], torch.tensor([0, 0, 1, 2, 3.0]), atol=1e-4)  # +2
    assert torch.allclose(out[:, 4], torch.tensor([3, 4, 5, 0, 0.0]), atol=1e-4)  # -2
    assert torch.allclose(out[:, 8], torch.tensor([3, 4, 5, 0, 0.0]), atol=1e-4)  # -(+2)
    assert torch.allclose(out[:, 12], torch.tensor([0, 0, 1, 2, 3.0]), atol=1e-4)  # -(-2)
    # the weight net scales the groups of o1 and -o1 by its first factor 2 sigmoid(b1), those of
    # o2 and -o2 by its second: here 1.5 and 0.5
    with torch.no_grad():
        m.weight_conv.bias.copy_(torch.tensor([1.0, -1.0]) * torch.log(torch.tensor(3.0)))
    scaled = m(clip.contiguous())[:, :, 0, 0]
    for group, factor in ((0, 1.5), (4, 0.5), (8, 1.5), (12, 0.5)):
        assert torch.allclose(scaled[:, group], factor * out[:, group], atol=1e-4), group


@pytest.mark.parametrize("k", [3, 5])
def test_tam_is_its_definition_written_as_loops(k):
    """TAM (Liu et al., 2021), restated from its definition with plain tensor ops: per clip and
    channel, a global branch (Linear T -> 2T, BN, ReLU, Linear -> k taps, softmax) gives a
    temporal kernel that sums to one; a local branch (conv1d C -> C/4 over 3 frames, BN, ReLU,
    conv1d -> C, sigmoid) a per-frame importance; the scaled features are convolved along time
    with the clip's kernel, zero padded at the ends. BN statistics are random so that every
    stage shows."""
    from torch.nn.functional import conv1d, linear

    from microaction.models.layers import TemporalAdaptiveModule

    torch.manual_seed(0)
    m = TemporalAdaptiveModule(8, num_segments=4, kernel_size=k).eval()
    for bn in (m.G[1], m.L[1]):
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.normal_()

    def norm(v, bn, dim):  # eval-mode batch norm over feature axis ``dim``
        shape = [1] * v.dim()
        shape[dim] = -1
        s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).view(shape)
        return (v - bn.running_mean.view(shape)) * s + bn.bias.view(shape)

    assert m.G[0].weight.shape == (8, 4) and m.G[3].weight.shape == (k, 8)
    assert m.L[0].weight.shape == (2, 8, 3) and m.L[3].weight.shape == (8, 2, 1)
    x = torch.randn(8, 8, 3, 3)  # 2 clips x 4 frames
    with torch.no_grad():
        out = m(x).view(2, 4, 8, 3, 3)
        clip = x.view(2, 4, 8, 3, 3)
        pooled = clip.mean((3, 4)).permute(0, 2, 1)  # (B, C, T)
        hidden = norm(linear(pooled.reshape(16, 4), m.G[0].weight), m.G[1], 1).clamp(min=0)
        taps = torch.softmax(linear(hidden, m.G[3].weight), -1).view(2, 8, k)
        local = norm(conv1d(pooled, m.L[0].weight, padding=1), m.L[1], 1).clamp(min=0)
        gate = torch.sigmoid(conv1d(local, m.L[3].weight))  # (B, C, T)
    assert torch.allclose(taps.sum(-1), torch.ones(2, 8))
    want = torch.zeros_like(out)
    for b in range(2):
        for c in range(8):
            for t in range(4):
                for j in range(k):  # tap j reads frame t + j - k // 2 (centred kernel)
                    src = t + j - k // 2
                    if 0 <= src < 4:
                        want[b, t, c] += taps[b, c, j] * gate[b, c, src] * clip[b, src, c]
    assert torch.allclose(out, want, atol=1e-5)


@pytest.mark.parametrize("layer", ["shift", "tin", "tam"])
def test_temporal_layers_run_on_the_device_of_their_input(layer):
    """No tensor is made on the CPU behind the caller's back (a GPU user's run would stop with a
    device mismatch): checked on PyTorch's meta device, which refuses a mix with the CPU the
    same way CUDA does."""
    from microaction.models.layers import (TemporalAdaptiveModule, TemporalInterlace,
                                           TemporalShift)

    m = {"shift": lambda: TemporalShift(4), "tin": lambda: TemporalInterlace(16, 4),
         "tam": lambda: TemporalAdaptiveModule(16, 4)}[layer]().to("meta")
    out = m(torch.zeros(8, 16, 2, 2, device="meta"))
    assert out.device.type == "meta" and out.shape == (8, 16, 2, 2)


@pytest.mark.parametrize("layer", ["shift", "tin", "tam"])
def test_temporal_layers_refuse_a_batch_of_partial_clips(layer):
    """6 frames cannot be clips of 4: the error says so (not a reshape error deep inside)."""
    from microaction.models.layers import (TemporalAdaptiveModule, TemporalInterlace,
                                           TemporalShift)

    m = {"shift": lambda: TemporalShift(4), "tin": lambda: TemporalInterlace(16, 4),
         "tam": lambda: TemporalAdaptiveModule(16, 4)}[layer]()
    with pytest.raises(ValueError, match=r"^batch\*time 6 is not a multiple of num_segments 4$"):
        m(torch.zeros(6, 16, 2, 2))
    if layer == "tin":  # 8 channels / 4 = 2 cannot make TIN's four groups
        with pytest.raises(ValueError, match=r"^8 channels / shift_div 4 is not a multiple of 4"):
            TemporalInterlace(8, 4)


# ----------------------------------------------------------------------------- engine


FAMILY_RUNS = {  # small variant -> model overrides for a tiny, fast run on 12-frame clips
    "tin_r18": {"clip_len": 4, "size": 32},
    "tanet_r18": {"clip_len": 4, "interval": 2, "size": 32},
    "c3d_narrow": {"clip_len": 16, "size": 32},
    "i3d_r18": {"clip_len": 8, "interval": 1, "size": 32, "embed_head": True},
    "r2plus1d_r18": {"clip_len": 4, "interval": 2, "size": 32},
    "slowfast_r18": {"clip_len": 8, "interval": 1, "size": 32},
    "timesformer_s": {"clip_len": 4, "interval": 2, "size": 32},
}


@pytest.mark.parametrize("name", sorted(FAMILY_RUNS))
def test_family_trains_tests_scores_and_predicts(name, tiny_synth, tmp_path, capsys):
    import yaml

    cfg = write_config(tmp_path, tiny_synth, name, epochs=1)
    raw = yaml.safe_load(cfg.read_text())
    raw["model"].update(FAMILY_RUNS[name], label_embeddings="default")
    raw["model"].pop("frames", None)
    if name.startswith("timesformer"):
        raw["train"].update(optimizer="adamw", lr=0.0005, param_groups="transformer")
    if name == "timesformer_s":
        raw["train"].update(amp="bf16")  # the autocast path (bf16 3D convs are slow on CPUs)
    cfg.write_text(yaml.safe_dump(raw))
    work = tmp_path / "w"
    assert main(["train", str(cfg), "--work-dir", str(work), "-q"]) == 0
    ckpt = work / "best.pt"
    capsys.readouterr()
    assert main(["info", str(ckpt), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["model"] == name
    assert ("embed_dim" in info["model_kwargs"]) == bool(FAMILY_RUNS[name].get("embed_head"))
    assert main(["test", str(cfg), "--checkpoint", str(ckpt), "--split", "val", "-q",
                 "--out", str(tmp_path / "t")]) == 0
    capsys.readouterr()
    assert main(["score", str(tmp_path / "t" / "scores.npy"), "--list",
                 str(tiny_synth / "val_list_videos.txt"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["num_videos"] == 52
    clip = sorted((tiny_synth / "videos_test").iterdir())[0]
    assert main(["predict", str(ckpt), str(clip), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"] == name and len(doc["results"][0]["top"]) == 5


def test_models_lists_every_family_with_flops(capsys):
    assert main(["models", "c3d_narrow", "timesformer_s", "i3d_r18", "--flops"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln for ln in out.splitlines() if ln[:1].isalpha() and "GFLOPs" not in ln
            and not ln.startswith(("model", "FLOPs"))}
    assert set(rows) == {"c3d_narrow", "timesformer_s", "i3d_r18"}
    assert all(float(r.split()[-1]) > 0 for r in rows.values())
    assert "dense 32x2 224px" in rows["i3d_r18"]
