"""``fit``: the whole training run, top to bottom, and the named steps it is made of."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from microaction.config import Config, save_config
from microaction.data.dataset import VideoDataset
from microaction.data.listfile import split_files
from microaction.engine.checkpoint import (load_checkpoint, load_model_state, model_state_dict,
                                           save_checkpoint)
from microaction.engine.distributed import DistInfo, all_gather_objects, broadcast_object
from microaction.engine.loop import (eval_loader, make_precision, predict_scores,
                                     train_loader, train_one_epoch)
from microaction.engine.optim import build_optimizer, build_scheduler
from microaction.errors import CheckpointError, ConfigError, MicroactionError
from microaction.io import write_json
from microaction.label_embeddings import load_label_embeddings
from microaction.labels import LabelSpace
from microaction.losses import JointEmbeddingLoss
from microaction.metrics import format_table, ma52_report
from microaction.models import create_model, has_embedding_head, to_channels_last
from microaction.progress import progress_bar

log = logging.getLogger(__name__)

# What a training run writes into its work dir (a fresh run refuses a dir holding any of them).
RUN_OUTPUTS = ("last.pt", "best.pt", "log.jsonl", "config.yaml", "curves.png", "ranks.json",
               "tensorboard")


# ----------------------------------------------------------------------------- building blocks


def build_model(cfg: Config):
    """The model a config describes, plus its label-embedding table (or None).
    ``model.pretrained``: "imagenet", a torchvision state dict, or a microaction checkpoint
    (e.g. from ``convert``) whose weights start the whole model (fine-tuning)."""
    m = cfg.model
    kwargs = {"num_classes": cfg.data.num_classes, "dropout": m.dropout,
              **{k: getattr(m, k) for k in ("clip_len", "size", "interval")
                 if getattr(m, k) is not None}}
    start = _checkpoint_start(m.pretrained)
    if m.pretrained and start is None:
        kwargs["pretrained"] = m.pretrained
    table = None
    if m.embed_head or (m.embed_head is None and has_embedding_head(m.name)):
        if m.label_embeddings:
            table = load_label_embeddings(m.label_embeddings, cfg.data.num_classes)
            kwargs["embed_dim"] = int(table.shape[1])
        else:
            kwargs["embed_dim"] = None
    model = create_model(m.name, **kwargs)
    model.model_kwargs.pop("pretrained", None)  # weights come from the checkpoint on reload
    if start is not None:
        _load_start(model, start, m.pretrained)
    return model, table


def _checkpoint_start(pretrained: str | None) -> dict | None:
    """The microaction checkpoint ``pretrained`` names, or None (ImageNet, a plain state dict)."""
    if not pretrained or pretrained == "imagenet" or not Path(pretrained).is_file():
        return None
    try:
        return load_checkpoint(pretrained)
    except CheckpointError:
        return None  # not ours: a torchvision state dict, loaded by the model itself


def _load_start(model, ckpt: dict, source: str) -> None:
    """Every tensor of the checkpoint whose name and shape fit; a head for another class count
    (or embedding size) keeps its fresh init, said in the log."""
    own = model.state_dict()
    state = ckpt["state_dict"]
    fits = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    missing = sorted(set(own) - set(fits))
    body_missing = [k for k in missing if not k.startswith(("fc.", "embed."))]
    if body_missing:
        raise CheckpointError(f"{source}: its {ckpt.get('model')} weights do not fit "
                              f"{model.model_name} (e.g. {body_missing[:3]})")
    model.load_state_dict(fits, strict=False)
    if missing:
        log.info("%s: started from its weights; fresh: %s", source, ", ".join(missing))


def build_datasets(cfg: Config, spec, info: DistInfo, progress: bool):
    """Train and val datasets of ``cfg.data`` for a model's input ``spec``; every listed video
    must exist (checked now, not hours into training); with ``data.cache`` both are decoded into
    RAM."""
    d = cfg.data
    common = {"num_classes": d.num_classes, "on_error": d.on_error}
    train_ds = VideoDataset.from_split(d.root, d.train_split, spec, train=True, seed=cfg.train.seed,
                                       crop_scales=d.crop_scales, train_crop=d.train_crop,
                                       sampling=d.sampling, **common)
    val_ds = VideoDataset.from_split(d.root, d.val_split, spec, train=False,
                                     num_clips=d.test_clips, test_crops=d.test_crops, **common)
    for split, ds in ((d.train_split, train_ds), (d.val_split, val_ds)):
        missing = ds.missing_files()
        if missing and d.on_error == "raise":
            list_file = split_files(d.root, split)[0]
            raise MicroactionError(
                f"{list_file}:{missing[0].line}: {ds.video_dir / missing[0].path}: file not "
                f"found ({len(missing)} of {len(ds)} listed videos are missing; data.on_error="
                f"skip trains without them)")
    if d.cache:
        for name, ds in (("train", train_ds), ("val", val_ds)):
            ds.preload(d.num_workers, progress and info.is_main, desc=f"cache {name} clips")
    return train_ds, val_ds


def training_data(cfg: Config, train_ds) -> dict:
    """What a checkpoint says about the data it learned from (shown by ``info`` and ``predict``)."""
    root = Path(cfg.data.root)
    synthetic = (root / "synth_info.json").is_file()
    return {"root": str(root.resolve()), "train_clips": len(train_ds), "synthetic": synthetic,
            "train_crop": cfg.data.train_crop}


def prepare_work_dir(work_dir: Path, resume: bool, overwrite: bool) -> None:
    """A fresh run needs a work dir without another run's outputs: mixing two runs' logs and
    checkpoints is refused unless ``overwrite`` removes them first."""
    used = [n for n in RUN_OUTPUTS if (work_dir / n).exists()]
    if resume or not used:
        return
    if not overwrite:
        raise MicroactionError(f"{work_dir}: already holds a run ({', '.join(used)}); use "
                               f"--resume to continue it, --overwrite to replace it, or "
                               f"another --work-dir")
    for name in used:
        target = work_dir / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()


def resume_state(work_dir: Path, model, optimizer, scheduler, precision, info: DistInfo) -> dict:
    """Load ``last.pt`` into the model, optimiser, schedule, grad scaler and RNG; returns the
    progress record (epoch, iteration in epoch, best metric so far)."""
    last = work_dir / "last.pt"
    if not last.is_file():
        raise CheckpointError(f"{last}: nothing to resume (no last checkpoint in {work_dir})")
    ckpt = load_checkpoint(last)
    if "optimizer" not in ckpt:
        raise CheckpointError(f"{last}: holds no optimizer state; it cannot be resumed")
    load_model_state(model, ckpt["state_dict"], str(last))
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    if precision.scaler is not None and ckpt.get("scaler"):
        precision.scaler.load_state_dict(ckpt["scaler"])
    rng = ckpt["rng"][info.rank] if info.rank < len(ckpt["rng"]) else ckpt["rng"][0]
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and info.device.type == "cuda":
        torch.cuda.set_rng_state(rng["cuda"], info.device)
    if info.is_main:
        log.info("resuming %s at epoch %d, iteration %d", last, ckpt["progress"]["epoch"],
                 ckpt["progress"]["iter_in_epoch"])
    return dict(ckpt["progress"])


def _rng_state(info: DistInfo) -> dict:
    state = {"torch": torch.get_rng_state()}
    if info.device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(info.device)
    return state


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
    """JSONL log + TensorBoard scalars, written by rank 0 only. A resumed run first drops what
    the interrupted run logged after its last checkpoint (those steps are trained again), so
    every step appears once."""

    def __init__(self, work_dir: Path, enabled: bool, resume_step: int | None = None):
        self.enabled = enabled
        self.path = work_dir / "log.jsonl"
        self.tb = None
        if not enabled:
            return
        if resume_step is not None and self.path.exists():
            kept = [ln for ln in self.path.read_text().splitlines()
                    if ln.strip() and json.loads(ln)["step"] <= resume_step]
            from microaction.io import write_text

            write_text(self.path, "".join(ln + "\n" for ln in kept))
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(work_dir / "tensorboard"), purge_step=resume_step)
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


class Checkpointer:
    """Writes ``last.pt`` (everything, to resume) and ``best.pt`` (the model, its metrics and
    what is needed to rebuild and describe it; no optimizer state, a third of the size)."""

    def __init__(self, work_dir: Path, model, optimizer, scheduler, precision, info: DistInfo,
                 meta: dict):
        self.work_dir, self.model, self.optimizer = work_dir, model, optimizer
        self.scheduler, self.precision, self.info, self.meta = scheduler, precision, info, meta

    def save(self, name: str, progress: dict, metrics: dict | None = None,
             resumable: bool = True) -> None:
        rngs = all_gather_objects(_rng_state(self.info), self.info)  # every rank takes part
        if not self.info.is_main:
            return
        payload = {**self.meta, "state_dict": model_state_dict(self.model),
                   "progress": dict(progress)}
        if resumable:
            scaler = self.precision.scaler
            payload.update(optimizer=self.optimizer.state_dict(),
                           scheduler=self.scheduler.state_dict(),
                           scaler=scaler.state_dict() if scaler else None, rng=rngs)
        if metrics is not None:
            payload["metrics"] = metrics
        save_checkpoint(self.work_dir / name, payload)


# ----------------------------------------------------------------------------- fit


def fit(cfg: Config, work_dir: str | Path, info: DistInfo, resume: bool = False,
        progress: bool = True, overwrite: bool = False) -> dict:
    """Train ``cfg`` in ``work_dir`` (``last.pt``, ``best.pt``, ``config.yaml``, ``log.jsonl``,
    ``tensorboard/``, ``curves.png``). Returns the best validation report (rank 0). A run that
    fails before its first checkpoint removes the work dir it created."""
    work_dir = Path(work_dir)
    created = not work_dir.exists()
    if info.is_main:
        prepare_work_dir(work_dir, resume, overwrite)
    try:
        return _fit(cfg, work_dir, info, resume, progress)
    except BaseException:
        if created and info.is_main and not (work_dir / "last.pt").exists():
            shutil.rmtree(work_dir, ignore_errors=True)
        raise


def _fit(cfg: Config, work_dir: Path, info: DistInfo, resume: bool, progress: bool) -> dict:
    t = cfg.train
    torch.manual_seed(t.seed + info.rank)
    model, table = build_model(cfg)
    train_ds, val_ds = build_datasets(cfg, model.input_spec, info, progress)
    labels = LabelSpace.for_root(cfg.data.root, cfg.data.num_classes)
    if labels.action_to_body is None and t.best_metric.startswith("body"):
        raise ConfigError(f"train.best_metric {t.best_metric}: {len(labels)} classes have no "
                          f"body level (only MA-52's 52 do)")
    model.to(info.device)
    if t.channels_last:
        to_channels_last(model)
    criterion = JointEmbeddingLoss(None if table is None else torch.from_numpy(table),
                                   cfg.model.embed_weight, t.label_smoothing).to(info.device)
    optimizer = build_optimizer(model, t.lr, t.momentum, t.weight_decay, t.param_groups,
                                t.head_lr_layer, t.optimizer)
    iters = math.ceil(math.ceil(len(train_ds) / info.world_size) / t.batch_size)
    scheduler = build_scheduler(optimizer, iters, t.lr_steps, t.lr_gamma, t.warmup_epochs,
                                t.lr_schedule, t.epochs)
    precision = make_precision(t.amp, info.device)
    state = {"epoch": 0, "iter_in_epoch": 0, "best": -math.inf, "best_epoch": None}
    if resume:
        state.update(resume_state(work_dir, model, optimizer, scheduler, precision, info))
    net = model
    if info.enabled:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[info.local_rank] if info.device.type == "cuda" else None)
    if info.is_main:
        work_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, work_dir / "config.yaml")
    resume_step = state["epoch"] * iters + state["iter_in_epoch"] if resume else None
    runlog = RunLog(work_dir, info.is_main, resume_step)
    if resume:
        runlog.write("resume", resume_step, epoch=state["epoch"],
                     iter_in_epoch=state["iter_in_epoch"])
    meta = {"model": model.model_name, "model_kwargs": model.model_kwargs,
            "class_names": list(labels.names), "input_spec": model.input_spec.to_dict(),
            "config": cfg.to_dict(), "training_data": training_data(cfg, train_ds)}
    ckpts = Checkpointer(work_dir, model, optimizer, scheduler, precision, info, meta)
    best_report = None
    for epoch in range(state["epoch"], t.epochs):
        start = min(state["iter_in_epoch"], iters) if epoch == state["epoch"] else 0
        bar = progress_bar(total=iters, initial=start, desc=f"epoch {epoch + 1}/{t.epochs}",
                           enabled=progress and info.is_main, leave=False)

        def on_iter(it, running, epoch=epoch):
            if it % t.log_every == 0 or it == iters:
                runlog.write("train", epoch * iters + it, epoch=epoch + it / iters,
                             lr=optimizer.param_groups[0]["lr"], **running)
            if t.save_every_iters and it % t.save_every_iters == 0 and it < iters:
                ckpts.save("last.pt", {**state, "epoch": epoch, "iter_in_epoch": it})

        loader = train_loader(train_ds, t.batch_size, cfg.data.num_workers, t.seed, info, epoch,
                              start)
        stats = train_one_epoch(net, criterion, optimizer, scheduler, loader, info, precision,
                                t.clip_grad, start, on_iter, bar)
        bar.close()
        seen = [i for part in all_gather_objects(stats["indices"], info) for i in part]
        runlog.write("epoch", (epoch + 1) * iters, epoch=epoch + 1, samples=len(seen),
                     distinct=len(set(seen)), skipped=stats["skipped"])
        if stats["skipped"]:
            log.warning("epoch %d: skipped %d unreadable clips", epoch + 1, stats["skipped"])
        state.update(epoch=epoch + 1, iter_in_epoch=0)
        if (epoch + 1) % t.val_every == 0 or epoch + 1 == t.epochs:
            report = validate(net, val_ds, cfg, labels, info, precision, progress)
            if info.is_main:
                runlog.write("val", (epoch + 1) * iters, epoch=epoch + 1,
                             **{k: v for k, v in report.items() if isinstance(v, float)})
                log.info("epoch %d/%d validation:\n%s", epoch + 1, t.epochs, format_table(report))
            value = broadcast_object(report[t.best_metric] if report else None, info)
            if value is not None and value > state["best"]:
                state.update(best=value, best_epoch=epoch + 1)
                best_report = {**(report or {}), "epoch": epoch + 1}
                ckpts.save("best.pt", state, best_report, resumable=False)
        ckpts.save("last.pt", state)
    runlog.close()
    _finish(model, work_dir, info)
    if best_report is None and (work_dir / "best.pt").exists():
        best_report = load_checkpoint(work_dir / "best.pt").get("metrics")
    return best_report or {}


def _finish(model, work_dir: Path, info: DistInfo) -> None:
    """The ranks must end with the same weights (checked, written to ranks.json); then the
    training curves."""
    digests = all_gather_objects(params_digest(model), info)
    if info.is_main:
        write_json(work_dir / "ranks.json", {"params_sha256": digests}, indent=None)
        if (work_dir / "log.jsonl").exists():
            from microaction.plots import training_curves

            training_curves(work_dir / "log.jsonl", work_dir / "curves.png")
    if len(set(digests)) != 1:
        raise MicroactionError(f"ranks ended with different weights: {digests}")


def validate(net, ds, cfg: Config, labels: LabelSpace, info: DistInfo, precision,
             progress: bool) -> dict | None:
    """Scores on a labelled split and the MA-52 report (on rank 0; None elsewhere)."""
    loader = eval_loader(ds, cfg.train.batch_size, cfg.data.num_workers, info)
    bar = progress_bar(total=len(loader), desc="validate", enabled=progress and info.is_main,
                       leave=False)
    scores = predict_scores(getattr(net, "module", net), loader, info, len(ds), precision, bar)
    bar.close()
    if not info.is_main:
        return None
    ok = ~np.isnan(scores).any(1)
    if not ok.any():
        raise MicroactionError("validation produced no scores (every clip failed to load)")
    return ma52_report(scores[ok], ds.labels[ok], labels.action_to_body)
