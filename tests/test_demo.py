import json

from microaction.cli.demo import run_demo


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
    assert len(summary["prediction"]["top"]) == 5 and 0 <= summary["metrics"]["f1_mean"] <= 1
