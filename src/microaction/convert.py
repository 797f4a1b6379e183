"""Official (mmaction2-layout) MANet / TSM / TSN checkpoints -> microaction checkpoints.

The official release saves an mmcv checkpoint: a dict with ``state_dict`` whose keys start with
``backbone.`` (a ResNet whose ConvModules are ``conv``/``bn`` pairs; in TSM and MANet each
block's first conv is wrapped, ``conv1.conv.net``, and MANet's wrapper adds the SE gate
``fcce.0``/``fcce.2`` and three layers that never run, ``action_p2_*``) and ``cls_head.``
(``fc_cls``; MANet adds ``fc_emb`` -> tanh -> ``fc_emb_t``). The names are paired by rule, not by
position (inside a wrapped block the official order puts ``net`` before ``fcce``).

Every tensor our model needs must be there with its shape (else an error names the official
key); the unused ``action_p2_*`` tensors are dropped and counted; anything else unknown is an
error, since it means a different architecture.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path


from microaction.config import Config
from microaction.engine.checkpoint import save_checkpoint
from microaction.errors import CheckpointError
from microaction.labels import LabelSpace, read_label_names
from microaction.models import create_model
from microaction.spec import InputSpec

log = logging.getLogger(__name__)

UNUSED = re.compile(r"\.action_p2_(squeeze|conv1|expand)\.")
# block counts per stage -> depth, for bottleneck (conv3 present) and basic blocks
DEPTH_OF = {(True, (3, 4, 6, 3)): 50, (True, (3, 4, 23, 3)): 101,
            (False, (2, 2, 2, 2)): 18, (False, (3, 4, 6, 3)): 34}


def read_official(path: str | Path) -> dict:
    """The ``state_dict`` of an official checkpoint, loaded without running code."""
    from microaction.models.weights import local_state

    state = local_state(path, "checkpoint")
    if not any(k.startswith(("backbone.", "module.backbone.")) for k in state):
        raise CheckpointError(f"{path}: not an mmaction2-layout checkpoint (no backbone.* keys "
                              f"under state_dict)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def identify(state: dict, source: str = "checkpoint") -> tuple[str, dict]:
    """(registered model name, constructor kwargs) of an official state dict."""
    keys = list(state)
    se = any(".fcce." in k for k in keys)
    shift = any(".conv1.conv.net." in k for k in keys)
    embed = "cls_head.fc_emb.weight" in state
    family = "manet" if se else "tsm" if shift else "tsn"
    if se != embed:
        raise CheckpointError(f"{source}: SE gates and an embedding head must come together "
                              f"(MANet); this checkpoint has {'only SE' if se else 'only the head'}")
    blocks = []
    for stage in range(1, 5):
        ids = {int(m.group(1)) for k in keys
               if (m := re.match(rf"backbone\.layer{stage}\.(\d+)\.", k))}
        blocks.append(max(ids) + 1 if ids else 0)
    bottleneck = any(re.match(r"backbone\.layer1\.0\.conv3\.", k) for k in keys)
    depth = DEPTH_OF.get((bottleneck, tuple(blocks)))
    if depth is None:
        raise CheckpointError(f"{source}: a ResNet with {blocks} blocks per stage "
                              f"({'bottleneck' if bottleneck else 'basic'}) is not supported")
    if "cls_head.fc_cls.weight" not in state:
        raise CheckpointError(f"{source}: missing cls_head.fc_cls.weight")
    kwargs = {"num_classes": int(state["cls_head.fc_cls.weight"].shape[0])}
    if embed:
        kwargs["embed_dim"] = int(state["cls_head.fc_emb.weight"].shape[0])
    return f"{family}_r{depth}", kwargs


def official_key(ours: str) -> str:
    """The official name of one of our state-dict keys."""
    head = {"fc.": "cls_head.fc_cls.", "embed.0.": "cls_head.fc_emb.",
            "embed.2.": "cls_head.fc_emb_t."}
    for mine, theirs in head.items():
        if ours.startswith(mine):
            return theirs + ours[len(mine):]
    if not ours.startswith("trunk."):
        raise KeyError(ours)
    k = ours[len("trunk."):]
    if k.startswith("conv1."):
        return "backbone.conv1.conv." + k[len("conv1."):]
    if k.startswith("bn1."):
        return "backbone.conv1.bn." + k[len("bn1."):]
    m = re.match(r"(layer\d\.\d+)\.(.*)$", k)
    if not m:
        raise KeyError(ours)
    block, rest = m.groups()
    rules = [(r"conv1\.se\.fc1\.(.*)", r"conv1.conv.fcce.0.\1"),
             (r"conv1\.se\.fc2\.(.*)", r"conv1.conv.fcce.2.\1"),
             (r"conv1\.conv\.(.*)", r"conv1.conv.net.\1"),  # shift-wrapped first conv
             (r"conv(\d)\.(.*)", r"conv\1.conv.\2"),
             (r"bn(\d)\.(.*)", r"conv\1.bn.\2"),
             (r"downsample\.0\.(.*)", r"downsample.conv.\1"),
             (r"downsample\.1\.(.*)", r"downsample.bn.\1")]
    for pattern, repl in rules:
        if re.fullmatch(pattern, rest):
            return f"backbone.{block}." + re.sub(pattern, repl, rest)
    raise KeyError(ours)


def convert_state(state: dict, source: str = "checkpoint", clip_len: int = 8):
    """-> (model with the official weights, dropped-tensor count by kind)."""
    name, kwargs = identify(state, source)
    model = create_model(name, clip_len=clip_len, **kwargs)
    ours = model.state_dict()
    loaded, used = {}, set()
    for key, tensor in ours.items():
        theirs = official_key(key)
        if theirs not in state:
            raise CheckpointError(f"{source}: missing {theirs} (for {name})")
        if tuple(state[theirs].shape) != tuple(tensor.shape):
            raise CheckpointError(f"{source}: {theirs} has shape {tuple(state[theirs].shape)}, "
                                  f"{name} needs {tuple(tensor.shape)}")
        loaded[key] = state[theirs].to(tensor.dtype)
        used.add(theirs)
    dropped = {"tensors": 0, "parameters": 0}
    for key, tensor in state.items():
        if key in used:
            continue
        if not UNUSED.search(key):
            raise CheckpointError(f"{source}: unexpected {key} (not part of {name})")
        dropped["tensors"] += 1
        dropped["parameters"] += tensor.numel()
    model.load_state_dict(loaded)
    return model.eval(), dropped


def convert_checkpoint(src: str | Path, out: str | Path, clip_len: int = 8,
                       label_names: str | Path | None = None) -> dict:
    """Write a microaction checkpoint (``test``, ``predict``, ``timeline`` and fine-tuning via
    ``model.pretrained``) from an official one; returns a summary."""
    state = read_official(src)
    model, dropped = convert_state(state, str(src), clip_len)
    num_classes = model.model_kwargs["num_classes"]
    labels = LabelSpace.from_names(read_label_names(label_names)) if label_names else \
        LabelSpace.from_count(num_classes)
    if len(labels) != num_classes:
        raise CheckpointError(f"{label_names}: {len(labels)} names for {num_classes} classes")
    cfg = Config()
    cfg.model.name, cfg.model.clip_len = model.model_name, clip_len
    cfg.model.pretrained, cfg.data.num_classes = None, num_classes
    spec: InputSpec = model.input_spec
    save_checkpoint(out, {
        "model": model.model_name, "model_kwargs": model.model_kwargs,
        "class_names": list(labels.names), "input_spec": spec.to_dict(),
        "config": cfg.to_dict(), "state_dict": model.state_dict(),
        "progress": {"epoch": None},
        "training_data": {"root": f"official release ({Path(src).name})", "train_clips": None,
                          "synthetic": False, "train_crop": "multiscale"},
        "converted_from": {"file": str(src), "dropped": dropped}})
    params = sum(p.numel() for p in model.parameters())
    return {"model": model.model_name, "num_classes": num_classes, "parameters": params,
            "dropped": dropped}
