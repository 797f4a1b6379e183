import pytest
import torch

from microaction.engine.checkpoint import load_model_state, model_from_checkpoint
from microaction.errors import CheckpointError, MicroactionError
from microaction.models import create_model, list_models, register_model
from microaction.models.layers import ResidualPrefix, SqueezeExcite, TemporalShift, temporal_shift
from microaction.models.profile import count_parameters, flops_per_clip


def naive_shift(x, t, div=8):
    nt, c, h, w = x.shape
    out = torch.zeros_like(x)
    fold = c // div
    for n in range(nt // t):
        for f in range(t):
            for ch in range(c):
                src = f + 1 if ch < fold else f - 1 if ch < 2 * fold else f
                if 0 <= src < t:
                    out[n * t + f, ch] = x[n * t + src, ch]
    return out


def test_shift_matches_naive_loop_values_and_gradients():
    x = torch.randn(2 * 4, 16, 3, 3, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    y, ref = temporal_shift(x, 4), naive_shift(x2, 4)
    assert torch.equal(y, ref)
    g = torch.randn_like(y)
    y.backward(g)
    ref.backward(g)
    assert torch.equal(x.grad, x2.grad)
    with pytest.raises(ValueError, match="multiple"):
        temporal_shift(torch.zeros(6, 8, 1, 1), 4)


def test_shift_module_and_residual_prefix_apply_what_they_are_given():
    """The module passes its own shift_div; a prefix with only SE, or only a shift, applies just
    that one before the conv."""
    x = torch.randn(8, 16, 3, 3)
    assert torch.equal(TemporalShift(4, shift_div=4)(x), naive_shift(x, 4, 4))
    conv, se = torch.nn.Conv2d(16, 4, 1), SqueezeExcite(16)
    with torch.no_grad():
        assert torch.equal(ResidualPrefix(conv, se, None)(x), conv(se(x)))
        assert torch.equal(ResidualPrefix(conv, None, TemporalShift(4))(x),
                           conv(naive_shift(x, 4)))


def test_registry_names_and_errors():
    names = list_models()
    for fam in ("tsn", "tsm", "manet"):
        for d in (18, 34, 50, 101):
            assert f"{fam}_r{d}" in names
    with pytest.raises(ValueError, match="already registered"):
        @register_model
        def tsm_r50(**kw):  # noqa: F811
            pass
    with pytest.raises(MicroactionError, match="did you mean manet_r50"):
        create_model("manet_r05")


def test_exact_parameter_counts():
    manet = create_model("manet_r50", num_classes=52, embed_dim=300)
    assert count_parameters(manet) == 32_284_252
    se = sum(p.numel() for m in manet.modules() if isinstance(m, SqueezeExcite)
             for p in m.parameters())
    head = sum(p.numel() for p in [*manet.fc.parameters(), *manet.embed.parameters()])
    assert (se, head) == (7_964_672, 811_548)
    assert count_parameters(manet.trunk) - se == 23_508_032
    assert count_parameters(create_model("tsm_r50")) == 23_614_580
    assert count_parameters(create_model("tsn_r50")) == 23_614_580


def test_manet_flops_close_to_paper():
    gmacs = flops_per_clip(create_model("manet_r50")) / 2e9
    assert abs(gmacs - 33.1) < 1.0  # the paper reports ~33.1 GMACs per 8x224^2 clip


def test_se_before_shift_on_residual_branch_of_every_block():
    model = create_model("manet_r18", clip_len=4)
    calls = []
    prefixes = [m for m in model.modules() if isinstance(m, ResidualPrefix)]
    assert len(prefixes) == 8  # every BasicBlock of ResNet-18
    for i, p in enumerate(prefixes):
        assert isinstance(p.se, SqueezeExcite) and isinstance(p.shift, TemporalShift)
        p.se.register_forward_hook(lambda m, a, o, i=i: calls.append((i, "se", o)))
        p.shift.register_forward_pre_hook(lambda m, a, i=i: calls.append((i, "shift", a[0])))
    for layer in (model.trunk.layer1, model.trunk.layer2):  # shortcut untouched
        for block in layer:
            assert block.downsample is None or not any(
                isinstance(m, (ResidualPrefix, TemporalShift)) for m in block.downsample.modules())
    model.eval()
    model(torch.randn(1, 3, 4, 32, 32))
    assert [(c[0], c[1]) for c in calls] == [(i, k) for i in range(8) for k in ("se", "shift")]
    for j in range(0, len(calls), 2):  # the shift consumes exactly what SE produced
        assert torch.equal(calls[j][2], calls[j + 1][2])
    plain = create_model("tsn_r18")
    assert not any(isinstance(m, (ResidualPrefix, TemporalShift)) for m in plain.modules())


def test_state_dict_round_trip_and_class_count_mismatch():
    torch.manual_seed(0)
    a = create_model("manet_r18", num_classes=52, clip_len=2, embed_dim=16).eval()
    ckpt = {"model": a.model_name, "model_kwargs": a.model_kwargs, "state_dict": a.state_dict()}
    b = model_from_checkpoint(ckpt)
    x = torch.randn(1, 3, 2, 32, 32)
    assert torch.equal(a(x).logits, b(x).logits)
    other = create_model("manet_r18", num_classes=10, clip_len=2, embed_dim=16)
    with pytest.raises(CheckpointError, match="has 52 classes but the model has 10"):
        load_model_state(other, a.state_dict(), "ckpt.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model_state(create_model("tsm_r18"), create_model("tsm_r34").state_dict())


def test_pretrained_from_local_state_dict(tmp_path):
    import torchvision

    torch.manual_seed(1)
    ref = torchvision.models.resnet18(weights=None)
    torch.save(ref.state_dict(), tmp_path / "r18.pth")
    model = create_model("manet_r18", pretrained=str(tmp_path / "r18.pth"))
    assert torch.equal(model.trunk.conv1.weight, ref.conv1.weight)
    assert torch.equal(model.trunk.layer3[1].conv1.conv.weight, ref.layer3[1].conv1.weight)
    # fine-tuning heads start as in the MANet release, N(0, 0.001^2) with zero bias; from
    # scratch they keep PyTorch's default init (the tiny one starves a random trunk of gradient)
    assert model.fc.weight.std() < 0.0015 and not model.fc.bias.any()
    scratch = create_model("manet_r18")
    assert scratch.fc.weight.std() > 0.01 and scratch.fc.bias.abs().max() > 0
    with pytest.raises(CheckpointError, match="not found"):
        create_model("tsm_r18", pretrained=str(tmp_path / "missing.pth"))
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a loadable"):
        create_model("tsm_r18", pretrained=str(tmp_path / "junk.pth"))


def test_input_spec_declared():
    m = create_model("tsm_r18", clip_len=8, size=112)
    assert (m.input_spec.sampling, m.input_spec.clip_len, m.input_spec.size) == ("segment", 8, 112)
    assert create_model("manet_r50").input_spec.short_side == 256
