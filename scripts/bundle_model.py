"""Turn a finished training run into a bundled model: copy, fp16, evaluate, card.

    python scripts/bundle_model.py runs/faces-projected-64 faces-projected-64 \
        --reproduce "python training/train.py --config training/configs/faces-projected-64.yaml --data_dir data/london_faces --max_steps 3000" \
        --compare step1000=runs/faces-projected-64/checkpoints/checkpoint-1000/model_2.safetensors

Steps: copy the pipeline directory (weights, configs, samples, metrics, summary; never the
training checkpoints or logs) to ``zoo/pretrained/<name>``; store the weights in fp16
(``training.export``); record the one command that reproduces the run in the summary; score the
fp16 model with the full evaluation suite (``training.evaluate``, which writes metrics.json and
the nearest-neighbour picture); render the model card from those files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SKIP = {"checkpoints", "logs"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("name")
    parser.add_argument("--reproduce", required=True, help="the one command that trains this model from scratch")
    parser.add_argument("--data_dir", default=str(ROOT / "data" / "london_faces"))
    parser.add_argument("--compare", action="append", default=[], metavar="LABEL=WEIGHTS")
    parser.add_argument("--num_samples", type=int, default=1000)
    args = parser.parse_args(argv)

    from model_cards.render import write_model_card
    from training.evaluate import evaluate
    from training.export import export_fp16

    if not (args.run_dir / "model_index.json").is_file():
        parser.error(f"{args.run_dir} is not a finished run (no model_index.json)")
    target = Path(os.path.relpath(ROOT / "zoo" / "pretrained" / args.name))  # relative: no local path in the card
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(args.run_dir, target, ignore=lambda d, names: [n for n in names if Path(d) == args.run_dir and n in SKIP])
    export_fp16(target)
    for grid in (target / "samples").glob("grid_step_*.png"):  # the progress GIF holds them all
        grid.unlink()
    summary_path = target / "training_summary.json"
    summary = json.loads(summary_path.read_text())
    summary["reproduce"] = args.reproduce
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    compare = {}
    for item in args.compare:
        label, _, weights = item.partition("=")
        compare[label] = Path(weights)
    evaluate(target, args.data_dir, num_samples=args.num_samples, compare_init=True, compare=compare)
    write_model_card(target)
    print(f"bundled {args.run_dir} as {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
