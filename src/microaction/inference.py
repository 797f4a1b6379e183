"""Checkpoint -> predictions: for a split of a dataset (``test``) or for your own videos."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from microaction.data.dataset import VideoDataset
from microaction.data.listfile import parse_list_file, split_files
from microaction.data.sampling import dense_indices, segment_indices
from microaction.data.transforms import VideoTransform
from microaction.data.video import read_video
from microaction.engine.checkpoint import load_checkpoint, model_from_checkpoint
from microaction.engine.distributed import DistInfo
from microaction.engine.loop import predict_scores
from microaction.labels import BODY_NAMES
from microaction.spec import InputSpec

log = logging.getLogger(__name__)


@dataclass
class Predictor:
    model: torch.nn.Module
    spec: InputSpec
    class_names: list
    action_to_body: list
    device: torch.device
    num_clips: int = 1
    test_crops: int = 1

    @classmethod
    def from_checkpoint(cls, path, device: str = "cpu", num_clips: int | None = None,
                        test_crops: int | None = None) -> "Predictor":
        from microaction.engine.runner import action_to_body

        ckpt = load_checkpoint(path)
        model = model_from_checkpoint(ckpt, str(path)).to(device)
        data = ckpt.get("config", {}).get("data", {})
        names = list(ckpt.get("class_names") or [str(i) for i in range(model.fc.out_features)])
        return cls(model, InputSpec.from_dict(ckpt["input_spec"]), names,
                   list(action_to_body(len(names))), torch.device(device),
                   num_clips or data.get("test_clips", 1), test_crops or data.get("test_crops", 1))

    @torch.no_grad()
    def scores(self, video: str | Path) -> np.ndarray:
        """Softmax scores ``(K,)`` of one video, averaged over test views."""
        spec, clips = self.spec, self.num_clips

        def select(n):
            if spec.sampling == "segment":
                return segment_indices(n, spec.frames, False, num_clips=clips)
            return dense_indices(n, spec.frames, spec.interval, False, num_clips=clips)

        clip = read_video(video, select, short_side=spec.short_side)
        x = VideoTransform(spec, train=False, test_crops=self.test_crops)(clip.frames)
        if x.dim() == 4:
            x = x.unsqueeze(0)
        k, c, _, h, w = x.shape
        x = x.view(k, c, clips, spec.frames, h, w).permute(2, 0, 1, 3, 4, 5)
        x = x.reshape(clips * k, c, spec.frames, h, w).to(self.device)
        probs = torch.softmax(self.model(x).logits.float(), dim=1).mean(0)
        return probs.cpu().numpy()

    def predict(self, video: str | Path, topk: int = 5) -> dict:
        s = self.scores(video)
        top = np.argsort(-s, kind="stable")[:topk]
        body_names = BODY_NAMES if len(self.class_names) == 52 else None
        return {"video": str(video), "top": [
            {"action_id": int(a), "action": self.class_names[a], "prob": float(s[a]),
             "body_id": int(self.action_to_body[a]),
             "body": body_names[self.action_to_body[a]] if body_names else None}
            for a in top]}


def score_split(cfg, ckpt_path, split: str, list_file: str | None, views: tuple[int, int] | None,
                info: DistInfo, progress: bool = True):
    """Scores for every line of a split's list (in list order) -> (scores, video ids, labels,
    labelled?)."""
    from tqdm import tqdm

    from microaction.engine.runner import action_to_body, eval_loader

    ckpt = load_checkpoint(ckpt_path)
    model = model_from_checkpoint(ckpt, str(ckpt_path)).to(info.device)
    num_classes = model.fc.out_features
    spec = InputSpec.from_dict(ckpt["input_spec"])
    default_list, video_dir = split_files(cfg.data.root, split)
    list_path = Path(list_file) if list_file else default_list
    entries = parse_list_file(list_path, num_classes)
    clips, crops = views or (cfg.data.test_clips, cfg.data.test_crops)
    ds = VideoDataset(entries, video_dir, spec, train=False, num_clips=clips, test_crops=crops,
                      on_error=cfg.data.on_error, action_to_body=action_to_body(num_classes))
    loader = eval_loader(ds, cfg, info)
    bar = tqdm(total=len(loader), desc=f"test {split}", disable=not (progress and info.is_main))
    scores = predict_scores(model, loader, info, len(ds), progress=bar)
    bar.close()
    labelled = split != "test" or list_file is not None
    return scores, [e.path for e in entries], ds.labels, labelled, list_path


def write_report(out_dir: str | Path, report: dict) -> None:
    out_dir = Path(out_dir)
    tmp = out_dir / ".report.json.part"
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.replace(out_dir / "report.json")
