"""``fit``: the whole training run, top to bottom. Also the pieces ``test`` reuses."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from microaction.config import Config, save_config
from microaction.data.dataset import VideoDataset, collate_skipping
from microaction.engine.checkpoint import load_checkpoint, model_state_dict, save_checkpoint
from microaction.engine.distributed import DistInfo, all_gather_objects, broadcast_object
from microaction.engine.loop import make_precision, predict_scores, train_one_epoch
from microaction.engine.optim import build_optimizer, build_scheduler
from microaction.errors import CheckpointError, MicroactionError
from microaction.label_embeddings import load_label_embeddings
from microaction.labels import ACTION_NAMES, ACTION_TO_BODY, read_label_names
from microaction.losses import JointEmbeddingLoss
from microaction.metrics import format_table, ma52_report
from microaction.models import create_model, has_embedding_head

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- building blocks


def build_model(cfg: Config):
    """The model a config describes, plus its label-embedding table (or None)."""
    m = cfg.model
    kwargs = {"num_classes": cfg.data.num_classes, "frames": m.frames, "size": m.size,
              "dropout": m.dropout}
    if m.pretrained:
        kwargs["pretrained"] = m.pretrained
    table = None
    if has_embedding_head(m.name):
        if m.label_embeddings:
            table = load_label_embeddings(m.label_embeddings, cfg.data.num_classes)
            kwargs["embed_dim"] = int(table.shape[1])
        else:
            kwargs["embed_dim"] = None
    model = create_model(m.name, **kwargs)
    model.model_kwargs.pop("pretrained", None)  # weights come from the checkpoint on reload
    return model, table


def class_names(root: str | Path, num_classes: int) -> list[str]:
    path = Path(root) / "label_name.txt"
    if path.is_file():
        names = read_label_names(path)
        if len(names) != num_classes:
            raise MicroactionError(f"{path}: {len(names)} class names but data.num_classes is "
                                   f"{num_classes}")
        return names
    if num_classes == len(ACTION_NAMES):
        return list(ACTION_NAMES)
    return [str(i) for i in range(num_classes)]


def action_to_body(num_classes: int):
    return ACTION_TO_BODY if num_classes == len(ACTION_TO_BODY) else [0] * num_classes


def loader_workers(ds, cfg: Config) -> int:
    """A dataset cached in RAM loads in the main process: its samples cost a crop and a flip, and
    workers would have to inherit (fork) or copy (spawn) the whole cache."""
    return 0 if getattr(ds, "cached", False) else cfg.data.num_workers


def eval_loader(ds, cfg: Config, info: DistInfo) -> DataLoader:
    shard = list(range(info.rank, len(ds), info.world_size))
    return DataLoader(ds, batch_size=cfg.train.batch_size, sampler=shard,
                      num_workers=loader_workers(ds, cfg), collate_fn=collate_skipping,
                      generator=torch.Generator().manual_seed(0),
                      pin_memory=info.device.type == "cuda")


def _train_loader(ds, cfg: Config, info: DistInfo, epoch: int, start_iter: int) -> DataLoader:
    sampler = DistributedSampler(ds, num_replicas=info.world_size, rank=info.rank, shuffle=True,
                                 seed=cfg.train.seed, drop_last=False)
    sampler.set_epoch(epoch)
    order = list(sampler)[start_iter * cfg.train.batch_size:]  # resume inside an epoch
    ds.set_epoch(epoch)
    # a private generator: the DataLoader's worker seeds must not consume the global RNG, or a
    # resumed run's dropout masks would differ from the uninterrupted run's
    gen = torch.Generator().manual_seed(cfg.train.seed * 1000 + epoch)
    return DataLoader(ds, batch_size=cfg.train.batch_size, sampler=order,
                      num_workers=loader_workers(ds, cfg), collate_fn=collate_skipping,
                      generator=gen, pin_memory=info.device.type == "cuda",
                      persistent_workers=False)


def _rng_state(info: DistInfo) -> dict:
    state = {"torch": torch.get_rng_state()}
    if info.device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(info.device)
    return state


def _set_rng_state(state: dict, info: DistInfo) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and info.device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], info.device)


def params_digest(model) -> str:
    """Hash of the trainable parameters. (BatchNorm running statistics are excluded: under DDP
    each rank updates them from its own shard after the last synchronisation; checkpoints take
    rank 0's.)"""
    h = hashlib.sha256()
    for k, v in getattr(model, "module", model).named_parameters():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class RunLog:
    """JSONL log + TensorBoard scalars, written by rank 0 only."""

    def __init__(self, work_dir: Path, enabled: bool):
        self.enabled = enabled
        self.path = work_dir / "log.jsonl"
        self.tb = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(work_dir / "tensorboard"))
            except ImportError:
                log.warning("tensorboard is not installed; logging to log.jsonl only")

    def write(self, kind: str, step: int, **values) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps({"kind": kind, "step": step, "time": time.time(), **values}) + "\n")
        if self.tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self.tb.add_scalar(f"{kind}/{k}", v, step)

    def close(self):
        if self.tb is not None:
            self.tb.close()


# ----------------------------------------------------------------------------- fit


def fit(cfg: Config, work_dir: str | Path, info: DistInfo, resume: bool = False,
        progress: bool = True) -> dict:
    """Train ``cfg`` in ``work_dir`` (``last.pt``, ``best.pt``, ``config.yaml``, ``log.jsonl``,
    ``tensorboard/``, ``curves.png``). Returns the best validation report (rank 0)."""
    from tqdm import tqdm

    work_dir = Path(work_dir)
    t = cfg.train
    torch.manual_seed(t.seed + info.rank)
    model, table = build_model(cfg)
    names = class_names(cfg.data.root, cfg.data.num_classes)
    spec = model.input_spec
    train_ds = VideoDataset.from_split(cfg.data.root, cfg.data.train_split, spec, train=True,
                                       num_classes=cfg.data.num_classes,
                                       on_error=cfg.data.on_error, seed=t.seed,
                                       action_to_body=action_to_body(cfg.data.num_classes),
                                       crop_scales=cfg.data.crop_scales,
                                       train_crop=cfg.data.train_crop)
    val_ds = VideoDataset.from_split(cfg.data.root, cfg.data.val_split, spec, train=False,
                                     num_classes=cfg.data.num_classes, on_error=cfg.data.on_error,
                                     num_clips=cfg.data.test_clips, test_crops=cfg.data.test_crops,
                                     action_to_body=action_to_body(cfg.data.num_classes))
    if cfg.data.cache:
        for name, ds in (("train", train_ds), ("val", val_ds)):
            ds.preload(cfg.data.num_workers, progress and info.is_main, desc=f"cache {name} clips")
    model.to(info.device)
    if t.channels_last:
        model.to(memory_format=torch.channels_last)
    criterion = JointEmbeddingLoss(None if table is None else torch.from_numpy(table),
                                   cfg.model.embed_weight, t.label_smoothing).to(info.device)
    optimizer = build_optimizer(model, t.lr, t.momentum, t.weight_decay, t.param_groups,
                                t.head_lr_layer, t.optimizer)
    per_rank = math.ceil(len(train_ds) / info.world_size)
    iters_per_epoch = math.ceil(per_rank / t.batch_size)
    scheduler = build_scheduler(optimizer, iters_per_epoch, t.lr_steps, t.lr_gamma,
                                t.warmup_epochs, t.lr_schedule, t.epochs)
    precision = make_precision(t.amp, info.device)
    net = model
    if info.enabled:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[info.local_rank] if info.device.type == "cuda" else None)

    state = {"epoch": 0, "iter_in_epoch": 0, "best": -math.inf, "best_epoch": None}
    if resume:
        last = work_dir / "last.pt"
        if not last.is_file():
            raise CheckpointError(f"{last}: nothing to resume (no last checkpoint in "
                                  f"{work_dir})")
        ckpt = load_checkpoint(last)
        from microaction.engine.checkpoint import load_model_state

        load_model_state(model, ckpt["state_dict"], str(last))
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        if precision.scaler is not None and ckpt.get("scaler"):
            precision.scaler.load_state_dict(ckpt["scaler"])
        state.update(ckpt["progress"])
        rng = ckpt["rng"][info.rank] if info.rank < len(ckpt["rng"]) else ckpt["rng"][0]
        _set_rng_state(rng, info)
        if info.is_main:
            log.info("resuming %s at epoch %d, iteration %d", last, state["epoch"],
                     state["iter_in_epoch"])
    if info.is_main:
        work_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, work_dir / "config.yaml")
    runlog = RunLog(work_dir, info.is_main)

    def payload(epoch: int, iter_in_epoch: int) -> dict:
        rngs = all_gather_objects(_rng_state(info), info)
        return {"model": model.model_name, "model_kwargs": model.model_kwargs,
                "class_names": names, "input_spec": spec.to_dict(), "config": cfg.to_dict(),
                "state_dict": model_state_dict(model), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": precision.scaler.state_dict() if precision.scaler else None,
                "progress": {**state, "epoch": epoch, "iter_in_epoch": iter_in_epoch},
                "rng": rngs}

    best_report = None
    for epoch in range(state["epoch"], t.epochs):
        start = state["iter_in_epoch"] if epoch == state["epoch"] else 0
        if start >= iters_per_epoch:
            start = iters_per_epoch
        loader = _train_loader(train_ds, cfg, info, epoch, start)
        bar = tqdm(total=iters_per_epoch, initial=start, desc=f"epoch {epoch + 1}/{t.epochs}",
                   disable=not (progress and info.is_main), leave=False)

        def on_iter(it, running, epoch=epoch):
            step = epoch * iters_per_epoch + it
            if it % t.log_every == 0 or it == iters_per_epoch:
                runlog.write("train", step, epoch=epoch + it / iters_per_epoch,
                             lr=optimizer.param_groups[0]["lr"], **running)
            if t.save_every_iters and it % t.save_every_iters == 0 and it < iters_per_epoch:
                ck = payload(epoch, it)
                if info.is_main:
                    save_checkpoint(work_dir / "last.pt", ck)

        stats = train_one_epoch(net, criterion, optimizer, scheduler, loader, info, precision,
                                t.clip_grad, start, on_iter, bar)
        bar.close()
        if stats["skipped"]:
            log.warning("epoch %d: skipped %d bad clips", epoch + 1, stats["skipped"])
        report = None
        if (epoch + 1) % t.val_every == 0 or epoch + 1 == t.epochs:
            report = validate(net, val_ds, cfg, info, precision, progress)
            if info.is_main:
                runlog.write("val", (epoch + 1) * iters_per_epoch, epoch=epoch + 1,
                             **{k: v for k, v in report.items() if isinstance(v, float)})
                log.info("epoch %d validation:\n%s", epoch + 1, format_table(report))
            value = broadcast_object(report[t.best_metric] if report else None, info)
            if value is not None and value > state["best"]:
                state["best"], state["best_epoch"] = value, epoch + 1
                best_report = report
                ck = payload(epoch + 1, 0)
                if info.is_main:
                    save_checkpoint(work_dir / "best.pt", {**ck, "metrics": report})
        ck = payload(epoch + 1, 0)
        if info.is_main:
            save_checkpoint(work_dir / "last.pt", ck)
    runlog.close()
    digests = all_gather_objects(params_digest(model), info)
    if info.is_main:
        (work_dir / "ranks.json").write_text(json.dumps({"params_sha256": digests}) + "\n")
        from microaction.plots import training_curves

        if (work_dir / "log.jsonl").exists():
            training_curves(work_dir / "log.jsonl", work_dir / "curves.png")
    if len(set(digests)) != 1:
        raise MicroactionError(f"ranks ended with different weights: {digests}")
    if best_report is None and (work_dir / "best.pt").exists():
        best_report = load_checkpoint(work_dir / "best.pt").get("metrics")
    return best_report or {}


def validate(net, ds, cfg: Config, info: DistInfo, precision, progress: bool) -> dict | None:
    """Scores on a labelled split and the MA-52 report (on rank 0; None elsewhere)."""
    from tqdm import tqdm

    loader = eval_loader(ds, cfg, info)
    bar = tqdm(total=len(loader), desc="validate", disable=not (progress and info.is_main),
               leave=False)
    model = getattr(net, "module", net)
    scores = predict_scores(model, loader, info, len(ds), precision, bar)
    bar.close()
    if not info.is_main:
        return None
    ok = ~np.isnan(scores).any(1)
    if not ok.any():
        raise MicroactionError("validation produced no scores (every clip failed to load)")
    return ma52_report(scores[ok], ds.labels[ok], action_to_body(cfg.data.num_classes))
