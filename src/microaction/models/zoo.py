"""Named models. ``tsn_*``: per-frame ResNet + average consensus. ``tsm_*``: + temporal shift.
``manet_*``: + squeeze-excitation before the shift and the label-embedding head (MA-52's MANet)."""

from __future__ import annotations

from microaction.models.registry import register_model
from microaction.models.resnet import SegmentResNet


def _tsn(depth, num_classes=52, **kw):
    return SegmentResNet(num_classes, depth, shift=False, se=False, **kw)


def _tsm(depth, num_classes=52, **kw):
    return SegmentResNet(num_classes, depth, shift=True, se=False, **kw)


def _embedding_head(fn):
    fn.embedding_head = True
    return fn


def _manet(depth, num_classes=52, embed_dim=300, **kw):
    return SegmentResNet(num_classes, depth, shift=True, se=True, embed_dim=embed_dim, **kw)


@register_model
def tsn_r18(**kw):
    return _tsn(18, **kw)


@register_model
def tsn_r34(**kw):
    return _tsn(34, **kw)


@register_model
def tsn_r50(**kw):
    return _tsn(50, **kw)


@register_model
def tsn_r101(**kw):
    return _tsn(101, **kw)


@register_model
def tsm_r18(**kw):
    return _tsm(18, **kw)


@register_model
def tsm_r34(**kw):
    return _tsm(34, **kw)


@register_model
def tsm_r50(**kw):
    return _tsm(50, **kw)


@register_model
def tsm_r101(**kw):
    return _tsm(101, **kw)


@register_model
@_embedding_head
def manet_r18(**kw):
    return _manet(18, **kw)


@register_model
@_embedding_head
def manet_r34(**kw):
    return _manet(34, **kw)


@register_model
@_embedding_head
def manet_r50(**kw):
    return _manet(50, **kw)


@register_model
@_embedding_head
def manet_r101(**kw):
    return _manet(101, **kw)
