"""Load check of the local web app on loopback: N sequential and M concurrent uploads, latency
per request (upload to result), and whether the server's memory returns to its baseline.

    python benchmarks/web_load.py [--checkpoint runs/demo/train/best.pt] [--sequential 20]
        [--concurrent 4]

The server runs in a child process (``microaction serve``); its resident memory (VmRSS from
/proc) is read after a warm-up upload, after the sequential uploads and after the concurrent
ones. Clips are the demo's held-out test clips (top-5 mode); one 60 s synthetic session checks
the timeline mode. Concurrent uploads beyond the queue are refused as busy and retried after
0.5 s, as a person would.
"""

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from microaction.io import write_json


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def upload(url: str, path: Path) -> dict:
    """Upload, poll to the end; retries while the server is busy. Returns timings."""
    body = path.read_bytes()
    t0 = time.perf_counter()
    busy = 0
    while True:
        req = urllib.request.Request(url + "api/jobs", data=body, method="POST",
                                     headers={"X-Filename": path.name})
        try:
            with urllib.request.urlopen(req) as r:
                job = json.loads(r.read())
            break
        except urllib.error.HTTPError as e:
            if e.code != 429:
                raise
            busy += 1
            time.sleep(0.5)
    while job["status"] not in ("done", "error"):
        time.sleep(0.1)
        with urllib.request.urlopen(f"{url}api/jobs/{job['id']}") as r:
            job = json.loads(r.read())
    return {"seconds": time.perf_counter() - t0, "status": job["status"], "busy": busy}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=Path("runs/demo/train/best.pt"))
    ap.add_argument("--clips", type=Path, default=Path("runs/demo/data/videos_test"))
    ap.add_argument("--sequential", type=int, default=20)
    ap.add_argument("--concurrent", type=int, default=4)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--out", type=Path, default=Path("runs/web_load.json"))
    args = ap.parse_args()
    clips = sorted(args.clips.glob("*.mp4"))[:max(args.sequential, args.concurrent)]
    session = Path("runs/web_load_session/videos_val/val_0000.mp4")
    if not session.exists():
        subprocess.run([sys.executable, "-m", "microaction", "synth-sessions",
                        "runs/web_load_session", "--sessions", "1", "--duration", "60",
                        "--splits", "val", "-q"], check=True)
    server = subprocess.Popen([sys.executable, "-m", "microaction", "serve",
                               str(args.checkpoint), "--port", str(args.port)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        server.stdout.readline()  # "serving ... at URL"
        url = f"http://127.0.0.1:{args.port}/"
        upload(url, clips[0])
        base = rss_mb(server.pid)
        seq = [upload(url, clips[i % len(clips)]) for i in range(args.sequential)]
        after_seq = rss_mb(server.pid)
        conc, threads = [], []
        for i in range(args.concurrent):
            t = threading.Thread(target=lambda i=i: conc.append(upload(url, clips[i])))
            threads.append(t)
            t.start()
        for t in threads:
            t.join()
        after_conc = rss_mb(server.pid)
        long = upload(url, session)
        after_long = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait()
    res = {
        "sequential": {"n": len(seq), "median_s": statistics.median(r["seconds"] for r in seq),
                       "max_s": max(r["seconds"] for r in seq),
                       "ok": sum(r["status"] == "done" for r in seq)},
        "concurrent": {"n": len(conc), "median_s": statistics.median(r["seconds"] for r in conc),
                       "max_s": max(r["seconds"] for r in conc),
                       "ok": sum(r["status"] == "done" for r in conc),
                       "busy_refusals": sum(r["busy"] for r in conc)},
        "session_60s": {"seconds": long["seconds"], "status": long["status"]},
        "rss_mb": {"baseline": base, "after_sequential": after_seq,
                   "after_concurrent": after_conc, "after_session": after_long}}
    write_json(args.out, res)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
