"""Score-file verbs: ``score`` and ``submit``. They import neither torch nor the models, so they
run in a second or two where torch is absent or slow to import."""

from __future__ import annotations

import sys
from pathlib import Path

from microaction.cli.common import add_verb


def _load(args):
    from microaction.data.listfile import parse_list_file
    from microaction.labels import LabelSpace
    from microaction.scores import check_rows, load_scores

    scores = load_scores(args.scores)
    entries = parse_list_file(args.list, num_classes=scores.shape[1])
    check_rows(scores, len(entries), args.scores, args.list)
    return scores, entries, LabelSpace.from_count(scores.shape[1])


def cmd_score(args) -> int:
    import json

    import numpy as np

    from microaction.data.listfile import placeholder_labels
    from microaction.metrics import format_table, ma52_report

    scores, entries, space = _load(args)
    labels = np.array([e.label for e in entries])
    if placeholder_labels(entries):
        print(f"warning: every label in {args.list} is 0 -- placeholders (like the official "
              f"test list), not ground truth; these metrics are meaningless", file=sys.stderr)
    rep = ma52_report(scores, labels, space.action_to_body)
    print(json.dumps(rep) if args.json else format_table(rep))
    return 0


def cmd_submit(args) -> int:
    from microaction.scores import write_submission

    scores, entries, space = _load(args)
    write_submission(args.out, scores, [e.path for e in entries], space.action_to_body)
    print(f"wrote {args.out} (prediction.csv, {len(entries)} videos)")
    return 0


def register(sub) -> None:
    p = add_verb(sub, "score", "the paper's metrics for saved scores against a list file",
                 "microaction score runs/val/scores.csv --list /data/MA-52/val_list_videos.txt",
                 cmd_score,
                 "SCORES: .npy (videos x classes), the CSV written by `test`, or the official "
                 "test\ntool's pickle (read with an allow-list: a hostile pickle cannot run "
                 "code).")
    p.add_argument("scores", type=Path, help=".npy, the CSV of `test`, or the official pickle")
    p.add_argument("--list", type=Path, required=True, help="list file with the true labels")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")

    p = add_verb(sub, "submit", "write the Codabench submission zip from test scores",
                 "microaction submit runs/test/scores.npy --list /data/MA-52/test_list_videos.txt "
                 "--out submission.zip", cmd_submit,
                 "prediction.csv alone in the zip: vid, top-5 actions, the body part of each.")
    p.add_argument("scores", type=Path, help=".npy, the CSV of `test`, or the official pickle")
    p.add_argument("--list", type=Path, required=True, help="test_list_videos.txt (list order)")
    p.add_argument("--out", type=Path, required=True, help="submission.zip to write")
