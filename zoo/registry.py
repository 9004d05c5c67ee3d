"""Named models: what the app and CLI offer by default, and how any other model is resolved.

A name resolves to a bundled checkpoint directory (shipped in ``zoo/pretrained/``, so the app
works offline) or to a Hub repo id. Anything that is not a registered name is tried as a local
directory, then as a Hub repo id, so ``--model org/name`` works without registering it.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence, Type

import torch

from zoo import families
from zoo.pipelines import ZooPipeline

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


def pipeline_class(name: str) -> Type[ZooPipeline]:
    """A ``zoo.pipelines`` class by name (the table in :mod:`zoo.families` names them)."""
    import zoo.pipelines

    return getattr(zoo.pipelines, name)


def task_pipeline(task: str) -> Type[ZooPipeline]:
    """The pipeline class a checkpoint of ``task`` is saved as."""
    return pipeline_class(families.task(task).pipeline_class)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str
    family: str
    source: str  # a bundled directory name under zoo/pretrained, or a Hub repo id
    description: str
    revision: Optional[str] = None

    @property
    def is_bundled(self) -> bool:
        return "/" not in self.source

    @property
    def location(self) -> str:
        return str(PRETRAINED_DIR / self.source) if self.is_bundled else self.source

    @property
    def available(self) -> bool:
        """Bundled weights may be missing in a partial checkout; Hub entries are assumed reachable."""
        return not self.is_bundled or (PRETRAINED_DIR / self.source / "model_index.json").is_file()


_REGISTRY: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    families.task(entry.task)  # a clear error for an unknown task
    if entry.family != "unknown":
        families.family(entry.family)
    _REGISTRY[entry.name] = entry
    return entry


# Menu order; the first model of a task is the app's default for it. faces-style-64 leads the
# noise models because it covers the real faces best (recall 0.15 against 0.07 for faces-fastgan-64
# and 0.00 for faces-projected-64, README table 1) and has truncation in w and style mixing;
# faces-fastgan-64 follows, with the best KID (0.018) and precision (0.30) of the three.
for _name, _family, _description in (
    ("faces-style-64", "stylegan", "StyleGAN-style generator, 64x64 faces, truncation and style mixing"),
    ("faces-fastgan-64", "fastgan",
     "FastGAN-style generator (skip-layer excitation) trained against a projected discriminator, 64x64 faces"),
    ("faces-projected-64", "dcgan",
     "DCGAN generator trained against a projected (frozen EfficientNet) discriminator, 64x64 faces"),
    ("faces-expression-64", "stylegan",
     "Class-conditional StyleGAN-style generator (neutral / smiling) against a projected discriminator, 64x64 faces"),
    ("sketch2face-64", "pix2pix", "pix2pix U-Net: line drawing -> face photo, 64x64"),
    ("text2face-64", "textgan",
     "Text-to-face: StyleGAN-style synthesis conditioned on the offline all-MiniLM-L6-v2 encoder, 64x64"),
):
    register(ModelEntry(_name, families.family(_family).task, _family, _name, _description))


#: Environment variable naming extra models (the same syntax as ``models.txt``).
EXTRA_MODELS_ENV = "GAN_ZOO_MODELS"


def parse_model_list(text: str) -> list[str]:
    """The one syntax for lists of model ids: separated by commas, spaces or new lines; ``#`` starts a comment."""
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return [item for line in lines for item in line.replace(",", " ").split()]


def extra_models(
    flags: Sequence[str] = (), models_file: Optional[str | os.PathLike] = None, environ: Optional[Mapping[str, str]] = None
) -> list[str]:
    """Every extra model the user asked for, each once: ``models_file`` (a Space's ``models.txt``), then
    ``$GAN_ZOO_MODELS``, then command-line flags. A missing file adds nothing."""
    environ = os.environ if environ is None else environ
    text = Path(models_file).read_text() if models_file is not None and Path(models_file).is_file() else ""
    found = parse_model_list(text) + parse_model_list(environ.get(EXTRA_MODELS_ENV, ""))
    found += [item for flag in flags for item in parse_model_list(str(flag))]
    return list(dict.fromkeys(found))


def list_models(task: Optional[str] = None, available_only: bool = False) -> list[ModelEntry]:
    return [e for e in _REGISTRY.values() if (task is None or e.task == task) and (e.available or not available_only)]


def get_entry(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}") from None


def default_model(task: str) -> Optional[ModelEntry]:
    """The first available registered model for a task (bundled models come first)."""
    return next(iter(list_models(task, available_only=True)), None)


def resolve(name_or_path: str) -> tuple[str, Optional[str]]:
    """A registry name, a local checkpoint directory, or a Hub repo id (``org/name[@revision]``) -> (location, revision)."""
    if name_or_path in _REGISTRY:
        entry = _REGISTRY[name_or_path]
        if not entry.available:
            raise FileNotFoundError(
                f"model {entry.name!r} is registered but its bundled weights are missing at {entry.location}"
            )
        return entry.location, entry.revision
    if Path(name_or_path).is_dir():
        return name_or_path, None
    from zoo.hub import split_revision

    repo_id, revision = split_revision(name_or_path)
    parts = repo_id.split("/")
    if len(parts) == 2 and all(parts) and not repo_id.startswith((".", "/")) and "@" not in repo_id:
        return repo_id, revision
    raise KeyError(
        f"unknown model {name_or_path!r}: not a registered name, a local directory or a Hub repo id "
        "(org/name, or org/name@revision); "
        f"known models: {', '.join(sorted(_REGISTRY))}"
    )


def task_of(path: str | os.PathLike) -> str:
    """Read the task from a checkpoint directory's ``model_index.json``."""
    index = Path(path) / "model_index.json"
    try:
        class_name = json.loads(index.read_text()).get("_class_name")
    except (OSError, ValueError, AttributeError) as err:
        raise ValueError(f"{index} cannot be read as a pipeline index: {err}") from err
    task = families.task_of_pipeline(class_name)
    if task is None:
        raise ValueError(f"{index} names pipeline {class_name!r}, which GAN Zoo does not know")
    return task


@functools.lru_cache(maxsize=16)
def load_pipeline(
    name_or_path: str,
    pipeline_class: Optional[Type[ZooPipeline]] = None,
    revision: Optional[str] = None,
    device: str = "cpu",
) -> ZooPipeline:
    """Load (once per process) a pipeline for a name, directory or repo id.

    ``pipeline_class`` picks the task-specific view of a checkpoint (e.g. interpolation over a
    sampling checkpoint); by default it is the class the checkpoint was saved as. Every view of one
    checkpoint shares one generator object: the weights are loaded and held in memory once.
    """
    from zoo.hub import resolve_model_dir

    location, entry_revision = resolve(name_or_path)
    revision = revision or entry_revision
    local = resolve_model_dir(location, revision=revision)
    if not (local / "model_index.json").is_file():  # let from_pretrained give its clear message
        return (pipeline_class or task_pipeline(families.UNCONDITIONAL)).from_pretrained(local)
    task = task_of(local)
    if pipeline_class is not None and families.task_of_pipeline(pipeline_class.__name__) != task:
        raise ValueError(
            f"{name_or_path} is a {task} model; it cannot be used for "
            f"{families.task_of_pipeline(pipeline_class.__name__)}"
        )
    saved = _load_saved(str(local), device)
    if pipeline_class is None or type(saved) is pipeline_class:
        return saved
    view = pipeline_class(generator=saved.generator)
    view.set_progress_bar_config(disable=True)
    return view


@functools.lru_cache(maxsize=16)
def _load_saved(local: str, device: str) -> ZooPipeline:
    """The checkpoint as the pipeline class it was saved as (the one copy of its generator)."""
    return task_pipeline(task_of(local)).from_pretrained(local).to(torch.device(device))
