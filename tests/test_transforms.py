import numpy as np
import pytest
import torch

from microaction.data.transforms import (FIXED_OFFSETS, MULTISCALE, VideoTransform,
                                         multiscale_crop_box, three_crop)
from microaction.spec import InputSpec


def frames(t=4, h=120, w=100):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def test_multiscale_crop_uses_scales_and_13_offsets():
    assert len(FIXED_OFFSETS) == 13
    rng = np.random.default_rng(0)
    assert MULTISCALE == (1.0, 0.875, 0.75, 0.66)  # the MANet recipe's scales
    sides = {256, 224, 192, 168}  # int(256 x scale)
    tops = set()
    for _ in range(500):
        top, left, ch, cw = multiscale_crop_box(320, 256, rng)
        assert ch in sides and cw in sides
        assert abs(sorted(sides).index(ch) - sorted(sides).index(cw)) <= 1
        assert 0 <= top <= 320 - ch and 0 <= left <= 256 - cw
        tops.add((top * 4) // max(320 - ch, 1))
    assert tops == {0, 1, 2, 3, 4}


def test_train_output_shape_and_flip_is_clip_consistent():
    spec = InputSpec(clip_len=4, size=32, short_side=40)
    x = frames()
    x[:] = x[:1]  # identical frames: after the same crop/flip every frame must match
    out = VideoTransform(spec, train=True)(x, np.random.default_rng(3))
    assert out.shape == (3, 4, 32, 32) and out.dtype == torch.float32
    assert torch.equal(out[:, 0], out[:, 3])


def test_test_views_and_normalisation():
    spec = InputSpec(clip_len=4, size=32, short_side=40)
    grey = np.full((4, 50, 40, 3), 128, np.uint8)
    out = VideoTransform(spec, train=False)(grey)
    assert out.shape == (3, 4, 32, 32)
    # the recipe's mean (123.675, 116.28, 103.53) and std (58.395, 57.12, 57.375), 0-255 scale
    expect = torch.tensor([(128 - 123.675) / 58.395, (128 - 116.28) / 57.12,
                           (128 - 103.53) / 57.375])
    assert torch.allclose(out[:, 0, 0, 0], expect, atol=1e-5)
    three = VideoTransform(spec, train=False, test_crops=3)(frames())
    assert three.shape == (3, 3, 4, 32, 32)


def test_three_crop_spans_long_side():
    x = torch.arange(60 * 40).view(1, 1, 60, 40)
    crops = three_crop(x, 40)
    assert [c[0, 0, 0, 0].item() for c in crops] == [0, 10 * 40, 20 * 40]


def test_flip_happens_about_half_the_time():
    spec = InputSpec(clip_len=1, size=16, short_side=16)
    x = np.zeros((1, 16, 16, 3), np.uint8)
    x[:, :, :4] = 255  # bright left edge
    t = VideoTransform(spec, train=True, scales=(1.0,))
    rng = np.random.default_rng(0)
    left = sum(bool(t(x, rng)[0, 0, :, 0].mean() > 0) for _ in range(200))
    assert 70 < left < 130


def test_bad_spec():
    with pytest.raises(ValueError):
        InputSpec(size=300, short_side=256)
    with pytest.raises(ValueError):
        InputSpec(sampling="random")
