"""How well GAN inversion finds people the model never saw: reconstruction quality and time per photo.

    python bench/inversion_quality.py --model faces-style-64 --data_dir data/london_faces --people 10

For each held-out person of the model's own training split (people never trained on), the photo is
projected with ``GANInversionPipeline`` (its default steps) and scored against the photo at the
model's resolution: L1 and SSIM (pixels in [0, 1]) and the perceptual distance the projector
minimises (channel-normalised EfficientNet-lite0 features, 0 = identical). The "average face" row
scores the generator's mean latent against the same photos: what inversion must beat.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import PIL.Image
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="faces-style-64")
    parser.add_argument("--data_dir", default=str(ROOT / "data" / "london_faces"))
    parser.add_argument("--people", type=int, default=10, help="held-out photos to project")
    parser.add_argument("--steps", type=int, default=None, help="optimisation steps (default: the pipeline's)")
    args = parser.parse_args(argv)

    from training.data import load_data
    from training.evaluate import _load_config
    from training.metrics import paired_metrics
    from zoo import registry
    from zoo.pipelines import GANInversionPipeline
    from zoo.pipelines.inversion import DEFAULT_STEPS, _to_tensor

    model_dir = Path(registry.resolve(args.model)[0])
    cfg = _load_config(model_dir, {"data_dir": args.data_dir, "compute_metrics": False})
    data = load_data(cfg)
    pipe = registry.load_pipeline(args.model, GANInversionPipeline)
    steps = args.steps or DEFAULT_STEPS
    rows = data.heldout_idx[: args.people].tolist()

    def perceptual(a: torch.Tensor, b: torch.Tensor) -> float:  # the distance the projector minimises
        return float(pipe.perceptual_distance(pipe.perceptual_features(a), pipe.perceptual_features(b)))

    targets, recons, seconds = [], [], []
    for row in rows:
        photo = PIL.Image.fromarray(data.images[row].permute(1, 2, 0).numpy())
        start = time.perf_counter()
        out = pipe(photo, num_steps=steps)
        seconds.append(time.perf_counter() - start)
        targets.append(_to_tensor(out.target))
        recons.append(_to_tensor(out.image))
    target, recon = torch.cat(targets), torch.cat(recons)
    generator = pipe.generator
    with torch.no_grad():
        mean_w = generator.mean_w().expand(1, generator.num_ws, -1)
        average = _to_tensor(pipe.postprocess(generator.synthesize(mean_w, None), "pil")[0]).expand_as(target)
        scores = {"inversion": (recon, paired_metrics(recon, target)), "average face": (average, paired_metrics(average, target))}
        print(f"## GAN inversion of held-out people: {args.model}, {len(rows)} photos, {steps} steps, "
              f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}")
        print()
        print("| images | L1 (lower is better) | SSIM (higher is better) | perceptual (lower is better) |")
        print("|---|---:|---:|---:|")
        for name, (images, paired) in scores.items():
            print(f"| {name} | {paired['l1']:.4f} | {paired['ssim']:.3f} | {perceptual(images, target):.3f} |")
    print()
    print(f"seconds per photo: median {statistics.median(seconds):.1f}, max {max(seconds):.1f}")
    grid = torch.cat([target[:8], recon[:8]])
    picture = ((grid.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    from zoo.images import enlarge, image_grid

    out_path = ROOT / "docs" / "images" / "inversion.png"
    enlarge(image_grid([PIL.Image.fromarray(a) for a in picture], cols=min(8, len(targets)), pad=2), 512).save(out_path)
    print(f"picture (held-out photos, above; their reconstructions, below): {out_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
