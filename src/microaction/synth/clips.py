"""Synthetic micro-action videos in the exact MA-52 layout (the embedded default dataset).

Each clip shows one seated participant (appearance fixed per participant id) performing one
class's motion program, with random onset, duration, amplitude and side, plus breathing, blinking,
camera jitter, lighting, sensor noise and optional small distractor movements.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microaction.data.listfile import split_files, write_list_file
from microaction.data.parallel import parallel_map
from microaction.data.video import write_video
from microaction.errors import MicroactionError
from microaction.io import write_json
from microaction.labels import (ACTION_NAMES, ACTION_TO_BODY, MA52_TRAIN_COUNTS, MA52_VAL_COUNTS,
                                write_label_names)
from microaction.synth.figure import Appearance, Camera, Pose, render_frames, skeleton
from microaction.synth.motions import Program, class_program, distractor_program

log = logging.getLogger(__name__)

_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
INFO_FILE = "synth_info.json"


def frame_size(size: int) -> tuple[int, int]:
    """(width, height) of a synthetic frame: MA-52's portrait 5:6 aspect, even sides."""
    w = size - size % 2
    h = round(size * 1.2)
    return w, h - h % 2


def render_clip(action_id: int, length: int, size: int, rng: np.random.Generator,
                appearance: Appearance | None = None, distractors: float = 0.5,
                fps: float = 30.0, realism: bool = True) -> np.ndarray:
    """Render one clip of ``action_id``: ``(length, H, W, 3)`` uint8. ``realism=False`` leaves
    out what is not the action -- sensor noise, camera jitter, breathing, blinking and
    distractor movements -- to measure the action's own motion."""
    scene = clip_scene(action_id, length, size, rng, appearance, distractors, fps, realism)
    return render_frames(scene.poses, scene.app, scene.cam, scene.width, scene.height, rng,
                         scene.jitter)


@dataclass
class Scene:
    """Everything a clip's frames are drawn from (for measurements that need the geometry)."""

    poses: list
    app: Appearance
    cam: Camera
    jitter: np.ndarray  # (T, 2) camera shift in pixels
    width: int
    height: int


def clip_scene(action_id: int, length: int, size: int, rng: np.random.Generator,
               appearance: Appearance | None = None, distractors: float = 0.5,
               fps: float = 30.0, realism: bool = True) -> Scene:
    """The poses, look and camera of one clip (``render_clip`` draws them; drawing then uses
    ``rng`` for the sensor noise)."""
    width, height = frame_size(size)
    app = appearance if appearance is not None else Appearance.random(rng)
    cam = Camera.random(rng, width, height)
    programs = [class_program(action_id, length, rng)]
    if any(p.flags.get("glasses") for p in programs):  # pushing glasses needs glasses
        app.glasses = True
    if realism and rng.random() < distractors:
        programs.append(distractor_program(length, rng, strength=rng.uniform(0.3, 1.0)))
    breath, eye = np.zeros(length), np.ones(length)
    jitter = np.zeros((length, 2))
    if realism:
        t = np.arange(length)
        breath = np.sin(2 * np.pi * t / fps * rng.uniform(0.2, 0.35) + rng.uniform(0, 6))
        for _ in range(rng.integers(0, 3)):
            c = rng.integers(length)
            eye[max(c - 1, 0):c + 2] = 0.1
        jitter = np.cumsum(rng.normal(0, 0.12, (length, 2)), axis=0)
        jitter -= jitter.mean(0)
    else:
        cam.noise = 0.0
    poses = [pose_at(programs, i, app, breath[i], eye[i]) for i in range(length)]
    return Scene(poses, app, cam, jitter, width, height)


def pose_at(programs: list[Program], i: int, app: Appearance, breath: float = 0.0,
            eye: float = 1.0) -> Pose:
    """The figure's pose in frame ``i`` under the sum of some motion programs."""
    pose = Pose(breath=breath, eye_open=eye)
    for prog in programs:
        for name, values in prog.tracks.items():
            field, _, side = name.partition(":")
            v = values[i]
            if side:
                getattr(pose, field)[int(side)] = v if field == "finger_wiggle" else \
                    getattr(pose, field)[int(side)] + float(v)
            else:
                setattr(pose, field, getattr(pose, field) + float(v))
        for name, value in prog.flags.items():
            field, _, side = name.partition(":")
            if field == "glasses":
                continue
            if value[i] if np.ndim(value) else value:  # a flag may hold only in a time span
                getattr(pose, field)[int(side)] = True
    j = skeleton(pose, app)  # hands do not move the skeleton, so landmarks are known first
    for prog in programs:
        for k, reach in enumerate(prog.reach):
            if reach is None or reach.weight[i] == 0:  # a hand at rest: another may move it
                continue
            rest = j[f"rest{k}"]
            target = j[reach.landmark] + reach.offset[i]
            pose.hand[k] = rest + reach.weight[i] * (target - rest)
    return pose


# ----------------------------------------------------------------------------- dataset


@dataclass(frozen=True)
class ClipJob:
    split: str
    index: int
    file: str
    label: int
    participant: int
    path: str
    seed: int
    length: int
    size: int
    distractors: float


def class_counts(clips_per_class: int, distribution: str) -> dict[str, list[int]]:
    """Clips per class and split. ``uniform``: N train, N/2 val, N/2 test per class (MA-52's
    2:1:1). ``ma52``: the official long tail scaled to a mean of N train clips per class."""
    n = clips_per_class
    if distribution == "uniform":
        half = max(1, n // 2)
        return {"train": [n] * 52, "val": [half] * 52, "test": [half] * 52}
    if distribution == "ma52":
        tr, va = np.array(MA52_TRAIN_COUNTS, float), np.array(MA52_VAL_COUNTS, float)
        train = np.maximum(1, np.round(n * tr / tr.mean())).astype(int).tolist()
        val = np.maximum(1, np.round(n / 2 * va / va.mean())).astype(int).tolist()
        return {"train": train, "val": val, "test": list(val)}
    raise ValueError(f"distribution must be 'uniform' or 'ma52', got {distribution!r}")


def plan_dataset(out_dir: str | Path, clips_per_class: int = 10, distribution: str = "uniform",
                 size: int = 112, length: int = 48, seed: int = 0, splits=("train", "val", "test"),
                 participants: int = 24, distractors: float = 0.5) -> list[ClipJob]:
    counts = class_counts(clips_per_class, distribution)
    jobs = []
    for split in splits:
        if split not in _SPLIT_IDS:
            raise ValueError(f"unknown split {split!r}; expected train, val or test")
        rng = np.random.default_rng([seed, 99, _SPLIT_IDS[split]])
        labels = [c for c, k in enumerate(counts[split]) for _ in range(k)]
        rng.shuffle(labels)
        _, video_dir = split_files(out_dir, split)
        for i, label in enumerate(labels):
            who = int(rng.integers(participants))
            file = f"test{i:04d}.mp4" if split == "test" else \
                f"{who:04d}_{ACTION_TO_BODY[label] + 1:02d}_{i:04d}.mp4"
            jobs.append(ClipJob(split, i, file, label, who, str(video_dir / file),
                                seed, length, size, distractors))
    return jobs


def render_job(job: ClipJob) -> tuple[ClipJob, np.ndarray | None]:
    """Render one clip (None if its file exists: generation is resumable)."""
    if os.path.exists(job.path):
        return job, None
    app = Appearance.random(np.random.default_rng([job.seed, 1000, job.participant]))
    rng = np.random.default_rng([job.seed, _SPLIT_IDS[job.split], job.index])
    return job, render_clip(job.label, job.length, job.size, rng, app, job.distractors)


def check_settings(out_dir: Path, settings: dict) -> None:
    """A folder holding a synthetic set made with other settings is refused: generation resumes
    by skipping files that exist, so mixing settings would silently keep the old clips."""
    path = out_dir / INFO_FILE
    if not path.is_file():
        if split_files(out_dir, "train")[1].is_dir() and any(out_dir.iterdir()):
            raise MicroactionError(f"{out_dir}: holds videos but no {INFO_FILE}; choose an "
                                   f"empty or new folder")
        return
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MicroactionError(f"{path}: unreadable ({exc}); remove the folder to start "
                               f"again") from None
    differ = [f"{k}: {old.get(k)!r} there, {v!r} asked" for k, v in settings.items()
              if old.get(k) != v]
    if differ:
        raise MicroactionError(f"{out_dir}: holds a synthetic set made with other settings "
                               f"({'; '.join(differ)}); use a new folder or remove this one")


def generate_dataset(out_dir: str | Path, clips_per_class: int = 10, distribution: str = "uniform",
                     size: int = 112, length: int = 48, seed: int = 0,
                     splits=("train", "val", "test"), participants: int = 24,
                     distractors: float = 0.5, workers: int | None = None,
                     progress: bool = True) -> dict:
    """Write a synthetic dataset in the MA-52 layout (resumable: clips already written are
    kept); returns a summary dict, also written to ``synth_info.json``."""
    if length < 2 or size < 32:
        raise ValueError(f"need length >= 2 frames and size >= 32 (got length={length}, "
                         f"size={size})")
    out_dir = Path(out_dir)
    jobs = plan_dataset(out_dir, clips_per_class, distribution, size, length, seed, splits,
                        participants, distractors)
    settings = {"generator": "microaction synth", "clips_per_class": clips_per_class,
                "distribution": distribution, "size": size, "length": length, "seed": seed,
                "participants": participants, "distractors": distractors,
                "splits": list(splits)}
    if out_dir.is_dir():
        check_settings(out_dir, settings)
    write_json(out_dir / INFO_FILE, {**settings, "complete": False}, indent=2)
    for split in splits:
        split_files(out_dir, split)[1].mkdir(parents=True, exist_ok=True)
    # Workers render, the parent encodes in plan order: the encoded bytes of a clip were seen to
    # depend on which clips the same process encoded before it, so a fixed order keeps the
    # output bit-reproducible.
    for job, clip in parallel_map(render_job, jobs, workers, "synth", progress, ordered=True):
        if clip is not None:
            write_video(job.path, clip)
    for split in splits:
        entries = [(j.file, 0 if split == "test" else j.label) for j in jobs if j.split == split]
        list_file = split_files(out_dir, split)[0]
        write_list_file(list_file, sorted(entries))
        if split == "test":  # official test lists carry dummy labels; keep the truth beside them
            truth = sorted((j.file, j.label) for j in jobs if j.split == split)
            write_list_file(out_dir / "test_list_videos_labeled.txt", truth)
    write_label_names(out_dir / "label_name.txt", ACTION_NAMES)
    info = {**settings, "complete": True,
            "clips": {s: sum(1 for j in jobs if j.split == s) for s in splits}}
    write_json(out_dir / INFO_FILE, info, indent=2)
    return info
