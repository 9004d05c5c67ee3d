"""Our trainer's step against a classic DCGAN loop, same networks, same data, alternating in one process.

    python bench/compare_train_speed.py                       # London faces (else synthetic), 3 rounds x 10 steps
    python bench/compare_train_speed.py --steps 20 --rounds 3 --threads 2
    python bench/compare_train_speed.py --ablate              # also ours without channels_last / fused Adam

Why alternate (A B A B ...): on a shared machine the background load drifts over a minute; timing
one loop and then the other would charge the drift to whichever ran second. Each block runs
``--steps`` optimiser steps after one untimed warm-up block per loop (oneDNN picks its kernels
and the allocator settles there).

Both sides train DCGAN 64 px (latent 128, ngf = ndf = 64) at batch 64 on the same image folder:

* **ours**: ``training.loop.Trainer.train_step`` with ``training/configs/dcgan-faces-64.yaml``
  (the config ``bench/train_speed.py`` uses), DiffAugment off (the reference has none), metrics
  and trackers off, losses read back every ``--logging_steps`` steps as ``Trainer.run`` does;
* **reference**: ``bench/reference_dcgan.py`` (DataLoader decoding PIL images every visit,
  BCEWithLogits, non-fused Adam, ``.item()`` every step, NCHW).

The reference does *less* arithmetic per step (it reuses D's fake batch for G's update and keeps
no EMA), so the ratio understates what the engineering buys per unit of work.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.reference_dcgan import ReferenceDCGAN, default_data_dir, synthetic_folder  # noqa: E402

CONFIG = ROOT / "training" / "configs" / "dcgan-faces-64.yaml"


@dataclass
class Side:
    """One loop being timed: a name, a function that runs one step, and its per-block timings."""

    name: str
    step: Callable[[int], None]
    finish_block: Callable[[], None]
    notes: str
    seconds: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)

    def images_per_sec(self, batch_size: int) -> list[float]:
        return [n * batch_size / s for n, s in zip(self.steps, self.seconds)]

    def overall(self, batch_size: int) -> float:
        return sum(self.steps) * batch_size / sum(self.seconds)


@contextlib.contextmanager
def plain_adam() -> Iterator[None]:
    """Build our trainer with for-loop Adam instead of fused (the config has no flag for it)."""
    import training.loop as loop

    original = loop._adam

    def adam(params, lr, cfg):
        return torch.optim.Adam(list(params), lr=lr, betas=(cfg.adam_beta1, cfg.adam_beta2), foreach=False, fused=False)

    loop._adam = adam
    try:
        yield
    finally:
        loop._adam = original


def our_side(name: str, data_dir: Path, batch_size: int, logging_steps: int, channels_last: bool = True,
             fused: bool = True) -> Side:
    from training.config import load_config
    from training.loop import Trainer

    out = tempfile.mkdtemp(prefix="gan_zoo_cmp_")
    cfg = load_config(CONFIG, [
        "--data_dir", str(data_dir), "--dataset", "none", "--output_dir", out, "--batch_size", str(batch_size),
        "--diffaugment", "", "--compute_metrics", "false", "--log_with", "none", "--progress_bar", "false",
        "--model_card", "false", "--resume_from_checkpoint", "none", "--logging_steps", str(logging_steps),
        "--channels_last", str(channels_last).lower(),
    ])
    trainer = Trainer(cfg, command="bench/compare_train_speed.py")
    with contextlib.nullcontext() if fused else plain_adam():
        trainer.setup()
    state = {"sums": {}, "count": 0}

    def step(i: int) -> None:
        trainer.train_step(i, state["sums"])
        state["count"] += 1
        if (i + 1) % cfg.logging_steps == 0:  # the one host sync per logging interval that Trainer.run does
            flush()

    def flush() -> None:
        if state["count"]:
            trainer._flush_logs(state["sums"], state["count"], 0, 0.0, None)
        state["sums"], state["count"] = {}, 0

    opt = getattr(trainer.opt_d, "optimizer", trainer.opt_d)
    kind = "fused" if opt.defaults.get("fused") else ("foreach" if opt.defaults.get("foreach") else "for-loop")
    notes = (f"pre-decoded uint8 cache ({len(trainer.data.train_idx)} train images), "
             f"{'channels_last' if cfg.channels_last else 'NCHW'}, {kind} Adam, EMA on, "
             f"losses read every {cfg.logging_steps} steps")
    return Side(name, step, flush, notes)


def reference_side(data_dir: Path, batch_size: int, workers: int) -> Side:
    ref = ReferenceDCGAN(data_dir, resolution=64, latent_dim=128, base_channels=64, batch_size=batch_size,
                         workers=workers)
    notes = (f"DataLoader ({workers} workers) decoding {len(ref.loader.dataset)} images per visit, NCHW, "
             "for-loop Adam, BCEWithLogits, 5x .item() per step, no EMA, fakes reused for G")
    return Side("reference (classic loop)", lambda i: ref.step(), lambda: None, notes)


def ratio(side: Side, ref: Side, batch_size: int) -> float:
    """Median over rounds of this side's speed over the reference's in the same round.

    Adjacent blocks share the machine's background load, so a per-round ratio cancels most of the
    drift that a ratio of totals would keep.
    """
    return statistics.median(a / r for a, r in zip(side.images_per_sec(batch_size), ref.images_per_sec(batch_size)))


def time_block(side: Side, first_step: int, steps: int) -> None:
    start = time.perf_counter()
    for i in range(first_step, first_step + steps):
        side.step(i)
    side.finish_block()
    side.seconds.append(time.perf_counter() - start)
    side.steps.append(steps)


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def load() -> str:
    with contextlib.suppress(OSError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "n/a"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default=None, help="local imagefolder (default: the London faces, else synthetic)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per block")
    parser.add_argument("--rounds", type=int, default=3, help="timed blocks per loop, alternating")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--logging_steps", type=int, default=10, help="our trainer's loss read-back interval")
    parser.add_argument("--workers", type=int, default=0, help="reference DataLoader workers")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--ablate", action="store_true", help="also time ours without channels_last / fused Adam")
    parser.add_argument("--json", action="store_true", help="also print one JSON line with every timing")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.rounds < 1:
        parser.error("--steps and --rounds must be at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    given = argv if argv is not None else sys.argv[1:]
    command = "python " + " ".join(shlex.quote(a) for a in ["bench/compare_train_speed.py", *given])
    load_start = load()
    data_dir = Path(args.data_dir) if args.data_dir else (default_data_dir() or synthetic_folder())

    sides = [our_side("ours (training/loop.py)", data_dir, args.batch_size, args.logging_steps),
             reference_side(data_dir, args.batch_size, args.workers)]
    if args.ablate:
        sides += [
            our_side("ours, NCHW (channels_last off)", data_dir, args.batch_size, args.logging_steps, channels_last=False),
            our_side("ours, for-loop Adam (fused off)", data_dir, args.batch_size, args.logging_steps, fused=False),
            our_side("ours, NCHW + for-loop Adam", data_dir, args.batch_size, args.logging_steps,
                     channels_last=False, fused=False),
        ]
    warmup = max(2, min(args.steps, 3))
    for side in sides:  # untimed warm-up block each
        for i in range(warmup):
            side.step(i)
        side.finish_block()
    step = warmup
    for _ in range(args.rounds):
        for side in sides:
            time_block(side, step, args.steps)
        step += args.steps
    load_end = load()

    b = args.batch_size
    ref = sides[1]
    print("# Training speed: our trainer vs a classic DCGAN loop\n")
    print(f"- command: `{command}`")
    print(f"- torch {torch.__version__}, python {platform.python_version()}, {torch.get_num_threads()} threads, "
          f"CPU: {cpu_model()} ({os.cpu_count()} cores)")
    print(f"- model: DCGAN 64 px, latent 128, ngf = ndf = 64, batch {b}; data: `{data_dir}`")
    print(f"- load average (1/5/15 min): {load_start} at start, {load_end} at end")
    if float(load_start.split()[0] if load_start != "n/a" else 0) >= (os.cpu_count() or 1) / 2:
        print("- **warning**: the machine was busy at the start; compare the two loops with each other, "
              "not with numbers from another run")
    print(f"- {args.rounds} alternating rounds x {args.steps} steps per loop, after {warmup} untimed warm-up steps each\n")
    heads = " | ".join(f"round {r + 1}" for r in range(args.rounds))
    print(f"| loop | {heads} | overall images/s | ms/step | vs reference (median of per-round ratios) |")
    print("|---|" + "---:|" * (args.rounds + 3))
    for side in sides:
        rates = side.images_per_sec(b)
        ms = 1000 * sum(side.seconds) / sum(side.steps)
        print(f"| {side.name} | " + " | ".join(f"{r:.1f}" for r in rates)
              + f" | **{side.overall(b):.1f}** | {ms:.0f} | {ratio(side, ref, b):.2f}x |")
    print("\nWhat each loop does:\n")
    for side in sides:
        print(f"- **{side.name}**: {side.notes}")
    print("\nThe reference does less work per step (one G forward instead of two, no EMA), so the ratio "
          "understates the per-FLOP gain.")
    if args.json:
        print(json.dumps({
            "command": command, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "load_start": load_start, "load_end": load_end, "batch_size": b, "steps": args.steps,
            "rounds": args.rounds,
            "results": {s.name: {"images_per_sec": [round(r, 2) for r in s.images_per_sec(b)],
                                 "overall": round(s.overall(b), 2), "vs_reference": round(ratio(s, ref, b), 3),
                                 "median": round(statistics.median(s.images_per_sec(b)), 2)} for s in sides},
        }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
