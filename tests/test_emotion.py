"""Emotion recognition from micro-action cues: the emotional synthetic sessions, features,
the classifier (saved as numbers, equal to scikit-learn's), the CLI and its bad inputs."""

import json
from collections import Counter

import numpy as np
import pytest

from microaction.cli import main
from microaction.emotion import EmotionModel, fit_model, read_labels
from microaction.errors import MicroactionError


def test_emotions_change_action_rates_as_the_table_says():
    """Over many planned sessions: anxious ones have more self-touching and leg shaking,
    happy ones more nodding, sad ones more bowed heads; strength 0 removes the difference."""
    from microaction.synth.emotion import plan_emotional

    def counts(strength):
        plans = plan_emotional(60, 60.0, 0, "train", strength)
        out = {}
        for p in plans:
            c = out.setdefault(p.extra["emotion"], Counter())
            c.update(i.label for i in p.instances)
        return out

    c = counts(1.0)

    def share(emotion, classes):
        return sum(c[emotion][k] for k in classes) / sum(c[emotion].values())

    self_touch = [32, 39, 40, 41]
    assert share("anxious", self_touch) > 2 * share("happy", self_touch)
    assert share("anxious", [24]) > 1.5 * share("neutral", [24])
    assert share("happy", [9]) > 2 * share("sad", [9]) and share("sad", [5]) > 2 * share(
        "happy", [5])
    assert sum(c["anxious"].values()) > sum(c["sad"].values())  # shorter rests
    flat = counts(0.0)
    assert abs(flat["anxious"][24] - flat["neutral"][24]) < 0.5 * flat["neutral"][24] + 5


def test_face_cue_changes_only_the_face():
    from microaction.synth.clips import frame_size
    from microaction.synth.emotion import face_hook
    from microaction.synth.sessions import SessionPlan, render_session

    plan = SessionPlan("x", 30, 30.0, 1, 2, [])
    plain = np.stack(list(render_session(plan, 128)))
    happy = np.stack(list(render_session(plan, 128, face_hook=face_hook(
        "happy", 1.0, np.random.default_rng(0), 30))))
    diff = np.abs(plain.astype(int) - happy.astype(int)).max(axis=(0, 3))
    w, h = frame_size(128)
    ys, xs = np.nonzero(diff > 10)
    assert len(ys) > 5  # the mouth and brows moved
    assert xs.min() > 0.3 * w and xs.max() < 0.7 * w and ys.max() < 0.45 * h  # only there


@pytest.fixture(scope="module")
def emotions(tmp_path_factory):
    out = tmp_path_factory.mktemp("emotions")
    assert main(["synth-emotions", str(out), "--per-emotion", "3", "--duration", "10",
                 "--size", "64", "--splits", "train", "-q", "--workers", "1"]) == 0
    return out


def test_fit_predict_and_feature_cache(trained, emotions, tmp_path, capsys, monkeypatch):
    tmp, _ = trained
    ckpt = str(tmp / "work" / "best.pt")
    model = tmp_path / "emotion.json"
    assert main(["emotion", "fit", str(emotions / "train_labels.csv"), "--checkpoint", ckpt,
                 "--out", str(model), "--folds", "3", "-q"]) == 0
    out = capsys.readouterr().out
    assert "12 videos, 4 emotions" in out and "3-fold cross-validation: accuracy" in out
    doc = json.loads(model.read_text())
    assert doc["format"] == "microaction-emotion-v1" and doc["meta"]["features"] == "both"
    # refitting reads the cache: no video is decoded again
    import microaction.data.video as video_module

    def no_decoding(*a, **k):
        raise AssertionError("decoded a video although its features are cached")

    monkeypatch.setattr(video_module, "FrameStream", no_decoding)
    assert main(["emotion", "fit", str(emotions / "train_labels.csv"), "--checkpoint", ckpt,
                 "--out", str(tmp_path / "again.json"), "--folds", "3", "-q",
                 "--cache", str(tmp_path / "emotion.json.features"),
                 "--features", "actions"]) == 0
    monkeypatch.undo()
    capsys.readouterr()
    video = emotions / "videos_train" / "train_sad_000.mp4"
    assert main(["emotion", "predict", str(model), str(video), "--json", "-q"]) == 0
    res = json.loads(capsys.readouterr().out)[0]
    assert set(res["probabilities"]) == {"neutral", "happy", "sad", "anxious"}
    assert sum(res["probabilities"].values()) == pytest.approx(1.0)
    assert res["emotion"] == max(res["probabilities"], key=res["probabilities"].get)
    cues = [e for e in res["evidence"] if not e["feature"].startswith("face appearance")]
    assert cues and all(e["feature"].split(" of ")[0] in ("rate", "time share",
                                                          "mean probability")
                        or "share of time" in e["feature"] for e in cues)
    assert main(["emotion", "predict", str(model), str(video), "-q"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(str(video)) and ("toward" in text or "away from" in text)


def test_saved_model_equals_scikit_learn():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)) + np.repeat(np.eye(4, 6) * 2, 10, axis=0)
    y = [e for e in ("a", "b", "c", "d") for _ in range(10)]
    model, report = fit_model(x, y, [f"f{i}" for i in range(6)], folds=5)
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=5000)).fit(x, y)
    assert np.allclose(model.probabilities(x), ref.predict_proba(x), atol=1e-6)
    assert report["accuracy"] > 0.5 and 0 <= report["f1_macro_sd"] < 0.5
    two, _ = fit_model(x[:20], y[:20], [f"f{i}" for i in range(6)], folds=5)
    ref2 = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=5000)).fit(
        x[:20], y[:20])
    assert np.allclose(two.probabilities(x[:20]), ref2.predict_proba(x[:20]), atol=1e-6)


def test_model_round_trip_and_refusal(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 3))
    model, _ = fit_model(x, ["p", "q"] * 10, ["a", "b", "c"], folds=2)
    model.save(tmp_path / "m.json")
    back = EmotionModel.load(tmp_path / "m.json")
    assert np.allclose(back.probabilities(x), model.probabilities(x))
    (tmp_path / "junk.json").write_bytes(b"\x80\x04\x95 pickled")
    with pytest.raises(MicroactionError, match="not an emotion model"):
        EmotionModel.load(tmp_path / "junk.json")


def test_bad_labels_files(emotions, trained, tmp_path, capsys):
    tmp, _ = trained
    ckpt = str(tmp / "work" / "best.pt")
    rows = (emotions / "train_labels.csv").read_text().splitlines()
    cases = {
        "missing.csv": (rows[:2] + ["videos_train/nope.mp4,happy"] + rows[2:],
                        "missing.csv:3: video videos_train/nope.mp4 not found"),
        "empty.csv": ([], "empty.csv: empty file"),
        "header.csv": (["file,label"] + rows[1:], "header.csv:1: expected the header"),
        "short.csv": (rows + [",happy"],
                      "short.csv:14: expected video,emotion"),
    }
    for name, (lines, fragment) in cases.items():
        path = emotions / name
        path.write_text("\n".join(lines) + ("\n" if lines else ""))
        assert main(["emotion", "fit", str(path), "--checkpoint", ckpt, "--out",
                     str(tmp_path / "m.json"), "--folds", "3", "-q"]) == 1, name
        err = capsys.readouterr().err.strip()
        assert fragment in err and err.count("\n") == 0, (name, err)
    few = emotions / "few.csv"
    few.write_text("\n".join([r for r in rows if "sad" not in r] + [
        r for r in rows if "sad_000" in r]) + "\n")
    assert main(["emotion", "fit", str(few), "--checkpoint", ckpt, "--out",
                 str(tmp_path / "m.json"), "--folds", "3", "-q"]) == 1
    assert "sad has 1 example(s), fewer than the 3 cross-validation folds" in \
        capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()
    assert read_labels(emotions / "train_labels.csv")[0][1] == "neutral"
