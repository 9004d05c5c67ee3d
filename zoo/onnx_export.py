"""Export any GAN Zoo generator to ONNX: dynamic batch, mapping network and truncation inside the graph.

Why: onnxruntime runs these small generators with less overhead than eager PyTorch on a CPU, and an
ONNX file runs where PyTorch is not installed. The graph takes exactly what the pipelines feed the
generator (latents drawn from the seeds by :func:`zoo.pipelines.base.draw_latents`), so the same
seed gives the same image up to float rounding (tested at 1e-4).

Inputs per task (all float32 unless noted, batch dimension dynamic):

* noise (DCGAN, StyleGAN): ``z [B, latent_dim]``, ``truncation_psi [B]``, and for class-conditional
  models ``class_labels [B]`` (int64);
* sketch (pix2pix): ``sketch [B, 3, R, R]`` in ``[-1, 1]`` (what ``Sketch2PhotoPipeline`` prepares);
* text: ``z [B, latent_dim]``, ``text_embeds [B, text_embed_dim]`` (the sentence encoder stays
  outside), ``ca_noise [B, condition_dim]``.

The output is ``images [B, 3, R, R]`` in ``[-1, 1]``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
import torch
from torch import nn

from zoo import families
from zoo.latents import latents_from_seed, stream_seed

if TYPE_CHECKING:
    from PIL import Image

    from zoo.pipelines import GANSamplingPipeline

#: Where :func:`cached_export` keeps the graphs it writes (override with ``$GAN_ZOO_ONNX_CACHE``).
DEFAULT_CACHE = Path.home() / ".cache" / "gan_zoo" / "onnx"


class _NoiseGraph(nn.Module):
    """``(z, psi[, labels]) -> images``: the mapping network and truncation, then synthesis."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator
        self.conditional = bool(getattr(generator.config, "num_classes", 0))
        self.style_based = families.family_of_generator(type(generator).__name__).style_mixing

    def forward(self, z: torch.Tensor, truncation_psi: torch.Tensor, class_labels: Optional[torch.Tensor] = None):
        labels = class_labels if self.conditional else None
        w = self.generator.map(z, labels, 1.0)
        mean = self.generator.mean_w(labels)
        w = mean + truncation_psi.view(-1, 1, 1).to(w.dtype) * (w - mean)
        if self.style_based:  # fixed noise, as the pipelines use in eval mode
            return self.generator.synthesize(w, labels, noise_mode="const")
        return self.generator.synthesize(w, labels)


class _TextGraph(nn.Module):
    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator
        self.style_based = bool(getattr(generator, "style_based", False))

    def forward(self, z: torch.Tensor, text_embeds: torch.Tensor, ca_noise: torch.Tensor) -> torch.Tensor:
        if self.style_based:  # fixed noise, as the pipeline uses in eval mode
            return self.generator(z, text_embeds, ca_noise=ca_noise, noise_mode="const")
        return self.generator(z, text_embeds, ca_noise=ca_noise)


def example_inputs(generator: nn.Module, seeds: list[int], truncation_psi: float = 1.0,
                   class_label: Optional[int] = None) -> dict[str, np.ndarray]:
    """The graph's inputs for ``seeds``, drawn exactly as the pipelines draw them."""
    config, n = generator.config, len(seeds)
    task = families.family_of_generator(type(generator).__name__).task
    if task == families.IMAGE_TO_IMAGE:
        gen = torch.Generator().manual_seed(seeds[0])
        return {"sketch": (torch.rand(n, 3, config.resolution, config.resolution, generator=gen) * 2 - 1).numpy()}
    z = torch.cat([latents_from_seed(s, config.latent_dim) for s in seeds]).numpy()
    if task == families.TEXT_TO_IMAGE:
        gen = torch.Generator().manual_seed(seeds[0])
        return {"z": z, "text_embeds": torch.randn(n, config.text_embed_dim, generator=gen).numpy(),
                "ca_noise": torch.cat([latents_from_seed(stream_seed(s, 1), config.condition_dim) for s in seeds]).numpy()}
    inputs = {"z": z, "truncation_psi": np.full((n,), truncation_psi, np.float32)}
    if getattr(config, "num_classes", 0):
        inputs["class_labels"] = np.full((n,), class_label or 0, np.int64)
    return inputs


def graph_of(generator: nn.Module) -> nn.Module:
    task = families.family_of_generator(type(generator).__name__).task
    if task == families.UNCONDITIONAL:
        return _NoiseGraph(generator)
    if task == families.TEXT_TO_IMAGE:
        return _TextGraph(generator)
    return generator  # pix2pix: sketch -> photo already


@torch.no_grad()
def export_onnx(generator: nn.Module, out: str | Path) -> Path:
    """Write ``generator`` as an ONNX graph with a dynamic batch dimension; returns the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    graph = graph_of(generator.float())
    inputs = example_inputs(generator, [0, 1])
    names, args = list(inputs), tuple(torch.from_numpy(v) for v in inputs.values())
    batch = torch.export.Dim("batch", min=1, max=1024)
    was_training = generator.training
    # The style-based generator's fused modulated conv is a grouped conv whose group count is the batch
    # size, which ONNX cannot express; train mode selects its equivalent unfused form (no dropout,
    # BatchNorm or noise depends on the mode here: noise is passed as "const").
    style_based = getattr(graph, "style_based", False)
    generator.train(style_based)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("torch.onnx").setLevel(logging.ERROR)
            torch.onnx.export(graph, args, str(out), input_names=names, output_names=["images"],
                              dynamic_shapes={name: {0: batch} for name in names}, dynamo=True, verbose=False)
    finally:
        generator.train(was_training)
    return out


def run_onnx(path: str | Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """``images [B, 3, R, R]`` in ``[-1, 1]`` from onnxruntime on the CPU."""
    session = _session(str(path))
    wanted = {i.name for i in session.get_inputs()}
    return session.run(["images"], {k: v for k, v in inputs.items() if k in wanted})[0]


_SESSIONS: dict[tuple[str, int], object] = {}


def _session(path: str):
    """One onnxruntime session per file version: re-exporting to the same path gives a new session."""
    import onnxruntime

    key = (str(Path(path).resolve()), Path(path).stat().st_mtime_ns)
    if key not in _SESSIONS:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        _SESSIONS[key] = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return _SESSIONS[key]


def weights_digest(generator: nn.Module) -> str:
    """A short digest of the generator's config and weights: one ONNX file per exact model version."""
    digest = hashlib.sha256(repr(sorted(dict(generator.config).items())).encode())
    for name, tensor in sorted(generator.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:20]


_EXPORT_LOCK = threading.Lock()


def cached_export(generator: nn.Module, cache_dir: Optional[str | Path] = None) -> Path:
    """The generator's ONNX graph, exported on first use and reused (by weights digest) afterwards.

    Why: exporting takes seconds, running the graph milliseconds; the app's onnxruntime backend
    exports each model once, however many requests arrive at the same time (one lock).
    """
    root = Path(cache_dir or os.environ.get("GAN_ZOO_ONNX_CACHE") or DEFAULT_CACHE)
    folder = root / f"{type(generator).__name__}-{weights_digest(generator)}"
    with _EXPORT_LOCK:
        if not folder.is_dir():
            # The graph may come with an external-data file next to it: both are written in a scratch
            # folder that is renamed at the end, so no half-written export is ever found and reused.
            root.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
            try:
                export_onnx(generator, scratch / "model.onnx")
                scratch.replace(folder)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    return folder / "model.onnx"


def sample_with_onnx(
    pipe: "GANSamplingPipeline", onnx_path: str | Path, seed: int, num: int, truncation_psi: float = 1.0,
    class_label: Optional[int] = None,
) -> list["Image.Image"]:
    """What ``pipe(batch_size=num, seed=seed, ...)`` returns, computed by onnxruntime from ``onnx_path``."""
    from zoo.limits import check_psi, check_seed_run

    seed = check_seed_run(seed, num)
    pipe.generator.check_class_labels(class_label, 1)  # the pipeline's own errors for a wrong class
    inputs = example_inputs(pipe.generator, list(range(seed, seed + num)), check_psi(truncation_psi), class_label)
    return pipe.postprocess(torch.from_numpy(run_onnx(onnx_path, inputs)), "pil")
