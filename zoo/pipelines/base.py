"""What every GAN Zoo pipeline shares: safe loading, seeding and output conversion.

GAN pipelines are one forward pass, so the diffusers machinery we want is the Hub layout
(``model_index.json`` + component folders + safetensors) and ``VaeImageProcessor.postprocess``,
not schedulers. Loading is funnelled through :meth:`ZooPipeline.from_pretrained` so that a Hub
repo id is fetched with a safetensors-only allow-list and no pickle is ever unpickled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import PIL.Image
import torch
from diffusers import DiffusionPipeline
from diffusers.image_processor import VaeImageProcessor
from safetensors import safe_open

from zoo.latents import latents_from_seed
from zoo.limits import check_seed, check_seed_run

OUTPUT_TYPES = ("pil", "np", "pt")


class ModelLoadError(ValueError):
    """A checkpoint could not be loaded; the message says which file and why."""


def check_output_type(output_type: str) -> str:
    if output_type not in OUTPUT_TYPES:
        raise ValueError(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}")
    return output_type


def _component_classes(path: Path) -> dict[str, type]:
    """Each component's GAN Zoo class, chosen by the class *name* in ``model_index.json``.

    The module an index names is never imported: a published repo names its own generated code
    (``gan_zoo_code``, for diffusers' ``trust_remote_code``), a crafted one could name anything, and
    importing either would run code from the repo. Only GAN Zoo's own model classes are accepted.
    """
    from zoo import families

    index = path / "model_index.json"
    if not index.is_file():
        raise ModelLoadError(f"{path} is not a GAN Zoo pipeline directory: model_index.json is missing")
    try:
        components = json.loads(index.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelLoadError(f"{index} is not valid JSON: {err}") from err
    if not isinstance(components, dict):
        raise ModelLoadError(f"{index} must hold a JSON object, got {type(components).__name__}")
    classes = {}
    for name, spec in components.items():
        if name.startswith("_") or spec is None or (isinstance(spec, list) and spec and spec[0] is None):
            continue
        if not (isinstance(spec, list) and len(spec) == 2 and all(isinstance(s, str) for s in spec)):
            raise ModelLoadError(f"{index}: component {name!r} must be [library, class name], got {spec!r}")
        family = families.family_of_generator(spec[1])
        if family is None:
            raise ModelLoadError(
                f"{index} names component {name!r} of class {spec[0]}.{spec[1]}, which is not a GAN Zoo model "
                "class; GAN Zoo loads only its own classes and never runs code from a model repo"
            )
        classes[name] = families.model_class(family)
    return classes


def _check_safetensors(file: Path) -> set[str]:
    """Open the header only: a truncated or garbled file fails here with its name, not deep inside torch."""
    try:
        with safe_open(str(file), framework="pt") as handle:
            return set(handle.keys())
    except Exception as err:  # safetensors raises its own error types and OSError
        raise ModelLoadError(f"could not load {file}: not a valid safetensors file (truncated or corrupt): {err}") from err


def _check_weights_present(path: Path, classes: dict[str, type]) -> dict[str, set[str]]:
    """Validate the directory before any weights are read; returns each component's tensor names."""
    keys = {}
    for name in classes:
        folder = path / name
        weights = sorted(folder.glob("*.safetensors"))
        if not weights:
            pickles = [p.name for p in folder.glob("*") if p.suffix in {".bin", ".pt", ".pth", ".ckpt", ".pkl"}]
            if pickles:
                raise ModelLoadError(
                    f"{folder} holds only pickle weights {pickles}; GAN Zoo loads safetensors only and refuses "
                    "pickles because unpickling can run arbitrary code"
                )
            raise ModelLoadError(f"{folder} has no .safetensors weights")
        keys[name] = set().union(*(_check_safetensors(w) for w in weights))
    return keys


def _check_keys(path: Path, pipe: DiffusionPipeline, file_keys: dict[str, set[str]]) -> None:
    """diffusers only warns about missing/unexpected tensors and leaves missing ones random; we refuse."""
    for name, stored in file_keys.items():
        module = getattr(pipe, name, None)
        if not isinstance(module, torch.nn.Module):
            continue
        expected = set(module.state_dict().keys())
        missing, unexpected = sorted(expected - stored), sorted(stored - expected)
        if missing or unexpected:
            raise ModelLoadError(
                f"could not load {path / name}: the weights do not match the model config "
                f"(missing tensors: {missing[:5]}{'...' if len(missing) > 5 else ''}; "
                f"unexpected tensors: {unexpected[:5]}{'...' if len(unexpected) > 5 else ''})"
            )


class ZooPipeline(DiffusionPipeline):
    """Base class of the GAN Zoo pipelines (component name ``generator``)."""

    _optional_components: list = []
    image_processor = VaeImageProcessor(do_resize=False, do_normalize=True)

    def __init__(self, generator: torch.nn.Module):
        # Every task is one generator; diffusers reads this signature to know the components.
        super().__init__()
        self.register_modules(generator=generator)

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: Union[str, os.PathLike],
        revision: Optional[str] = None,
        **kwargs: Any,
    ) -> "ZooPipeline":
        """Load from a local directory or a Hub repo id, safetensors only.

        A repo id is resolved through :func:`zoo.hub.resolve_model_dir`, which downloads only
        ``*.json``/``*.safetensors``/card files, so a repo holding pickles cannot slip one in.
        """
        # Bundled weights are stored fp16; CPUs want fp32.
        dtype = kwargs.pop("dtype", None) or kwargs.pop("torch_dtype", None) or torch.float32
        if kwargs:  # diffusers' other loading options (variants, device maps...) do not apply here
            raise TypeError(f"{cls.__name__}.from_pretrained() got unexpected keyword arguments {sorted(kwargs)}; "
                            "it takes revision and dtype (or torch_dtype)")
        from zoo.hub import resolve_model_dir  # local import: hub pulls in network code only when needed

        path = resolve_model_dir(str(pretrained_model_name_or_path), revision=revision)
        classes = _component_classes(path)
        file_keys = _check_weights_present(path, classes)
        components = {}
        for name, model_class in classes.items():
            try:
                components[name] = model_class.from_pretrained(
                    str(path / name), use_safetensors=True, dtype=dtype, low_cpu_mem_usage=False
                )
            except (OSError, EnvironmentError, RuntimeError, ValueError) as err:
                raise ModelLoadError(f"could not load the pipeline in {path}: {err}") from err
        try:
            pipe = cls(**components)
        except TypeError as err:
            raise ModelLoadError(f"{path} does not hold the components {cls.__name__} needs: {err}") from err
        _check_keys(path, pipe, file_keys)
        pipe.set_progress_bar_config(disable=True)
        pipe.generator.eval()
        return pipe

    @property
    def model_device(self) -> torch.device:
        return next(self.generator.parameters()).device

    @property
    def model_dtype(self) -> torch.dtype:
        return next(self.generator.parameters()).dtype

    def postprocess(self, images: torch.Tensor, output_type: str) -> Union[list[PIL.Image.Image], np.ndarray, torch.Tensor]:
        """``[-1, 1]`` tensors -> PIL images, ``[0, 1]`` NHWC numpy, or ``[0, 1]`` NCHW tensors."""
        images = images.detach().float().clamp(-1, 1).cpu()
        return self.image_processor.postprocess(images, output_type=output_type)


def seeds_for_batch(seed: Optional[int], seeds: Optional[Sequence[int]], batch_size: int) -> list[int]:
    """Image ``i`` of a call with ``seed=s`` uses seed ``s + i``, so an image never depends on the batch size."""
    if seeds is not None:
        seeds = [check_seed(s) for s in seeds]
        if not seeds:
            raise ValueError("seeds must not be empty")
        return seeds
    base = 0 if seed is None else check_seed_run(seed, batch_size)
    return [base + i for i in range(batch_size)]


def draw_latents(
    latent_dim: int,
    batch_size: int,
    seed: Optional[int] = None,
    seeds: Optional[Sequence[int]] = None,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """``[B, latent_dim]`` latents: from a caller's ``torch.Generator`` (diffusers style) or one per seed."""
    if generator is not None:
        if seed is not None or seeds is not None:
            raise ValueError("pass either generator or seed/seeds, not both")
        return torch.randn(batch_size, latent_dim, generator=generator, device=generator.device).cpu()
    return torch.cat([latents_from_seed(s, latent_dim) for s in seeds_for_batch(seed, seeds, batch_size)])
