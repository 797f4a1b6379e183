"""One training epoch, one evaluation pass, and the loaders that feed them. Plain loops; ``fit``
in ``runner`` composes them; ``inference`` reuses the evaluation half."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from microaction.config import require_choice
from microaction.data.dataset import check_batch, collate_samples
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
    require_choice("train.amp", amp)
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return Precision()
    if amp == "auto":
        amp = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if amp == "bf16":
        return Precision(torch.bfloat16)
    scaler = torch.amp.GradScaler("cuda") if device.type == "cuda" else None
    return Precision(torch.float16, scaler)


# ----------------------------------------------------------------------------- loaders


def loader_workers(ds, num_workers: int) -> int:
    """A dataset cached in RAM loads in the main process: its samples cost a crop and a flip, and
    workers would have to inherit (fork) or copy (spawn) the whole cache."""
    return 0 if getattr(ds, "cached", False) else num_workers


def eval_loader(ds, batch_size: int, num_workers: int, info: DistInfo) -> DataLoader:
    """Rank r scores samples r, r + W, r + 2W, ... (every sample exactly once overall)."""
    shard = list(range(info.rank, len(ds), info.world_size))
    return DataLoader(ds, batch_size=batch_size, sampler=shard,
                      num_workers=loader_workers(ds, num_workers), collate_fn=collate_samples,
                      generator=torch.Generator().manual_seed(0),
                      pin_memory=info.device.type == "cuda")


def train_loader(ds, batch_size: int, num_workers: int, seed: int, info: DistInfo, epoch: int,
                 start_iter: int = 0) -> DataLoader:
    """This rank's shuffled shard of epoch ``epoch``, from batch ``start_iter`` on (resume)."""
    sampler = DistributedSampler(ds, num_replicas=info.world_size, rank=info.rank, shuffle=True,
                                 seed=seed, drop_last=False)
    sampler.set_epoch(epoch)
    order = list(sampler)[start_iter * batch_size:]
    ds.set_epoch(epoch)
    # a private generator: the DataLoader's worker seeds must not consume the global RNG, or a
    # resumed run's dropout masks would differ from the uninterrupted run's
    gen = torch.Generator().manual_seed(seed * 1000 + epoch)
    return DataLoader(ds, batch_size=batch_size, sampler=order,
                      num_workers=loader_workers(ds, num_workers), collate_fn=collate_samples,
                      generator=gen, pin_memory=info.device.type == "cuda",
                      persistent_workers=False)


# ----------------------------------------------------------------------------- loops


def train_one_epoch(model: nn.Module, criterion, optimizer, scheduler, loader, info: DistInfo,
                    precision: Precision, clip_grad: float | None,
                    start_iter: int = 0, on_iter=None, progress=None) -> dict:
    """Train over ``loader`` (already positioned at ``start_iter``). ``on_iter(it, stats)`` is
    called after every optimiser step with the running statistics. Returns epoch averages,
    ``skipped`` (unreadable clips, with ``on_error="skip"``) and ``indices`` (the dataset indices
    this process trained on, to account for what each rank saw)."""
    model.train()
    on_error = loader.dataset.on_error
    sums = {"loss": 0.0, "ce": 0.0, "embed": 0.0}
    seen, skipped, it, indices = 0, 0, start_iter, []
    for batch in loader:
        skipped += len(batch["errors"])
        if not check_batch(batch, on_error):
            it += 1
            continue
        indices += batch["index"].tolist()
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
            progress.set_postfix(loss=f"{loss.item():.3f}",
                                 lr=f"{optimizer.param_groups[0]['lr']:.2e}")
        if on_iter is not None:
            on_iter(it, {k: v / max(seen, 1) for k, v in sums.items()})
    stats = {k: v / max(seen, 1) for k, v in sums.items()}
    stats.update(skipped=skipped, indices=indices)
    return stats


@torch.no_grad()
def predict_scores(model: nn.Module, loader, info: DistInfo, num_samples: int,
                   precision: Precision | None = None, progress=None) -> np.ndarray:
    """Softmax scores ``(num_samples, K)`` in dataset order, averaged over each video's views.
    Each rank scores its shard; shards are gathered. Skipped (bad) videos get NaN rows."""
    model.eval()
    precision = precision or Precision()
    on_error = loader.dataset.on_error
    rows: dict[int, np.ndarray] = {}
    for batch in loader:
        if progress is not None:
            progress.update(1)
        if not check_batch(batch, on_error):
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
    merged: dict[int, np.ndarray] = {}
    for part in all_gather_objects(rows, info):
        merged.update(part)
    k = next(iter(merged.values())).shape[0] if merged else 0
    scores = np.full((num_samples, k), math.nan, dtype=np.float32)
    for i, p in merged.items():
        scores[i] = p
    return scores
