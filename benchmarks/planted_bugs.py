"""Plant each bug of the test audit (and a few more) in a scratch copy of the package and run
the tests written against it: every bug must make its tests fail.

    python benchmarks/planted_bugs.py [--only NAME]

Each row: a file, a line of it and what the bug turns it into, and the tests expected to catch
it. The copy lives in a temporary folder; the tests import it through PYTHONPATH.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUGS = [
    ("resume ignores last.pt (retrains from scratch)", "engine/runner.py",
     "    if resume:\n        state.update(resume_state(",
     "    if resume and False:\n        state.update(resume_state(",
     ["tests/test_can_fail.py::test_resume_starts_from_the_saved_state"]),
    ("fit ignores data.cache", "engine/runner.py", "    if d.cache:", "    if False:",
     ["tests/test_can_fail.py::test_cached_training_decodes_each_clip_once"]),
    ("DDP: every rank trains on rank 0's shard", "engine/loop.py",
     "num_replicas=info.world_size, rank=info.rank,", "num_replicas=info.world_size, rank=0,",
     ["tests/test_core_checks.py::test_train_loader_shards_are_disjoint",
      "tests/test_can_fail.py::test_ddp_ranks_train_on_disjoint_halves"]),
    ("SE gate without its sigmoid", "models/layers.py",
     "s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))",
     "s = self.fc2(torch.relu(self.fc1(s)))",
     ["tests/test_core_checks.py::test_se_gate_is_the_per_frame_definition"]),
    ("SE pooling over the whole tensor", "models/layers.py", "s = x.mean((2, 3))",
     "s = x.mean((0, 2, 3)).expand(x.shape[0], -1)",
     ["tests/test_core_checks.py::test_se_gate_is_the_per_frame_definition"]),
    ("segment consensus = first frame only", "models/resnet.py",
     "logits = logits.view(-1, t, logits.shape[-1]).mean(1)",
     "logits = logits.view(-1, t, logits.shape[-1])[:, 0]",
     ["tests/test_core_checks.py::test_segment_consensus_averages_every_frame"]),
    ("TSM groups: head weight x1 instead of x5", "engine/optim.py",
     '"head_weight": (5, weight_decay)', '"head_weight": (1, weight_decay)',
     ["tests/test_recipe.py::test_head_multipliers_land_where_the_release_puts_them"]),
    ("TSM groups: biases decayed", "engine/optim.py", '"bias": (2, 0.0)',
     '"bias": (2, weight_decay)',
     ["tests/test_recipe.py::test_head_multipliers_land_where_the_release_puts_them"]),
    ("head_lr_layer embed ignored", "engine/optim.py", 'if which == "embed" and',
     'if which == "never" and',
     ["tests/test_recipe.py::test_head_multipliers_land_where_the_release_puts_them"]),
    ("reader gives up on a truncated file", "data/video.py",
     "        n = decoded\n        _reset(stream)",
     "        raise VideoError(path, 'truncated')",
     ["tests/test_can_fail.py::test_second_pass_decodes_the_true_length_of_a_truncated_file"]),
    ("NaN / inf scores accepted", "scores.py", "    if not np.isfinite(arr).all():",
     "    if False:", ["tests/test_core_checks.py::test_non_finite_scores_are_refused"]),
    ("best.pt overwritten every epoch", "engine/runner.py",
     'if value is not None and value > state["best"]:', "if value is not None:",
     ["tests/test_can_fail.py::test_best_checkpoint_is_kept_by_the_configured_metric"]),
    ("predict uses one view whatever the checkpoint asks", "inference.py",
     'clips = num_clips or data.get("test_clips", 1)', "clips = 1",
     ["tests/test_can_fail.py::test_predict_uses_the_checkpoints_views_and_equals_test"]),
    ("macro F1 over all 52 labels", "metrics/classification.py",
     '"action_f1_macro": float(f1_score(labels, pred, average="macro")),',
     '"action_f1_macro": float(f1_score(labels, pred, average="macro", '
     'labels=np.arange(k), zero_division=0)),',
     ["tests/test_core_checks.py::test_macro_f1_counts_only_labels_present"]),
    ("gradient clipping off", "engine/loop.py", "        if clip_grad:", "        if False:",
     ["tests/test_core_checks.py::test_gradient_clipping_bounds_the_step"]),
    ("channels_last ignored", "engine/runner.py", "    if t.channels_last:", "    if False:",
     ["tests/test_can_fail.py::test_channels_last_reaches_the_model"]),
    ("label smoothing ignored", "losses.py", "label_smoothing=self.label_smoothing)",
     "label_smoothing=0.0)",
     ["tests/test_core_checks.py::test_label_smoothing_is_the_textbook_formula"]),
    ("prepare writes 30 fps", "data/prepare.py", "fps=video_fps(src)", "fps=30.0",
     ["tests/test_can_fail.py::test_prepare_keeps_fps_and_length"]),
    ("atomic writer leaves its temporary", "io.py", "        if tmp.exists():\n            tmp.unlink()",
     "        pass", ["tests/test_io.py"]),
    ("an upward import (models -> engine)", "models/registry.py",
     "from microaction.errors import MicroactionError",
     "from microaction.errors import MicroactionError\nfrom microaction.engine import loop  # noqa",
     ["tests/test_layers.py::test_imports_flow_down_the_layers"]),
    ("worker errors as tracebacks (raised inside the worker)", "data/dataset.py",
     "            return SampleError(exc.path, exc.reason)", "            raise",
     ["tests/test_first_hour.py::test_unreadable_clip_in_a_worker_is_one_line_and_leaves_no_work_dir"]),
    ("fresh run appends to a used work dir", "engine/runner.py",
     "    if resume or not used:", "    if True:",
     ["tests/test_first_hour.py::test_fresh_run_into_a_used_work_dir"]),
    ("duplicate detections counted twice", "metrics/detection.py",
     "            if not used[p.video][j]:", "            if True:",
     ["tests/test_timeline.py::test_duplicates_count_once_and_a_prediction_matches_one_instance"]),
    ("timeline keeps every frame in memory", "timeline.py",
     "            for old in [k for k in buffer if k < w * step]:",
     "            for old in []:",
     ["tests/test_timeline.py::test_timeline_streams_and_matches_window_clips"]),
    ("TAM's global branch without its ReLU", "models/layers.py",
     "nn.BatchNorm1d(num_segments * alpha), nn.ReLU(inplace=True),",
     "nn.BatchNorm1d(num_segments * alpha),",
     ["tests/test_methods.py::test_tam_is_its_definition_written_as_loops"]),
    ("TAM pads a 5-tap kernel as if it had 3", "models/layers.py",
     "(0, 0, 0, 0, 0, 0, k // 2, k // 2)", "(0, 0, 0, 0, 0, 0, k // 3, k // 2)",
     ["tests/test_methods.py::test_tam_is_its_definition_written_as_loops"]),
    ("TIN scales the -o1 group by the o2 weight", "models/layers.py",
     "weights[:, :, [0, 1, 0, 1], None, None, None]",
     "weights[:, :, [0, 1, 1, 1], None, None, None]",
     ["tests/test_methods.py::test_tin_moves_groups_by_their_offsets"]),
    ("TIN offsets start at 1.27 frames instead of 0.5", "models/layers.py",
     "nn.init.constant_(self.offset_fc2.bias, 0.5108)",
     "nn.init.constant_(self.offset_fc2.bias, 1.5108)",
     ["tests/test_methods.py::test_tin_starts_with_offsets_of_half_a_frame_and_unit_weights"]),
    ("TIN's shift builds its frame index on the CPU", "models/layers.py",
     "torch.arange(t, device=x.device)", "torch.arange(t)",
     ["tests/test_methods.py::test_temporal_layers_run_on_the_device_of_their_input"]),
    ("a prefix without a shift calls None", "models/layers.py",
     "self.shift = shift if shift is not None else nn.Identity()", "self.shift = shift",
     ["tests/test_models.py::test_shift_module_and_residual_prefix_apply_what_they_are_given"]),
    ("timeline batches 8 windows of 224 px frames", "timeline.py",
     "return max(1, min(8, BATCH_VOLUME", "return 8 or max(1, min(8, BATCH_VOLUME",
     ["tests/test_timeline.py::test_window_batch_by_input_volume"]),
    ("inference never channels-last", "inference.py",
     "    if InputSpec.from_dict(ckpt[\"input_spec\"]).size >= CHANNELS_LAST_MIN_SIZE:",
     "    if False:",
     ["tests/test_timeline.py::test_inference_runs_channels_last_from_112_px"]),
    ("cache takes all of the available memory, not half", "data/dataset.py",
     "need > avail // 2:", "need > avail:",
     ["tests/test_dataset.py::test_cache_refuses_a_set_too_large_for_ram"]),
    ("optimiser divides the rate by the group's multiplier", "engine/optim.py",
     'g["lr"] = lr * g["lr_mult"]', 'g["lr"] = lr / g["lr_mult"]',
     ["tests/test_core_exact.py::test_sgd_recipe_reaches_every_group"]),
    ("AdamW ignores the configured momentum (beta1)", "engine/optim.py",
     "betas=(momentum, 0.999)", "betas=(0.9, 0.999)",
     ["tests/test_core_exact.py::test_adamw_takes_momentum_as_beta1_and_frozen_tensors_stay_out"]),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None, help="run the bugs whose name contains this")
    args = ap.parse_args()
    rows = []
    for name, rel, old, new, tests in BUGS:
        if args.only and args.only not in name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "src"
            shutil.copytree(ROOT / "src", src)
            target = src / "microaction" / rel
            text = target.read_text()
            if old not in text:
                rows.append((name, "NOT PLANTED (the line changed)", 0.0))
                continue
            target.write_text(text.replace(old, new, 1))
            env = {**os.environ, "PYTHONPATH": str(src)}
            t0 = time.perf_counter()
            res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p",
                                  "no:cacheprovider", *tests], cwd=ROOT, env=env,
                                 capture_output=True, text=True)
            # exit code 1: tests ran and failed; anything else (2: collection error, ...) is not
            # evidence that the tests notice the bug
            result = {0: "NOT CAUGHT", 1: "caught"}.get(res.returncode,
                                                       f"error (pytest exit {res.returncode})")
            rows.append((name, result, time.perf_counter() - t0))
            print(f"{result:>10}  {name}  ({rows[-1][2]:.0f} s)", flush=True)
    print("\n| planted bug | result |\n|---|---|")
    for name, result, _ in rows:
        print(f"| {name} | {result} |")
    sys.exit(0 if all(r[1] == "caught" for r in rows) else 1)


if __name__ == "__main__":
    main()
