"""Experiment configs: one flat YAML file per experiment (sections, no inheritance), overridable
with ``--set section.key=value``. Unknown keys, wrong types and values outside a key's choices
are errors naming the key; ``CHOICES`` lists every key with a fixed set of values, and the code
that acts on such a value checks it against the same list (``require_choice``)."""

from __future__ import annotations

import dataclasses
import logging
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from microaction.data.sampling import SEGMENT_RULES
from microaction.errors import ConfigError
from microaction.metrics import HEADLINE
from microaction.spec import TRAIN_CROPS

log = logging.getLogger(__name__)

CHOICES: dict[str, tuple] = {
    "train.optimizer": ("sgd", "adamw"),
    "train.amp": ("auto", "off", "bf16", "fp16"),
    "train.lr_schedule": ("step", "cosine"),
    "train.param_groups": ("tsm", "plain", "transformer"),
    "train.head_lr_layer": ("fc", "embed"),
    "train.best_metric": HEADLINE,
    "data.on_error": ("raise", "skip"),
    "data.train_crop": TRAIN_CROPS,
    "data.sampling": SEGMENT_RULES,
}

# Old key -> new key, accepted with a deprecation message until 0.3.
RENAMED = {"model.frames": "model.clip_len"}


def require_choice(key: str, value, where: str = "config") -> None:
    """Raise a ConfigError naming ``key`` and its allowed values unless ``value`` is one."""
    allowed = CHOICES[key]
    if value not in allowed:
        raise ConfigError(f"{where}: {key} must be one of {', '.join(map(str, allowed))}, "
                          f"got {value!r}")


@dataclass
class ModelConfig:
    name: str = "manet_r50"
    # frames per clip the model sees (segments for 2D models, the clip length for 3D ones),
    # the frame interval of dense sampling and the crop side; null: the model's own default
    clip_len: int | None = None
    size: int | None = None
    interval: int | None = None
    dropout: float = 0.5
    pretrained: str | None = None  # None, "imagenet" or a state-dict path
    # MANet's label table: "minilm" (alias "default"; shipped, unit rows), "minilm-official-rms"
    # (the same rows at the official table's scale) or a .npy path (e.g. the official table)
    label_embeddings: str | None = "default"
    embed_weight: float = 50.0  # lambda of the joint-embedding loss
    # MANet's joint-embedding head on any backbone: true/false; null: the model's default
    # (on for manet_*, off for the others)
    embed_head: bool | None = None


@dataclass
class DataConfig:
    root: str = "data/ma52"
    train_split: str = "train"
    val_split: str = "val"
    num_classes: int = 52
    num_workers: int = 4
    on_error: str = "raise"  # or "skip": count and skip undecodable clips
    test_clips: int = 1
    test_crops: int = 1
    # training crops: "multiscale" (the MANet recipe: side = scale x the short side, 13 fixed
    # positions) or "center" (the test crop; flip and temporal jitter only)
    train_crop: str = "multiscale"
    crop_scales: list = field(default_factory=lambda: [1.0, 0.875, 0.75, 0.66])
    # decode every train/val clip once and keep its frames in RAM, then load in the main
    # process (no workers): for small sets only (the synthetic demo set); MA-52 does not fit
    cache: bool = False
    # training frames: "tsn" (equal fractional segments over every frame) or "official" (the
    # MANet release's integer segments of length // clip_len frames)
    sampling: str = "tsn"


@dataclass
class TrainConfig:
    epochs: int = 80
    batch_size: int = 10  # per process
    optimizer: str = "sgd"  # "sgd" (the recipe) or "adamw" (faster from scratch)
    lr: float = 0.00125  # for batch_size x world_size = 10; scale linearly for other sizes
    momentum: float = 0.9
    weight_decay: float = 1.0e-4
    lr_schedule: str = "step"  # "step" (x lr_gamma at each of lr_steps) or "cosine" (to 0)
    lr_steps: list = field(default_factory=lambda: [30, 60])
    lr_gamma: float = 0.1
    warmup_epochs: float = 0.0
    clip_grad: float | None = 20.0
    param_groups: str = "tsm"  # "tsm" (bias x2 no decay, BN no decay, head x5/x10) or "plain"
    head_lr_layer: str = "fc"  # "fc" = the classifier; "embed" = the official release's accident
    amp: str = "auto"  # auto (bf16/fp16 on GPU, off on CPU), off, bf16, fp16
    channels_last: bool = True
    val_every: int = 1
    best_metric: str = "f1_mean"
    save_every_iters: int = 0  # also save `last` every N iterations (0: once per epoch)
    log_every: int = 10
    seed: int = 0
    label_smoothing: float = 0.0


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_SECTIONS = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}


def load_config(path: str | Path | None, overrides: list[str] = ()) -> Config:
    """Read a YAML config and apply ``section.key=value`` overrides (values parsed as YAML)."""
    raw: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of sections")
    where = str(path) if path is not None else "config"
    for item in overrides:
        key, eq, value = item.partition("=")
        if not eq or "." not in key:
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        section, _, name = key.strip().partition(".")
        try:
            parsed = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            parsed = value
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise ConfigError(f"{where}: section {section!r} must be a mapping")
        raw[section][name] = parsed
    return config_from_dict(raw, where)


def config_from_dict(raw: dict, where: str = "config") -> Config:
    cfg = Config()
    for section, values in raw.items():
        if section not in _SECTIONS:
            raise ConfigError(f"{where}: unknown section {section!r} "
                              f"(expected {', '.join(_SECTIONS)})")
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: section {section!r} must be a mapping")
        target = getattr(cfg, section)
        hints = typing.get_type_hints(type(target))
        names = {f.name for f in dataclasses.fields(target)}
        for key, value in values.items():
            old = f"{section}.{key}"
            if old in RENAMED:
                new = RENAMED[old]
                log.warning("%s: %s is deprecated (removed in 0.3); use %s", where, old, new)
                key = new.partition(".")[2]
            if key not in names:
                import difflib

                near = difflib.get_close_matches(key, names, n=1)
                hint = f"; did you mean {section}.{near[0]}?" if near else ""
                raise ConfigError(f"{where}: unknown key {section}.{key}{hint}")
            setattr(target, key, _coerce(value, hints[key], f"{section}.{key}", where))
    _validate(cfg, where)
    return cfg


def _coerce(value, hint, key: str, where: str):
    args = typing.get_args(hint)
    optional = type(None) in args
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{where}: {key} must not be empty")
    base = next((a for a in args if a is not type(None)), hint) if args else hint
    if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if base is float and isinstance(value, str):  # YAML 1.1 reads 5e-05 (no dot) as text
        try:
            return float(value)
        except ValueError:
            pass
    if base is bool and isinstance(value, bool):
        return value
    if base is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if base is str and isinstance(value, str):
        return value
    if base is str and isinstance(value, bool) and "off" in CHOICES.get(key, ()):
        return "on" if value else "off"  # YAML 1.1 reads a bare `off` as false
    if base in (list, typing.List) and isinstance(value, list):
        return value
    expected = getattr(base, "__name__", str(base))
    raise ConfigError(f"{where}: {key} must be {expected}{' or null' if optional else ''}, "
                      f"got {value!r}")


def _validate(cfg: Config, where: str) -> None:
    for key in CHOICES:
        section, _, name = key.partition(".")
        require_choice(key, getattr(getattr(cfg, section), name), where)
    scales = cfg.data.crop_scales
    if not scales or any(not isinstance(v, (int, float)) or not 0 < v <= 1 for v in scales):
        raise ConfigError(f"{where}: data.crop_scales must be a non-empty list of numbers in "
                          f"(0, 1], got {scales!r}")
    for key in ("epochs", "batch_size", "val_every", "log_every"):
        if getattr(cfg.train, key) < 1:
            raise ConfigError(f"{where}: train.{key} must be >= 1")
    for key in ("clip_len", "size", "interval"):
        value = getattr(cfg.model, key)
        if value is not None and value < 1:
            raise ConfigError(f"{where}: model.{key} must be >= 1")
    if cfg.data.test_clips < 1 or cfg.data.test_crops not in (1, 3):
        raise ConfigError(f"{where}: data.test_clips must be >= 1 and data.test_crops 1 or 3")


def save_config(cfg: Config, path: str | Path) -> None:
    from microaction.io import write_text

    write_text(path, yaml.safe_dump(cfg.to_dict(), sort_keys=False))
