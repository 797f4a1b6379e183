import json

from microaction.cli.demo import run_demo
from microaction.engine.checkpoint import load_checkpoint
from microaction.inference import Predictor


def test_demo_end_to_end_small(tmp_path, capsys):
    """The README's main job at toy scale: data, training, metrics, plots, a prediction."""
    assert run_demo(tmp_path, clips_per_class=1, epochs=1, model="manet_r18", size=32,
                    quiet=True, synth_size=48, synth_length=10) == 0
    out = capsys.readouterr().out
    assert "f1_mean" in out and "[4/4] predicting held-out" in out
    for name in ("confusion_action.png", "confusion_body.png", "train/curves.png",
                 "train/best.pt", "demo_summary.json", "demo_config.yaml"):
        assert (tmp_path / name).is_file(), name
    summary = json.loads((tmp_path / "demo_summary.json").read_text())
    best = load_checkpoint(tmp_path / "train" / "best.pt")
    assert summary["metrics"]["f1_mean"] == best["metrics"]["f1_mean"]
    assert summary["best_epoch"] == best["metrics"]["epoch"] == 1
    clip = tmp_path / "data" / "videos_test" / summary["prediction"]["video"].split("/")[-1]
    again = Predictor.from_checkpoint(tmp_path / "train" / "best.pt").predict(clip, topk=5)
    assert summary["prediction"]["top"] == again["top"] and len(again["top"]) == 5
    assert "[3/4] best validation (epoch 1 of 1)" in out and "%" in out
