"""The local web app, driven in a real headless Chromium with Playwright (Debian's chromium
package; Playwright's own browser download cannot work here). Without a browser these tests
skip loudly, except where MICROACTION_REQUIRE_BROWSER is set (CI), where they fail."""

import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from microaction.cli import main

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def start(checkpoint, **kw):
    from microaction.web.server import serve

    box, ready = {}, threading.Event()

    def on_ready(url, httpd):
        box.update(url=url, httpd=httpd)
        ready.set()

    t = threading.Thread(target=serve, args=(checkpoint,), daemon=True,
                         kwargs={"host": "127.0.0.1", "port": 0, "ready": on_ready, **kw})
    t.start()
    assert ready.wait(60), "the server did not start"
    return box


@pytest.fixture(scope="module")
def server(trained):
    tmp, _ = trained
    # the tiny test model is barely trained: a low threshold so that its timeline has segments.
    # For the README's screenshot, MICROACTION_WEB_CHECKPOINT may name a trained model instead.
    other = os.environ.get("MICROACTION_WEB_CHECKPOINT")
    box = start(other, threshold=0.3) if other else start(tmp / "work" / "best.pt",
                                                           threshold=0.02)
    yield box["url"]
    box["httpd"].shutdown()


@pytest.fixture(scope="module")
def browser():
    if BROWSER is None:
        if os.environ.get("MICROACTION_REQUIRE_BROWSER"):
            pytest.fail("MICROACTION_REQUIRE_BROWSER is set but no chromium is installed "
                        "(apt-get install chromium)")
        pytest.skip("BROWSER TESTS NOT RUN: no chromium found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=BROWSER, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def session_video(tmp_path_factory):
    out = tmp_path_factory.mktemp("websessions")
    assert main(["synth-sessions", str(out), "--sessions", "1", "--duration", "20", "--size",
                 "64", "--splits", "val", "-q", "--workers", "1"]) == 0
    return out / "videos_val" / "val_0000.mp4"


def test_short_clip_top5_matches_predict(server, browser, trained, tiny_synth, capsys):
    tmp, _ = trained
    clip = sorted((tiny_synth / "videos_val").iterdir())[3]
    assert main(["predict", str(tmp / "work" / "best.pt"), str(clip), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)["results"][0]["top"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    page.wait_for_selector("#model:not(:empty)")
    assert "SYNTHETIC" in page.text_content("#model")
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#top5 li.action >> nth=4", timeout=60_000)
    shown = page.eval_on_selector_all(
        "#top5 li.action", "els => els.map(e => [+e.dataset.id, +e.dataset.prob, e.textContent])")
    assert [s[0] for s in shown] == [t["action_id"] for t in expected]
    assert all(abs(s[1] - t["prob"]) < 1e-6 for s, t in zip(shown, expected))
    assert expected[0]["action"] in shown[0][2] and f"[{expected[0]['body']}]" in shown[0][2]
    assert page.locator("#frames img").count() == 4  # the model's 4 segments
    page.close()


def test_long_video_timeline_lanes_table_and_downloads(server, browser, session_video):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    page.set_input_files("#file", str(session_video))
    page.wait_for_selector("body[data-mode=timeline]", timeout=120_000)
    lanes = page.eval_on_selector_all("#lanes text.lane-label", "els => els.map(e => e.textContent)")
    assert lanes == ["body", "head", "upper limb", "lower limb", "body-hand", "head-hand",
                     "leg-hand"]
    n_rects = page.locator("#lanes rect.seg").count()
    rows = page.locator("#detections tbody tr")
    assert n_rects > 0 and rows.count() == n_rects
    href = page.get_attribute("#dl-csv", "href")
    csv = urllib.request.urlopen(server.rstrip("/") + href).read().decode()
    assert csv.startswith("video_id,t_start,t_end,class,score") and \
        len(csv.strip().splitlines()) == n_rects + 1
    # clicking a detection moves the player to its start
    first_start = float(csv.splitlines()[1].split(",")[1])
    page.wait_for_function("document.getElementById('video').readyState >= 1")
    rows.first.click()
    page.wait_for_function(f"Math.abs(document.getElementById('video').currentTime - "
                           f"{first_start}) < 0.05")
    # hovering a segment tells its class, time and score
    page.hover("#lanes rect.seg >> nth=0")
    tip = page.text_content("#tooltip")
    assert "score" in tip and "-" in tip
    shot = Path(os.environ.get("MICROACTION_SCREENSHOT", "")) if os.environ.get(
        "MICROACTION_SCREENSHOT") else None
    if shot:  # the README's screenshot comes from this run
        page.screenshot(path=str(shot), full_page=True)
    page.close()


def test_text_renamed_mp4_gets_a_message(server, browser, tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("these are meeting notes, not a video\n" * 20)
    page = browser.new_page()
    page.goto(server)
    page.set_input_files("#file", str(fake))
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    assert "notes.mp4 is not a video that can be decoded" in page.text_content("#error")
    assert "/tmp" not in page.text_content("#error")  # no server paths
    page.close()


def test_two_uploads_at_once_both_complete(server, browser, session_video, tiny_synth):
    pages = [browser.new_page() for _ in range(2)]
    for p in pages:
        p.goto(server)
    pages[0].set_input_files("#file", str(session_video))
    pages[1].set_input_files("#file", str(sorted((tiny_synth / "videos_val").iterdir())[0]))
    for p in pages:
        p.wait_for_function("document.body.dataset.mode || "
                            "!document.getElementById('error').hidden", timeout=120_000)
    outcomes = [p.evaluate("document.body.dataset.mode || document.getElementById('error')"
                           ".textContent") for p in pages]
    assert outcomes[0] == "timeline" and (outcomes[1] == "clip" or "busy" in outcomes[1])
    for p in pages:
        p.close()


def test_busy_size_limit_and_cleanup(trained, tiny_synth, monkeypatch):
    """API level: one job runs, one waits, the next is refused as busy; an upload over the
    limit is refused; upload folders are gone once jobs end."""
    import tempfile

    from microaction.web import server as web

    gate = threading.Event()
    real = web.App.process

    def held(self, job):
        gate.wait(60)
        return real(self, job)

    monkeypatch.setattr(web.App, "process", held)
    created = []
    real_mkdtemp = tempfile.mkdtemp

    def spy(*a, **k):
        created.append(Path(real_mkdtemp(*a, **k)))
        return str(created[-1])

    monkeypatch.setattr(web.tempfile, "mkdtemp", spy)
    tmp, _ = trained
    box = start(tmp / "work" / "best.pt", max_upload_mb=0.05)
    clip = sorted((tiny_synth / "videos_val").iterdir())[0].read_bytes()

    def post(body):
        req = urllib.request.Request(box["url"] + "api/jobs", data=body, method="POST",
                                     headers={"X-Filename": "c.mp4"})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    import time

    results = [post(clip) for _ in range(3)]  # the first runs (held), one waits, one is refused
    assert [r[0] for r in results] == [202, 202, 429]
    assert results[2][1]["error"].startswith("busy")
    status, body = post(b"\0" * 100_000)
    assert status == 413 and "the limit is" in body["error"]
    gate.set()
    deadline = time.time() + 60
    while any(p.exists() for p in created) and time.time() < deadline:
        time.sleep(0.1)
    assert created and not any(p.exists() for p in created)
    box["httpd"].shutdown()


def test_serve_warns_when_not_local(trained, monkeypatch, capsys):
    import microaction.web.server as web

    monkeypatch.setattr(web, "serve", lambda *a, **k: None)
    tmp, _ = trained
    assert main(["serve", str(tmp / "work" / "best.pt"), "--host", "0.0.0.0"]) == 0
    assert "WARNING: serving on 0.0.0.0" in capsys.readouterr().err
    assert main(["serve", str(tmp / "work" / "best.pt")]) == 0
    assert "WARNING" not in capsys.readouterr().err
