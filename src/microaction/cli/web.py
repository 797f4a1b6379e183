"""``serve``: the local web app."""

from __future__ import annotations

import sys
from pathlib import Path

from microaction.cli.common import add_verb, positive_int, setup_torch

LOCAL = ("127.0.0.1", "localhost", "::1")


def cmd_serve(args) -> int:
    from microaction.web.server import serve

    setup_torch()
    if args.host not in LOCAL:
        print("=" * 78 + f"\nWARNING: serving on {args.host}: anyone who can reach this machine "
              f"on port {args.port} can\nupload videos and run the model. There is no login. "
              f"Use --host 127.0.0.1 unless you\nmean it.\n" + "=" * 78, file=sys.stderr)

    def ready(url, _server):
        print(f"microaction serving {args.checkpoint} at {url} (Ctrl-C to stop)", flush=True)

    try:
        serve(args.checkpoint, args.host, args.port, args.max_upload_mb, ready=ready,
              queue_size=args.queue, window=args.window, stride=args.stride,
              threshold=args.threshold)
    except OSError as exc:
        from microaction.errors import MicroactionError

        raise MicroactionError(f"cannot listen on {args.host}:{args.port} ({exc.strerror})") \
            from None
    return 0


def register(sub) -> None:
    p = add_verb(sub, "serve", "a local web page: drop a video, see its micro-actions",
                 "microaction serve runs/demo/train/best.pt --port 8000", cmd_serve,
                 "Binds to 127.0.0.1 unless told otherwise. Short clips get the top-5 actions "
                 "and the\nframes the model saw; longer videos get the timeline, a table of "
                 "detections and\ndownloads. One video is processed at a time; one more may "
                 "wait; others are refused\nas busy. Uploads are deleted after processing.")
    p.add_argument("checkpoint", type=Path, help="a microaction checkpoint (.pt)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    p.add_argument("--max-upload-mb", type=float, default=500, help="upload size limit")
    p.add_argument("--queue", type=positive_int, default=1,
                   help="uploads that may wait behind the one being processed")
    p.add_argument("--window", type=float, default=2.0, help="timeline window in seconds")
    p.add_argument("--stride", type=float, default=1.0, help="timeline stride in seconds")
    p.add_argument("--threshold", type=float, default=0.3, help="timeline segment threshold")
