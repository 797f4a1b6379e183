"""Named models. ``tsn_*``: per-frame ResNet + average consensus. ``tsm_*``: + temporal shift.
``manet_*``: + squeeze-excitation before the shift and the label-embedding head (MA-52's MANet).
Each comes on ResNet-18/34/50/101 (``*_r18`` ... ``*_r101``)."""

from __future__ import annotations

from microaction.models.registry import register_model
from microaction.models.resnet import DEPTHS, SegmentResNet

FAMILIES = {
    # prefix: (temporal shift, squeeze-excitation, label-embedding head)
    "tsn": (False, False, False),
    "tsm": (True, False, False),
    "manet": (True, True, True),
}


def _builder(prefix: str, depth: int):
    shift, se, embedding = FAMILIES[prefix]

    def build(num_classes: int = 52, **kw):
        if embedding:
            kw.setdefault("embed_dim", 300)  # the official label table is 52 x 300
        return SegmentResNet(num_classes, depth, shift=shift, se=se, **kw)

    build.__name__ = f"{prefix}_r{depth}"
    build.__doc__ = f"{prefix.upper()} on ResNet-{depth}."
    build.embedding_head = embedding
    return build


for _prefix in FAMILIES:
    for _depth in DEPTHS:
        register_model(_builder(_prefix, _depth))
