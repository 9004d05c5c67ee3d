"""How well GAN inversion finds people the model never saw: reconstruction quality and time per photo.

    python bench/inversion_quality.py --model faces-style-64 --data_dir data/london_faces --people 10

For each held-out person of the model's own training split (people never trained on), the photo is
projected with ``GANInversionPipeline`` (its default steps) and scored against the photo at the
model's resolution: L1 and SSIM (pixels in [0, 1]) and the perceptual distance the projector
minimises (channel-normalised EfficientNet-lite0 features, 0 = identical). The "average face" row
scores the generator's mean latent against the same photos: what inversion must beat.

    python bench/inversion_quality.py --people 4 --perturb          # does face alignment help?
    python bench/inversion_quality.py --people 20 --perturb --crops-only

``--perturb`` turns each held-out photo into an upload framed unlike the training photos: shrunk to
``--perturb-scale`` of its size, turned by up to ``--perturb-angle`` degrees and pasted at a random
place on a portrait canvas (4:5) of a random plain colour (seeded per photo by ``--seed``). That
upload is inverted twice, from its centre square (``--no-align``) and from its aligned crop
(``zoo.face_align``), next to the photo as trained (the ceiling) and the photo itself aligned (what
alignment costs a photo that was framed right already). Each row scores the square the model was
given against the photo as trained ("crop vs photo", pixel L1 at the model's resolution: 0 is the
training framing exactly), and the reconstruction against that square and against the photo.
``--crops-only`` skips the inversions (seconds, not minutes) and reports the crops and detections.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import PIL.Image
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def perturb(photo: PIL.Image.Image, rng: np.random.Generator, scale: float = 0.6,
            max_angle: float = 8.0) -> tuple[PIL.Image.Image, float]:
    """``photo`` as a user might upload it: shrunk to ``scale``, turned by a random angle in
    ``[-max_angle, max_angle]`` degrees (counter-clockwise positive) and pasted at a random place on a
    4:5 portrait canvas of a random plain colour, as wide as the photo. Returns (upload, angle)."""
    angle = float(rng.uniform(-max_angle, max_angle))
    side = round(photo.width * scale)
    small = photo.convert("RGBA").resize((side, side), PIL.Image.Resampling.LANCZOS)
    small = small.rotate(angle, resample=PIL.Image.Resampling.BICUBIC, expand=True)
    canvas = PIL.Image.new("RGB", (photo.width, round(photo.width * 1.25)), tuple(int(v) for v in rng.integers(0, 256, 3)))
    x = int(rng.integers(0, max(0, canvas.width - small.width) + 1))
    y = int(rng.integers(0, max(0, canvas.height - small.height) + 1))
    canvas.paste(small, (x, y), small)
    return canvas, angle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="faces-style-64")
    parser.add_argument("--data_dir", default=str(ROOT / "data" / "london_faces"))
    parser.add_argument("--people", type=int, default=10, help="held-out photos to project")
    parser.add_argument("--steps", type=int, default=None, help="optimisation steps (default: the pipeline's)")
    parser.add_argument("--perturb", action="store_true",
                        help="score uploads framed unlike the training photos, with and without face alignment")
    parser.add_argument("--perturb-scale", type=float, default=0.6, help="--perturb: photo size in the upload")
    parser.add_argument("--perturb-angle", type=float, default=8.0, help="--perturb: largest turn, degrees")
    parser.add_argument("--seed", type=int, default=0, help="--perturb: seed of the uploads' placement")
    parser.add_argument("--crops-only", action="store_true", help="--perturb: score the crops, skip the inversions")
    args = parser.parse_args(argv)
    if args.crops_only and not args.perturb:
        parser.error("--crops-only goes with --perturb")

    from training.data import load_data
    from training.evaluate import load_config
    from training.metrics import paired_metrics
    from zoo import registry
    from zoo.pipelines import GANInversionPipeline
    from zoo.pipelines.inversion import DEFAULT_STEPS, _to_tensor

    model_dir = Path(registry.resolve(args.model)[0])
    cfg = load_config(model_dir, {"data_dir": args.data_dir, "compute_metrics": False})
    data = load_data(cfg)
    pipe = registry.load_pipeline(args.model, GANInversionPipeline)
    steps = args.steps or DEFAULT_STEPS
    rows = data.heldout_idx[: args.people].tolist()
    if args.perturb:
        return alignment_report(args, cfg, data, pipe, rows, steps)

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


def _fit(image: PIL.Image.Image, side: int) -> PIL.Image.Image:
    """``image`` scaled to fit a ``side`` px square, centred on white (an upload in the picture)."""
    scale = side / max(image.size)
    small = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         PIL.Image.Resampling.LANCZOS)
    cell = PIL.Image.new("RGB", (side, side), "white")
    cell.paste(small, ((side - small.width) // 2, (side - small.height) // 2))
    return cell


def alignment_report(args, cfg, data, pipe, rows: list[int], steps: int) -> int:
    """``--perturb``: the held-out photos as uploads framed unlike the training photos, inverted from
    their centre square and from their aligned crop (see the module docstring)."""
    from training.data import _local_source
    from training.metrics import paired_metrics
    from zoo.face_align import align_face, centre_square
    from zoo.images import enlarge, image_grid
    from zoo.pipelines.inversion import _to_tensor, square_crop

    resolution = pipe.generator.config.resolution
    source = _local_source(Path(args.data_dir))
    key = source.image_key(cfg.image_column)
    names = ["photo as trained", "photo, aligned", "upload, centre square (--no-align)", "upload, aligned"]
    crops: dict[str, list[PIL.Image.Image]] = {name: [] for name in names}
    uploads, found, eyes, turn_errors = [], 0, 0, []
    for row in rows:
        truth = PIL.Image.fromarray(data.images[row].permute(1, 2, 0).numpy())  # as the model was trained on it
        photo = source.open_image(source.rows[row][key]).convert("RGB")
        upload, angle = perturb(photo, np.random.default_rng([args.seed, row]), args.perturb_scale, args.perturb_angle)
        aligned = align_face(upload)
        found, eyes = found + aligned.face_found, eyes + aligned.eyes_found
        if aligned.eyes_found:  # PIL turned it `angle` counter-clockwise: its eye line reads -angle clockwise
            turn_errors.append(abs(aligned.angle + angle))
        uploads.append(upload)
        for name, image in zip(names, [truth, align_face(photo).image, centre_square(upload), aligned.image]):
            crops[name].append(square_crop(image, resolution))
    truth = torch.cat([_to_tensor(image) for image in crops[names[0]]])
    print(f"## Face alignment of uploads: {args.model}, {len(rows)} held-out photos, each shrunk to "
          f"{args.perturb_scale:g}, turned by up to {args.perturb_angle:g} degrees and pasted off-centre "
          f"(seed {args.seed}); {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}")
    print()
    turn = f"; eye-line error after levelling: median {statistics.median(turn_errors):.1f} degrees" if turn_errors else ""
    print(f"face found in {found}/{len(rows)} uploads, both eyes in {eyes}{turn}")
    print()
    crop_l1 = {name: paired_metrics(torch.cat([_to_tensor(c) for c in crops[name]]), truth)["l1"] for name in names}
    if args.crops_only:
        print("| square given to the model | crop vs photo L1 |")
        print("|---|---:|")
        for name in names:
            print(f"| {name} | {crop_l1[name]:.4f} |")
        return 0
    print("| square given to the model | crop vs photo L1 | reconstruction vs crop: L1 | SSIM "
          "| reconstruction vs photo: L1 | SSIM |")
    print("|---|---:|---:|---:|---:|---:|")
    seconds, pictures = [], {}
    for name in names:
        recons = []
        for crop in crops[name]:
            start = time.perf_counter()
            recons.append(pipe(crop, num_steps=steps).image)
            seconds.append(time.perf_counter() - start)
        pictures[name] = recons
        recon = torch.cat([_to_tensor(image) for image in recons])
        given = torch.cat([_to_tensor(image) for image in crops[name]])
        own, vs_photo = paired_metrics(recon, given), paired_metrics(recon, truth)
        print(f"| {name} | {crop_l1[name]:.4f} | {own['l1']:.4f} | {own['ssim']:.3f} "
              f"| {vs_photo['l1']:.4f} | {vs_photo['ssim']:.3f} |", flush=True)
    print()
    print(f"{steps} steps; seconds per photo: median {statistics.median(seconds):.1f}, max {max(seconds):.1f}")
    # Columns: people. Rows: upload, its centre square, reconstruction, aligned crop, reconstruction, photo.
    shown = min(8, len(rows))
    cells = [_fit(upload, resolution) for upload in uploads[:shown]]
    for name in names[2:]:
        cells += crops[name][:shown] + pictures[name][:shown]
    cells += crops[names[0]][:shown]
    out_path = ROOT / "docs" / "images" / "inversion_alignment.png"
    enlarge(image_grid(cells, cols=shown, pad=2), 512).save(out_path)
    print(f"picture (columns: the first {shown} people; rows: upload, its centre square, reconstruction, aligned crop, "
          f"reconstruction, photo as trained): {out_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
