"""Motion programs of the 52 MA-52 classes for the synthetic figure.

A program maps normalised clip time ``u`` in [0, 1] (one value per frame) to pose-parameter
tracks: scalar tracks (``head_yaw``, ``knee_dy:0`` ...) and hand reaches (hand k travels from its
rest position toward a body landmark with weight ``w(u)``, plus a small jitter).

Classes that differ only in motion share one base program and differ by a *measure-preserving*
time warp of ``u`` (reversal, the tent map, a zig-zag). A measure-preserving warp leaves the
distribution of a single frame's pose unchanged, so no single frame tells such classes apart --
only the order, rhythm or direction of motion does:

- stretching / retracting arms, stretching / retracting feet, spread / closing legs: reversal;
- turning head / shaking head, bowing head / nodding, touching / patting legs: one movement
  and hold vs the tent map applied twice (out and back, twice).

Every warp must stay visible to models that see only 8 frames of a clip (TSN segment sampling):
a faster rhythm aliases -- the tent map applied three times has a period of two segments, and its
segment-centre samples are all the same pose. So no motion-only class repeats faster than twice
per clip. (Scratching legs -- a fast small rub -- is therefore not one of these groups: at 8
frames its rub is a change of pose, not of rhythm.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEG = np.pi / 180


@dataclass
class Program:
    tracks: dict = field(default_factory=dict)  # name -> (T,) array
    reach: list = field(default_factory=lambda: [None, None])  # per side: Reach or None
    flags: dict = field(default_factory=dict)  # hand_behind:k, point:k, glasses

    def add(self, name: str, values) -> None:
        self.tracks[name] = self.tracks.get(name, 0.0) + np.asarray(values, np.float64)


@dataclass
class Reach:
    landmark: str  # a key of figure.skeleton(), e.g. "nose", "thigh1"
    weight: np.ndarray  # (T,) 0 = hand at rest, 1 = hand at the landmark
    offset: np.ndarray  # (T, 2) added to the landmark (rub, scratch, wave)


# ----------------------------------------------------------------------------- time profiles


def window(rng, dmin=0.45, dmax=0.8):
    """A random event window [a, b] inside the clip; its law is symmetric under time reversal."""
    d = rng.uniform(dmin, dmax)
    a = rng.uniform(0.04, 0.96 - d)
    return a, a + d


def smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def ramp(u, a, b):
    """0 before a, smooth rise to 1 at b, 1 after."""
    return smooth((u - a) / max(b - a, 1e-6))


def bump(u, a, b, edge=0.3):
    """0 -> 1 -> 0 over [a, b], rising and falling over ``edge`` of the window."""
    e = max((b - a) * edge, 1e-6)
    return np.minimum(smooth((u - a) / e), smooth((b - u) / e))


def osc(u, a, b, cycles, phase=0.0):
    """A sine of ``cycles`` periods inside [a, b], faded in and out."""
    v = (u - a) / max(b - a, 1e-6)
    return np.sin(2 * np.pi * cycles * v + phase) * bump(u, a, b, 0.15)


def tent(u, k=1):
    """The tent map applied k times: measure-preserving, 0 -> 1 -> 0 repeated 2^(k-1) times."""
    for _ in range(k):
        u = 1.0 - np.abs(2.0 * u - 1.0)
    return u


# ----------------------------------------------------------------------------- helpers

def _reach(p: Program, k, landmark, w, T, offset=None):
    off = np.zeros((T, 2)) if offset is None else np.broadcast_to(np.asarray(offset, float), (T, 2))
    p.reach[k] = Reach(landmark, np.asarray(w, float), off)


def _scratch(u, a, b, amp, cycles, axis=(1.0, 0.0)):
    """Small fast oscillation along ``axis`` inside [a, b] (scratching, rubbing)."""
    return np.outer(amp * osc(u, a, b, cycles), np.asarray(axis, float))


def _touch(landmark_of_side, scratch=0.0):
    """Program factory: one hand goes to a landmark, stays, (optionally scratches), returns."""
    def prog(u, rng, k):
        p, T = Program(), len(u)
        a, b = window(rng)
        lm = landmark_of_side(k)
        amp = scratch * rng.uniform(0.6, 1.2)
        _reach(p, k, lm, bump(u, a, b), T, _scratch(u, a, b, amp, rng.uniform(5, 9)))
        return p
    return prog


# ----------------------------------------------------------------------------- programs


def shaking_body(u, rng, k):
    p = Program()
    a, b = window(rng, 0.6, 0.9)
    p.add("torso_roll", rng.uniform(3, 6) * DEG * osc(u, a, b, rng.uniform(1.5, 3)))
    return p


def sitting_straightly(u, rng, k):
    p = Program()
    a, b = window(rng, 0.3, 0.6)
    p.add("slouch", 1.0 - ramp(u, a, b))
    p.add("lean", rng.uniform(0.2, 0.4) * (1 - ramp(u, a, b)))
    return p


def shrugging(u, rng, k):
    p = Program()
    a, b = window(rng, 0.3, 0.6)
    p.add("shrug", rng.uniform(0.6, 1.0) * bump(u, a, b))
    return p


def turning_around(u, rng, k):
    p = Program()
    a, b = window(rng, 0.35, 0.6)
    p.add("torso_yaw", (1 if k else -1) * rng.uniform(30, 50) * DEG * ramp(u, a, b))
    return p


def rising_up(u, rng, k):
    p = Program()
    a, b = window(rng, 0.4, 0.7)
    w = bump(u, a, b)
    p.add("rise", rng.uniform(0.06, 0.12) * w)
    p.add("lean", rng.uniform(0.3, 0.5) * w)
    return p


def head_pitch_step(sign):
    def prog(u, rng, k):
        p = Program()
        a, b = window(rng, 0.25, 0.5)
        p.add("head_pitch", sign * rng.uniform(32, 45) * DEG * ramp(u, a, b))
        return p
    return prog


def tilting_head(u, rng, k):
    p = Program()
    a, b = window(rng, 0.25, 0.5)
    p.add("head_roll", (1 if k else -1) * rng.uniform(10, 20) * DEG * ramp(u, a, b))
    return p


def turning_head(u, rng, k):
    p = Program()
    a, b = window(rng, 0.25, 0.5)
    p.add("head_yaw", (1 if k else -1) * rng.uniform(50, 70) * DEG * ramp(u, a, b))
    return p


def scratching_arms(u, rng, k):
    o = 1 - k
    p, T = Program(), len(u)
    a, b = window(rng)
    # the hand goes to the middle of the other forearm (approximated near the other rest pose)
    _reach(p, k, f"rest{o}", bump(u, a, b), T,
           np.array([0.0, 0.16]) + _scratch(u, a, b, 0.03, rng.uniform(6, 9), (0.3, 1.0)))
    return p


def playing_objects(u, rng, k):
    p, T = Program(), len(u)
    p.tracks["obj"] = 0.3 + np.cumsum(rng.normal(0, 0.15, T))
    for side in (0, 1):
        wig = 0.025 * np.stack([np.sin(2 * np.pi * rng.uniform(2, 4) * u + rng.uniform(0, 6)),
                                np.cos(2 * np.pi * rng.uniform(2, 4) * u)], 1)
        _reach(p, side, "lap", np.ones(T), T, wig + np.array([(side - 0.5) * 0.09, 0.0]))
    return p


def hands_meet(rub=0.0, interlace=False):
    def prog(u, rng, k):
        p, T = Program(), len(u)
        a, b = window(rng, 0.5, 0.85)
        w = ramp(u, a, a + 0.35 * (b - a)) if not rub else np.ones(T)
        for side in (0, 1):
            off = np.array([(side - 0.5) * 0.07, 0.1])
            if rub:
                off = off + _scratch(u, 0.0, 1.0, (1 if side else -1) * 0.03 * rng.uniform(0.7, 1.3),
                                     rng.uniform(4, 7), (0.0, 1.0))
            _reach(p, side, "lap", w, T, off)
            if interlace:
                p.tracks[f"finger_spread:{side}"] = 0.6 + 0.4 * osc(u, a, b, rng.uniform(2, 4))
        return p
    return prog


def pointing_oneself(u, rng, k):
    p = _touch(lambda s: "chest")(u, rng, k)
    p.flags[f"point:{k}"] = True
    p.add(f"finger_curl:{k}", 0.8 * p.reach[k].weight)
    return p


def clenching_fist(u, rng, k):
    p = Program()
    a, b = window(rng, 0.3, 0.6)
    p.add(f"finger_curl:{k}", bump(u, a, b) if rng.random() < 0.5 else ramp(u, a, b))
    return p


def stretching_arms(u, rng, k):
    p, T = Program(), len(u)
    a, b = window(rng, 0.3, 0.55)
    s = 1 if k else -1
    p.add(f"finger_spread:{k}", 0.5 * ramp(u, a, b))
    _reach(p, k, f"shoulder{k}", ramp(u, a, b), T,
           np.tile([s * rng.uniform(0.35, 0.55), rng.uniform(-0.35, -0.1)], (T, 1)))
    return p


def waving(u, rng, k):
    p, T = Program(), len(u)
    a, b = window(rng, 0.5, 0.8)
    s = 1 if k else -1
    wave = _scratch(u, a, b, 0.07, rng.uniform(2, 4))
    _reach(p, k, f"shoulder{k}", bump(u, a, b, 0.2), T, np.array([s * 0.25, 0.45]) + wave)
    p.add(f"finger_spread:{k}", bump(u, a, b))
    return p


def spreading_hands(u, rng, k):
    p, T = Program(), len(u)
    a, b = window(rng, 0.4, 0.7)
    for side in (0, 1):
        s = 1 if side else -1
        _reach(p, side, f"thigh{side}", bump(u, a, b), T, np.array([s * 0.25, 0.25]))
        p.add(f"finger_spread:{side}", bump(u, a, b))
    return p


def finger_movements(u, rng, k):
    p = Program()
    a, b = window(rng, 0.5, 0.9)
    p.tracks[f"finger_wiggle:{k}"] = np.stack(
        [osc(u, a, b, rng.uniform(2, 5), rng.uniform(0, 6)) for _ in range(4)], 1)
    return p


def illustrative_gestures(u, rng, k):
    p, T = Program(), len(u)
    a, b = window(rng, 0.5, 0.85)
    w = bump(u, a, b, 0.2)
    for side in (0, 1):
        path = np.stack([0.08 * osc(u, a, b, rng.uniform(1, 2.5), rng.uniform(0, 6)),
                         0.06 * osc(u, a, b, rng.uniform(1, 2.5), rng.uniform(0, 6))], 1)
        _reach(p, side, "chest", w, T, path + np.array([(side - 0.5) * 0.35, -0.2]))
    return p


def shaking_legs(u, rng, k):
    p = Program()
    a, b = window(rng, 0.5, 0.9)
    p.add(f"knee_dy:{k}", rng.uniform(0.03, 0.05) * osc(u, a, b, rng.uniform(4, 7)))
    return p


def curling_legs(u, rng, k):
    p = Program()
    a, b = window(rng, 0.3, 0.6)
    p.add(f"curl:{k}", rng.uniform(0.5, 0.8) * ramp(u, a, b))
    return p


def spread_legs(u, rng, k):
    p = Program()
    a, b = window(rng, 0.3, 0.55)
    amp = rng.uniform(0.06, 0.12)
    for side in (0, 1):
        p.add(f"knee_dx:{side}", amp * ramp(u, a, b) - 0.03)
    return p


def crossing_legs(u, rng, k):
    p = Program()
    a, b = window(rng, 0.35, 0.6)
    p.tracks["cross"] = (1 if k else -1) * ramp(u, a, b)
    return p


def stretching_feet(u, rng, k):
    p = Program()
    a, b = window(rng, 0.3, 0.55)
    p.add(f"foot_fwd:{k}", rng.uniform(0.6, 1.0) * ramp(u, a, b))
    return p


def tiptoe(u, rng, k):
    p = Program()
    a, b = window(rng, 0.4, 0.7)
    sides = (0, 1) if rng.random() < 0.5 else (k,)
    for side in sides:
        p.add(f"heel:{side}", rng.uniform(0.6, 1.0) * bump(u, a, b))
    return p


def scratching_back(u, rng, k):
    p = _touch(lambda s: f"back{s}", scratch=0.02)(u, rng, k)
    p.flags[f"hand_behind:{k}"] = True
    return p


def both_hands_to(landmark_of_side, offset_of_side=lambda s: (0.0, 0.0), hold=True):
    def prog(u, rng, k):
        p, T = Program(), len(u)
        a, b = window(rng, 0.35, 0.6)
        w = ramp(u, a, b) if hold else bump(u, a, b)
        for side in (0, 1):
            _reach(p, side, landmark_of_side(side), w, T, np.tile(offset_of_side(side), (T, 1)))
        return p
    return prog


def pushing_glasses(u, rng, k):
    p = _touch(lambda s: "nose")(u, rng, k)
    p.reach[k].offset = p.reach[k].offset + np.array([0.0, 0.06])
    p.flags["glasses"] = True
    w = p.reach[k].weight
    p.add("glasses_lift", np.clip(w - 0.6, 0, None) / 0.4)
    return p


def _hand_on_thigh(amp, cycles, axis, lift=0.0):
    """Program factory: one hand goes to the thigh and stays, moving along ``axis`` with
    amplitude ``amp`` (a number, or a range to draw from) and ``cycles`` (a range) inside the
    event window -- a slow rub (touching legs, the base of patting) or a fast scratch. With
    ``lift`` the hand comes down onto the thigh from that height above it (the rest pose is on
    the thigh already, so without it the hand barely moves)."""
    def prog(u, rng, k):
        p = Program()
        a, b = window(rng, 0.55, 0.85)
        size = amp if np.isscalar(amp) else rng.uniform(*amp)
        move = _scratch(u, a, b, size, rng.uniform(*cycles), axis)
        land = ramp(u, a, a + 0.3 * (b - a))
        if lift:
            height = lift * rng.uniform(0.8, 1.2) * (1.0 - land)
            _reach(p, k, f"thigh{k}", np.ones(len(u)), len(u),
                   np.stack([np.zeros(len(u)), 0.05 + height], 1) + move)
        else:
            _reach(p, k, f"thigh{k}", land, len(u), np.array([0.0, 0.05]) + move)
        return p
    return prog


legs_touch_base = _hand_on_thigh(0.1, (0.5, 1.0), (1.0, 0.0), lift=0.3)
# scratching legs: a small fast rub (not a motion-only class)
scratching_legs = _hand_on_thigh((0.024, 0.036), (6, 9), (0.3, 1.0))


def scratching_feet(u, rng, k):
    p, T = Program(), len(u)
    a, b = window(rng, 0.5, 0.8)
    w = bump(u, a, b)
    p.add("lean", 0.9 * w)
    p.add("slouch", 0.5 * w)
    _reach(p, k, f"ankle{k}", w, T,
           np.array([0.0, 0.08]) + _scratch(u, a, b, 0.025, rng.uniform(6, 9)))
    return p


def _other(k):
    return 1 - k


# (program, warp) per class id; warps: None, ("reverse",), ("tent", k)
CLASS_PROGRAMS = {
    0: (shaking_body, None),
    1: (sitting_straightly, None),
    2: (shrugging, None),
    3: (turning_around, None),
    4: (rising_up, None),
    5: (head_pitch_step(+1), None),  # bowing head
    6: (head_pitch_step(-1), None),  # head up
    7: (tilting_head, None),
    8: (turning_head, None),
    9: (head_pitch_step(+1), ("tent", 2)),  # nodding = bowing, twice out and back
    10: (turning_head, ("tent", 2)),  # shaking head = turning head, twice out and back
    11: (scratching_arms, None),
    12: (playing_objects, None),
    13: (hands_meet(), None),
    14: (hands_meet(rub=0.03), None),
    15: (pointing_oneself, None),
    16: (clenching_fist, None),
    17: (stretching_arms, None),
    18: (stretching_arms, ("reverse",)),
    19: (waving, None),
    20: (spreading_hands, None),
    21: (hands_meet(interlace=True), None),
    22: (finger_movements, None),
    23: (illustrative_gestures, None),
    24: (shaking_legs, None),
    25: (curling_legs, None),
    26: (spread_legs, None),
    27: (spread_legs, ("reverse",)),
    28: (crossing_legs, None),
    29: (stretching_feet, None),
    30: (stretching_feet, ("reverse",)),
    31: (tiptoe, None),
    32: (_touch(lambda s: "neck_front", scratch=0.02), None),
    33: (_touch(lambda s: "chest", scratch=0.02), None),
    34: (scratching_back, None),
    35: (_touch(lambda s: f"shoulder{_other(s)}", scratch=0.02), None),
    36: (both_hands_to(lambda s: f"waist{s}"), None),
    37: (both_hands_to(lambda s: f"shoulder{_other(s)}",
                       lambda s: ((1 if s else -1) * 0.12, -0.3)), None),
    38: (_touch(lambda s: "crown", scratch=0.035), None),
    39: (_touch(lambda s: f"hindbrain{s}", scratch=0.025), None),
    40: (_touch(lambda s: "forehead", scratch=0.015), None),
    41: (_touch(lambda s: f"cheek{s}", scratch=0.015), None),
    42: (_touch(lambda s: f"eye{s}", scratch=0.02), None),
    43: (_touch(lambda s: "nose"), None),
    44: (_touch(lambda s: f"ear{s}"), None),
    45: (both_hands_to(lambda s: f"cheek{s}", lambda s: ((-0.5 + s) * -0.05, 0.05),
                       hold=False), None),
    46: (_touch(lambda s: "mouth"), None),
    47: (pushing_glasses, None),
    48: (legs_touch_base, ("tent", 2)),  # patting legs = touching, twice out and back
    49: (legs_touch_base, None),  # touching legs
    50: (scratching_legs, None),
    51: (scratching_feet, None),
}

# Groups whose classes share every single-frame pose distribution (see module docstring).
MOTION_ONLY_GROUPS = ((17, 18), (29, 30), (26, 27), (8, 10), (5, 9), (48, 49))


def warp_time(u: np.ndarray, warp) -> np.ndarray:
    if warp is None:
        return u
    kind = warp[0]
    if kind == "reverse":
        return 1.0 - u
    if kind == "tent":
        return tent(u, warp[1])
    raise ValueError(f"unknown warp {warp!r}")


def class_program(action_id: int, num_frames: int, rng: np.random.Generator) -> Program:
    """The motion of one clip of class ``action_id``: random side, window, amplitude, speed."""
    prog, warp = CLASS_PROGRAMS[action_id]
    u = np.linspace(0.0, 1.0, num_frames)
    side = int(rng.integers(2))
    u = warp_time(u, warp)
    return prog(u, rng, side)


def distractor_program(num_frames: int, rng: np.random.Generator, strength: float) -> Program:
    """Small movements of other body parts, below the amplitude of a class movement."""
    p = Program()
    u = np.linspace(0.0, 1.0, num_frames)
    choice = rng.integers(4)
    a, b = window(rng, 0.3, 0.9)
    if choice == 0:
        p.add("head_yaw", strength * rng.uniform(-6, 6) * DEG * bump(u, a, b))
    elif choice == 1:
        p.add("torso_roll", strength * rng.uniform(-1.5, 1.5) * DEG * bump(u, a, b))
    elif choice == 2:
        p.add(f"knee_dx:{rng.integers(2)}", strength * rng.uniform(-0.02, 0.02) * bump(u, a, b))
    else:
        p.add("head_roll", strength * rng.uniform(-4, 4) * DEG * bump(u, a, b))
    return p
