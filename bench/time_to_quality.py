"""Time to quality: KID, precision and recall against wall-clock training time, ours vs the classic loop.

Images per second says how fast a step is, not how fast a GAN gets good. This bench trains each
contender for a fixed budget of *training* minutes on this machine and, every ``--every``
minutes, stops the clock and scores the current generator (``--samples`` generated images
against the cached Inception features of the training split: KID, and precision/recall with k=3
on as many generated as real images). It prints a table and draws KID against minutes.

Contenders:

* ``ours``: ``training.loop.Trainer`` with ``--config`` (default: the few-shot projected recipe),
  scored on its EMA generator as the trainer saves it;
* ``reference``: the classic DCGAN loop of ``bench/reference_dcgan.py`` (BCE, Adam 2e-4/0.5), made
  fair: images decoded once and kept in memory (``decode_once``) instead of per visit, batch 64.

    python bench/time_to_quality.py --minutes 30 --every 5
    python bench/time_to_quality.py --minutes 1 --every 0.5 --samples 200 --which ours   # smoke run

A contender's 30 minutes need a quiet core each, so contenders are often measured in separate
runs; ``--previous [LABEL=]FILE`` draws the rows of an earlier run's JSON in this run's table and
plot (LABEL renames its "ours" rows), and ``--which ''`` only merges, without training:

    python bench/time_to_quality.py --which ours --set batch_size=32 --label "ours, batch 32" \
        --previous "ours, batch 64=runs/time_to_quality/time_to_quality.json" --out runs/ttq_b32
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_CONFIG = ROOT / "training" / "configs" / "faces-projected-64.yaml"
DEFAULT_DATA = ROOT / "data" / "london_faces"

Step = Callable[[], None]
Generate = Callable[[int, torch.Generator], torch.Tensor]


def ours(config: Path, data_dir: Path, out: Path, overrides: list[str]) -> tuple[Step, Callable[[], Generate], object]:
    from training.config import load_config
    from training.loop import Trainer

    cfg = load_config(config, ["--data_dir", str(data_dir), "--output_dir", str(out), "--log_with", "none",
                               "--progress_bar", "false", *overrides])
    trainer = Trainer(cfg, command="bench/time_to_quality.py")
    trainer.setup()
    state = {"step": 0, "sums": {}}

    def step() -> None:
        trainer.G.train()
        trainer.D.train()
        trainer.train_step(state["step"], state["sums"])
        state["step"] += 1
        state["sums"] = {}
        # The trainer's output generator (EMA, BatchNorm statistics refreshed) is cached per
        # progress step: without this every score would be of the step-0 generator.
        trainer.progress.step = state["step"]

    def generator() -> Generate:
        return trainer.family.fid_generate_fn(trainer.output_generator().eval(), trainer.data, trainer.device)

    return step, generator, trainer.data


def reference(data_dir: Path, batch_size: int) -> tuple[Step, Callable[[], Generate]]:
    from bench.reference_dcgan import ReferenceDCGAN

    ref = ReferenceDCGAN(data_dir, batch_size=batch_size, decode_once=True)

    def generator() -> Generate:
        G = ref.netG.eval()

        def generate(n: int, gen: torch.Generator) -> torch.Tensor:
            return G(torch.randn(n, ref.latent_dim, generator=gen)).float().clamp(-1, 1)

        return generate

    return lambda: ref.step(), generator


def score(generate: Generate, real, samples: int) -> dict[str, float]:
    from training.generator_metrics import fidelity_and_variety
    from training.metrics import compute_fid_kid

    with torch.no_grad():
        result = compute_fid_kid(generate, real, num_generated=samples, seed=0, progress=False, return_features=True)
    quality = fidelity_and_variety(result.pop("features"), real.features)
    return {"kid": result["kid_mean"], "fid": result["fid"], **{k: quality[k] for k in ("precision", "recall", "diversity")}}


def race(name: str, step: Step, generator: Callable[[], Generate], real, minutes: float, every: float, samples: int,
         log: Callable[[str], None]) -> list[dict]:
    """Train in chunks of ``every`` minutes of training time; score after each (clock stopped)."""
    rows, trained, steps = [], 0.0, 0
    rows.append({"contender": name, "minutes": 0.0, "steps": 0, **score(generator(), real, samples)})
    log(f"{name}: {rows[-1]}")
    while trained < minutes * 60 - 1e-6:
        target = min(trained + every * 60, minutes * 60)
        start = time.perf_counter()
        while trained + (time.perf_counter() - start) < target:
            step()
            steps += 1
        trained += time.perf_counter() - start
        rows.append({"contender": name, "minutes": round(trained / 60, 2), "steps": steps, **score(generator(), real, samples)})
        log(f"{name}: {rows[-1]}")
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| contender | training minutes | steps | KID | precision | recall | diversity |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['contender']} | {r['minutes']:.1f} | {r['steps']} | {r['kid']:.4f} | {r['precision']:.3f} | "
                     f"{r['recall']:.3f} | {r['diversity']:.3f} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    for name in dict.fromkeys(r["contender"] for r in rows):
        points = [r for r in rows if r["contender"] == name]
        ax.plot([r["minutes"] for r in points], [r["kid"] for r in points], marker="o", label=name)
    ax.set_xlabel(f"training minutes ({torch.get_num_threads()} torch thread(s))")
    ax.set_ylabel("KID vs training faces (lower is better)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--data_dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--minutes", type=float, default=30.0, help="training minutes per contender")
    parser.add_argument("--every", type=float, default=5.0, help="score every this many training minutes")
    parser.add_argument("--samples", type=int, default=500, help="generated images per score")
    parser.add_argument("--which", default="ours,reference")
    parser.add_argument("--reference_batch_size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "time_to_quality")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key (ours)")
    parser.add_argument("--label", default="ours", help="our contender's name in the table, JSON and plot")
    parser.add_argument("--previous", action="append", default=[], metavar="[LABEL=]FILE",
                        help="also table and plot the rows of an earlier run's JSON; LABEL renames its 'ours' rows")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.every <= 0:
        parser.error("--minutes and --every must be > 0")

    from training.config import load_config
    from training.data import load_data
    from training.generator_metrics import real_feature_cache_path
    from training.metrics import RealFeatureCache

    bad = [kv for kv in args.set if "=" not in kv]
    if bad:
        parser.error(f"--set wants KEY=VALUE, got {bad}")
    overrides = [tok for kv in args.set for tok in ("--" + kv.split("=", 1)[0], kv.split("=", 1)[1])]
    try:
        earlier = [row for spec in args.previous for row in previous_rows(spec)]
    except (OSError, ValueError, KeyError) as exc:
        parser.error(f"--previous: {exc}")
    contenders = [w.strip() for w in args.which.split(",") if w.strip()]
    unknown = [name for name in contenders if name not in ("ours", "reference")]
    if unknown:
        parser.error(f"unknown contender(s) {unknown}; use ours and/or reference")
    if not contenders:
        if not earlier:
            parser.error("nothing to do: --which names no contender and no --previous run was given")
        return report(earlier, args.out)
    cfg = load_config(args.config, ["--data_dir", str(args.data_dir), *overrides])
    data = load_data(cfg)
    real = RealFeatureCache.load_or_compute(real_feature_cache_path(data), data.train_images_float())
    if args.samples < real.num_real:
        parser.error(f"--samples must be >= the training set size ({real.num_real}) for precision/recall")
    print(f"# time to quality: {args.minutes} training minutes each, scored every {args.every} min on "
          f"{args.samples} samples vs {real.num_real} training images; torch threads {torch.get_num_threads()}", flush=True)
    rows: list[dict] = []
    for name in contenders:
        if name == "ours":
            step, generator, _ = ours(args.config, args.data_dir, args.out / "ours", overrides)
        else:
            step, generator = reference(args.data_dir, batch_size=args.reference_batch_size)
        label = args.label if name == "ours" else name
        rows += race(label, step, generator, real, args.minutes, args.every, args.samples, lambda m: print(m, flush=True))
    return report(earlier + rows, args.out)


def previous_rows(spec: str) -> list[dict]:
    """The rows of an earlier run's JSON (``[LABEL=]FILE``), its "ours" rows renamed to LABEL."""
    label, _, path = spec.rpartition("=")
    rows = json.loads(Path(path).read_text())
    for row in rows:
        for key in ("contender", "minutes", "steps", "kid", "precision", "recall", "diversity"):
            row[key]  # a file of another format fails here, not half-way through the plot
        if label and row["contender"] == "ours":
            row["contender"] = label
    return rows


def report(rows: list[dict], out: Path) -> int:
    """Write the JSON, print the table and draw the plot of every row (this run's and earlier ones)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "time_to_quality.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(table(rows))
    print(f"plot: {plot(rows, out / 'time_to_quality.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
