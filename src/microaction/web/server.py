"""``microaction serve``: a local web app around one checkpoint.

Plain ``http.server`` and a static page (HTML, CSS, JavaScript; no build step, no web
framework: the app needs five routes and one worker, and every dependency avoided is one less
install to fail). Uploads are read to a fresh temporary folder (never a path from the client),
checked to decode as video, queued, and processed one at a time by a worker thread; the folder
is removed when the job ends. A short clip gets the top-5 actions and the frames the model saw;
a longer video gets the micro-action timeline. The browser plays the chosen file itself, so the
server never keeps or serves the video.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import queue
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import numpy as np

from microaction.errors import MicroactionError, VideoError

log = logging.getLogger(__name__)

STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/static/style.css": ("style.css", "text/css; charset=utf-8")}
JOB_ROUTE = re.compile(r"^/api/jobs/([0-9a-f]{32})(/detections\.csv|/timeline\.json)?$")


class Busy(MicroactionError):
    """The queue is full."""


class TooLarge(MicroactionError):
    """The upload exceeds the size limit."""


@dataclass
class Job:
    id: str
    name: str  # the client's file name, for display only
    folder: Path
    status: str = "queued"  # queued, running, done, error
    progress: float = 0.0
    message: str = ""
    result: dict | None = None
    created: float = field(default_factory=time.time)

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "status": self.status,
                "progress": round(self.progress, 3), "message": self.message,
                "result": self.result}


class App:
    """The model, the job table and one worker thread. ``queue_size`` jobs may wait behind the
    running one; more uploads are refused as busy."""

    def __init__(self, checkpoint: str | Path, max_upload_mb: float = 500, queue_size: int = 1,
                 window: float = 2.0, stride: float = 1.0, threshold: float = 0.3,
                 clip_seconds: float = 4.0, keep_jobs: int = 20):
        from microaction.inference import Predictor

        self.predictor = Predictor.from_checkpoint(checkpoint)
        self.window_predictor = Predictor.from_checkpoint(checkpoint, num_clips=1, test_crops=1)
        self.max_bytes = int(max_upload_mb * 2**20)
        self.window, self.stride, self.threshold = window, stride, threshold
        self.clip_seconds, self.keep_jobs = clip_seconds, keep_jobs
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.running: Job | None = None
        self.worker = threading.Thread(target=self._work, name="microaction-worker", daemon=True)
        self.worker.start()

    # ------------------------------------------------------------------ submitting

    def info(self) -> dict:
        h = self.predictor.header()
        labels = self.predictor.labels
        return {"model": h["model"], "training": h["training"], "views": h["views"],
                "max_upload_mb": self.max_bytes / 2**20, "classes": len(labels),
                "body_parts": list(labels.body_names) if labels.body_names else None,
                "clip_seconds": self.clip_seconds, "window": self.window,
                "stride": self.stride}

    def submit(self, stream, length: int, name: str) -> Job:
        """Read ``length`` bytes of an upload into a new temporary folder, check that it is a
        video, and queue it. Raises MicroactionError (too large, not a video) or Busy."""
        if length <= 0:
            raise MicroactionError("the upload is empty")
        if length > self.max_bytes:
            raise TooLarge(f"the file is {length / 2**20:.1f} MB; the limit is "
                                   f"{self.max_bytes / 2**20:.0f} MB (serve --max-upload-mb)")
        if self.queue.full():
            raise Busy("busy: another video is being processed and one is waiting; try again "
                       "when they are done")
        folder = Path(tempfile.mkdtemp(prefix="microaction-upload-"))
        path = folder / "upload"
        try:
            with open(path, "wb") as f:
                left = length
                while left > 0:
                    chunk = stream.read(min(left, 1 << 20))
                    if not chunk:
                        raise MicroactionError("the upload was cut short")
                    f.write(chunk)
                    left -= len(chunk)
            self._check_video(path, name)
            job = Job(uuid.uuid4().hex, name[:200], folder)
            with self.lock:
                self.jobs[job.id] = job
                self._forget_old()
            self.queue.put_nowait(job)
        except queue.Full:
            shutil.rmtree(folder, ignore_errors=True)
            raise Busy("busy: another video is being processed and one is waiting; try again "
                       "when they are done") from None
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return job

    @staticmethod
    def _check_video(path: Path, name: str) -> None:
        from microaction.data.video import read_video

        try:
            read_video(path, [0], threads=False)
        except VideoError as exc:
            reason = exc.reason.replace(str(path), name or "upload")  # no server paths shown
            raise MicroactionError(f"{name or 'the file'} is not a video that can be decoded "
                                   f"({reason})") from None
        except IndexError:
            raise MicroactionError(f"{name or 'the file'} holds no frames") from None

    def _forget_old(self) -> None:
        """Keep the results of the last ``keep_jobs`` finished jobs (memory stays bounded)."""
        done = sorted((j for j in self.jobs.values() if j.status in ("done", "error")),
                      key=lambda j: j.created)
        for j in done[:max(0, len(done) - self.keep_jobs)]:
            self.jobs.pop(j.id, None)

    def job(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    # ------------------------------------------------------------------ the worker

    def _work(self) -> None:
        while True:
            job = self.queue.get()
            self.running = job
            job.status = "running"
            try:
                job.result = self.process(job)
                job.status, job.progress = "done", 1.0
            except (MicroactionError, VideoError) as exc:
                job.status, job.message = "error", str(exc).replace(str(job.folder), "")
            except Exception as exc:  # keep serving; the page shows what went wrong
                log.exception("job %s failed", job.id)
                job.status, job.message = "error", f"{type(exc).__name__}: {exc}"
            finally:
                shutil.rmtree(job.folder, ignore_errors=True)
                self.running = None
                self.queue.task_done()

    def process(self, job: Job) -> dict:
        from microaction.data.video import FrameStream

        path = job.folder / "upload"
        probe = FrameStream(path, lambda i: False)
        seconds = (probe.expected or 0) / probe.fps
        if 0 < seconds <= self.clip_seconds:
            return self._clip(path, seconds)
        return self._timeline(job, path)

    def _clip(self, path: Path, seconds: float) -> dict:
        from microaction.data.clips import frame_selector
        from microaction.data.video import read_video

        p = self.predictor
        top = p.top(p.scores(path), 5)
        idx = frame_selector(p.spec, train=False, num_clips=1)
        clip = read_video(path, lambda n: idx(n)[0], short_side=p.spec.short_side)
        return {"mode": "clip", "duration": round(seconds, 3), "top": top,
                "frames": [_png_data_url(f) for f in clip.frames]}

    def _timeline(self, job: Job, path: Path) -> dict:
        from microaction.data.annotations import predictions_csv
        from microaction.metrics.detection import Instance
        from microaction.timeline import score_windows, segments, timeline_document

        def progress(done, total):
            job.progress = min(0.99, done / total) if total else 0.0

        p = self.window_predictor
        scores = score_windows(p, path, self.window, self.stride, progress=False,
                               callback=progress)
        segs = segments(scores, self.threshold, p.labels.background)
        doc = timeline_document(scores, segs, p.labels, {"name": p.header()["model"]})
        doc["video"] = job.name
        stem = Path(job.name).stem or "video"
        doc["detections_csv"] = predictions_csv(
            [Instance(stem, s.start, s.end, s.label, s.score) for s in segs])
        return {"mode": "timeline", **doc}


def _png_data_url(frame: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def make_handler(app: App):
    class Handler(BaseHTTPRequestHandler):
        server_version = "microaction"

        def log_message(self, fmt, *args):
            log.debug("%s %s", self.address_string(), fmt % args)

        def _send(self, status, body: bytes, kind: str, extra: dict | None = None):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status, obj):
            self._send(status, json.dumps(obj).encode(), "application/json")

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path in STATIC:
                name, kind = STATIC[path]
                body = (resources.files("microaction.web") / "static" / name).read_bytes()
                return self._send(HTTPStatus.OK, body, kind)
            if path == "/api/info":
                return self._json(HTTPStatus.OK, app.info())
            m = JOB_ROUTE.match(path)
            job = app.job(m.group(1)) if m else None
            if job is None:
                return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            if not m.group(2):
                return self._json(HTTPStatus.OK, job.public())
            if job.status != "done" or job.result.get("mode") != "timeline":
                return self._json(HTTPStatus.CONFLICT, {"error": "no timeline for this job"})
            stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(job.name).stem) or "video"
            if m.group(2) == "/detections.csv":
                body, kind = job.result["detections_csv"].encode(), "text/csv"
                fname = f"{stem}_detections.csv"
            else:
                doc = {k: v for k, v in job.result.items() if k != "detections_csv"}
                body, kind = json.dumps(doc, indent=1).encode(), "application/json"
                fname = f"{stem}_timeline.json"
            self._send(HTTPStatus.OK, body, kind,
                       {"Content-Disposition": f'attachment; filename="{fname}"'})

        def do_POST(self):
            if self.path != "/api/jobs":
                return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            from urllib.parse import unquote

            name = unquote(self.headers.get("X-Filename", ""))  # display only, never a path
            try:
                job = app.submit(self.rfile, length, name)
            except Busy as exc:
                self.close_connection = True
                return self._json(HTTPStatus.TOO_MANY_REQUESTS, {"error": str(exc)})
            except TooLarge as exc:
                self.close_connection = True
                return self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": str(exc)})
            except MicroactionError as exc:
                self.close_connection = True  # the unread rest of a refused upload
                return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            self._json(HTTPStatus.ACCEPTED, job.public())

    return Handler


def serve(checkpoint: str | Path, host: str = "127.0.0.1", port: int = 8000,
          max_upload_mb: float = 500, ready=None, **kw) -> None:
    """Serve until interrupted. ``ready(url)`` is called once the socket listens."""
    app = App(checkpoint, max_upload_mb, **kw)
    httpd = ThreadingHTTPServer((host, port), make_handler(app))
    httpd.daemon_threads = True
    url = f"http://{host}:{httpd.server_address[1]}/"
    if ready is not None:
        ready(url, httpd)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
