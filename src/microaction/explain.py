"""Where a model looks: Grad-CAM for every family, as heat maps over the frames it saw.

Grad-CAM (Selvaraju et al., 2017): the class score's gradient, averaged over positions, weighs
each channel of a late feature map; the weighted sum, rectified, is the heat. Written here
rather than taken from ``pytorch-grad-cam`` because video models break that library's
assumptions: a segment model's feature maps come as T frames per clip (its batch is T times the
model's), a 3D model's maps have a time axis to pool and to stretch back over the clip, and it
would add OpenCV as a dependency. Per family:

- segment models (TSN, TSM, MANet, TIN, TANet): a late trunk stage, one map and one set of
  channel weights per frame;
- 3D CNNs (C3D, I3D, R(2+1)D, SlowFast's slow pathway): a late stage's spatiotemporal map,
  stretched over the clip's frames;
- TimeSformer: Grad-CAM on the patch tokens entering the last block (each frame's tokens laid
  out on the patch grid, channel weights per frame) -- the usual way to apply Grad-CAM to a ViT.

The stage is the last one (layer4, as Grad-CAM prescribes) at the usual 224 px; on small inputs
it is the deepest stage whose map is still at least 6 x 6 (layer2 at 48 px), since a 2 x 2 map
cannot say where anything is. Heat is normalised by its maximum over the whole clip, so frames
with little evidence stay dim.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from microaction.errors import MicroactionError

log = logging.getLogger(__name__)

METHODS = ("gradcam",)


MIN_MAP = 6  # the deepest stage whose map is at least this many cells wide


def _stage(trunk, size: int):
    """A ResNet's deepest stage (layer4 ... layer2) whose map is at least MIN_MAP wide for a
    ``size`` px input: layer4 at 224 px (7 x 7), layer2 at 48 px (6 x 6) -- the last stage's
    2 x 2 map of a small input says nothing about where."""
    for k, stride in ((4, 32), (3, 16), (2, 8)):
        if -(-size // stride) >= MIN_MAP:
            return getattr(trunk, f"layer{k}")
    return trunk.layer1


def _activation_site(model):
    """(module, kind, picks the activation from the module's output or input)."""
    from microaction.models.c3d import C3D
    from microaction.models.resnet import SegmentResNet
    from microaction.models.resnet3d import SlowFast, VideoResNet3d
    from microaction.models.timesformer import TimeSformer

    size = model.input_spec.size
    if isinstance(model, SegmentResNet):
        return _stage(model.trunk, size), "frames", "output"
    if isinstance(model, VideoResNet3d):
        return _stage(model.trunk, size), "volume", "output"
    if isinstance(model, SlowFast):
        return _stage(model.slow, size), "volume", "output"
    if isinstance(model, C3D):
        return model.pool_conv5b, "volume", "input"  # conv5b after its ReLU
    if isinstance(model, TimeSformer):
        # the patch tokens entering the last block: its attention is the class token's last
        # look at them (the block's own patch outputs no longer reach the class token)
        return model.blocks[-1], "tokens", "input"
    raise MicroactionError(f"no explanation method for {type(model).__name__}")


def gradcam(model, video: torch.Tensor, class_id: int | None = None):
    """``video`` ``(1, C, T, H, W)`` -> (heat ``(T, H, W)`` in [0, 1], softmax ``(K,)``,
    class explained)."""
    module, kind, where = _activation_site(model)
    store = {}

    def keep(tensor):
        store["act"] = tensor
        tensor.register_hook(lambda g: store.__setitem__("grad", g))

    def hook(mod, inputs, output):
        if kind == "tokens":
            keep(inputs[1])  # (cls, patches)
        else:
            keep(inputs[0] if where == "input" else output)

    handle = module.register_forward_hook(hook)
    model.eval()
    try:
        with torch.enable_grad():
            video = video.detach().requires_grad_(True)  # grads flow even into frozen weights
            logits = model(video).logits
            probs = torch.softmax(logits.float(), 1)[0]
            cls = int(probs.argmax()) if class_id is None else int(class_id)
            if not 0 <= cls < logits.shape[1]:
                raise MicroactionError(f"--class {cls} is outside 0..{logits.shape[1] - 1}")
            model.zero_grad(set_to_none=True)
            logits[0, cls].backward()
    finally:
        handle.remove()
    act, grad = store["act"].detach(), store["grad"].detach()
    t, h, w = video.shape[2:]
    if kind == "frames":  # (T, C, h', w'): channel weights per frame
        cam = F.relu((grad.mean((2, 3), keepdim=True) * act).sum(1, keepdim=True))
        heat = F.interpolate(cam, size=(h, w), mode="bilinear", align_corners=False)[:, 0]
    elif kind == "volume":  # (1, C, t', h', w'): one weight per channel over the clip
        cam = F.relu((grad.mean((2, 3, 4), keepdim=True) * act).sum(1, keepdim=True))
        heat = F.interpolate(cam, size=(t, h, w), mode="trilinear", align_corners=False)[0, 0]
    else:  # tokens (1, T, N, D): a ViT's Grad-CAM per frame on the patch grid
        side = int(round(act.shape[2] ** 0.5))
        cam = F.relu((grad.mean(2, keepdim=True) * act).sum(-1))[0]  # (T, N)
        cam = cam.view(-1, 1, side, side)
        heat = F.interpolate(cam, size=(h, w), mode="bilinear", align_corners=False)[:, 0]
    heat = heat / heat.max().clamp_min(1e-12)
    return heat.numpy(), probs.detach().numpy(), cls


def input_frames(video: torch.Tensor, spec) -> np.ndarray:
    """The normalised input back to uint8 frames ``(T, H, W, 3)`` for display."""
    mean = torch.tensor(spec.mean).view(3, 1, 1, 1)
    std = torch.tensor(spec.std).view(3, 1, 1, 1)
    x = (video[0] * std + mean).clamp(0, 255).permute(1, 2, 3, 0)
    return x.round().byte().numpy()


def overlay(frames: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Frames ``(T, H, W, 3)`` with the heat (jet colours) blended in."""
    import matplotlib

    colours = matplotlib.colormaps["jet"](heat)[..., :3] * 255
    weight = alpha * heat[..., None] ** 0.5  # cold areas stay mostly the frame
    return (frames * (1 - weight) + colours * weight).clip(0, 255).astype(np.uint8)


def explain_video(predictor, video: str | Path, out_dir: str | Path,
                  class_id: int | None = None, method: str = "gradcam") -> dict:
    """Heat maps for the frames the model sees of ``video``: ``explain.png`` (frames above,
    overlays below, class and probability in the title), ``explain.mp4`` (the heat over every
    frame of the video, interpolated in time between the sampled frames) and ``heat.npy``."""
    from microaction.data.clips import frame_selector, frames_to_views
    from microaction.data.video import read_video, write_video
    from microaction.io import save_npy
    from microaction.plots import explanation_grid

    if method not in METHODS:
        raise MicroactionError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    spec = predictor.spec
    clip = read_video(video, None, short_side=spec.short_side)
    idx = frame_selector(spec, train=False, num_clips=1)(clip.length)[0]
    x = frames_to_views(clip.frames[idx], spec, predictor.transform.__class__(spec, False, 1))
    heat, probs, cls = gradcam(predictor.model, x.to(predictor.device), class_id)
    shown = input_frames(x.cpu(), spec)
    out_dir = Path(out_dir)
    names = predictor.labels.names
    title = f"{Path(video).name}: {cls} {names[cls]} ({100 * probs[cls]:.1f} %), " \
            f"Grad-CAM of {predictor.header()['model']}"
    explanation_grid(shown, overlay(shown, heat), title, out_dir / "explain.png",
                     [f"frame {int(i)}" for i in idx])
    save_npy(out_dir / "heat.npy", heat.astype(np.float32))
    full = _centre_crops(clip.frames, spec)
    write_video(out_dir / "explain.mp4", overlay(full, _heat_over_time(heat, idx, clip.length)),
                fps=clip.fps)
    return {"class": cls, "name": names[cls], "prob": float(probs[cls]),
            "frames": [int(i) for i in idx]}


def _centre_crops(frames: np.ndarray, spec) -> np.ndarray:
    from microaction.data.transforms import center_crop, resize_short_side, to_tensor

    x = center_crop(resize_short_side(to_tensor(frames), spec.short_side), spec.size)
    return x.permute(0, 2, 3, 1).numpy()


def _heat_over_time(heat: np.ndarray, idx: np.ndarray, length: int) -> np.ndarray:
    """Heat for every frame: linear between the sampled frames, held beyond the ends."""
    order = np.argsort(idx, kind="stable")
    idx, heat = idx[order], heat[order]
    out = np.empty((length,) + heat.shape[1:], np.float32)
    for i in range(length):
        j = np.searchsorted(idx, i)
        if j == 0:
            out[i] = heat[0]
        elif j >= len(idx):
            out[i] = heat[-1]
        else:
            a, b = idx[j - 1], idx[j]
            f = 0.0 if b == a else (i - a) / (b - a)
            out[i] = (1 - f) * heat[j - 1] + f * heat[j]
    return out


def hottest_point(heat: np.ndarray) -> tuple[int, int, int]:
    """(frame, y, x) of the heat's maximum."""
    return tuple(int(v) for v in np.unravel_index(int(np.argmax(heat)), heat.shape))
