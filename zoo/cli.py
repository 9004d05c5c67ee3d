"""``python -m zoo``: list models and run every task from the shell, writing PNG/GIF/MP4 files.

Examples::

    python -m zoo list
    python -m zoo sample --model faces-projected-64 --seed 0 --num 16 --psi 0.7 --out faces.png
    python -m zoo interpolate --model faces-style-64 --seed 1 --seed-b 2 --frames 24 --out walk.gif
    python -m zoo style-mix --model faces-style-64 --seed 1 --seed-b 2 --range coarse --out mix.png
    python -m zoo sketch2photo --model sketch2face-64 --image drawing.png --out photo.png
    python -m zoo text2image --model text2face-64 --prompt "a smiling woman in her twenties" --out face.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from zoo.images import image_grid
from zoo.limits import INTERPOLATION_METHODS, LATENT_SPACES, STYLE_RANGE_NAMES

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
ANIMATION_SUFFIXES = {".gif", ".mp4"}


def _writable(out: Path) -> Path:
    """Create the parent folder, or fail with a message instead of an OSError traceback."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SystemExit(f"error: cannot write --out {out}: {err.strerror or err}")
    if out.is_dir():
        raise SystemExit(f"error: cannot write --out {out}: it is a directory")
    return out


def _save_image(image, out: Path) -> None:
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise SystemExit(f"error: --out must end in one of {sorted(IMAGE_SUFFIXES)}, got {out.name}")
    try:
        image.save(_writable(out))
    except OSError as err:
        raise SystemExit(f"error: cannot write --out {out}: {err}")
    print(out)


def _check_device(device: str) -> str:
    import torch

    try:
        parsed = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"--device {device!r} is not a device name (use cpu, cuda, cuda:0, mps): {err}") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: CUDA is not available in this torch build or machine; use --device cpu")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {device}: MPS is not available here; use --device cpu")
    return device


def _load(args: argparse.Namespace, pipeline_class=None):
    from zoo.registry import load_pipeline

    return load_pipeline(args.model, pipeline_class, args.revision, _check_device(args.device))


def cmd_list(args: argparse.Namespace) -> None:
    from zoo.registry import EXTRA_MODELS_ENV, extra_models, list_models

    entries = list_models(args.task)
    for entry in entries:
        state = "ready" if entry.available else "missing"
        print(f"{entry.name:20s} {entry.task:32s} {entry.family:9s} {state:8s} {entry.description}")
    if args.task is None:  # their task is only known once they are fetched
        for key in extra_models():
            if key not in {e.name for e in entries}:
                print(f"{key:20s} {'(read when loaded)':32s} {'-':9s} {'extra':8s} from ${EXTRA_MODELS_ENV}")


def cmd_sample(args: argparse.Namespace) -> None:
    from zoo.pipelines import GANSamplingPipeline

    pipe = _load(args, GANSamplingPipeline)
    if args.onnx is None:
        images = pipe(batch_size=args.num, seed=args.seed, truncation_psi=args.psi, class_labels=args.class_label).images
    else:  # the same latents through onnxruntime (the file from `export-onnx`)
        from zoo.onnx_export import sample_with_onnx

        images = sample_with_onnx(pipe, args.onnx, args.seed, args.num, args.psi, args.class_label)
    _save_image(image_grid(images), args.out)


def cmd_project(args: argparse.Namespace) -> None:
    """Your photo in the model's latent space: target | reconstruction side by side, plus ``w``.

    The photo is first framed like the training photos (:func:`zoo.face_align.align_face`, as the app
    does); ``--no-align`` takes its centre square instead."""
    from safetensors.torch import save_file

    from zoo.face_align import align_face
    from zoo.pipelines import GANInversionPipeline

    framed = align_face(_read_image(args.image), align=not args.no_align)
    print(f"{args.image}: {framed.message}", file=sys.stderr)
    pipe = _load(args, GANInversionPipeline)
    out = pipe(framed.image, num_steps=args.steps)
    _save_image(image_grid([out.target, out.image], cols=2), args.out)
    if args.w_out:
        save_file({"w": out.w.contiguous()}, str(_writable(args.w_out)))
        print(args.w_out)


def cmd_export_onnx(args: argparse.Namespace) -> None:
    from zoo.onnx_export import export_onnx

    pipe = _load(args)
    print(export_onnx(pipe.generator, _writable(args.out)))


def cmd_interpolate(args: argparse.Namespace) -> None:
    from zoo.pipelines import GANInterpolationPipeline, write_gif, write_mp4

    pipe = _load(args, GANInterpolationPipeline)
    frames = pipe(seed_a=args.seed, seed_b=args.seed_b, num_frames=args.frames, method=args.method,
                  space=args.space, truncation_psi=args.psi, class_labels=args.class_label).images
    suffix = args.out.suffix.lower()
    if suffix in ANIMATION_SUFFIXES:
        writer = write_gif if suffix == ".gif" else write_mp4
        try:
            print(writer(frames, _writable(args.out), fps=args.fps))
        except OSError as err:
            raise SystemExit(f"error: cannot write --out {args.out}: {err}")
    else:
        _save_image(image_grid(frames, cols=len(frames)), args.out)


def cmd_style_mix(args: argparse.Namespace) -> None:
    from zoo.pipelines import GANStyleMixingPipeline

    pipe = _load(args, GANStyleMixingPipeline)
    images = pipe(seed_a=args.seed, seed_b=args.seed_b, style_range=args.range, truncation_psi=args.psi).images
    _save_image(image_grid(images, cols=len(images)), args.out)


def _read_image(path: Path):
    """The image at ``path``, or an error that names the file instead of a traceback."""
    import PIL.Image

    try:
        image = PIL.Image.open(path)
        image.load()
    except (OSError, SyntaxError, ValueError, PIL.UnidentifiedImageError, PIL.Image.DecompressionBombError) as err:
        raise SystemExit(f"error: cannot read {path} as an image: {err}")
    return image


def cmd_sketch2photo(args: argparse.Namespace) -> None:
    from zoo.pipelines import Sketch2PhotoPipeline

    image = _read_image(args.image)
    pipe = _load(args, Sketch2PhotoPipeline)
    photo = pipe(image, from_photo=args.from_photo).images[0]
    _save_image(photo, args.out)


def cmd_text2image(args: argparse.Namespace) -> None:
    from zoo.pipelines import Text2ImagePipeline

    pipe = _load(args, Text2ImagePipeline)
    images = pipe(args.prompt, num_images_per_prompt=args.num, seed=args.seed).images
    _save_image(image_grid(images), args.out)


def _fps(value: str) -> int:
    fps = int(value)
    if not 1 <= fps <= 60:
        raise argparse.ArgumentTypeError(f"fps must be between 1 and 60, got {fps}")
    return fps


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m zoo", description="GAN Zoo: sample, interpolate and translate images")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list registered models")
    p.add_argument("--task", default=None)
    p.set_defaults(func=cmd_list)

    def common(p: argparse.ArgumentParser, default_model: str, out: str) -> None:
        p.add_argument("--model", default=default_model, help="registry name, checkpoint directory or Hub repo id")
        p.add_argument("--revision", default=None, help="Hub branch, tag or commit")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--device", default="cpu")
        p.add_argument("--out", type=Path, default=Path(out))

    p = sub.add_parser("sample", help="images from noise")
    common(p, "faces-projected-64", "sample.png")
    p.add_argument("--num", type=int, default=1, help="number of images (seeds seed..seed+num-1), saved as a grid")
    p.add_argument("--psi", type=float, default=1.0, help="truncation psi in [0, 1]")
    p.add_argument("--class-label", type=int, default=None)
    p.add_argument("--onnx", type=Path, default=None, help="run this ONNX export (export-onnx) with onnxruntime")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("project", help="find the latent of your photo (GAN inversion); saves photo | reconstruction")
    common(p, "faces-style-64", "projection.png")
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--steps", type=int, default=60, help="optimisation steps (60: a few seconds at 64 px on a CPU)")
    p.add_argument("--w-out", type=Path, default=None, help="also save the latent w as safetensors")
    p.add_argument("--no-align", action="store_true",
                   help="use the photo's centre square instead of finding the face and framing it like the training photos")
    p.set_defaults(func=cmd_project)

    p = sub.add_parser("export-onnx", help="the generator as an ONNX graph (dynamic batch; mapping and truncation inside)")
    common(p, "faces-projected-64", "model.onnx")
    p.set_defaults(func=cmd_export_onnx)

    p = sub.add_parser("interpolate", help="latent walk between two seeds (.gif, .mp4 or an image strip)")
    common(p, "faces-style-64", "interpolation.gif")
    p.add_argument("--seed-b", type=int, default=1)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--method", choices=INTERPOLATION_METHODS, default="slerp")
    p.add_argument("--space", choices=LATENT_SPACES, default="z")
    p.add_argument("--psi", type=float, default=1.0)
    p.add_argument("--fps", type=_fps, default=10, help="frames per second, 1..60")
    p.add_argument("--class-label", type=int, default=None)
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("style-mix", help="seed A with a layer range's styles from seed B (StyleGAN family)")
    common(p, "faces-style-64", "style_mix.png")
    p.add_argument("--seed-b", type=int, default=1)
    p.add_argument("--range", choices=STYLE_RANGE_NAMES, default="coarse")
    p.add_argument("--psi", type=float, default=1.0)
    p.set_defaults(func=cmd_style_mix)

    p = sub.add_parser("sketch2photo", help="line drawing (or photo with --from-photo) -> photo")
    common(p, "sketch2face-64", "photo.png")
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--from-photo", action="store_true", help="extract the line drawing from a photo first")
    p.set_defaults(func=cmd_sketch2photo)

    p = sub.add_parser("text2image", help="prompt -> images")
    common(p, "text2face-64", "text2image.png")
    p.add_argument("--prompt", required=True)
    p.add_argument("--num", type=int, default=1)
    p.set_defaults(func=cmd_text2image)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, KeyError, FileNotFoundError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0
