"""Emotional synthetic interviews: each session carries an emotion, which changes (a) how often
each micro-action happens and how long the rests are, and (b) a weak, noisy facial expression
(mouth corners, brows). On these data the link between emotion and cues exists because this
table puts it there; it is written from published observations, not measured.

Rate multipliers (x base rate; ``action_strength`` s scales them as m ** s, so s = 0 makes
emotion invisible in the actions):

- anxious: self-touching and self-grooming ("adaptors": Ekman & Friesen 1969; Waxer 1977 on
  anxiety) -- touching/scratching neck, face, forehead, hindbrain, rubbing eyes, covering mouth;
  fidgeting hands and fingers (playing objects, rubbing hands, finger movements); leg shaking
  and feet movements (leakage through the lower body: Ekman & Friesen 1969); shorter rests.
- happy (positive affect): nodding and head up, illustrative gestures, spreading hands,
  waving; fewer adaptors.
- sad: head lowered (bowing head), arms retracted and crossed, covering face, rubbing eyes;
  fewer gestures and nods; longer rests.
- neutral: base rates.

Every class stays possible under every emotion and several emotions raise the same classes
(rubbing eyes: anxious and sad), so no single action decides. Facial cue per emotion (target
smile, brow): happy (+0.8, +0.3), sad (-0.6, -0.7), anxious (-0.25, +0.6), neutral (0, 0),
times ``face_strength``, plus a per-session offset and a slow drift (noise, sd 0.3).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from microaction.errors import MicroactionError
from microaction.io import write_json, write_text
from microaction.labels import ACTION_NAMES, write_label_names
from microaction.synth.sessions import SessionPlan, plan_instances, write_annotations

EMOTIONS = ("neutral", "happy", "sad", "anxious")

# class id -> multiplier, per emotion (classes not listed: x1)
RATE_TABLE: dict[str, dict[int, float]] = {
    "neutral": {},
    "anxious": {32: 3, 39: 3, 40: 3, 41: 3, 42: 2, 46: 2.5, 12: 2.5, 14: 2.5, 22: 2.5,
                24: 3, 29: 2, 30: 2, 11: 2, 0: 1.5, 9: 0.5, 23: 0.6},
    "happy": {9: 3, 6: 2, 23: 3, 20: 2.5, 19: 2, 13: 1.5, 32: 0.5, 39: 0.5, 41: 0.5, 5: 0.5},
    "sad": {5: 3, 18: 2.5, 37: 2.5, 45: 3, 42: 2, 7: 1.5, 23: 0.4, 20: 0.4, 9: 0.4, 6: 0.5,
            19: 0.4},
}
# mean rest between actions, seconds (range), per emotion
REST = {"neutral": (0.8, 3.0), "happy": (0.7, 2.6), "sad": (1.2, 4.0), "anxious": (0.4, 2.0)}
FACE = {"neutral": (0.0, 0.0), "happy": (0.8, 0.3), "sad": (-0.6, -0.7), "anxious": (-0.25, 0.6)}


def rates(emotion: str, strength: float = 1.0) -> np.ndarray:
    """Per-class sampling weights under ``emotion``."""
    if emotion not in RATE_TABLE:
        raise MicroactionError(f"unknown emotion {emotion!r} (expected {', '.join(EMOTIONS)})")
    w = np.ones(len(ACTION_NAMES))
    for c, m in RATE_TABLE[emotion].items():
        w[c] = m ** strength
    return w


def face_hook(emotion: str, strength: float, rng: np.random.Generator, length: int):
    """Adjusts poses' smile/brow: the emotion's target x strength, plus noise."""
    target = np.array(FACE[emotion]) * strength
    offset = rng.normal(0, 0.3, 2)
    drift = np.cumsum(rng.normal(0, 0.02, (length, 2)), 0)
    drift -= drift.mean(0)
    values = np.clip(target + offset + drift, -1, 1)

    def hook(poses, start):
        for k, pose in enumerate(poses):
            pose.smile, pose.brow = (float(v) for v in values[start + k])
    return hook


def plan_emotional(per_emotion: int, duration: float, seed: int, split: str,
                   action_strength: float, fps: float = 30.0) -> list[SessionPlan]:
    split_id = {"train": 0, "val": 1, "test": 2}[split]
    plans = []
    for e, emotion in enumerate(EMOTIONS):
        for i in range(per_emotion):
            rng = np.random.default_rng([seed, 55, split_id, e, i])
            length = int(round(duration * fps))
            plan = SessionPlan(f"{split}_{emotion}_{i:03d}", length, fps,
                               seed * 10000 + split_id * 1000 + e * 100 + i,
                               int(rng.integers(40)) + 100 * split_id,
                               extra={"emotion": emotion})
            base = np.array(REST["neutral"])  # the strength also scales the rests' change
            rest = tuple(base + action_strength * (np.array(REST[emotion]) - base))
            plan.instances = plan_instances(length, fps, rng, rates(emotion, action_strength),
                                            overlap=0.25, rest=rest)
            plans.append(plan)
    return plans


def _emotional_job(job):
    plan, path, size, face_strength = job
    from microaction.data.video import write_video
    from microaction.synth.sessions import render_session

    if Path(path).exists():
        return path, 0
    rng = np.random.default_rng([plan.seed, 31])
    hook = face_hook(plan.extra["emotion"], face_strength, rng, plan.length)
    return path, write_video(path, render_session(plan, size, face_hook=hook), fps=plan.fps)


def generate_emotional_sessions(out_dir: str | Path, per_emotion: int = 8,
                                duration: float = 60.0, size: int = 96, seed: int = 0,
                                splits=("train", "test"), action_strength: float = 1.0,
                                face_strength: float = 1.0, workers: int | None = None,
                                progress: bool = True) -> dict:
    """Sessions per split and emotion, with ``<split>_labels.csv`` (``video,emotion``, video
    paths relative to the file), ``<split>_annotations.csv`` (the micro-actions, MMAD layout)
    and ``emotion_info.json``."""
    from microaction.data.parallel import parallel_map

    out_dir = Path(out_dir)
    info = {"generator": "microaction synth-emotions", "per_emotion": per_emotion,
            "duration": duration, "size": size, "seed": seed, "emotions": list(EMOTIONS),
            "action_strength": action_strength, "face_strength": face_strength}
    for split in splits:
        plans = plan_emotional(per_emotion, duration, seed, split, action_strength)
        folder = out_dir / f"videos_{split}"
        folder.mkdir(parents=True, exist_ok=True)
        jobs = [(p, str(folder / f"{p.video_id}.mp4"), size, face_strength) for p in plans]
        for _ in parallel_map(_emotional_job, jobs, workers, f"emotions {split}", progress):
            pass
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["video", "emotion"])
        w.writerows([f"videos_{split}/{p.video_id}.mp4", p.extra["emotion"]] for p in plans)
        write_text(out_dir / f"{split}_labels.csv", buf.getvalue())
        write_annotations(out_dir / f"{split}_annotations.csv", plans)
    write_label_names(out_dir / "label_name.txt", ACTION_NAMES)
    write_json(out_dir / "emotion_info.json", info, indent=2)
    return info

