"""Video reading with PyAV.

Frames are decoded sequentially and only the requested ones are converted to RGB: on MA-52's
H.264 clips seeking per frame is several times slower than one sequential pass. The frame count
is taken from the demuxed packets, not the container header (headers can be wrong), and checked
against what actually decodes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from microaction.errors import VideoError

log = logging.getLogger(__name__)

Selector = Callable[[int], np.ndarray]


@dataclass
class Clip:
    frames: np.ndarray  # (N, H, W, 3) uint8 RGB, one row per requested index (repeats allowed)
    length: int  # frames that actually decode
    fps: float


def read_video(path: str | Path, select: Selector | Sequence[int] | None = None,
               short_side: int | None = None, threads: bool = True) -> Clip:
    """Decode the frames chosen by ``select`` from a video file.

    ``select`` is a list of indices, or a function ``length -> indices`` (e.g. a sampler), or
    None for every frame. ``short_side`` rescales during colour conversion (cheap in swscale).
    Any failure (missing, unreadable, not a video, corrupt, zero frames) raises VideoError naming
    the file.
    """
    import av

    path = Path(path)
    if not path.exists():
        raise VideoError(path, "file not found")
    if path.is_dir():
        raise VideoError(path, "is a directory, not a video file")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(path, "contains no video stream")
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 0.0) or 30.0
            packets = [p for p in container.demux(stream) if p.size > 0]
            clip = _decode_selected(stream, packets, select, short_side, threads, path, fps)
    except VideoError:
        raise
    except (av.FFmpegError, EOFError, OSError, ValueError, RuntimeError) as exc:
        raise VideoError(path, f"cannot decode video ({type(exc).__name__}: {exc})") from None
    return clip


def probe_video(path: str | Path) -> tuple[int, float, int, int]:
    """(length = decodable frame count, fps, width, height) of a video; decodes every frame."""
    clip = read_video(path, select=lambda n: np.zeros(1, dtype=np.int64))
    h, w = clip.frames.shape[1:3]
    return clip.length, clip.fps, w, h


def _decode_selected(stream, packets, select, short_side, threads, path, fps) -> Clip:
    if not packets:
        raise VideoError(path, "video stream has no frames")
    # First pass trusts the packet count; if fewer frames decode (corrupt or truncated data),
    # decode again with the true count so the sampler sees the real length.
    n = len(packets)
    ctx = stream.codec_context
    if threads:  # before the codec opens; a second pass reuses the open codec
        ctx.thread_type = "AUTO"
    for _attempt in range(2):
        indices = _resolve(select, n)
        wanted = set(int(i) for i in np.unique(indices))
        if wanted and (min(wanted) < 0):
            raise IndexError(f"negative frame index {min(wanted)}")
        got: dict[int, np.ndarray] = {}
        decoded = 0
        for frame in _frames(ctx, packets):
            if decoded in wanted:
                got[decoded] = _to_rgb(frame, short_side)
            decoded += 1
        if decoded == 0:
            raise VideoError(path, "no frame could be decoded")
        if len(got) == len(wanted):
            if decoded != n:
                log.debug("%s: %d packets but %d frames decode", path, n, decoded)
            order = indices.reshape(-1)
            frames = np.stack([got[int(i)] for i in order]) if order.size else \
                np.zeros((0, 1, 1, 3), np.uint8)
            return Clip(frames, decoded, fps)
        if decoded >= n:  # indices beyond the real length were asked for explicitly
            raise IndexError(f"frame index {max(wanted)} out of range for {decoded} frames")
        log.warning("%s: header/packets promise %d frames, only %d decode", path, n, decoded)
        n = decoded
        _reset(stream)
    raise VideoError(path, "frame count changed between decoding passes")


def _frames(ctx, packets):
    for packet in packets:
        yield from ctx.decode(packet)
    yield from ctx.decode(None)  # flush delayed frames


def _reset(stream):
    stream.codec_context.flush_buffers()


def _resolve(select, n: int) -> np.ndarray:
    if select is None:
        return np.arange(n)
    if callable(select):
        return np.asarray(select(n), dtype=np.int64)
    return np.asarray(list(select), dtype=np.int64)


def _to_rgb(frame, short_side: int | None) -> np.ndarray:
    if short_side:
        w, h = frame.width, frame.height
        scale = short_side / min(w, h)
        if scale < 1.0:  # only shrink here; enlarging is left to the tensor transforms
            nw, nh = max(2, round(w * scale)), max(2, round(h * scale))
            return frame.reformat(width=nw, height=nh, format="rgb24",
                                  interpolation="AREA").to_ndarray()
    return frame.to_ndarray(format="rgb24")


def iter_frames(path: str | Path, short_side: int | None = None):
    """Yield every frame as ``(H, W, 3)`` uint8 RGB, streaming (for transcoding long videos).
    Raises VideoError naming the file on any decoding failure."""
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoError(path, "file not found" if not path.exists() else "is not a file")
    count = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(path, "contains no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                count += 1
                yield _to_rgb(frame, short_side)
    except VideoError:
        raise
    except (av.FFmpegError, EOFError, OSError, ValueError, RuntimeError) as exc:
        raise VideoError(path, f"cannot decode video ({type(exc).__name__}: {exc})") from None
    if count == 0:
        raise VideoError(path, "no frame could be decoded")


def video_fps(path: str | Path) -> float:
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return float(stream.average_rate or stream.guessed_rate or 0.0) or 30.0
    except (av.FFmpegError, IndexError, OSError, ValueError) as exc:
        raise VideoError(path, f"cannot open video ({type(exc).__name__})") from None


def write_video(path: str | Path, frames, fps: float = 30.0, crf: int = 18,
                preset: str = "veryfast", tune: str | None = None) -> int:
    """Encode ``(H, W, 3)`` uint8 RGB frames (an array ``(T, H, W, 3)`` or any iterable) as H.264
    mp4, atomically: the file appears only when complete (temp file + rename). Odd sizes lose one
    pixel row/column (yuv420p needs even sides). ``tune="fastdecode"`` trades a little size for
    cheaper decoding (used by ``prepare``). Returns the number of frames written."""
    import av
    from fractions import Fraction

    from microaction.io import atomic_path

    n = 0
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as out:
            stream = None
            for img in frames:
                if stream is None:
                    h2, w2 = img.shape[0] - img.shape[0] % 2, img.shape[1] - img.shape[1] % 2
                    stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                    stream.width, stream.height, stream.pix_fmt = w2, h2, "yuv420p"
                    # single-threaded x264 is bit-deterministic; callers parallelise over files
                    stream.options = {"crf": str(crf), "preset": preset,
                                      **({"tune": tune} if tune else {})}
                    stream.codec_context.thread_count = 1
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:h2, :w2]),
                                                   format="rgb24")
                frame.pts = n
                frame.time_base = 1 / Fraction(fps).limit_denominator(1001)
                for packet in stream.encode(frame):
                    out.mux(packet)
                n += 1
            if stream is None:
                raise ValueError(f"no frames to write to {path}")
            for packet in stream.encode(None):
                out.mux(packet)
    return n


class FrameStream:
    """Decode a video once, front to back, converting only the frames ``keep(index)`` asks for
    (to RGB at ``short_side``): iterate for ``(index, frame)`` pairs. ``fps`` and the header's
    ``expected`` frame count are known on opening; ``length`` (frames that decoded) once the
    iteration ends. Memory holds one frame at a time. Failures raise VideoError naming the
    file."""

    def __init__(self, path: str | Path, keep: Callable[[int], bool],
                 short_side: int | None = None):
        self.path, self.keep, self.short_side = Path(path), keep, short_side
        self.length: int | None = None
        if not self.path.is_file():
            raise VideoError(self.path, "file not found" if not self.path.exists()
                             else "is not a file")
        import av

        try:
            with av.open(str(self.path)) as container:
                if not container.streams.video:
                    raise VideoError(self.path, "contains no video stream")
                stream = container.streams.video[0]
                self.fps = float(stream.average_rate or stream.guessed_rate or 0.0) or 30.0
                self.expected = int(stream.frames or 0) or None
                self.width, self.height = stream.codec_context.width, stream.codec_context.height
        except VideoError:
            raise
        except (av.FFmpegError, EOFError, OSError, ValueError, RuntimeError) as exc:
            raise VideoError(self.path, f"cannot open video ({type(exc).__name__}: {exc})") \
                from None

    def __iter__(self):
        import av

        count = 0
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for frame in container.decode(stream):
                    if self.keep(count):
                        yield count, _to_rgb(frame, self.short_side)
                    count += 1
        except (av.FFmpegError, EOFError, OSError, ValueError, RuntimeError) as exc:
            raise VideoError(self.path, f"cannot decode video at frame {count} "
                                        f"({type(exc).__name__}: {exc})") from None
        if count == 0:
            raise VideoError(self.path, "no frame could be decoded")
        self.length = count
