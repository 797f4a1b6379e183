"""Whole interviews: synthetic sessions, the streaming timeline, the detector's training windows
and the detection mAP, with hand-worked cases and the bad inputs users hit."""

import json

import numpy as np
import pytest
import torch

from microaction.cli import main
from microaction.data.annotations import read_ground_truth, read_predictions
from microaction.metrics.detection import (Instance, average_precision, detection_map,
                                           interpolated_ap, tiou)


def I(video, start, end, label=0, score=1.0):  # noqa: E743
    return Instance(video, start, end, label, score)


# ----------------------------------------------------------------------------- mAP, by hand


def test_tiou_and_interpolated_ap_by_hand():
    assert tiou(0, 2, np.array([1.0, 2.0, 0.0]), np.array([3.0, 4.0, 2.0])).tolist() == \
        pytest.approx([1 / 3, 0.0, 1.0])
    # precision 1, 0.5, 2/3 at recall 0.5, 0.5, 1.0: envelope 1 then 2/3 -> 0.5*1 + 0.5*2/3
    assert interpolated_ap(np.array([1, 0.5, 2 / 3]), np.array([0.5, 0.5, 1.0])) == \
        pytest.approx(0.5 + 1 / 3)


def test_duplicates_count_once_and_a_prediction_matches_one_instance():
    gt = [I("v", 0, 2), I("v", 10, 12)]
    # the same detection twice: the second copy finds its instance used -> false positive
    dup = [I("v", 0, 2, score=0.9), I("v", 0, 2, score=0.8)]
    # precision 1 (recall .5), then 1/2 (recall .5): AP = 0.5
    assert average_precision(gt, dup, 0.5) == pytest.approx(0.5)
    # one long prediction over both instances matches at most one of them (tIoU 2/12 each at
    # 0.1); the best-scored short one takes the other
    long = [I("v", 0, 12, score=0.9), I("v", 10, 12, score=0.5)]
    assert average_precision(gt, long, 0.1) == pytest.approx(1.0)
    # at 0.5 the long one is a false positive ranked first: precision 1/2 at recall 1/2
    assert average_precision(gt, long, 0.5) == pytest.approx(0.25)
    # a prediction in another video is a false positive
    assert average_precision(gt, [I("w", 0, 2, score=1.0), I("v", 0, 2, score=0.5)], 0.5) == \
        pytest.approx(0.5 * 0.5)


def test_classes_absent_from_ground_truth_and_empty_predictions():
    gt = [I("v", 0, 2, 3), I("v", 5, 7, 9)]
    pred = [I("v", 0, 2, 3, 0.9), I("v", 20, 22, 40, 0.99)]  # class 40 has no ground truth
    rep = detection_map(gt, pred, thresholds=(0.5,))
    assert rep["classes"] == [3, 9]  # the mean runs over the ground truth's classes
    assert rep["per_class"][3][0.5] == 1.0 and rep["per_class"][9][0.5] == 0.0
    assert rep["map"][0.5] == 0.5
    empty = detection_map(gt, [])
    assert empty["average"] == 0.0 and all(v == 0 for v in empty["map"].values())


def test_detect_eval_cli_and_body_level(tmp_path, capsys):
    (tmp_path / "gt.csv").write_text(
        "id,video_id,start_frame,end_frame,class,total_frames,fps\n"
        "0,a,0,60,9,300,30\n1,a,90,150,24,300,30\n")
    (tmp_path / "p.csv").write_text(
        "video_id,t_start,t_end,class,score\n"
        "a,0.0,2.0,10,0.9\n"      # shaking head for nodding: wrong action, right body (head)
        "a,3.0,5.0,24,0.8\n")     # shaking legs, exactly right
    assert main(["detect-eval", str(tmp_path / "p.csv"), "--gt", str(tmp_path / "gt.csv"),
                 "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["action"]["average"] == pytest.approx(0.5)  # class 9 AP 0, class 24 AP 1
    assert rep["body"]["average"] == pytest.approx(1.0)  # head and lower limb both found
    assert main(["detect-eval", str(tmp_path / "p.csv"), "--gt", str(tmp_path / "gt.csv")]) == 0
    out = capsys.readouterr().out
    assert "action    50.00" in out and "body     100.00" in out


@pytest.mark.parametrize("kind, text, fragment", [
    ("pred", "video_id,t_start,class,score\na,0,1,0.5\n", "p.csv:1: missing column(s) t_end"),
    ("pred", "video_id,t_start,t_end,class,score\na,0,1,77,0.5\n", "p.csv:2: unknown class id 77"),
    ("pred", "video_id,t_start,t_end,class,score\na,0,1,3,0.5\nb,3,2,3,0.5\n",
     "p.csv:3: t_end 2.0 is before t_start 3.0"),
    ("pred", "video_id,t_start,t_end,class,score\na,zero,1,3,0.5\n",
     "p.csv:2: t_start must be a number"),
    ("pred", "", "p.csv: empty file"),
    ("gt", "id,video_id,start_frame,end_frame,class,total_frames,fps\n0,a,30,10,1,90,30\n",
     "g.csv:2: end_frame 10 must be after start_frame 30"),
    ("gt", "id,video_id,start_frame,end_frame,class,total_frames\n0,a,0,10,1,90\n",
     "g.csv:1: missing column(s) fps"),
])
def test_bad_detection_files_name_file_and_row(tmp_path, capsys, kind, text, fragment):
    good_gt = "id,video_id,start_frame,end_frame,class,total_frames,fps\n0,a,0,30,3,90,30\n"
    good_pred = "video_id,t_start,t_end,class,score\na,0,1,3,0.5\n"
    (tmp_path / "g.csv").write_text(text if kind == "gt" else good_gt)
    (tmp_path / "p.csv").write_text(text if kind == "pred" else good_pred)
    assert main(["detect-eval", str(tmp_path / "p.csv"), "--gt", str(tmp_path / "g.csv")]) == 1
    err = capsys.readouterr().err.strip()
    assert fragment in err and err.count("\n") == 0, err


# ----------------------------------------------------------------------------- sessions


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    out = tmp_path_factory.mktemp("sessions")
    assert main(["synth-sessions", str(out), "--sessions", "2", "--duration", "24", "--size",
                 "64", "--splits", "train,val", "-q", "--workers", "1"]) == 0
    return out


def test_sessions_layout_and_ground_truth(sessions):
    gt = read_ground_truth(sessions / "val_annotations.csv")
    assert {g.video for g in gt} == {"val_0000", "val_0001"}
    assert all(0 <= g.start < g.end <= 24 for g in gt)
    from microaction.data.video import probe_video

    length, fps, w, h = probe_video(sessions / "videos_val" / "val_0000.mp4")
    assert (length, fps, w) == (720, 30.0, 64)
    # actions come and go: rest between them, and every instance is a plausible duration
    assert all(1.1 <= g.end - g.start <= 2.6 for g in gt)
    info = json.loads((sessions / "sessions_info.json").read_text())
    assert info["instances"]["val"] == len(gt)


def test_overlapping_instances_use_different_body_parts():
    from microaction.labels import ACTION_TO_BODY
    from microaction.synth.sessions import HAND_BODIES, plan_instances

    rng = np.random.default_rng(0)
    inst = plan_instances(30 * 600, 30.0, rng, overlap=0.5)
    pairs = [(a, b) for i, a in enumerate(inst) for b in inst[i + 1:]
             if a.start < b.end and b.start < a.end]
    assert len(pairs) > 20  # overlap is common at 0.5
    for a, b in pairs:
        ba, bb = ACTION_TO_BODY[a.label], ACTION_TO_BODY[b.label]
        assert ba != bb and not (ba in HAND_BODIES and bb in HAND_BODIES)


def test_session_pose_is_the_clip_pose_inside_an_instance():
    """Same renderer and motion programs as the clip sets: inside an instance's span the
    session's pose follows that class's program exactly as a clip of that length would."""
    from microaction.synth.clips import pose_at
    from microaction.synth.figure import Appearance
    from microaction.synth.motions import class_program
    from microaction.synth.sessions import _placed

    app = Appearance.random(np.random.default_rng(1))
    prog = class_program(43, 50, np.random.default_rng(2))  # touching nose
    placed = _placed(class_program(43, 50, np.random.default_rng(2)), 100, 400)
    for t in (0, 10, 25, 40, 49):
        a, b = pose_at([prog], t, app), pose_at([placed], 100 + t, app)
        assert (a.hand[0] is None) == (b.hand[0] is None) and \
            (a.hand[1] is None) == (b.hand[1] is None)
        for k in (0, 1):
            if a.hand[k] is not None:
                assert np.allclose(a.hand[k], b.hand[k])
    rest = pose_at([placed], 20, app)  # before the instance: at rest
    assert rest.hand == [None, None]


# ----------------------------------------------------------------------------- timeline


def test_timeline_streams_and_matches_window_clips(trained, sessions, tmp_path):
    """Every window's scores equal the model's scores of that window cut out as a clip; the
    reader holds at most one window of frames."""
    from microaction.data.video import read_video
    from microaction.inference import Predictor
    from microaction.timeline import score_windows, segments, window_plan

    tmp, _ = trained
    predictor = Predictor.from_checkpoint(tmp / "work" / "best.pt", num_clips=1, test_crops=1)
    video = sessions / "videos_val" / "val_0000.mp4"
    scores = score_windows(predictor, video, window=2.0, stride=1.0, batch=3, progress=False)
    assert len(scores.starts) == 23 and scores.starts[1] == 1.0
    length, step, offsets = window_plan(30.0, 2.0, 1.0, predictor.spec)
    # frames held at once: only those the current window needs (it shares half of them with
    # the next one), whatever the video's length -- not every decoded frame
    assert scores.max_held <= len(offsets), (scores.max_held, len(offsets))
    for w in (0, 7, 22):
        clip = read_video(video, w * step + offsets, short_side=predictor.spec.short_side)
        assert np.allclose(predictor.scores_of_frames(clip.frames), scores.probs[w], atol=1e-5)
    # the default batch (8 windows for this 48 px model) gives the same scores as batch 3
    default = score_windows(predictor, video, window=2.0, stride=1.0, progress=False)
    assert np.allclose(default.probs, scores.probs, atol=1e-5)
    segs = segments(scores, threshold=0.0)
    assert segs and all(0 <= s.start < s.end <= 24 for s in segs)


@pytest.mark.parametrize("text", ["0", "-1", "two"])
def test_bad_batch_is_a_usage_error(text, capsys, tmp_path):
    with pytest.raises(SystemExit) as code:
        main(["timeline", "m.pt", "v.mp4", "--out", str(tmp_path / "t"), "--batch", text])
    assert code.value.code == 2 and "--batch" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()


def test_window_batch_by_input_volume():
    """Windows per forward: 8 for the demo's small frames, 1 for MA-52-size frames (measured
    fastest here), in between by volume; a batch is never 0."""
    from microaction.spec import InputSpec
    from microaction.timeline import window_batch

    assert window_batch(InputSpec(clip_len=8, size=48, short_side=55)) == 8
    assert window_batch(InputSpec(clip_len=8, size=64, short_side=73)) == 4
    assert window_batch(InputSpec(clip_len=8, size=224, short_side=256)) == 1
    assert window_batch(InputSpec(clip_len=32, size=224, short_side=256)) == 1
    assert window_batch(InputSpec(clip_len=2, size=16, short_side=16)) == 8


def test_inference_runs_channels_last_from_112_px(tmp_path):
    """Checkpoints for 112 px and larger are loaded channels-last (faster here at MA-52's size),
    smaller ones keep the default layout; either way the scores are the model's."""
    from microaction.config import Config
    from microaction.engine.checkpoint import save_checkpoint
    from microaction.inference import Predictor
    from microaction.labels import ACTION_NAMES
    from microaction.models import create_model

    for size, channels_last in ((64, False), (112, True)):
        torch.manual_seed(0)
        m = create_model("tsm_r18", size=size, clip_len=2)
        ckpt = tmp_path / f"m{size}.pt"
        save_checkpoint(ckpt, {"model": "tsm_r18", "model_kwargs": m.model_kwargs,
                               "class_names": list(ACTION_NAMES),
                               "input_spec": m.input_spec.to_dict(),
                               "config": Config().to_dict(), "state_dict": m.state_dict()})
        p = Predictor.from_checkpoint(ckpt)
        conv = next(q for q in p.model.parameters() if q.dim() == 4)
        assert conv.is_contiguous(memory_format=torch.channels_last) == channels_last, size
        assert conv.is_contiguous() != channels_last, size
        frames = np.random.default_rng(0).integers(0, 255, (2, size, size, 3), dtype=np.uint8)
        fast = p.scores_of_frames(frames)
        p.model.to(memory_format=torch.contiguous_format)
        assert np.allclose(fast, p.scores_of_frames(frames), atol=1e-5)


def test_segments_by_hand():
    from microaction.timeline import WindowScores, segments

    probs = np.zeros((8, 3))
    probs[[1, 2, 4], 0] = [0.5, 0.9, 0.6]  # a gap of one window is bridged
    probs[[6, 7], 1] = 0.4
    probs[:, 2] = 0.95  # background
    sc = WindowScores("v.mp4", 30.0, 300, 2.0, 1.0, np.arange(8.0), probs)
    segs = segments(sc, threshold=0.3, background=2)
    assert [(s.label, s.start, s.end, s.score) for s in segs] == [
        (0, 1.5, 5.5, 0.9), (1, 6.5, 8.5, 0.4)]
    assert segments(sc, threshold=0.3, background=None)[0].label == 2  # without: it shows


def test_timeline_cli_outputs_and_bad_videos(trained, sessions, tmp_path, capsys):
    tmp, _ = trained
    good = sessions / "videos_val" / "val_0001.mp4"
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("not a video")
    from microaction.data.video import write_video

    write_video(tmp_path / "short.mp4", np.zeros((20, 32, 32, 3), np.uint8))  # 0.67 s
    code = main(["timeline", str(tmp / "work" / "best.pt"), str(tmp_path / "empty.mp4"),
                 str(good), str(tmp_path / "text.mp4"), str(tmp_path / "short.mp4"),
                 "--out", str(tmp_path / "tl"), "-q", "--threshold", "0.05"])
    out, err = capsys.readouterr()
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 3 and "empty.mp4" in lines[0] and "text.mp4" in lines[1]
    assert "short.mp4: 0.7 s long, shorter than the 2 s window" in lines[2]
    folder = tmp_path / "tl" / "val_0001"
    doc = json.loads((folder / "timeline.json").read_text())
    assert doc["duration"] == 24.0 and doc["window"] == 2.0 and len(doc["windows"]) == 23
    assert doc["body_parts"][1] == "head" and all(s["body"] for s in doc["segments"])
    preds = read_predictions(folder / "detections.csv")
    assert len(preds) == len(doc["segments"]) and {p.video for p in preds} <= {"val_0001"}
    assert (folder / "timeline.png").stat().st_size > 10_000
    assert read_predictions(tmp_path / "tl" / "detections.csv") == preds


def test_detector_windows_train_and_keep_rest_quiet(sessions, tmp_path, capsys):
    """cut-windows -> a 53-class clip set (the last class 'no action'); a detector trained on
    it through `microaction train`; its timeline never reports 'no action' as a segment."""
    import yaml

    from microaction.data.listfile import parse_list_file
    from microaction.labels import read_label_names

    win = tmp_path / "windows"
    assert main(["cut-windows", str(sessions), str(win), "--window", "1.0", "-q",
                 "--workers", "1"]) == 0
    names = read_label_names(win / "label_name.txt")
    assert len(names) == 53 and names[52] == "no action"
    entries = parse_list_file(win / "train_list_videos.txt", 53)
    n_actions = len(read_ground_truth(sessions / "train_annotations.csv"))
    assert sum(e.label < 52 for e in entries) == n_actions
    assert sum(e.label == 52 for e in entries) > 0.8 * n_actions
    from microaction.data.video import probe_video

    assert probe_video(win / "videos_train" / entries[0].path)[0] == 30  # 1 s at 30 fps
    cfg = {"model": {"name": "tsm_r18", "clip_len": 4, "size": 32, "pretrained": None},
           "data": {"root": str(win), "num_classes": 53, "num_workers": 0, "train_crop": "center"},
           "train": {"epochs": 1, "batch_size": 8, "optimizer": "adamw", "lr": 0.001,
                     "param_groups": "plain", "amp": "off", "channels_last": False}}
    (tmp_path / "det.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", str(tmp_path / "det.yaml"), "--work-dir", str(tmp_path / "w"),
                 "-q"]) == 0
    best = torch.load(tmp_path / "w" / "best.pt", weights_only=True)
    assert best["class_names"][52] == "no action" and len(best["metrics"]["body_confusion"]) == 8
    assert main(["timeline", str(tmp_path / "w" / "best.pt"),
                 str(sessions / "videos_val" / "val_0000.mp4"), "--out", str(tmp_path / "tl"),
                 "-q", "--threshold", "0.01", "--window", "1.0"]) == 0
    doc = json.loads((tmp_path / "tl" / "timeline.json").read_text())
    assert doc["segments"] and all(s["class"] != 52 for s in doc["segments"])
    assert "no action" not in doc["body_parts"][:7]


def test_window_longer_than_video_and_bad_window(trained, sessions, capsys, tmp_path):
    tmp, _ = trained
    video = str(sessions / "videos_val" / "val_0000.mp4")
    assert main(["timeline", str(tmp / "work" / "best.pt"), video, "--window", "30", "--out",
                 str(tmp_path / "a"), "-q"]) == 1
    assert "24.0 s long, shorter than the 30 s window" in capsys.readouterr().err
    assert main(["timeline", str(tmp / "work" / "best.pt"), video, "--stride", "0", "--out",
                 str(tmp_path / "b"), "-q"]) == 1
    assert "window and stride must be positive" in capsys.readouterr().err
