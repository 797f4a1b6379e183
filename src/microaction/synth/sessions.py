"""Synthetic interview sessions: one participant for minutes, doing micro-actions with rest
between them, some at the same time on different body parts (nodding while shaking a leg).

Same figure and motion programs as the clip sets: an action instance is a class program
rendered over its span of the session (as a trimmed MA-52 clip would show it); outside its span
it contributes nothing. Breathing, blinks, camera jitter (mean-reverting, so a long session does
not drift), sensor noise and small distractor movements run across the whole session. Frames
are rendered and encoded in chunks, so memory does not grow with the session's length.

Ground truth follows the MMAD (multi-label micro-action detection) layout:
``id,video_id,start_frame,end_frame,class,total_frames,fps`` with ``start_frame`` the first
frame of the instance and ``end_frame`` one past its last (seconds = frame / fps).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from microaction.data.parallel import parallel_map
from microaction.data.video import write_video
from microaction.errors import MicroactionError
from microaction.io import write_json, write_text
from microaction.labels import ACTION_NAMES, ACTION_TO_BODY, write_label_names
from microaction.synth.clips import frame_size, pose_at
from microaction.synth.figure import Appearance, Camera, render_frames
from microaction.synth.motions import Program, class_program, distractor_program

ANNOTATION_HEADER = ["id", "video_id", "start_frame", "end_frame", "class", "total_frames", "fps"]
SPLITS = {"train": 0, "val": 1, "test": 2}
# body parts whose actions move a hand (two of them at once could want the same hand)
HAND_BODIES = {2, 4, 5, 6}


@dataclass(frozen=True)
class Instance:
    start: int  # first frame
    end: int  # one past the last frame
    label: int


@dataclass
class SessionPlan:
    video_id: str
    length: int  # frames
    fps: float
    seed: int
    participant: int
    instances: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # e.g. the emotion of an emotional session


def plan_instances(length: int, fps: float, rng: np.random.Generator, rates=None,
                   overlap: float = 0.25, rest=(0.5, 3.0), duration=(1.2, 2.5)) -> list[Instance]:
    """A random sequence of instances over ``length`` frames: rest (``rest`` seconds), an action
    (``duration`` seconds, class drawn with weights ``rates``), and with probability
    ``overlap`` a second action on another body part starting during the first (at most one of
    the two moving a hand)."""
    p = np.full(len(ACTION_NAMES), 1.0) if rates is None else np.asarray(rates, float)
    p = p / p.sum()
    out, t = [], int(rng.uniform(*rest) * fps)
    while True:
        n = int(rng.uniform(*duration) * fps)
        if t + n > length:
            break
        first = int(rng.choice(len(p), p=p))
        out.append(Instance(t, t + n, first))
        end = t + n
        if rng.random() < overlap:
            body = ACTION_TO_BODY[first]
            ok = np.array([ACTION_TO_BODY[c] != body and not (
                ACTION_TO_BODY[c] in HAND_BODIES and body in HAND_BODIES)
                for c in range(len(p))], float) * p
            s2 = t + int(rng.uniform(0.1, 0.6) * n)
            n2 = int(rng.uniform(*duration) * fps)
            if ok.sum() > 0 and s2 + n2 <= length:
                out.append(Instance(s2, s2 + n2, int(rng.choice(len(p), p=ok / ok.sum()))))
                end = max(end, s2 + n2)
        t = end + int(rng.uniform(*rest) * fps)
    return out


def _placed(prog: Program, start: int, length: int) -> Program:
    """A clip's program moved to frames [start, start + n) of a ``length``-frame session."""
    n = len(next(iter(prog.tracks.values()))) if prog.tracks else \
        len(next(r for r in prog.reach if r is not None).weight)
    span = np.zeros(length, bool)
    span[start:start + n] = True
    out = Program()
    for name, values in prog.tracks.items():
        full = np.zeros((length, *np.shape(values)[1:]))
        full[start:start + n] = values
        out.tracks[name] = full
    for k, reach in enumerate(prog.reach):
        if reach is None:
            continue
        w, off = np.zeros(length), np.zeros((length, 2))
        w[start:start + n], off[start:start + n] = reach.weight, reach.offset
        out.reach[k] = type(reach)(reach.landmark, w, off)
    out.flags = {name: span & bool(v) for name, v in prog.flags.items()}
    return out


def session_programs(plan: SessionPlan, rng: np.random.Generator, distractors: float = 0.1):
    """The motion programs of a session: one per instance, plus distractors (``distractors``
    per second of rest, each ~1-2 s of a small movement of another body part)."""
    progs = [_placed(class_program(i.label, i.end - i.start, rng), i.start, plan.length)
             for i in plan.instances]
    for _ in range(rng.poisson(distractors * plan.length / plan.fps)):
        n = int(rng.uniform(1.0, 2.0) * plan.fps)
        start = int(rng.integers(0, max(1, plan.length - n)))
        progs.append(_placed(distractor_program(n, rng, rng.uniform(0.3, 1.0)), start,
                             plan.length))
    return progs


def render_session(plan: SessionPlan, size: int, chunk: int = 240, programs_hook=None,
                   face_hook=None):
    """Yield the session's frames ``(H, W, 3)`` uint8, rendered ``chunk`` frames at a time.
    ``programs_hook(programs, rng)`` may add programs; ``face_hook(poses, start)`` may adjust
    poses (the emotion generator's facial cue)."""
    rng = np.random.default_rng([plan.seed, 7, plan.participant])
    app = Appearance.random(np.random.default_rng([plan.seed, 1000, plan.participant]))
    width, height = frame_size(size)
    cam = Camera.random(rng, width, height)
    programs = session_programs(plan, rng)
    if programs_hook is not None:
        programs = programs_hook(programs, rng)
    if any(i.label == 47 for i in plan.instances):  # pushing glasses needs glasses
        app.glasses = True
    t = np.arange(plan.length)
    breath = np.sin(2 * np.pi * t / plan.fps * rng.uniform(0.2, 0.35) + rng.uniform(0, 6))
    eye = np.ones(plan.length)
    for c in rng.integers(0, plan.length, size=int(plan.length / plan.fps / 4)):
        eye[max(c - 1, 0):c + 2] = 0.1  # a blink every ~4 s
    jitter = np.zeros((plan.length, 2))
    steps = rng.normal(0, 0.12, (plan.length, 2))
    for i in range(1, plan.length):  # mean-reverting: stays within ~1 px however long
        jitter[i] = 0.95 * jitter[i - 1] + steps[i]
    for start in range(0, plan.length, chunk):
        idx = range(start, min(start + chunk, plan.length))
        poses = [pose_at(programs, i, app, breath[i], eye[i]) for i in idx]
        if face_hook is not None:
            face_hook(poses, start)
        yield from render_frames(poses, app, cam, width, height, rng, jitter[start:idx.stop])


def annotation_rows(plans: list[SessionPlan]) -> list[list]:
    rows, k = [], 0
    for plan in plans:
        for inst in sorted(plan.instances, key=lambda i: (i.start, i.label)):
            rows.append([k, plan.video_id, inst.start, inst.end, inst.label, plan.length,
                         plan.fps])
            k += 1
    return rows


def write_annotations(path: Path, plans: list[SessionPlan]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ANNOTATION_HEADER)
    w.writerows(annotation_rows(plans))
    write_text(path, buf.getvalue())


def plan_sessions(sessions: int, duration: float, seed: int = 0, fps: float = 30.0,
                  splits=("train", "val", "test"), overlap: float = 0.25, participants: int = 8,
                  rates=None) -> dict[str, list[SessionPlan]]:
    """``sessions`` sessions per split, each ``duration`` seconds."""
    out = {}
    for split in splits:
        if split not in SPLITS:
            raise MicroactionError(f"unknown split {split!r}; expected train, val or test")
        plans = []
        for i in range(sessions):
            rng = np.random.default_rng([seed, 77, SPLITS[split], i])
            length = int(round(duration * fps))
            plan = SessionPlan(f"{split}_{i:04d}", length, fps, seed * 1000 + i,
                               int(rng.integers(participants)) + 100 * SPLITS[split])
            plan.instances = plan_instances(length, fps, rng, rates, overlap)
            plans.append(plan)
        out[split] = plans
    return out


def _render_job(job):
    plan, path, size = job
    if Path(path).exists():
        return path, 0
    return path, write_video(path, render_session(plan, size), fps=plan.fps)


def generate_sessions(out_dir: str | Path, sessions: int = 4, duration: float = 60.0,
                      size: int = 57, seed: int = 0, splits=("train", "val", "test"),
                      overlap: float = 0.25, workers: int | None = None,
                      progress: bool = True) -> dict:
    """Write ``videos_<split>/<split>_NNNN.mp4`` and ``<split>_annotations.csv`` (MMAD layout)
    under ``out_dir``, with ``label_name.txt`` and ``sessions_info.json``. Resumable."""
    if duration < 5 or sessions < 1 or size < 32:
        raise MicroactionError(f"need sessions >= 1, duration >= 5 s and size >= 32 (got "
                               f"{sessions}, {duration}, {size})")
    out_dir = Path(out_dir)
    plans = plan_sessions(sessions, duration, seed, splits=splits, overlap=overlap)
    jobs = []
    for split, split_plans in plans.items():
        (out_dir / f"videos_{split}").mkdir(parents=True, exist_ok=True)
        jobs += [(p, str(out_dir / f"videos_{split}" / f"{p.video_id}.mp4"), size)
                 for p in split_plans]
    for _ in parallel_map(_render_job, jobs, workers, "sessions", progress):
        pass
    for split, split_plans in plans.items():
        write_annotations(out_dir / f"{split}_annotations.csv", split_plans)
    write_label_names(out_dir / "label_name.txt", ACTION_NAMES)
    info = {"generator": "microaction synth-sessions", "sessions": sessions,
            "duration": duration, "size": size, "seed": seed, "overlap": overlap,
            "instances": {s: sum(len(p.instances) for p in ps) for s, ps in plans.items()}}
    write_json(out_dir / "sessions_info.json", info, indent=2)
    return info
