"""Checkpoint -> predictions: for a split of a dataset (``test``) or for your own videos."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from microaction.data.clips import clip_views, frames_to_views
from microaction.data.dataset import VideoDataset
from microaction.data.listfile import parse_list_file, placeholder_labels, split_files
from microaction.data.transforms import VideoTransform
from microaction.engine.checkpoint import load_checkpoint, model_from_checkpoint
from microaction.engine.distributed import DistInfo
from microaction.engine.loop import eval_loader, predict_scores
from microaction.errors import MicroactionError
from microaction.labels import LabelSpace
from microaction.models import to_channels_last
from microaction.progress import progress_bar
from microaction.spec import InputSpec

log = logging.getLogger(__name__)

# Inference at this input side and above runs channels-last: measured here (2 cores) manet_r50
# at 224 px took 830 ms per clip instead of 916 (batch 1) and 962 instead of 1308 (batch 8);
# at 48 px it was no faster (batch 8) or 12 % slower (batch 1), so small inputs keep the default.
CHANNELS_LAST_MIN_SIZE = 112


def inference_model(ckpt: dict, path, device) -> torch.nn.Module:
    """The checkpoint's model on ``device`` in eval mode, in the memory layout that is fastest
    for its input size (the same for ``test``, ``predict`` and ``timeline``)."""
    model = model_from_checkpoint(ckpt, str(path)).to(device).eval()
    if InputSpec.from_dict(ckpt["input_spec"]).size >= CHANNELS_LAST_MIN_SIZE:
        to_channels_last(model)
    return model


def checkpoint_labels(ckpt: dict) -> LabelSpace:
    names = ckpt.get("class_names")
    if names:
        return LabelSpace.from_names(names)
    return LabelSpace.from_count(int(ckpt["model_kwargs"]["num_classes"]))


def views_problem(ckpt: dict, crops: int) -> str | None:
    """Why ``crops`` test crops do not fit how a checkpoint was trained, or None. A model trained
    on centre crops only has never seen the top and bottom thirds of a portrait frame on their
    own, which is what three-crop testing feeds it (measured on the demo model: top-1 50 % with
    one centre crop, 12 % with 2x3 views)."""
    train_crop = ckpt.get("config", {}).get("data", {}).get("train_crop", "multiscale")
    if crops > 1 and train_crop == "center":
        return (f"this model was trained on centre crops only (data.train_crop: center); "
                f"{crops} test crops show it views it never saw in training")
    return None


def describe_training(ckpt: dict) -> str:
    """One line on what a checkpoint learned from."""
    data = ckpt.get("training_data")
    if not data:
        root = ckpt.get("config", {}).get("data", {}).get("root", "?")
        return f"trained on {root} (no more is recorded in this checkpoint)"
    kind = "SYNTHETIC data" if data.get("synthetic") else "real video"
    clips = f", {data['train_clips']} clips" if data.get("train_clips") else ""
    text = f"trained on {kind} ({data['root']}{clips})"
    if data.get("synthetic"):
        text += "; on real videos its answers are not meaningful"
    return text


@dataclass
class Predictor:
    model: torch.nn.Module
    spec: InputSpec
    labels: LabelSpace
    device: torch.device
    num_clips: int = 1
    test_crops: int = 1
    checkpoint: dict | None = None  # everything but the weights (for headers and reports)

    @classmethod
    def from_checkpoint(cls, path, device: str = "cpu", num_clips: int | None = None,
                        test_crops: int | None = None, force: bool = False) -> "Predictor":
        """The checkpoint's model with its own input spec and test views (as configured in
        training, or ``num_clips`` x ``test_crops``; views that do not fit how it was trained
        are refused unless ``force``)."""
        ckpt = load_checkpoint(path)
        model = inference_model(ckpt, path, device)
        data = ckpt.get("config", {}).get("data", {})
        clips = num_clips or data.get("test_clips", 1)
        crops = test_crops or data.get("test_crops", 1)
        problem = views_problem(ckpt, crops)
        if problem:
            if not force:
                raise MicroactionError(f"{path}: {problem}; use 1 crop, or --force")
            log.warning("%s: %s", path, problem)
        meta = {k: v for k, v in ckpt.items() if k not in ("state_dict", "optimizer")}
        return cls(model, InputSpec.from_dict(ckpt["input_spec"]), checkpoint_labels(ckpt),
                   torch.device(device), clips, crops, meta)

    @property
    def transform(self) -> VideoTransform:
        return VideoTransform(self.spec, train=False, test_crops=self.test_crops)

    @torch.no_grad()
    def scores_of_views(self, views: torch.Tensor) -> np.ndarray:
        """Softmax ``(K,)`` of one video's views ``(V, C, T, H, W)``, averaged over views."""
        self.model.eval()
        logits = self.model(views.to(self.device)).logits.float()
        return torch.softmax(logits, dim=1).mean(0).cpu().numpy()

    def scores(self, video: str | Path) -> np.ndarray:
        """Softmax scores ``(K,)`` of one video file, averaged over the test views."""
        views = clip_views(video, self.spec, self.transform, train=False,
                           num_clips=self.num_clips, threads=True)
        return self.scores_of_views(views)

    def scores_of_frames(self, frames: np.ndarray) -> np.ndarray:
        """Softmax ``(K,)`` of frames already in memory, in the order the model takes them
        (``(num_clips * clip_len, H, W, 3)``)."""
        return self.scores_of_views(frames_to_views(frames, self.spec, self.transform,
                                                    self.num_clips))

    def top(self, scores: np.ndarray, topk: int = 5) -> list[dict]:
        order = np.argsort(-scores, kind="stable")[:topk]
        return [{"action_id": int(a), "action": self.labels.names[a], "prob": float(scores[a]),
                 "body_id": self.labels.body_of(int(a)),
                 "body": self.labels.body_name_of(int(a))} for a in order]

    def predict(self, video: str | Path, topk: int = 5) -> dict:
        return {"video": str(video), "top": self.top(self.scores(video), topk)}

    def header(self) -> dict:
        """What was used: model, input, views, training data (for predict's output)."""
        ck = self.checkpoint or {}
        return {"model": ck.get("model"), "clip_len": self.spec.clip_len, "size": self.spec.size,
                "sampling": self.spec.sampling, "views": f"{self.num_clips}x{self.test_crops}",
                "training": describe_training(ck), "training_data": ck.get("training_data")}


# ----------------------------------------------------------------------------- list scoring

_LIST_NAME = re.compile(r"^(train|val|test)_list_videos")


def locate_videos(list_path: Path, entries, videos: str | Path | None) -> Path:
    """The folder holding a list's videos: ``videos`` if given; else ``videos_<split>/`` next to
    a ``<split>_list_videos*.txt``; else the list's own folder -- whichever holds the first
    listed file. Nothing found is an error naming the places tried."""
    if videos is not None:
        return Path(videos)
    tried = []
    m = _LIST_NAME.match(list_path.name)
    if m:
        tried.append(list_path.parent / f"videos_{m.group(1)}")
    tried.append(list_path.parent)
    for folder in tried:
        if (folder / entries[0].path).is_file():
            return folder
    raise MicroactionError(f"{list_path}: cannot find its videos (looked for {entries[0].path} "
                           f"in {' and '.join(map(str, tried))}); pass --videos DIR")


def score_split(cfg, ckpt_path, split: str, list_file: str | None, views: tuple[int, int] | None,
                info: DistInfo, progress: bool = True, videos: str | None = None,
                force: bool = False):
    """Scores for every line of a list (a split's, or ``list_file``), in list order ->
    (scores, video ids, labels, labelled?, list path, label space)."""
    ckpt = load_checkpoint(ckpt_path)
    model = inference_model(ckpt, ckpt_path, info.device)
    labels = checkpoint_labels(ckpt)
    spec = InputSpec.from_dict(ckpt["input_spec"])
    clips, crops = views or (cfg.data.test_clips, cfg.data.test_crops)
    problem = views_problem(ckpt, crops)
    if problem:
        if not force:
            raise MicroactionError(f"{ckpt_path}: {problem}; use --views {clips}x1, or --force")
        log.warning("%s: %s", ckpt_path, problem)
    if list_file:
        list_path = Path(list_file)
        entries = parse_list_file(list_path, len(labels))
        video_dir = locate_videos(list_path, entries, videos)
    else:
        list_path, video_dir = split_files(cfg.data.root, split)
        entries = parse_list_file(list_path, len(labels))
        video_dir = Path(videos) if videos else video_dir
    ds = VideoDataset(entries, video_dir, spec, train=False, num_clips=clips, test_crops=crops,
                      on_error=cfg.data.on_error)
    loader = eval_loader(ds, cfg.train.batch_size, cfg.data.num_workers, info)
    bar = progress_bar(total=len(loader), desc=f"test {list_path.name}",
                       enabled=progress and info.is_main)
    scores = predict_scores(model, loader, info, len(ds), progress=bar)
    bar.close()
    labelled = not placeholder_labels(entries) and (split != "test" or list_file is not None)
    return scores, [e.path for e in entries], ds.labels, labelled, list_path, labels
