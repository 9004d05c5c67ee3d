"""The models one app instance offers: what each is (read from its files, no weights loaded) and its pipeline.

A model is a registry name, a local checkpoint directory or a Hub repo id. The catalogue is built
once at start-up; a model that cannot be reached (a Hub repo while offline) is still listed with
the reason, so that choosing it explains the problem instead of hiding it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import gradio as gr
import torch

from ui.checks import user_error
from zoo import families, registry
from zoo.hub import resolve_model_dir, snapshot_commit, split_revision
from zoo.pipelines import ZooPipeline

#: Where the models run.
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
BACKENDS = ("torch", "onnx")


@dataclass(frozen=True)
class ModelChoice:
    """One model the app offers, with what the UI needs to know before loading it.

    ``key`` is what :func:`zoo.registry.load_pipeline` is given (a registry name, a local directory
    or a Hub repo id). ``error`` is set when the model cannot be used (e.g. a Hub repo while
    offline): it is still listed, so that choosing it explains the problem instead of hiding it.
    """

    key: str
    label: str
    task: Optional[str]
    family: str = "unknown"
    kind: str = "local"  # "bundled" | "local" | "hub"
    revision: Optional[str] = None
    commit: Optional[str] = None  # a Hub model's resolved commit: the card shown and the weights loaded
    directory: Optional[str] = None
    resolution: Optional[int] = None
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    description: str = ""
    error: Optional[str] = None

    @property
    def supports_style_mixing(self) -> bool:
        spec = families.FAMILIES.get(self.family)
        return bool(spec and spec.style_mixing)

    @property
    def suggested_psi(self) -> float:
        """Where the truncation slider starts for this model (its family's measured setting)."""
        return families.suggested_psi(self.family)

    @property
    def load_target(self) -> tuple[str, Optional[str]]:
        """(name, revision) to load: a Hub model by the commit whose card the Models tab shows."""
        if self.commit:
            return split_revision(self.key)[0], self.commit
        return self.key, self.revision

    @property
    def native_size(self) -> str:
        return f"{self.resolution}x{self.resolution}" if self.resolution else "unknown"

    @property
    def source_text(self) -> str:
        if self.kind == "bundled":
            return f"bundled with the app: `{self.directory}`"
        if self.kind == "hub":
            commit = f" (commit `{self.commit[:12]}`)" if self.commit else ""
            return f"Hugging Face Hub: `{self.key}` @ `{self.revision or 'main'}`{commit}"
        return f"local directory: `{self.directory}`"


@dataclass
class Catalog:
    """The models of one app instance, in menu order."""

    choices: list[ModelChoice] = field(default_factory=list)
    #: "torch", or "onnx": faces from noise run on onnxruntime (each model exported once, on first use).
    backend: str = "torch"

    def for_task(self, task: str) -> list[ModelChoice]:
        """Models of ``task`` plus those whose task is unknown (unreachable Hub repos), so their error can be seen."""
        return [c for c in self.choices if c.task == task or c.task is None]

    def dropdown(self, task: Optional[str] = None) -> list[tuple[str, str]]:
        return [(c.label, c.key) for c in (self.choices if task is None else self.for_task(task))]

    def find(self, key: Any, task: Optional[str] = None) -> Optional[ModelChoice]:
        """The listed choice for ``key`` (among ``task``'s models when given), usable or not; ``None`` if not listed."""
        return next((c for c in (self.choices if task is None else self.for_task(task)) if c.key == key), None)

    def default(self, task: Optional[str] = None, prefer: Sequence[str] = ()) -> Optional[str]:
        """The preferred key if offered, else the first usable model of the task, else the first listed."""
        options = self.choices if task is None else self.for_task(task)
        keys = {c.key for c in options if c.error is None}
        for key in prefer:
            if key in keys:
                return key
        usable = [c.key for c in options if c.error is None]
        return (usable or [c.key for c in options] or [None])[0]

    def require(self, key: Any, task: Optional[str] = None) -> ModelChoice:
        """The choice for ``key``, or a ``gr.Error`` naming the models that do exist."""
        options = self.choices if task is None else self.for_task(task)
        if not options:
            what = families.TASKS[task].title if task in families.TASKS else "this tab"
            raise user_error(
                f"No {what} model is available yet. Start the app with `--model org/name` "
                "(a Hub repo) or a local checkpoint directory."
            )
        choice = self.find(key, task)
        if choice is None:
            raise user_error(f"Unknown model {key!r}; choose one of: {', '.join(c.key for c in options)}")
        if choice.error:
            raise user_error(f"Model {choice.key!r} cannot be used: {choice.error}")
        return choice


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def describe_directory(directory: Path) -> dict[str, Any]:
    """Task, family, resolution and classes of a checkpoint directory, read from its JSON files only."""
    index = read_json(directory / "model_index.json")
    generator = index.get("generator") or [None, None]
    config = read_json(directory / "generator" / "config.json")
    summary = read_json(directory / "training_summary.json")
    num_classes = int(config.get("num_classes") or 0)
    names = summary.get("class_names") or (summary.get("config") or {}).get("class_names") or []
    if len(names) != num_classes:
        names = [f"class {i}" for i in range(num_classes)]
    return {
        "task": registry.task_of(directory),
        "family": getattr(families.family_of_generator(generator[-1]), "name", summary.get("family") or "unknown"),
        "resolution": config.get("resolution"),
        "num_classes": num_classes,
        "class_names": tuple(str(n) for n in names),
    }


def inspect_model(key: str, label: Optional[str] = None, description: str = "") -> ModelChoice:
    """Work out what a name, directory or Hub id is without loading weights; failures become ``error``."""

    kind, revision, commit, directory = "local", None, None, None
    try:
        location, revision = registry.resolve(key)
        is_dir = Path(location).is_dir()
        kind = "bundled" if is_dir and Path(location).resolve().parent == registry.PRETRAINED_DIR else (
            "local" if is_dir else "hub"
        )
        path = resolve_model_dir(location, revision=revision, with_card=True)  # the Models tab shows the card
        directory = str(path)
        commit = snapshot_commit(path) if kind == "hub" else None
        info = describe_directory(path)
    except Exception as err:  # noqa: BLE001 - any failure is shown in the UI instead of stopping the app
        kind = "hub" if "/" in key and not Path(key).exists() else kind
        return ModelChoice(key=key, label=f"{label or key} (unavailable)", task=None, kind=kind, revision=revision,
                           directory=directory, description=description, error=str(err) or type(err).__name__)
    return ModelChoice(key=key, label=label or key, kind=kind, revision=revision, commit=commit,
                       directory=directory, description=description, **info)


def build_catalog(models: Sequence[str] = (), include_bundled: bool = True) -> Catalog:
    """Bundled models that are present, then ``models`` (see :func:`zoo.registry.extra_models`)."""
    choices: list[ModelChoice] = []
    seen: set[str] = set()
    if include_bundled:
        for entry in registry.list_models(available_only=True):
            choices.append(inspect_model(entry.name, entry.name, entry.description))
            seen.add(entry.name)
    for key in models:
        key = str(key).strip()
        if key and key not in seen:
            choices.append(inspect_model(key, _short_label(key)))
            seen.add(key)
    return Catalog(choices)


def _short_label(key: str) -> str:
    """Local directories are labelled by their folder name; registry names and Hub ids as they are."""
    path = Path(key)
    return path.name if path.is_dir() else key


_load_lock = threading.Lock()


_loaded: dict[tuple[str, Optional[str], type], ZooPipeline] = {}


def get_pipeline(choice: ModelChoice, pipeline_class: type[ZooPipeline]) -> ZooPipeline:
    """The cached pipeline for a model; a load failure becomes a ``gr.Error`` that says why.

    Only the first request for a model takes the lock (so two of them do not load it twice);
    every later request finds it in ``_loaded`` and never waits behind another model's loading.
    """
    name, revision = choice.load_target
    key = (name, revision, pipeline_class)
    pipe = _loaded.get(key)
    if pipe is not None:
        return pipe
    with _load_lock:
        if key not in _loaded:
            try:
                _loaded[key] = registry.load_pipeline(name, pipeline_class, revision, DEVICE)
            except Exception as err:  # noqa: BLE001 - load failures are user-facing, the app must stay up
                raise gr.Error(f"Could not load model {choice.key!r}: {err}") from err
        return _loaded[key]
