"""Export a checkpoint for deployment: ONNX (run with ONNX Runtime) or TorchScript.

The exported graph takes a batch of clips ``(B, 3, T, H, W)`` -- B dynamic, T/H/W the model's
input spec -- and returns logits ``(B, K)``. Everything needed to use it travels inside the
file: the input spec, the class names, the test views, the model's name and where it was
trained, the ONNX opset (ONNX: the model's ``metadata_props``; TorchScript: an extra file
``microaction.json``). After writing, the export is run on batches of 1 and 3 clips and compared
with PyTorch (max absolute difference of the softmax).

ONNX uses PyTorch's TorchScript-based exporter (``dynamo=False``): the dynamo exporter could
not capture these models here (temporal shift's in-place slicing). Every registered family
exports (tested at small sizes); TorchScript is traced, so Python-side checks (clip length,
batch divisibility) are not part of the traced graph.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from microaction.data.clips import clip_views
from microaction.data.transforms import VideoTransform
from microaction.engine.checkpoint import load_checkpoint, model_from_checkpoint
from microaction.errors import MicroactionError
from microaction.inference import checkpoint_labels, describe_training
from microaction.io import atomic_path
from microaction.labels import LabelSpace
from microaction.spec import InputSpec

log = logging.getLogger(__name__)

FORMATS = ("onnx", "torchscript")
OPSET = 17
META_KEY = "microaction"


class Logits(torch.nn.Module):
    """The model's logits alone (the exported output)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, video):
        return self.model(video).logits


def metadata(ckpt: dict, fmt: str) -> dict:
    data = ckpt.get("config", {}).get("data", {})
    return {"format": "microaction-export-v1", "export_format": fmt, "model": ckpt["model"],
            "model_kwargs": ckpt["model_kwargs"], "class_names": list(checkpoint_labels(ckpt).names),
            "input_spec": ckpt["input_spec"], "test_clips": data.get("test_clips", 1),
            "test_crops": data.get("test_crops", 1), "training": describe_training(ckpt),
            "training_data": ckpt.get("training_data"), "opset": OPSET if fmt == "onnx" else None,
            "torch": torch.__version__}


def export(checkpoint: str | Path, fmt: str, out: str | Path) -> dict:
    """Write the export; returns its metadata and the parity check."""
    if fmt not in FORMATS:
        raise MicroactionError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    ckpt = load_checkpoint(checkpoint)
    model = Logits(model_from_checkpoint(ckpt, str(checkpoint))).eval()
    spec = InputSpec.from_dict(ckpt["input_spec"])
    example = torch.randn(1, 3, spec.clip_len, spec.size, spec.size,
                          generator=torch.Generator().manual_seed(0))
    meta = metadata(ckpt, fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and exporter chatter about Python values
        if fmt == "onnx":
            _onnx(model, example, out, meta)
        else:
            _torchscript(model, example, out, meta)
    meta["parity_max_abs_softmax"] = parity(model, out, fmt, spec)
    return meta


def _onnx(model, example, out, meta):
    import onnx

    kw = {"input_names": ["video"], "output_names": ["logits"], "opset_version": OPSET,
          "dynamic_axes": {"video": {0: "batch"}, "logits": {0: "batch"}}}
    with atomic_path(out, ".onnx") as tmp:
        try:
            torch.onnx.export(model, (example,), str(tmp), dynamo=False, **kw)
        except TypeError:  # torch < 2.5 has no dynamo switch (and no dynamo exporter)
            torch.onnx.export(model, (example,), str(tmp), **kw)
        proto = onnx.load(str(tmp))
        entry = proto.metadata_props.add()
        entry.key, entry.value = META_KEY, json.dumps(meta)
        onnx.save(proto, str(tmp))


def _torchscript(model, example, out, meta):
    traced = torch.jit.trace(model, example, check_trace=False)
    with atomic_path(out, ".pt") as tmp:
        torch.jit.save(traced, str(tmp), _extra_files={f"{META_KEY}.json": json.dumps(meta)})


def parity(model, path, fmt: str, spec: InputSpec) -> float:
    """Max |softmax(export) - softmax(PyTorch)| over batches of 1 and 3 random clips."""
    runner = load_exported(path)
    worst = 0.0
    for batch in (1, 3):
        x = torch.randn(batch, 3, spec.clip_len, spec.size, spec.size,
                        generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            ref = torch.softmax(model(x), 1).numpy()
        worst = max(worst, float(np.abs(runner.probabilities(x.numpy()) - ref).max()))
    return worst


class ExportedModel:
    """An exported file and its metadata; ``probabilities(x)`` for a batch of clips."""

    def __init__(self, path: Path, meta: dict, run):
        self.path, self.meta, self._run = path, meta, run

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        logits = self._run(np.ascontiguousarray(x, dtype=np.float32))
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)


def load_exported(path: str | Path) -> ExportedModel:
    """An ONNX (ONNX Runtime, CPU) or TorchScript export written by :func:`export`."""
    path = Path(path)
    if not path.is_file():
        raise MicroactionError(f"{path}: exported model not found")
    if path.suffix.lower() == ".onnx":
        try:
            import onnxruntime as ort
        except ImportError:
            raise MicroactionError("ONNX models need onnxruntime: pip install "
                                   "'microaction[export]'") from None
        try:
            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise MicroactionError(f"{path}: not a loadable ONNX model "
                                   f"({type(exc).__name__})") from None
        raw = session.get_modelmeta().custom_metadata_map.get(META_KEY)
        if raw is None:
            raise MicroactionError(f"{path}: an ONNX model without microaction metadata")
        name = session.get_inputs()[0].name
        return ExportedModel(path, json.loads(raw),
                             lambda x: session.run(None, {name: x})[0])
    extra = {f"{META_KEY}.json": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation notice
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    except Exception as exc:
        raise MicroactionError(f"{path}: not a TorchScript export ({type(exc).__name__})") \
            from None
    if not extra[f"{META_KEY}.json"]:
        raise MicroactionError(f"{path}: a TorchScript file without microaction metadata")
    module.eval()

    def run(x):
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()

    return ExportedModel(path, json.loads(extra[f"{META_KEY}.json"]), run)


class ExportedPredictor:
    """``predict`` with an exported model: the same sampling, transforms, views and output as
    :class:`microaction.inference.Predictor`."""

    def __init__(self, path: str | Path, num_clips: int | None = None,
                 test_crops: int | None = None):
        self.exported = load_exported(path)
        meta = self.exported.meta
        self.spec = InputSpec.from_dict(meta["input_spec"])
        self.labels = LabelSpace.from_names(meta["class_names"])
        self.num_clips = num_clips or meta.get("test_clips", 1)
        self.test_crops = test_crops or meta.get("test_crops", 1)

    def scores(self, video) -> np.ndarray:
        views = clip_views(video, self.spec, VideoTransform(self.spec, False, self.test_crops),
                           train=False, num_clips=self.num_clips, threads=True)
        return self.exported.probabilities(views.numpy()).mean(0)

    def top(self, scores: np.ndarray, topk: int = 5) -> list[dict]:
        from microaction.inference import Predictor

        return Predictor.top(self, scores, topk)

    def predict(self, video, topk: int = 5) -> dict:
        return {"video": str(video), "top": self.top(self.scores(video), topk)}

    def header(self) -> dict:
        m = self.exported.meta
        return {"model": f"{m['model']} ({m['export_format']} export)",
                "clip_len": self.spec.clip_len, "size": self.spec.size,
                "sampling": self.spec.sampling, "views": f"{self.num_clips}x{self.test_crops}",
                "training": m.get("training", ""), "training_data": m.get("training_data")}
