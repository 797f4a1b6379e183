"""A seated person seen from the front, drawn with anti-aliased signed-distance primitives.

Body coordinates: origin at the centre of the seat (hips), y up, the torso (hip to neck) is about
one unit long. A :class:`Pose` holds the per-frame joint parameters; :func:`render_frame` draws it
for an :class:`Appearance` (who the person is) and a :class:`Camera` (where they sit in the frame).
Sub-pixel motion survives because every edge is soft over one pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# ----------------------------------------------------------------------------- canvas


def _f32(v) -> np.ndarray:
    """Per-frame values as float32 ``(T, 1, 1)``, to broadcast over a pixel window."""
    return np.asarray(v, np.float32).reshape(-1, 1, 1)


class Canvas:
    """A clip of float32 RGB frames ``(T, H, W, 3)`` in [0, 255], with soft-edged shape drawing
    in body coordinates. Every shape is drawn on all T frames in one call: its geometry is given
    per frame (points ``(T, 2)``, sizes scalar or ``(T,)``) and ``mask`` (``(T,)`` bool) says in
    which frames it is drawn. Drawing a clip shape by shape rather than frame by frame keeps
    the numpy calls few (a frame has ~40 shapes of a few pixels each)."""

    def __init__(self, img: np.ndarray, cx, cy, scale: float):
        self.img = img
        self.t, self.h, self.w = img.shape[:3]
        self.cx, self.cy, self.s = np.asarray(cx, float), np.asarray(cy, float), scale
        self.xs = np.arange(self.w, dtype=np.float32)[None, None, :] + 0.5
        self.ys = np.arange(self.h, dtype=np.float32)[None, :, None] + 0.5

    def px(self, p) -> tuple[np.ndarray, np.ndarray]:
        p = np.asarray(p, float).reshape(-1, 2)
        return self.cx + self.s * p[:, 0], self.cy - self.s * p[:, 1]

    def _window(self, x0, x1, y0, y1, mask):
        """The pixel window covering the shape in every drawn frame (None if off-frame)."""
        x0, x1, y0, y1 = (np.broadcast_to(v, (self.t,))[mask] for v in (x0, x1, y0, y1))
        c0, c1 = max(int(math.floor(x0.min())) - 1, 0), min(int(math.ceil(x1.max())) + 2, self.w)
        r0, r1 = max(int(math.floor(y0.min())) - 1, 0), min(int(math.ceil(y1.max())) + 2, self.h)
        if c0 >= c1 or r0 >= r1:
            return None
        return (slice(r0, r1), slice(c0, c1)), self.xs[:, :, c0:c1], self.ys[:, r0:r1]

    def _draw(self, bounds, mask, coverage, color, opacity):
        mask = np.ones(self.t, bool) if mask is None else np.asarray(mask, bool)
        if not mask.any():
            return
        win = self._window(*bounds, mask)
        if win is None:
            return
        (rows, cols), xs, ys = win
        a = np.minimum(np.maximum(coverage(xs, ys), 0.0), 1.0)
        if opacity != 1.0:
            a = a * opacity
        if not mask.all():
            a = a * mask[:, None, None]
        region = self.img[:, rows, cols]
        region += a[..., None] * (np.asarray(color, np.float32) - region)

    def capsule(self, p0, p1, r: float, color, opacity=1.0, mask=None):
        (x0, y0), (x1, y1) = self.px(p0), self.px(p1)
        rp = max(r * self.s, 0.35)
        dx, dy = x1 - x0, y1 - y0
        den = dx * dx + dy * dy
        moving = den > 1e-9
        X0, Y0, DX, DY = _f32(x0), _f32(y0), _f32(dx), _f32(dy)
        DEN, MOVING = _f32(np.where(moving, den, 1.0)), moving.reshape(-1, 1, 1)

        def coverage(xs, ys):
            t = np.minimum(np.maximum(((xs - X0) * DX + (ys - Y0) * DY) / DEN, 0.0), 1.0)
            t = np.where(MOVING, t, np.float32(0.0))
            return rp - np.hypot(xs - (X0 + t * DX), ys - (Y0 + t * DY)) + 0.5

        bounds = (np.minimum(x0, x1) - rp, np.maximum(x0, x1) + rp,
                  np.minimum(y0, y1) - rp, np.maximum(y0, y1) + rp)
        self._draw(bounds, mask, coverage, color, opacity)

    def ellipse(self, c, rx, ry, angle, color, opacity=1.0, mask=None):
        """Ellipse with radii (rx, ry) in body units, rotated by ``angle`` radians (ccw)."""
        x0, y0 = self.px(c)
        ax = np.maximum(np.asarray(rx, float) * self.s, 0.3)
        ay = np.maximum(np.asarray(ry, float) * self.s, 0.3)
        ext = np.maximum(ax, ay)
        X0, Y0, AX, AY = _f32(x0), _f32(y0), _f32(ax), _f32(ay)
        CA, SA = _f32(np.cos(angle)), _f32(np.sin(angle))

        def coverage(xs, ys):
            u = (xs - X0) * CA - (ys - Y0) * SA  # image y points down: ccw in body = -angle
            v = (xs - X0) * SA + (ys - Y0) * CA
            k = np.sqrt((u / AX) ** 2 + (v / AY) ** 2) + 1e-6
            grad = np.sqrt((u / AX ** 2) ** 2 + (v / AY ** 2) ** 2) / k + 1e-6
            return 0.5 - (k - 1.0) / grad

        self._draw((x0 - ext, x0 + ext, y0 - ext, y0 + ext), mask, coverage, color, opacity)

    def polygon(self, pts, color, opacity=1.0, mask=None):
        """Convex polygon (vertices in body units, ``(T, 2)`` each, any winding)."""
        q = np.stack([np.stack(self.px(p), -1) for p in pts], 1)  # (T, V, 2)
        centre = q.mean(1)
        normals = []
        for i in range(q.shape[1]):
            a, b = q[:, i], q[:, (i + 1) % q.shape[1]]
            n = np.stack([b[:, 1] - a[:, 1], a[:, 0] - b[:, 0]], -1)
            n /= np.linalg.norm(n, axis=-1, keepdims=True) + 1e-9
            n *= np.where(((centre - a) * n).sum(-1) < 0, -1.0, 1.0)[:, None]
            normals.append((_f32(a[:, 0]), _f32(a[:, 1]), _f32(n[:, 0]), _f32(n[:, 1])))

        def coverage(xs, ys):
            inside = None
            for ax_, ay_, nx, ny in normals:
                d = (xs - ax_) * nx + (ys - ay_) * ny  # positive inside
                inside = d if inside is None else np.minimum(inside, d)
            return inside + 0.5

        bounds = (q[..., 0].min(1), q[..., 0].max(1), q[..., 1].min(1), q[..., 1].max(1))
        self._draw(bounds, mask, coverage, color, opacity)


# ----------------------------------------------------------------------------- appearance


@dataclass
class Appearance:
    skin: tuple
    shirt: tuple
    sleeve_long: bool
    pants: tuple
    shoes: tuple
    hair: tuple
    hair_size: float
    wall: tuple
    wall_texture: np.ndarray  # (8, 8) low-frequency brightness field
    stool: tuple
    shoulder: float  # half shoulder width
    upper_arm: float
    forearm: float
    head: float  # head radius
    glasses: bool

    @staticmethod
    def random(rng: np.random.Generator) -> "Appearance":
        tone = rng.uniform(0.35, 1.0)
        skin = tuple(np.array([224, 172, 140]) * tone + np.array([20, 15, 10]))
        return Appearance(
            skin=skin,
            shirt=tuple(rng.uniform(20, 235, 3)),
            sleeve_long=bool(rng.random() < 0.6),
            pants=tuple(rng.uniform(15, 160, 3)),
            shoes=tuple(rng.uniform(10, 90, 3)),
            hair=tuple(rng.uniform(10, 120) * np.array([1.0, 0.8, 0.6])),
            hair_size=float(rng.uniform(0.55, 1.0)),
            wall=tuple(rng.uniform(150, 245, 3)),
            wall_texture=rng.normal(0, 1, (8, 8)).astype(np.float32),
            stool=tuple(rng.uniform(40, 200, 3)),
            shoulder=float(rng.uniform(0.33, 0.42)),
            upper_arm=float(rng.uniform(0.42, 0.5)),
            forearm=float(rng.uniform(0.4, 0.46)),
            head=float(rng.uniform(0.21, 0.25)),
            glasses=bool(rng.random() < 0.2),
        )


@dataclass
class Camera:
    scale: float  # pixels per body unit
    cx: float
    cy: float
    light_gain: float = 1.0
    light_dir: float = 0.0  # radians; direction of the brightness gradient
    light_slope: float = 0.0
    noise: float = 2.0  # sensor noise sigma, 0-255 scale

    @staticmethod
    def random(rng: np.random.Generator, width: int, height: int) -> "Camera":
        # The whole seated figure (about 2.75 body units tall) fits inside the centred square
        # crop that test-time pipelines take (224 of 256 px), head and feet included.
        scale = min(width, height) / 2.75 * rng.uniform(0.78, 0.84)
        return Camera(scale=scale,
                      cx=width / 2 + rng.uniform(-0.03, 0.03) * width,
                      cy=height / 2 + 0.28 * scale + rng.uniform(-0.02, 0.02) * height,
                      light_gain=float(rng.uniform(0.8, 1.15)),
                      light_dir=float(rng.uniform(0, 2 * math.pi)),
                      light_slope=float(rng.uniform(0.0, 0.25)),
                      noise=float(rng.uniform(1.0, 4.0)))


# ----------------------------------------------------------------------------- pose


@dataclass
class Pose:
    """Per-frame body parameters. Angles in radians, lengths in body units."""

    torso_roll: float = 0.0  # sway, + leans to image right
    torso_yaw: float = 0.0  # turning around
    torso_dx: float = 0.0
    rise: float = 0.0  # hips lifting off the stool
    slouch: float = 0.0  # 0 = straight back, 1 = slumped
    lean: float = 0.0  # forward lean (shortens the torso in the image)
    shrug: float = 0.0  # shoulder lift
    breath: float = 0.0
    head_pitch: float = 0.0  # + = down
    head_yaw: float = 0.0
    head_roll: float = 0.0
    eye_open: float = 1.0
    glasses_lift: float = 0.0
    # per side, index 0 = image left (the person's right), 1 = image right
    hand: list = field(default_factory=lambda: [None, None])  # target (x, y) or None = rest
    hand_behind: list = field(default_factory=lambda: [False, False])
    finger_curl: list = field(default_factory=lambda: [0.0, 0.0])
    finger_spread: list = field(default_factory=lambda: [0.0, 0.0])
    finger_wiggle: list = field(default_factory=lambda: [None, None])  # 4 per-finger offsets
    point: list = field(default_factory=lambda: [False, False])  # index finger extended
    knee_dx: list = field(default_factory=lambda: [0.0, 0.0])  # + = outward
    knee_dy: list = field(default_factory=lambda: [0.0, 0.0])
    foot_fwd: list = field(default_factory=lambda: [0.0, 0.0])  # foot extended toward camera
    heel: list = field(default_factory=lambda: [0.0, 0.0])  # tiptoe heel raise
    curl: list = field(default_factory=lambda: [0.0, 0.0])  # leg drawn up onto the stool
    cross: float = 0.0  # right-over-left leg crossing, 0..1 (sign picks the leg)
    obj: float = 0.0  # an object held in the hands (playing objects), its rotation
    smile: float = 0.0  # mouth corners up (+, a smile) or down (-, a frown), -1..1
    brow: float = 0.0  # brows raised (+) or lowered and drawn in (-), -1..1


SIDES = (-1, 1)


def skeleton(pose: Pose, app: Appearance) -> dict:
    """Joint positions (body units) of a pose: the landmarks motions aim hands at."""
    j: dict = {}
    hip = np.array([pose.torso_dx, pose.rise])
    length = 1.0 - 0.08 * pose.slouch - 0.12 * pose.lean + 0.004 * pose.breath
    up = np.array([math.sin(pose.torso_roll), math.cos(pose.torso_roll)])
    right = np.array([up[1], -up[0]])
    neck = hip + up * length
    yaw_c = math.cos(pose.torso_yaw)
    sh_w = app.shoulder * (0.55 + 0.45 * yaw_c) * (1 + 0.01 * pose.breath)
    j.update(hip=hip, neck=neck, up=up, right=right, length=length)
    for k, s in enumerate(SIDES):
        j[f"shoulder{k}"] = neck + right * (s * sh_w) + up * (-0.07 + 0.07 * pose.shrug) \
            + right * 0.06 * math.sin(pose.torso_yaw)
        j[f"hipj{k}"] = hip + right * (s * 0.17)
    # head
    roll = pose.torso_roll + pose.head_roll
    hup = np.array([math.sin(roll), math.cos(roll)])
    hright = np.array([hup[1], -hup[0]])
    # the head pivots at the neck: pitching down drops it, turning shifts it sideways (drawn
    # larger than life, like the hands, so that head movements survive small frames)
    head_c = neck + up * 0.1 + hup * (app.head * (1.05 - 0.9 * math.sin(pose.head_pitch)))
    head_c = head_c + right * 0.12 * math.sin(pose.torso_yaw) \
        + hright * (1.0 * app.head * math.sin(pose.head_yaw))
    j.update(head=head_c, hup=hup, hright=hright, roll=roll)
    fx = 1.1 * app.head * math.sin(pose.head_yaw + 0.5 * pose.torso_yaw)
    fy = -1.3 * app.head * math.sin(pose.head_pitch)
    face = head_c + hright * fx + hup * fy
    r = app.head
    j["face"] = face
    j["nose"] = face + hup * (-0.12 * r)
    j["mouth"] = face + hup * (-0.5 * r)
    j["forehead"] = face + hup * (0.5 * r)
    for k, s in enumerate(SIDES):
        eye_sep = 0.38 * r * math.cos(pose.head_yaw)
        j[f"eye{k}"] = face + hright * (s * eye_sep) + hup * (0.12 * r)
        j[f"cheek{k}"] = face + hright * (s * 0.55 * r) + hup * (-0.3 * r)
        j[f"ear{k}"] = head_c + hright * (s * r * (0.98 * math.cos(pose.head_yaw) - 0.2 * s *
                                                    math.sin(pose.head_yaw)))
        j[f"hindbrain{k}"] = head_c + hright * (s * 0.7 * r) + hup * (0.55 * r)
    j["crown"] = head_c + hup * (0.95 * r)
    j["chest"] = hip + up * (0.7 * length)
    j["neck_front"] = neck + up * 0.02
    for k, s in enumerate(SIDES):
        j[f"waist{k}"] = hip + up * 0.3 + right * (s * 0.3)
        j[f"back{k}"] = hip + up * 0.35 + right * (s * 0.22)
    # legs (thighs point at the camera, so the knee is close below the hip)
    for k, s in enumerate(SIDES):
        hipj = j[f"hipj{k}"]
        knee = hipj + np.array([s * (0.05 + pose.knee_dx[k]),
                                -0.12 + pose.knee_dy[k] + 0.3 * pose.curl[k] + 0.05 * pose.heel[k]])
        ankle = np.array([hipj[0] + s * (0.07 + 0.6 * pose.knee_dx[k] + 0.25 * pose.foot_fwd[k])
                          - s * 0.15 * pose.curl[k],
                          -0.98 - 0.2 * pose.foot_fwd[k] + pose.knee_dy[k] + 0.06 * pose.heel[k]
                          + 0.55 * pose.curl[k]])
        j[f"knee{k}"], j[f"ankle{k}"] = knee, ankle
        j[f"thigh{k}"] = (hipj + knee) / 2 + np.array([0, 0.06])
        j[f"calf{k}"] = (knee + ankle) / 2
        j[f"foot{k}"] = ankle + np.array([s * 0.03, -0.05])
    if pose.cross:
        k = 0 if pose.cross > 0 else 1  # the crossing leg moves over the other knee
        o = 1 - k
        c = abs(pose.cross)
        j[f"knee{k}"] = (1 - c) * j[f"knee{k}"] + c * (j[f"knee{o}"] + np.array([0, 0.1]))
        j[f"ankle{k}"] = (1 - c) * j[f"ankle{k}"] + c * (j[f"knee{o}"] +
                                                       np.array([SIDES[o] * 0.35, -0.25]))
        j[f"foot{k}"] = j[f"ankle{k}"] + np.array([SIDES[o] * 0.06, -0.03])
        j[f"thigh{k}"] = (j[f"hipj{k}"] + j[f"knee{k}"]) / 2 + np.array([0, 0.06])
    for k, s in enumerate(SIDES):
        j[f"rest{k}"] = j[f"thigh{k}"] + np.array([-s * 0.04, 0.05])
    j["lap"] = (j["thigh0"] + j["thigh1"]) / 2 + np.array([0.0, 0.08])
    return j


def _elbow(shoulder, target, l1, l2, side):
    d_vec = target - shoulder
    d = float(np.linalg.norm(d_vec))
    d = min(max(d, abs(l1 - l2) + 1e-3), l1 + l2 - 1e-3)
    base = math.atan2(d_vec[1], d_vec[0])
    a = math.acos(max(-1.0, min(1.0, (l1 * l1 + d * d - l2 * l2) / (2 * l1 * d))))
    cands = [shoulder + l1 * np.array([math.cos(base + sg * a), math.sin(base + sg * a)])
             for sg in (1, -1)]
    elbow = max(cands, key=lambda e: side * e[0] - 1.0 * e[1])  # elbows bend outward and down
    wrist = elbow + l2 * (target - elbow) / (np.linalg.norm(target - elbow) + 1e-9)
    return elbow, wrist


def render_frames(poses: list[Pose], app: Appearance, cam: Camera, width: int, height: int,
                  rng: np.random.Generator, jitter=None) -> np.ndarray:
    """Draw a clip, one pose a frame; ``jitter`` ``(T, 2)`` shifts the camera per frame in
    pixels. Returns ``(T, height, width, 3)`` uint8."""
    n = len(poses)
    jitter = np.zeros((n, 2)) if jitter is None else np.asarray(jitter, float)
    img = np.empty((n, height, width, 3), np.float32)
    img[:] = np.asarray(app.wall, np.float32)
    _wall_texture(img, app.wall_texture)
    cv = Canvas(img, cam.cx + jitter[:, 0], cam.cy + jitter[:, 1], cam.scale)
    frames = [skeleton(p, app) for p in poses]
    j = {k: np.stack([f[k] for f in frames]) for k in frames[0]}  # (T, 2) points, (T,) values
    per_side = lambda field: np.array([getattr(p, field) for p in poses])  # noqa: E731
    skin, shirt = app.skin, app.shirt
    sleeve = shirt if app.sleeve_long else skin
    dark = lambda c, f=0.75: tuple(np.asarray(c) * f)  # noqa: E731
    fixed = lambda *xy: np.broadcast_to(np.array(xy, float), (n, 2))  # noqa: E731

    # stool and floor shadow
    cv.polygon([fixed(-0.32, -0.02), fixed(0.32, -0.02), fixed(0.3, -0.12), fixed(-0.3, -0.12)],
               app.stool)
    for s in SIDES:
        cv.capsule(fixed(s * 0.26, -0.1), fixed(s * 0.3, -1.0), 0.025, dark(app.stool))
    cv.ellipse(fixed(0.0, -1.08), 0.7, 0.06, 0.0, dark(app.wall, 0.85), opacity=0.6)

    # arms behind the torso first (scratching the back)
    arms = _arm_geometry(poses, app, frames)
    behind = per_side("hand_behind").astype(bool)  # (T, 2)
    for k in range(2):
        _draw_arm(cv, arms[k], sleeve, shirt, skin, poses, k, mask=behind[:, k])

    # legs: the crossing leg is drawn last (leg 1 first while the left leg crosses over)
    cross = np.array([p.cross for p in poses])
    foot_fwd, heel = per_side("foot_fwd"), per_side("heel")
    for order, mask in (((0, 1), cross <= 0), ((1, 0), cross > 0)):
        for k in order:
            cv.capsule(j[f"knee{k}"], j[f"ankle{k}"], 0.075, app.pants, mask=mask)
            cv.ellipse(j[f"foot{k}"], 0.1 * (1 + 0.5 * foot_fwd[:, k]),
                       0.05 * (1 + 0.5 * foot_fwd[:, k] + 0.4 * heel[:, k]), 0.0, app.shoes,
                       mask=mask)
            cv.capsule(j[f"hipj{k}"], j[f"knee{k}"], 0.12, app.pants, mask=mask)
            cv.ellipse(j[f"knee{k}"], 0.1, 0.09, 0.0, dark(app.pants, 0.9), mask=mask)

    # torso
    hip, up, right, neck = j["hip"], j["up"], j["right"], j["neck"]
    hw = 0.28
    torso = [hip + right * hw, hip - right * hw, j["shoulder0"] - up * 0.02,
             j["shoulder1"] - up * 0.02]
    cv.polygon(torso, shirt)
    for k in range(2):
        cv.ellipse(j[f"shoulder{k}"], 0.09, 0.07, 0.0, shirt)
    cv.capsule(neck - up * 0.02, neck + up * 0.1, 0.065, skin)

    # head
    r, head, roll, hup, hright = app.head, j["head"], j["roll"], j["hup"], j["hright"]
    pitch = np.array([p.head_pitch for p in poses])
    yaw = np.array([p.head_yaw for p in poses])
    for k in range(2):  # ears
        cv.ellipse(j[f"ear{k}"], 0.035, 0.06, roll, dark(skin, 0.92))
    cv.ellipse(head, 0.92 * r, r, roll, skin)
    # the hair shows more of the back of the head as it turns away
    cv.ellipse(head + hup * (r * (0.72 - 0.3 * np.sin(pitch)))[:, None]
               - hright * (0.35 * r * np.sin(yaw))[:, None],
               0.88 * r, r * (0.28 + 0.15 * app.hair_size), roll, app.hair)
    eye_open = np.array([p.eye_open for p in poses])
    brow = np.array([p.brow for p in poses])[:, None]
    smile = np.array([p.smile for p in poses])[:, None]
    for k in range(2):
        eye = j[f"eye{k}"]
        cv.ellipse(eye, 0.03, 0.02 * eye_open + 0.003, roll, (25, 20, 20))
        if brow.any():  # raised brows sit higher; lowered ones also slant toward the nose
            inner = hright * (0.03 * SIDES[1 - k])
            cv.capsule(eye + hup * (0.045 + 0.03 * brow) + inner * (1 + 0.3 * np.minimum(brow, 0)),
                       eye + hup * (0.045 + 0.03 * brow - 0.02 * np.minimum(brow, 0)) - inner,
                       0.008, dark(app.hair, 0.6))
        else:
            cv.capsule(eye + hup * 0.045 - hright * 0.03, eye + hup * 0.045 + hright * 0.03,
                       0.008, dark(app.hair, 0.6))
    cv.capsule(j["nose"] + hup * 0.07, j["nose"], 0.018, dark(skin, 0.8))
    if smile.any():  # the corners move up (smile) or down (frown) from the mouth's centre
        for k in range(2):
            corner = j["mouth"] + hright * (0.055 * SIDES[k]) + hup * (0.035 * smile)
            cv.capsule(j["mouth"], corner, 0.012, (150, 60, 60))
    else:
        cv.capsule(j["mouth"] - hright * 0.05, j["mouth"] + hright * 0.05, 0.012, (150, 60, 60))
    lift_amount = np.array([p.glasses_lift for p in poses])
    glasses = np.full(n, app.glasses) | (lift_amount != 0)
    lift = hup * (0.03 * lift_amount)[:, None]
    for k in range(2):
        cv.ellipse(j[f"eye{k}"] + lift, 0.06, 0.045, roll, (30, 30, 30), opacity=0.55,
                   mask=glasses)
    cv.capsule(j["eye0"] + lift, j["eye1"] + lift, 0.008, (30, 30, 30), mask=glasses)

    # arms in front
    for k in range(2):
        _draw_arm(cv, arms[k], sleeve, shirt, skin, poses, k, mask=~behind[:, k])
    obj = np.array([p.obj for p in poses])
    mid = (arms[0]["hand"] + arms[1]["hand"]) / 2 + np.array([0, 0.04])
    cv.ellipse(mid, 0.08, 0.03, obj, (200, 40, 40), mask=obj != 0)

    # lighting, noise
    _light(img, cam)
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(cam.noise)
    return np.clip(img, 0, 255).astype(np.uint8)


def _arm_geometry(poses: list[Pose], app: Appearance, frames: list[dict]) -> list[dict]:
    """Per side, the arm's joints in every frame: ``(T, 2)`` arrays."""
    out = []
    for k, s in enumerate(SIDES):
        rows = []
        for pose, j in zip(poses, frames):
            target = pose.hand[k] if pose.hand[k] is not None else j[f"rest{k}"]
            sh = j[f"shoulder{k}"]
            elbow, wrist = _elbow(sh, np.asarray(target, float), app.upper_arm, app.forearm, s)
            fdir = (wrist - elbow) / (np.linalg.norm(wrist - elbow) + 1e-9)
            rows.append((sh, elbow, wrist, wrist + fdir * 0.04, fdir))
        out.append({name: np.stack(v) for name, v in
                    zip(("shoulder", "elbow", "wrist", "hand", "dir"), zip(*rows))})
    return out


def _draw_arm(cv: Canvas, g: dict, sleeve, shirt, skin, poses: list[Pose], k: int, mask):
    # Sleeves are shaded so that an arm stays visible in front of the shirt; hands are drawn
    # large (as cartoons do) so that hand actions survive small frames.
    if not mask.any():
        return
    cv.capsule(g["shoulder"], g["elbow"], 0.075, tuple(0.7 * np.asarray(shirt)), mask=mask)
    cv.capsule(g["elbow"], g["wrist"], 0.062, tuple(0.7 * np.asarray(sleeve)), mask=mask)
    hand, d = g["hand"], g["dir"]
    base_ang = np.arctan2(d[:, 1], d[:, 0])
    cv.ellipse(hand, 0.075, 0.09, base_ang - math.pi / 2, skin, mask=mask)
    curl = np.array([p.finger_curl[k] for p in poses])
    spread = np.array([p.finger_spread[k] for p in poses])
    wig = np.array([p.finger_wiggle[k] if p.finger_wiggle[k] is not None else (0, 0, 0, 0)
                    for p in poses], float)
    point = np.array([bool(p.point[k]) for p in poses])
    for f in range(4):
        ang = base_ang + (f - 1.5) * (0.18 + 0.25 * spread)
        length = 0.1 * (1 - 0.8 * curl) + 0.04 * wig[:, f]
        if f == 1:
            length = np.where(point, 0.15, length)
        tip = hand + d * 0.06 + length[:, None] * np.stack([np.cos(ang), np.sin(ang)], -1)
        cv.capsule(hand + d * 0.05, tip, 0.024, skin, mask=mask)
    thumb = base_ang + SIDES[k] * -1.1
    reach = (0.08 * (1 - 0.4 * curl))[:, None]
    cv.capsule(hand, hand + reach * np.stack([np.cos(thumb), np.sin(thumb)], -1), 0.025, skin,
               mask=mask)


def _wall_texture(img: np.ndarray, tex: np.ndarray):
    h, w = img.shape[-3:-1]
    yi = np.linspace(0, tex.shape[0] - 1, h)
    xi = np.linspace(0, tex.shape[1] - 1, w)
    field_ = _bilinear(tex, yi, xi)
    img += 6.0 * field_[..., None]


def _bilinear(tex, yi, xi):
    y0 = np.floor(yi).astype(int)
    x0 = np.floor(xi).astype(int)
    y1 = np.minimum(y0 + 1, tex.shape[0] - 1)
    x1 = np.minimum(x0 + 1, tex.shape[1] - 1)
    fy, fx = (yi - y0)[:, None], (xi - x0)[None, :]
    top = tex[y0][:, x0] * (1 - fx) + tex[y0][:, x1] * fx
    bot = tex[y1][:, x0] * (1 - fx) + tex[y1][:, x1] * fx
    return (top * (1 - fy) + bot * fy).astype(np.float32)


def _light(img: np.ndarray, cam: Camera):
    h, w = img.shape[-3:-1]
    gx = (np.arange(w, dtype=np.float32) / w - 0.5) * math.cos(cam.light_dir)
    gy = (np.arange(h, dtype=np.float32) / h - 0.5) * math.sin(cam.light_dir)
    gain = cam.light_gain * (1 + cam.light_slope * (gx[None, :] + gy[:, None]))
    img *= gain[..., None]
