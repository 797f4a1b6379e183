"""``explain``: where the model looked."""

from __future__ import annotations

from pathlib import Path

from microaction.cli.common import add_verb, setup_torch


def cmd_explain(args) -> int:
    from microaction.explain import explain_video
    from microaction.inference import Predictor

    setup_torch()
    predictor = Predictor.from_checkpoint(args.checkpoint, num_clips=1, test_crops=1)
    res = explain_video(predictor, args.video, args.out, args.class_id, args.method)
    print(f"{args.video}: {res['class']} {res['name']} ({100 * res['prob']:.1f} %); "
          f"Grad-CAM over frames {res['frames']} -> {args.out}/explain.png, explain.mp4, "
          f"heat.npy")
    return 0


def register(sub) -> None:
    p = add_verb(sub, "explain", "heat maps of where the model looked (Grad-CAM)",
                 "microaction explain runs/demo/train/best.pt clip.mp4 --out runs/why",
                 cmd_explain,
                 "Grad-CAM for the predicted (or --class) action on the frames the model saw: "
                 "a PNG\ngrid (frames above, heat below) and an MP4 of the whole clip with the "
                 "heat laid over\nit. Segment models: per-frame maps; 3D CNNs: the "
                 "spatiotemporal map; TimeSformer:\nGrad-CAM on the last block's patch tokens.")
    p.add_argument("checkpoint", type=Path, help="a microaction checkpoint (.pt)")
    p.add_argument("video", type=Path, help="a video file (a clip)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--class", dest="class_id", type=int, default=None,
                   help="explain this action id (default: the predicted one)")
    p.add_argument("--method", choices=["gradcam"], default="gradcam", help="explanation method")
