"""One training epoch and one evaluation pass. Plain loops; ``fit`` in ``runner`` composes them."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from microaction.engine.distributed import DistInfo, all_gather_objects
from microaction.errors import MicroactionError


@dataclass
class Precision:
    """Autocast settings: ``dtype`` None means full fp32."""

    dtype: torch.dtype | None = None
    scaler: object | None = None

    def autocast(self, device: torch.device):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.dtype)


def make_precision(amp: str, device: torch.device) -> Precision:
    """auto: bf16 on GPUs that support it, else fp16 with a grad scaler; off on CPU (bf16 autocast
    is slower than fp32 on CPUs without AMX)."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return Precision()
    if amp == "auto":
        amp = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if amp == "bf16":
        return Precision(torch.bfloat16)
    scaler = torch.amp.GradScaler("cuda") if device.type == "cuda" else None
    return Precision(torch.float16, scaler)


def train_one_epoch(model: nn.Module, criterion, optimizer, scheduler, loader, info: DistInfo,
                    precision: Precision, clip_grad: float | None,
                    start_iter: int = 0, on_iter=None, progress=None) -> dict:
    """Train over ``loader`` (already positioned at ``start_iter``). ``on_iter(it, stats)`` is
    called after every optimiser step with the running statistics. Returns epoch averages."""
    model.train()
    sums = {"loss": 0.0, "ce": 0.0, "embed": 0.0}
    seen, skipped, it = 0, 0, start_iter
    for batch in loader:
        if batch is None:  # every clip of the batch was bad and skipped
            it += 1
            continue
        skipped += int(batch.get("num_skipped", 0))
        x = batch["video"].to(info.device, non_blocking=True)
        y = batch["label"].to(info.device, non_blocking=True)
        with precision.autocast(info.device):
            out = model(x)
            parts = criterion(out, y)
        loss = parts["loss"]
        if not torch.isfinite(loss):
            raise MicroactionError(f"loss became {loss.item()} at iteration {it}; lower the "
                                   f"learning rate or check the data")
        optimizer.zero_grad(set_to_none=True)
        if precision.scaler is not None:
            precision.scaler.scale(loss).backward()
            precision.scaler.unscale_(optimizer)
        else:
            loss.backward()
        if clip_grad:
            nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
        if precision.scaler is not None:
            precision.scaler.step(optimizer)
            precision.scaler.update()
        else:
            optimizer.step()
        scheduler.step()
        n = len(y)
        seen += n
        for k in sums:
            sums[k] += float(parts[k].detach()) * n
        it += 1
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{loss.item():.3f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
        if on_iter is not None:
            on_iter(it, {k: v / max(seen, 1) for k, v in sums.items()})
    stats = {k: v / max(seen, 1) for k, v in sums.items()}
    stats["skipped"] = skipped
    return stats


@torch.no_grad()
def predict_scores(model: nn.Module, loader, info: DistInfo, num_samples: int,
                   precision: Precision | None = None, progress=None) -> np.ndarray:
    """Softmax scores ``(num_samples, K)`` in dataset order, averaged over each video's views.
    Each rank scores its shard; shards are gathered. Skipped (bad) videos get NaN rows."""
    model.eval()
    precision = precision or Precision()
    rows: dict[int, np.ndarray] = {}
    for batch in loader:
        if batch is None:
            continue
        x = batch["video"].to(info.device, non_blocking=True)
        views = 1
        if x.dim() == 6:  # (B, V, C, T, H, W): fold views into the batch
            views = x.shape[1]
            x = x.flatten(0, 1)
        with precision.autocast(info.device):
            logits = model(x).logits.float()
        probs = torch.softmax(logits, dim=1).view(-1, views, logits.shape[1]).mean(1)
        for i, p in zip(batch["index"].tolist(), probs.cpu().numpy()):
            rows[int(i)] = p
        if progress is not None:
            progress.update(1)
    merged: dict[int, np.ndarray] = {}
    for part in all_gather_objects(rows, info):
        merged.update(part)
    k = next(iter(merged.values())).shape[0] if merged else 0
    scores = np.full((num_samples, k), math.nan, dtype=np.float32)
    for i, p in merged.items():
        scores[i] = p
    return scores
