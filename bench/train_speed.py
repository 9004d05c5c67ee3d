"""Training throughput (images/second) of the real training step, on synthetic or real data.

Measures exactly what ``training/train.py`` runs per step (batch assembly from the uint8 cache,
DiffAugment, D and G updates, EMA), excluding the one-off setup, sampling and checkpointing:

    python bench/train_speed.py                                   # DCGAN 64 px, ngf=ndf=64, batch 64
    python bench/train_speed.py --steps 50 --data_dir data/london_faces
    python bench/train_speed.py --config training/configs/faces-style-64.yaml --set batch_size=16

"Images" counts real images per optimiser step (batch_size x accumulation x processes); each
step also generates as many fakes twice (for D and for G).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "training" / "configs" / "dcgan-faces-64.yaml"


def synthetic_data(num_images: int, resolution: int, seed: int = 0):
    """Random uint8 images standing in for a decoded dataset (speed does not depend on content)."""
    from training.data import TrainData

    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (num_images, 3, resolution, resolution), dtype=torch.uint8, generator=gen)
    idx = torch.arange(num_images)
    return TrainData(
        images=images, sketches=None, labels=None, class_names=[], captions=None, caption_ids=None,
        text_embeds=None, groups=[], train_idx=idx, heldout_idx=idx[:0], name="synthetic",
        cache_path=Path(tempfile.gettempdir()) / "synthetic.safetensors",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="training config (default: DCGAN 64 px)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (allocator, oneDNN kernels)")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--data_dir", default=None, help="real local data instead of synthetic images")
    parser.add_argument("--num_images", type=int, default=1024, help="synthetic dataset size")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra config overrides")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of text")
    args = parser.parse_args(argv)

    from training.config import load_config
    from training.loop import Trainer

    if args.threads:
        torch.set_num_threads(args.threads)
    out = tempfile.mkdtemp(prefix="gan_zoo_bench_")
    overrides = ["--batch_size", str(args.batch_size), "--output_dir", out, "--log_with", "none",
                 "--progress_bar", "false", "--resume_from_checkpoint", "none"]
    if args.data_dir:
        overrides += ["--data_dir", args.data_dir, "--dataset", "none"]
    elif "dataset:" not in Path(args.config).read_text():
        overrides += ["--data_dir", out]  # satisfies validation; synthetic data is passed directly
    for item in args.set:
        key, _, value = item.partition("=")
        overrides += [f"--{key}", value]
    cfg = load_config(args.config, overrides)
    data = None if args.data_dir else synthetic_data(args.num_images, cfg.resolution, cfg.seed)
    trainer = Trainer(cfg, command="bench", data=data)
    trainer.setup()
    sums: dict = {}
    for step in range(args.warmup):
        trainer.train_step(step, sums)
    for v in sums.values():
        float(v)  # drain queued work before timing
    sums = {}
    start = time.perf_counter()
    for step in range(args.warmup, args.warmup + args.steps):
        trainer.train_step(step, sums)
    for v in sums.values():
        float(v)
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    images = args.steps * cfg.batch_size * cfg.gradient_accumulation_steps * trainer.accelerator.num_processes
    result = {
        "config": Path(args.config).name,
        "family": cfg.family,
        "resolution": cfg.resolution,
        "base_channels": cfg.base_channels,
        "d_base_channels": cfg.d_channels,
        "batch_size": cfg.batch_size,
        "steps": args.steps,
        "seconds": round(elapsed, 3),
        "images_per_sec": round(images / elapsed, 2),
        "device": str(trainer.device),
        "threads": torch.get_num_threads(),
        "channels_last": cfg.channels_last,
        "mixed_precision": cfg.mixed_precision,
        "data": "real" if args.data_dir else "synthetic",
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['family']} {result['resolution']}px ngf={result['base_channels']} ndf={result['d_base_channels']} "
            f"batch {result['batch_size']} on {result['device']} ({result['threads']} threads, {result['data']} data): "
            f"{result['images_per_sec']} images/s ({args.steps} steps in {result['seconds']} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
