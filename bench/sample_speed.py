"""CPU sampling latency of the GAN Zoo models, next to a DDPM baseline of the same resolution.

Why this exists: the zoo's pitch is "one forward pass instead of fifty". This script puts a number
on it for the machine you are on: ms/image and images/second at batch 1 and batch 16 for each GAN,
and the same for a diffusers ``UNet2DModel`` + ``DDPMScheduler`` sampler run through
``DDPMPipeline``, with the ratio of the two per-image times.

What is measured: the whole pipeline call a user makes (latents or input preprocessing, the
network, conversion to PIL images); the text-to-image row includes the MiniLM prompt encoder. Each
measurement is ``--warmup`` untimed calls, then the median of ``--repeats`` timed calls. Weights do
not change the cost of a forward pass, so random weights (``--tiny``, and always for the DDPM
baseline) time exactly what trained weights would.

Run ``python bench/sample_speed.py --help``; the header of the output repeats the exact command,
torch/diffusers versions and thread counts so a table can be reproduced.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np
import PIL.Image
import torch

#: The sampler of diffusers' ``examples/unconditional_image_generation/train_unconditional.py`` at its
#: default ``--resolution 64`` (the DDPM/``google/ddpm-celebahq-256`` U-Net layout, scaled to 64 px).
DDPM_UNET_CONFIG: dict[str, Any] = {
    "sample_size": 64,
    "in_channels": 3,
    "out_channels": 3,
    "layers_per_block": 2,
    "block_out_channels": (128, 128, 256, 256, 512, 512),
    "down_block_types": ("DownBlock2D", "DownBlock2D", "DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"),
}
DDPM_TRAIN_TIMESTEPS = 1000
PROMPT = "a smiling woman with short dark hair"


@dataclass
class Candidate:
    """One model to time: how to call it at a given batch size."""

    name: str
    family: str
    params: int
    call: Callable[[int], Any]
    note: str = ""
    #: A cheaper call that allocates what ``call`` does (DDPM: one step instead of fifty); default ``call``.
    warmup_call: Optional[Callable[[int], Any]] = None


@dataclass
class Timing:
    name: str
    family: str
    params: int
    batch: int
    seconds_per_call: float  # median over repeats, already scaled to the full step count for DDPM
    note: str = ""

    @property
    def ms_per_image(self) -> float:
        return 1000.0 * self.seconds_per_call / self.batch

    @property
    def images_per_second(self) -> float:
        return self.batch / self.seconds_per_call


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python bench/sample_speed.py",
        description="CPU sampling latency (ms/image, images/s) of GAN Zoo models vs a 64 px DDPM sampler.",
    )
    parser.add_argument("--model", action="append", default=None,
                        help="registry name, checkpoint directory or Hub repo id (repeatable); "
                             "default: every available registry model")
    parser.add_argument("--tiny", action="store_true",
                        help="time randomly initialised models with the bundled architectures instead "
                             "(DCGAN/StyleGAN/pix2pix/textgan at 64 px); used automatically when no model is available")
    parser.add_argument("--quick", action="store_true",
                        help="fast smoke run: 1 warmup, 1 repeat, DDPM timed over 2 steps and extrapolated")
    parser.add_argument("--batch-sizes", type=positive_int, nargs="+", default=None, help="default: 1 16")
    parser.add_argument("--warmup", type=int, default=None, help="untimed calls first (default 2)")
    parser.add_argument("--repeats", type=positive_int, default=None, help="timed calls; the median is reported (default 5)")
    parser.add_argument("--threads", type=positive_int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--no-ddpm", action="store_true", help="skip the DDPM baseline")
    parser.add_argument("--onnx", action="store_true",
                        help="also time each noise model exported to ONNX and run with onnxruntime (registry models)")
    parser.add_argument("--ddpm-steps", type=positive_int, default=50, help="DDPM sampling steps reported (default 50)")
    parser.add_argument("--ddpm-timed-steps", type=positive_int, default=None,
                        help="steps actually run per timed DDPM call; fewer than --ddpm-steps is extrapolated "
                             "linearly (every step is one U-Net call of the same cost). Default: all of them")
    parser.add_argument("--ddpm-repeats", type=positive_int, default=1,
                        help="timed DDPM calls (default 1: a 50-step call already averages 50 U-Net passes)")
    return parser


def resolve_settings(args: argparse.Namespace) -> argparse.Namespace:
    """Fill defaults that depend on ``--quick`` so the header shows what actually ran."""
    args.batch_sizes = args.batch_sizes or [1, 16]
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    if args.warmup < 0:
        raise SystemExit("error: --warmup must be >= 0")
    args.repeats = args.repeats or (1 if args.quick else 5)
    if args.ddpm_timed_steps is None:
        args.ddpm_timed_steps = min(2, args.ddpm_steps) if args.quick else args.ddpm_steps
    args.ddpm_timed_steps = min(args.ddpm_timed_steps, args.ddpm_steps)
    return args


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def sketch_batch(batch: int, resolution: int = 64) -> list[PIL.Image.Image]:
    """Line drawings like the app's canvas sends (black strokes on white), one per image."""
    sketches = []
    for i in range(batch):
        canvas = np.full((resolution, resolution), 255, dtype=np.uint8)
        canvas[resolution // 4 + i % 8, 8:-8] = 0
        canvas[8:-8, resolution // 2] = 0
        sketches.append(PIL.Image.fromarray(canvas).convert("RGB"))
    return sketches


def make_call(pipe: Any, family: str) -> Callable[[int], Any]:
    """The call a user makes for ``batch`` images of this pipeline's task."""
    from zoo.pipelines import GANSamplingPipeline, Sketch2PhotoPipeline, Text2ImagePipeline

    if isinstance(pipe, GANSamplingPipeline):
        return lambda batch: pipe(batch_size=batch, seed=0).images
    if isinstance(pipe, Sketch2PhotoPipeline):
        resolution = pipe.generator.config.resolution
        return lambda batch: pipe(sketch_batch(batch, resolution)).images
    if isinstance(pipe, Text2ImagePipeline):
        return lambda batch: pipe(PROMPT, num_images_per_prompt=batch, seed=0).images
    raise ValueError(f"no benchmark call for {type(pipe).__name__} ({family})")


def onnx_candidate(name: str, pipe: Any, family: str, folder: str) -> Candidate:
    """The same call through onnxruntime: the generator exported by ``python -m zoo export-onnx``'s code,
    the same latents and the same PIL conversion, so the rows differ only in the runtime."""
    from zoo.onnx_export import example_inputs, export_onnx, run_onnx

    path = export_onnx(pipe.generator, os.path.join(folder, f"{name.split()[0]}.onnx"))

    def call(batch: int) -> Any:
        inputs = example_inputs(pipe.generator, list(range(batch)))
        return pipe.postprocess(torch.from_numpy(run_onnx(path, inputs)), "pil")

    return Candidate(f"{name} (onnxruntime)", family, count_params(pipe.generator), call, "same latents and PIL output")


def random_init_candidates() -> list[Candidate]:
    """Randomly initialised generators with the bundled models' architectures (speed does not depend on weights)."""
    from zoo.models.dcgan import DCGANGenerator
    from zoo.models.pix2pix import UNetGenerator
    from zoo.models.stylegan import StyleGANGenerator
    from zoo.models.textgan import TextConditionalGenerator
    from zoo.pipelines import GANSamplingPipeline, Sketch2PhotoPipeline, Text2ImagePipeline

    torch.manual_seed(0)
    specs = [
        ("dcgan-64 (random)", "dcgan", GANSamplingPipeline, DCGANGenerator(resolution=64, latent_dim=128, base_channels=64)),
        ("stylegan-64 (random)", "stylegan", GANSamplingPipeline, StyleGANGenerator(resolution=64)),
        ("pix2pix-64 (random)", "pix2pix", Sketch2PhotoPipeline, UNetGenerator(resolution=64, base_channels=64)),
        ("textgan-64 (random)", "textgan", Text2ImagePipeline, TextConditionalGenerator(resolution=64)),
    ]
    candidates = []
    for name, family, pipeline_class, generator in specs:
        pipe = pipeline_class(generator=generator.eval())
        pipe.set_progress_bar_config(disable=True)
        note = "incl. MiniLM prompt encoder; 1 prompt x B images" if family == "textgan" else ""
        candidates.append(Candidate(name, family, count_params(generator), make_call(pipe, family), note))
    return candidates


def registry_candidates(names: Sequence[str], onnx_folder: Optional[str] = None) -> list[Candidate]:
    """The named models; with ``onnx_folder``, each noise model also through onnxruntime."""
    from zoo.pipelines import GANSamplingPipeline
    from zoo.registry import load_pipeline

    candidates = []
    for name in names:
        pipe = load_pipeline(name)
        family = type(pipe.generator).__name__
        note = "incl. MiniLM prompt encoder; 1 prompt x B images" if "Text" in family else ""
        candidates.append(Candidate(name, family, count_params(pipe.generator), make_call(pipe, family), note))
        if onnx_folder and isinstance(pipe, GANSamplingPipeline):
            candidates.append(onnx_candidate(name, pipe, family, onnx_folder))
    return candidates


def ddpm_candidate(steps: int, timed_steps: int) -> Candidate:
    """A DDPMPipeline with the train_unconditional.py 64 px U-Net (random weights) and a 1000-step DDPMScheduler.

    The call runs ``timed_steps`` steps (the caller scales the time to ``steps``); the warmup call
    runs one step, which allocates what a full run does at a fraction of the cost.
    """
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(**DDPM_UNET_CONFIG).eval()
    pipe = DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=DDPM_TRAIN_TIMESTEPS))
    pipe.set_progress_bar_config(disable=True)

    def run(batch: int, num_steps: int) -> Any:
        generator = torch.Generator().manual_seed(0)
        return pipe(batch_size=batch, generator=generator, num_inference_steps=num_steps, output_type="pil").images

    scale = steps / timed_steps
    note = f"{steps} steps" + (f", extrapolated x{scale:g} from {timed_steps} timed steps" if timed_steps < steps else "")
    return Candidate(f"DDPM UNet2DModel 64px ({steps} steps)", "ddpm", count_params(unet),
                     lambda batch: run(batch, timed_steps), note, warmup_call=lambda batch: run(batch, 1))


def time_calls(candidate: Candidate, batch: int, warmup: int, repeats: int) -> float:
    """Median wall time of ``repeats`` calls after ``warmup`` untimed ones (the first calls pay for allocation)."""
    for _ in range(warmup):
        (candidate.warmup_call or candidate.call)(batch)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        candidate.call(batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    """The 1/5/15-minute load, plus a warning when other work competes for the cores.

    Why: on a shared 2-core box a concurrent test run slowed the same DCGAN call 70-fold (OpenMP
    threads fighting for cores), so a table must say when it was taken on a busy machine.
    """
    try:
        loads = os.getloadavg()
    except OSError:
        return "n/a"
    text = " ".join(f"{v:.2f}" for v in loads)
    if loads[0] >= 0.5 * (os.cpu_count() or 1):
        text += " (WARNING: the machine is busy; numbers are inflated and noisy, prefer an idle machine)"
    return text


def header(args: argparse.Namespace, argv: Sequence[str], source: str) -> str:
    import diffusers

    command = shlex.join(["python", "bench/sample_speed.py", *argv])
    return "\n".join([
        "## GAN Zoo sampling speed (CPU)",
        "",
        f"- command: `{command}`",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- torch {torch.__version__}, diffusers {diffusers.__version__}, python {platform.python_version()}",
        f"- threads: torch.get_num_threads()={torch.get_num_threads()}, "
        f"interop={torch.get_num_interop_threads()}, os.cpu_count()={os.cpu_count()}",
        f"- cpu: {cpu_name()}; load average at start: {load_average()}",
        f"- models: {source}",
        f"- timing: {args.warmup} warmup call(s), median of {args.repeats} timed call(s) per cell; "
        "the full pipeline call (latents/preprocessing, network, PIL output)",
    ])


def render_table(timings: Sequence[Timing], ddpm: dict[int, Timing]) -> str:
    """One row per (model, batch); the last column is DDPM's per-image time over this model's at the same batch."""
    lines = [
        "| model | family | params (M) | batch | ms/image | images/s | DDPM / this (per image) | note |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for t in timings:
        base = ddpm.get(t.batch)
        ratio = "-" if base is None or t.family == "ddpm" else f"{base.ms_per_image / t.ms_per_image:,.0f}x"
        lines.append(
            f"| {t.name} | {t.family} | {t.params / 1e6:.2f} | {t.batch} | {t.ms_per_image:,.2f} | "
            f"{t.images_per_second:,.2f} | {ratio} | {t.note} |"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = resolve_settings(build_parser().parse_args(argv))
    if args.threads:
        torch.set_num_threads(args.threads)

    import tempfile

    onnx_folder = tempfile.mkdtemp(prefix="gan_zoo_onnx_") if args.onnx else None
    if args.model:
        source, candidates = "given: " + ", ".join(args.model), registry_candidates(args.model, onnx_folder)
    else:
        from zoo.registry import list_models

        available = [entry.name for entry in list_models(available_only=True)]
        if available and not args.tiny:
            source, candidates = "registry: " + ", ".join(available), registry_candidates(available, onnx_folder)
        else:
            why = "--tiny" if args.tiny else "no registry model has its weights here, so as with --tiny"
            source = (f"{why}: the bundled architectures, randomly initialised (DCGAN 64px latent 128 base 64; "
                      "StyleGAN 64px defaults; pix2pix 64px base 64; textgan 64px defaults)")
            candidates = random_init_candidates()

    print(header(args, argv, source))
    if not args.no_ddpm:
        print(f"- baseline: diffusers DDPMPipeline + DDPMScheduler(num_train_timesteps={DDPM_TRAIN_TIMESTEPS}), "
              f"{args.ddpm_steps} inference steps, UNet2DModel with the config of diffusers' "
              "examples/unconditional_image_generation/train_unconditional.py at resolution 64 "
              "(block_out_channels=(128, 128, 256, 256, 512, 512), layers_per_block=2, attention at 4 px), "
              f"random weights (timing only); {args.ddpm_repeats} timed call(s) after a 1-step warmup, "
              + (f"each running {args.ddpm_timed_steps} steps, scaled to {args.ddpm_steps}"
                 if args.ddpm_timed_steps < args.ddpm_steps else "each a full sampling run"))
    print()
    sys.stdout.flush()

    timings: list[Timing] = []
    for candidate in candidates:
        for batch in args.batch_sizes:
            seconds = time_calls(candidate, batch, args.warmup, args.repeats)
            timings.append(Timing(candidate.name, candidate.family, candidate.params, batch, seconds, candidate.note))

    ddpm: dict[int, Timing] = {}
    if not args.no_ddpm:
        baseline = ddpm_candidate(args.ddpm_steps, args.ddpm_timed_steps)
        scale = args.ddpm_steps / args.ddpm_timed_steps
        for batch in args.batch_sizes:
            seconds = time_calls(baseline, batch, warmup=1, repeats=args.ddpm_repeats) * scale
            ddpm[batch] = Timing(baseline.name, "ddpm", baseline.params, batch, seconds, baseline.note)
        timings.extend(ddpm[b] for b in args.batch_sizes)

    print(render_table(timings, ddpm))
    print()
    print(f"load average at end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
