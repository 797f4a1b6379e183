"""Tests written against bugs a mutation audit planted (each was planted once and seen to fail
these tests): resume, the RAM cache, DDP sharding, the SE gate, segment consensus, the reader's
second pass, non-finite scores, the best checkpoint, predict's views, macro F1 over present
labels, gradient clipping, AMP selection, channels_last, label smoothing, prepare, framing,
contact sheets, models --flops, predict's error isolation, CSV headers, --views."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_clip, write_config

from microaction.cli import main
from microaction.engine.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def _env():
    env = dict(os.environ)
    # a PYTHONPATH already set comes first (benchmarks/planted_bugs.py points it at a copy)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT / "src"))
                                        if p)
    env["OMP_NUM_THREADS"] = "1"
    return env


def _train_cmd(cfg, work, *extra):
    return [sys.executable, "-m", "microaction", "train", str(cfg), "--work-dir", str(work),
            "-q", *extra]


def read_log(work):
    return [json.loads(ln) for ln in (work / "log.jsonl").read_text().splitlines()]


# ----------------------------------------------------------------------------- resume


def test_resume_starts_from_the_saved_state(tiny_synth, tmp_path):
    """Killed mid-epoch and resumed: the resumed process starts at the saved step (its first log
    line is the resume marker at that step, and it trains only later steps), every step is logged
    once, and the final weights equal an uninterrupted run's. (A resume that retrained from
    scratch would end with equal weights too -- training is deterministic -- but not with this
    log.)"""
    cfg = write_config(tmp_path, tiny_synth, "manet_r18", epochs=3, save_every_iters=1,
                       log_every=1)
    ref = tmp_path / "ref"
    subprocess.run(_train_cmd(cfg, ref), check=True, env=_env(), capture_output=True)
    work = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(cfg, work), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    killed_at, deadline = None, time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        try:
            prog = load_checkpoint(work / "last.pt")["progress"] if (work / "last.pt").exists() \
                else None
        except Exception:
            prog = None
        if prog and prog["epoch"] >= 1 and prog["iter_in_epoch"] >= 2:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed_at = load_checkpoint(work / "last.pt")["progress"]
            break
        time.sleep(0.02)
    assert killed_at is not None, "the run finished before it could be killed mid-epoch"
    subprocess.run(_train_cmd(cfg, work, "--resume"), check=True, env=_env(),
                   capture_output=True)
    iters = 7  # ceil(52 / 8)
    saved_step = killed_at["epoch"] * iters + killed_at["iter_in_epoch"]
    log = read_log(work)
    marks = [i for i, r in enumerate(log) if r["kind"] == "resume"]
    assert len(marks) == 1 and log[marks[0]]["step"] == saved_step
    after = [r["step"] for r in log[marks[0] + 1:] if r["kind"] == "train"]
    assert after and min(after) == saved_step + 1  # no step before the saved one is redone
    steps = [r["step"] for r in log if r["kind"] == "train"]
    assert steps == list(range(1, 3 * iters + 1))  # each step once, in order
    a = load_checkpoint(ref / "last.pt")["state_dict"]
    b = load_checkpoint(work / "last.pt")["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------------------- cache


def test_cached_training_decodes_each_clip_once(tiny_synth, tmp_path, monkeypatch):
    """With data.cache every train and val clip is decoded exactly once (the preload); nothing
    decodes during the epochs or validation."""
    import microaction.data.clips as clips_module
    import microaction.data.dataset as dataset_module
    from microaction.config import load_config
    from microaction.engine.distributed import DistInfo
    from microaction.engine.runner import fit

    calls = {"preload": [], "per_sample": 0}
    real = dataset_module.read_video

    def counting_preload(path, *a, **k):
        calls["preload"].append(str(path))
        return real(path, *a, **k)

    def counting_sample(*a, **k):
        calls["per_sample"] += 1
        return real(*a, **k)

    monkeypatch.setattr(dataset_module, "read_video", counting_preload)
    monkeypatch.setattr(clips_module, "read_video", counting_sample)
    cfg = load_config(write_config(tmp_path, tiny_synth, "tsm_r18", epochs=2),
                      ["data.cache=true"])
    fit(cfg, tmp_path / "w", DistInfo(), progress=False)
    assert calls["per_sample"] == 0
    assert len(calls["preload"]) == 104 and len(set(calls["preload"])) == 104  # 52 + 52
    calls["preload"].clear()
    cfg.data.cache = False
    fit(cfg, tmp_path / "w2", DistInfo(), progress=False)
    assert calls["preload"] == [] and calls["per_sample"] == 2 * 52 + 2 * 52


# ----------------------------------------------------------------------------- DDP


def test_ddp_ranks_train_on_disjoint_halves(tiny_synth, tmp_path):
    """Two gloo ranks training a 3D model with the joint-embedding head: together they see every
    training clip once per epoch (disjoint shards) and end with identical weights."""
    import yaml

    cfg = write_config(tmp_path, tiny_synth, "i3d_r18", epochs=1)
    raw = yaml.safe_load(cfg.read_text())
    raw["model"].update(clip_len=8, interval=1, embed_head=True, label_embeddings="default")
    cfg.write_text(yaml.safe_dump(raw))
    work = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "microaction", "train", str(cfg), "--work-dir", str(work), "-q",
           "--device", "cpu"]
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    digests = json.loads((work / "ranks.json").read_text())["params_sha256"]
    assert len(digests) == 2 and digests[0] == digests[1]
    epoch = [r for r in read_log(work) if r["kind"] == "epoch"]
    assert [(r["samples"], r["distinct"]) for r in epoch] == [(52, 52)]
    assert load_checkpoint(work / "best.pt")["metrics"]["num_videos"] == 52


# ----------------------------------------------------------------------------- layers


# ----------------------------------------------------------------------------- reader


def test_second_pass_decodes_the_true_length_of_a_truncated_file(tmp_path):
    """A faststart mp4 cut short: its packets promise more frames than decode. The reader
    decodes again with the true length, so a sampler asking for the last frame gets it."""
    import av

    from microaction.data.video import read_video

    arr = write_clip(tmp_path / "a.mp4", frames=30)
    src = tmp_path / "fs.mp4"
    with av.open(str(tmp_path / "a.mp4")) as inp, \
            av.open(str(src), "w", format="mp4", options={"movflags": "faststart"}) as out:
        s = out.add_stream_from_template(inp.streams.video[0])
        for pkt in inp.demux(inp.streams.video[0]):
            if pkt.dts is not None:
                pkt.stream = s
                out.mux(pkt)
    data = src.read_bytes()
    short = []
    for frac in (0.85, 0.9, 0.95):
        cut = tmp_path / f"cut{frac}.mp4"
        cut.write_bytes(data[: int(len(data) * frac)])
        with av.open(str(cut)) as c:
            packets = sum(1 for p in c.demux(c.streams.video[0]) if p.size > 0)
        seen = []
        clip = read_video(cut, lambda n: seen.append(n) or np.array([0, n - 1]))
        assert clip.length <= packets and seen[-1] == clip.length
        assert round((clip.frames[1].astype(float).mean() - arr[0].astype(float).mean()) / 6) \
            == clip.length - 1  # really the last frame that decodes
        if clip.length < packets:
            short.append(frac)
            assert seen == [packets, clip.length]  # first pass trusted packets, second the truth
    assert short, "no cut produced packets that do not decode; the test proves nothing"


# ----------------------------------------------------------------------------- scores


# ----------------------------------------------------------------------------- best checkpoint


def test_best_checkpoint_is_kept_by_the_configured_metric(tiny_synth, tmp_path, monkeypatch):
    """Scripted validation results: best.pt stays at the best epoch by train.best_metric."""
    import microaction.engine.runner as runner
    from microaction.config import load_config
    from microaction.engine.distributed import DistInfo

    script = iter([{"f1_mean": 0.5, "action_top1": 0.1}, {"f1_mean": 0.3, "action_top1": 0.9},
                   {"f1_mean": 0.4, "action_top1": 0.2}] * 2)
    monkeypatch.setattr(runner, "validate", lambda *a, **k: {**next(script), "num_videos": 52})
    for metric, want in (("f1_mean", 1), ("action_top1", 2)):
        cfg = load_config(write_config(tmp_path, tiny_synth, "tsn_r18", epochs=3,
                                       best_metric=metric))
        work = tmp_path / metric
        report = runner.fit(cfg, work, DistInfo(), progress=False)
        best = load_checkpoint(work / "best.pt")
        assert best["metrics"]["epoch"] == want and report["epoch"] == want
        assert best["progress"]["best_epoch"] == want
        assert load_checkpoint(work / "last.pt")["progress"]["best_epoch"] == want


# ----------------------------------------------------------------------------- predict


@pytest.fixture(scope="module")
def two_by_three(trained, tmp_path_factory):
    """The trained checkpoint set to test with 2 clips x 3 crops (it trained on multi-scale
    crops, so three crops fit)."""
    from microaction.engine.checkpoint import save_checkpoint

    tmp, _ = trained
    ck = load_checkpoint(tmp / "work" / "best.pt")
    ck["config"]["data"].update(test_clips=2, test_crops=3)
    path = tmp_path_factory.mktemp("views") / "views.pt"
    save_checkpoint(path, ck)
    return path


def test_predict_uses_the_checkpoints_views_and_equals_test(trained, tiny_synth, two_by_three,
                                                            tmp_path, capsys):
    """predict's probabilities for a clip equal `test`'s row for it with the same 2x3 views, and
    differ from a 1x1 prediction."""
    _, cfg = trained
    assert main(["test", str(cfg), "--checkpoint", str(two_by_three), "--split", "val",
                 "--views", "2x3", "-q", "--out", str(tmp_path / "t")]) == 0
    rows = (tmp_path / "t" / "scores.csv").read_text().splitlines()[1:3]
    capsys.readouterr()
    for row in rows:
        vid, *vals = row.split(",")
        assert main(["predict", str(two_by_three), str(tiny_synth / "videos_val" / vid),
                     "--json", "--topk", "52"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["views"] == "2x3"
        probs = np.zeros(52)
        for t in doc["results"][0]["top"]:
            probs[t["action_id"]] = t["prob"]
        assert np.allclose(probs, np.array(vals, float), atol=2e-5)
    assert main(["predict", str(two_by_three), str(tiny_synth / "videos_val" / vid), "--json",
                 "--topk", "52", "--views", "1x1"]) == 0
    one = json.loads(capsys.readouterr().out)["results"][0]["top"]
    single = np.zeros(52)
    for t in one:
        single[t["action_id"]] = t["prob"]
    assert not np.allclose(single, probs, atol=1e-4)


def test_predict_text_mode_isolates_a_bad_video(trained, tiny_synth, tmp_path, capsys):
    tmp, _ = trained
    good = sorted((tiny_synth / "videos_val").iterdir())[:2]
    (tmp_path / "bad.mp4").write_text("not a video")
    code = main(["predict", str(tmp / "work" / "best.pt"), str(good[0]),
                 str(tmp_path / "bad.mp4"), str(good[1])])
    out, err = capsys.readouterr()
    assert code == 1 and "bad.mp4" in err and err.strip().count("\n") == 0
    assert out.count("%") == 10 and str(good[0]) in out and str(good[1]) in out


@pytest.mark.parametrize("text", ["2x2", "0x1", "two", "3"])
def test_bad_views_are_usage_errors(trained, text, capsys):
    tmp, cfg = trained
    with pytest.raises(SystemExit) as code:
        main(["test", str(cfg), "--checkpoint", str(tmp / "work" / "best.pt"), "--views", text,
              "--out", "x"])
    assert code.value.code == 2 and "--views" in capsys.readouterr().err


# ----------------------------------------------------------------------------- engine details


@pytest.mark.parametrize("channels_last", [True, False])
def test_channels_last_reaches_the_model(tiny_synth, tmp_path, channels_last, monkeypatch):
    import microaction.engine.runner as runner
    from microaction.config import load_config
    from microaction.engine.distributed import DistInfo

    seen = {}
    real = runner.train_one_epoch

    def spy(model, *a, **k):
        conv = model.trunk.layer2[0].conv2.weight
        seen["cl"] = conv.is_contiguous(memory_format=torch.channels_last) and \
            not conv.is_contiguous()
        return real(model, *a, **k)

    monkeypatch.setattr(runner, "train_one_epoch", spy)
    cfg = load_config(write_config(tmp_path, tiny_synth, "tsn_r18", epochs=1),
                      [f"train.channels_last={str(channels_last).lower()}"])
    runner.fit(cfg, tmp_path / "w", DistInfo(), progress=False)
    assert seen["cl"] is channels_last


# ----------------------------------------------------------------------------- prepare


def test_prepare_keeps_fps_and_length(tmp_path):
    from microaction.data.prepare import prepare_dataset
    from microaction.data.video import probe_video

    src = tmp_path / "src"
    (src / "videos_train").mkdir(parents=True)
    write_clip(src / "videos_train" / "a.mp4", frames=17, size=(96, 80), fps=25.0)
    (src / "train_list_videos.txt").write_text("a.mp4 3\n")
    report = prepare_dataset(src, tmp_path / "dst", short_side=40, progress=False, workers=1)
    assert report.written == 1
    assert probe_video(tmp_path / "dst" / "videos_train" / "a.mp4") == (17, 25.0, 40, 48)


def test_prepare_survives_a_kill_mid_file(tiny_synth, tmp_path):
    """SIGKILL while transcoding: every clip that exists is whole (it decodes to its full
    length), the dead process's temporaries are swept on the next run, which completes."""
    from microaction.data.video import probe_video

    src = tmp_path / "src"
    shutil.copytree(tiny_synth, src)
    dst = tmp_path / "dst"
    cmd = [sys.executable, "-m", "microaction", "prepare", str(src), str(dst), "--short-side",
           "200", "--workers", "1", "-q"]  # upscaling nothing: every clip is re-encoded
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        done = list((dst / "videos_train").glob("*.mp4")) if (dst / "videos_train").exists() \
            else []
        if len(done) >= 5:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for clip in (dst / "videos_train").glob("[!.]*.mp4"):
        assert probe_video(clip)[0] == 12, clip
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert not [p for p in dst.rglob(".*") if p.is_file()]
    assert len(list((dst / "videos_train").glob("*.mp4"))) == 52


# ----------------------------------------------------------------------------- synthetic, CLI


def test_figure_stays_inside_the_centre_crop():
    """The figure's drawn extent (feet, ankles, knees as their ellipses; head and hair; every
    class's motion, 4 clips each) against the centred square crop a test pipeline takes (demo
    sizes: 57 px frames resized to a 55 px short side, a 48 px crop). Torso, shoulders and knees
    stay inside; only the extremes of two motions -- the top of a raised head, a fully
    stretched foot -- may pass the edge, by at most 4 % of the frame height (the README says
    so)."""
    from microaction.synth.clips import frame_size, pose_at
    from microaction.synth.figure import Appearance, Camera, skeleton
    from microaction.synth.motions import class_program

    width, height = frame_size(57)
    crop = 48 / (55 / width)  # the crop's side in frame pixels
    x0, x1, y0, y1 = (width - crop) / 2, (width + crop) / 2, (height - crop) / 2, \
        (height + crop) / 2
    worst = {}
    for action in range(52):
        for i in range(4):
            rng = np.random.default_rng([action, i])
            app = Appearance.random(rng)
            cam = Camera.random(rng, width, height)
            prog = [class_program(action, 32, rng)]
            for t in range(0, 32, 2):
                pose = pose_at(prog, t, app)
                j = skeleton(pose, app)
                r = app.head
                parts = [("head", j["head"], 0.92 * r, r),
                         ("hair", j["head"] + j["hup"] * 0.72 * r, 0.88 * r,
                          r * (0.58 + 0.15 * app.hair_size)),
                         ("shoulder", j["shoulder0"], 0.09, 0.07),
                         ("shoulder", j["shoulder1"], 0.09, 0.07)]
                for k in range(2):
                    f, h = pose.foot_fwd[k], pose.heel[k]
                    parts += [("knee", j[f"knee{k}"], 0.1, 0.09),
                              ("foot", j[f"foot{k}"], 0.1 * (1 + 0.5 * f),
                               0.05 * (1 + 0.5 * f + 0.4 * h))]
                for name, p, rx, ry in parts:
                    px, py = cam.cx + cam.scale * p[0], cam.cy - cam.scale * p[1]
                    out = max(x0 - (px - cam.scale * rx), px + cam.scale * rx - x1,
                              y0 - (py - cam.scale * ry), py + cam.scale * ry - y1)
                    worst[name] = max(worst.get(name, -1e9), out)
    assert worst["shoulder"] < 0 and worst["knee"] < 0, worst
    assert max(worst["head"], worst["hair"], worst["foot"]) <= 0.04 * height, worst


def test_contact_sheet(tiny_synth, tmp_path, capsys):
    from PIL import Image

    assert main(["contact-sheet", str(tiny_synth), "--classes", "9,10,43", "--shown", "4",
                 "--out", str(tmp_path / "s.png")]) == 0
    three = Image.open(tmp_path / "s.png").size
    assert main(["contact-sheet", str(tiny_synth), "--classes", "9", "--shown", "4",
                 "--out", str(tmp_path / "one.png")]) == 0
    one = Image.open(tmp_path / "one.png").size
    assert three[1] > 2 * one[1] and abs(three[0] - one[0]) < 0.2 * one[0]  # rows per class
    assert main(["contact-sheet", str(tiny_synth), "--classes", "60", "--out",
                 str(tmp_path / "x.png")]) == 1
    assert "class 60 is outside 0..51" in capsys.readouterr().err


def test_models_flops(capsys):
    assert main(["models", "manet_r50", "tsm_r18", "--flops"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("manet_r50"))
    assert "32,284,252" in line and float(line.split()[-1]) == pytest.approx(65.5, abs=0.1)
    assert sum(ln.startswith(("manet_", "tsm_", "tsn_")) for ln in out.splitlines()) == 2
    assert main(["models", "nosuch*"]) == 1
    assert "no registered model matches" in capsys.readouterr().err
