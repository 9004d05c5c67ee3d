"""What every tab shares: the model catalogue, input checks that end in ``gr.Error``, and display helpers.

The app is a public demo, so every handler must turn a bad request into a readable ``gr.Error``
(Gradio hides the text of any other exception) and never take the server down. The checks live
here, once, so that every tab enforces the same limits and says the same words.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import math
import os
import random
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, TypeVar

import gradio as gr
import PIL.Image
import torch

from zoo import families, limits, registry
from zoo.pipelines import ZooPipeline

# --- limits (the numbers live in zoo.limits, shared with the pipelines and the CLI) ----------------

MAX_IMAGES = limits.APP_MAX_IMAGES
MAX_TEXT_IMAGES = limits.APP_MAX_TEXT_IMAGES
MAX_FRAMES = limits.APP_MAX_FRAMES
MAX_SEED = limits.MAX_SEED
MAX_PIXELS = limits.MAX_PIXELS
#: Generated images are enlarged (nearest neighbour) to at least this side for display.
DISPLAY_SIZE = 256

NOISE_TASK = families.UNCONDITIONAL
SKETCH_TASK = families.IMAGE_TO_IMAGE
TEXT_TASK = families.TEXT_TO_IMAGE

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

# --- Hugging Face Spaces ZeroGPU shim --------------------------------------------------------------

try:  # pragma: no cover - `spaces` only exists on Hugging Face Spaces
    import spaces

    GPU: Callable[..., Any] = spaces.GPU
except ImportError:

    def GPU(fn: Optional[Callable[..., Any]] = None, **_kwargs: Any) -> Any:
        """Stand-in for ``spaces.GPU`` off Spaces: works bare (``@GPU``) and with args (``@GPU(duration=60)``)."""
        if fn is None:
            return lambda inner: inner
        return fn


# --- model catalogue -----------------------------------------------------------------------------

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
    def native_size(self) -> str:
        return f"{self.resolution}x{self.resolution}" if self.resolution else "unknown"

    @property
    def source_text(self) -> str:
        if self.kind == "bundled":
            return f"bundled with the app: `{self.directory}`"
        if self.kind == "hub":
            return f"Hugging Face Hub: `{self.key}` @ `{self.revision or 'main'}`"
        return f"local directory: `{self.directory}`"


@dataclass
class Catalog:
    """The models of one app instance, in menu order."""

    choices: list[ModelChoice] = field(default_factory=list)

    def for_task(self, task: str) -> list[ModelChoice]:
        """Models of ``task`` plus those whose task is unknown (unreachable Hub repos), so their error can be seen."""
        return [c for c in self.choices if c.task == task or c.task is None]

    def dropdown(self, task: Optional[str] = None) -> list[tuple[str, str]]:
        return [(c.label, c.key) for c in (self.choices if task is None else self.for_task(task))]

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
        for choice in options:
            if choice.key == key:
                if choice.error:
                    raise user_error(f"Model {choice.key!r} cannot be used: {choice.error}")
                return choice
        raise user_error(f"Unknown model {key!r}; choose one of: {', '.join(c.key for c in options)}")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def describe_directory(directory: Path) -> dict[str, Any]:
    """Task, family, resolution and classes of a checkpoint directory, read from its JSON files only."""
    index = _read_json(directory / "model_index.json")
    generator = index.get("generator") or [None, None]
    config = _read_json(directory / "generator" / "config.json")
    summary = _read_json(directory / "training_summary.json")
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
    from zoo.hub import resolve_model_dir

    kind, revision, directory = "local", None, None
    try:
        location, revision = registry.resolve(key)
        is_dir = Path(location).is_dir()
        kind = "bundled" if is_dir and Path(location).resolve().parent == registry.PRETRAINED_DIR else (
            "local" if is_dir else "hub"
        )
        path = resolve_model_dir(location, revision=revision)
        directory = str(path)
        info = describe_directory(path)
    except Exception as err:  # noqa: BLE001 - any failure is shown in the UI instead of stopping the app
        kind = "hub" if "/" in key and not Path(key).exists() else kind
        return ModelChoice(key=key, label=f"{label or key} (unavailable)", task=None, kind=kind, revision=revision,
                           directory=directory, description=description, error=str(err) or type(err).__name__)
    return ModelChoice(key=key, label=label or key, kind=kind, revision=revision, directory=directory,
                       description=description, **info)


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


def get_pipeline(choice: ModelChoice, pipeline_class: type[ZooPipeline]) -> ZooPipeline:
    """The cached pipeline for a model; a load failure becomes a ``gr.Error`` that says why."""
    with _load_lock:  # two first requests for the same model must not load it twice
        try:
            return registry.load_pipeline(choice.key, pipeline_class, choice.revision, DEVICE)
        except Exception as err:  # noqa: BLE001 - load failures are user-facing, the app must stay up
            raise gr.Error(f"Could not load model {choice.key!r}: {err}") from err


# --- input checks --------------------------------------------------------------------------------


def user_error(message: str) -> gr.Error:
    """A bad request: shown to the user verbatim, not logged with a traceback like a server fault."""
    return gr.Error(message, print_exception=False)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Pipeline ``ValueError``s describe bad input; show them to the user verbatim."""
    try:
        yield
    except gr.Error:
        raise
    except (ValueError, KeyError, FileNotFoundError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        raise user_error(str(message)) from err


def check_int(name: str, value: Any, low: int, high: int) -> int:
    """Whole numbers from sliders, number boxes and API clients, with the words of :mod:`zoo.limits`."""
    with user_errors():
        return limits.check_int(name, value, low, high)


def check_seed(value: Any, name: str = "seed") -> int:
    with user_errors():
        return limits.check_seed(value, name)


def check_psi(value: Any) -> float:
    with user_errors():
        return limits.check_psi(value)


def check_choice(name: str, value: Any, options: Sequence[str]) -> str:
    if value not in options:
        raise user_error(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


def class_label(choice: ModelChoice, value: Any) -> Optional[int]:
    """The class index for a class-conditional model (by name or index); ``None`` for unconditional ones."""
    if choice.num_classes == 0:
        return None
    if value in choice.class_names:
        return choice.class_names.index(value)
    if isinstance(value, (int, float, str)) and str(value).strip().isdigit() and int(value) < choice.num_classes:
        return int(value)
    raise user_error(f"{choice.label} is class-conditional; choose a class from: {', '.join(choice.class_names)}")


def open_user_image(path: Any, what: str = "upload") -> PIL.Image.Image:
    """Open an uploaded file as an image, refusing non-images and huge images *before* decoding them."""
    if not path:
        raise user_error(f"No {what}: add an image first")
    try:
        image = PIL.Image.open(path)
    except PIL.Image.DecompressionBombError:
        raise user_error(f"The {what} is too large; the limit is {MAX_PIXELS:,} pixels (4096x4096)") from None
    except (OSError, ValueError, SyntaxError):
        raise user_error(f"The {what} is not an image this app can read (use PNG, JPEG or WebP)") from None
    check_pixels(image.width, image.height, what)
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as err:
        raise user_error(f"The {what} is a damaged image file: {err}") from None
    return image


def check_pixels(width: int, height: int, what: str = "image") -> None:
    if width * height > MAX_PIXELS:
        raise user_error(
            f"The {what} is {width}x{height} pixels; the limit is {MAX_PIXELS:,} pixels (e.g. 4096x4096). "
            "Please resize it first."
        )


def _file_paths(payload: Any) -> list[str]:
    """Paths of the uploaded files inside an Image/ImageEditor payload (FileData objects or dicts)."""
    if payload is None:
        return []
    if isinstance(payload, (list, tuple)):
        return [p for item in payload for p in _file_paths(item)]
    if isinstance(payload, dict):
        path = payload.get("path")
        nested = [payload.get(k) for k in ("background", "composite", "layers")]
    else:
        path = getattr(payload, "path", None)
        nested = [getattr(payload, k, None) for k in ("background", "composite", "layers")]
    return ([path] if isinstance(path, str) else []) + [p for item in nested for p in _file_paths(item)]


def check_upload_payload(payload: Any, what: str) -> None:
    """Read the headers of every uploaded file in a payload: refuse non-images and huge images undecoded."""
    for path in _file_paths(payload):
        try:
            with PIL.Image.open(path) as image:
                check_pixels(image.width, image.height, what)
        except gr.Error:
            raise
        except PIL.Image.DecompressionBombError:
            raise user_error(f"The {what} is too large; the limit is {MAX_PIXELS:,} pixels") from None
        except (OSError, ValueError, SyntaxError):
            raise user_error(f"The {what} is not an image this app can read (use PNG, JPEG or WebP)") from None


ImageComponent = TypeVar("ImageComponent", gr.Image, gr.Sketchpad)


def checked_upload(component: ImageComponent, what: str = "upload") -> ImageComponent:
    """Give an image input readable errors for bad uploads, checked before Gradio decodes them.

    Gradio's own preprocessing fails on a non-image with an exception whose text the user never
    sees, and fully decodes a 100-megapixel PNG before a handler could refuse it. The check wraps
    this instance's ``preprocess`` rather than subclassing the component, because Gradio writes a
    ``.pyi`` stub next to any module that defines a component class. (Gradio would rebuild the
    instance if an event returned an update for it; no event does, and none should.)
    """
    original = component.preprocess

    def preprocess(payload: Any) -> Any:
        check_upload_payload(payload, what)
        try:
            return original(payload)
        except gr.Error:
            raise
        except Exception as err:  # noqa: BLE001 - anything Gradio/PIL raise here is a bad upload
            raise user_error(f"Could not read the {what}: {err}") from None

    component.preprocess = preprocess  # type: ignore[method-assign]
    return component


_FAILED_INDEX = re.compile(r"component at index (\d+)")


def _input_name(block: Any, index: int) -> str:
    return str(getattr(block, "label", None) or f"input {index + 1}")


def _why_unreadable(block: Any, index: int, value: Any, cause: Optional[BaseException]) -> str:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    if isinstance(block, (gr.Number, gr.Slider)):
        return f"{_input_name(block, index)} must be a finite number, got {shown}"
    return f"{_input_name(block, index)} could not be read ({type(cause).__name__ if cause else 'bad value'}): {shown}"


def readable_input_errors(demo: gr.Blocks) -> gr.Blocks:
    """Turn Gradio's own input-decoding failures into messages naming the input and the bad value.

    A wrong-typed value from an API client (a string for a number, NaN for a whole number, a
    string for the sketchpad) fails inside ``Blocks.preprocess_data`` before any handler check
    runs, and Gradio shows only "has not enabled verbose error reporting". Wrapping this instance's
    method keeps Gradio's processing and changes only what the user is told.
    """
    import pydantic
    from gradio.exceptions import ComponentProcessingError

    original = demo.preprocess_data

    async def preprocess_data(block_fn: Any, inputs: list[Any], state: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(block_fn, inputs, state, *args, **kwargs)
        except gr.Error:
            raise
        except ComponentProcessingError as err:
            match = _FAILED_INDEX.search(str(err))
            index = int(match.group(1)) if match else len(block_fn.inputs)
            if index >= len(block_fn.inputs):
                raise user_error(f"An input could not be read: {err.__cause__ or err}") from err
            value = inputs[index] if index < len(inputs) else None
            raise user_error(_why_unreadable(block_fn.inputs[index], index, value, err.__cause__)) from err
        except pydantic.ValidationError as err:  # a data model (image editor, file) refused the payload
            for index, block in enumerate(block_fn.inputs):
                model = getattr(block, "data_model", None)
                if model is not None and getattr(model, "__name__", None) == err.title and index < len(inputs):
                    raise user_error(_why_unreadable(block, index, inputs[index], err)) from err
            raise user_error(f"An input could not be read: {err.errors()[0].get('msg', err)}") from err

    demo.preprocess_data = preprocess_data  # type: ignore[method-assign]
    return demo


# --- display helpers -----------------------------------------------------------------------------


def enlarge(image: PIL.Image.Image, min_side: int = DISPLAY_SIZE) -> PIL.Image.Image:
    """Integer nearest-neighbour upscaling until the long side reaches ``min_side``: a 64px face is shown
    at 256px with its pixels kept honest and sharp."""
    scale = max(1, math.ceil(min_side / max(1, max(image.size))))
    if scale == 1:
        return image
    return image.resize((image.width * scale, image.height * scale), PIL.Image.Resampling.NEAREST)


def image_grid(images: Sequence[PIL.Image.Image], columns: Optional[int] = None, pad: int = 2) -> PIL.Image.Image:
    """A near-square grid at native resolution (white gutters), for downloading a batch as one PNG."""
    if not images:
        raise ValueError("no images to put in a grid")
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    width, height = images[0].size
    grid = PIL.Image.new("RGB", (columns * width + (columns - 1) * pad, rows * height + (rows - 1) * pad), "white")
    for i, image in enumerate(images):
        grid.paste(image.convert("RGB"), ((i % columns) * (width + pad), (i // columns) * (height + pad)))
    return grid


class OutputFiles:
    """A private folder for every file the handlers give Gradio (images, grids, GIFs, MP4s).

    Handlers return *paths*, never PIL images: Gradio writes a returned PIL image into its cache
    under a hash of its bytes with a plain (non-atomic) write, so two concurrent requests that
    produce the same picture (same seed) can serve each other a half-written file. Files returned
    as paths are copied into the cache atomically. Old files are pruned now and then.
    """

    def __init__(self, max_age_s: float = 3600.0, prune_every_s: float = 60.0):
        self.root = Path(tempfile.mkdtemp(prefix="gan_zoo_app_"))
        self.max_age_s = max_age_s
        self.prune_every_s = prune_every_s
        self._last_prune = time.time()
        self._lock = threading.Lock()

    def _prune(self) -> None:
        now = time.time()
        with self._lock:
            if now - self._last_prune < self.prune_every_s:
                return
            self._last_prune = now
        for old in self.root.iterdir():
            with contextlib.suppress(OSError):
                if old.stat().st_mtime < now - self.max_age_s:
                    old.unlink()

    def new_path(self, stem: str, suffix: str) -> Path:
        self._prune()
        handle, name = tempfile.mkstemp(prefix=f"{stem}_", suffix=suffix, dir=self.root)
        os.close(handle)
        return Path(name)

    def save_png(self, image: PIL.Image.Image, stem: str = "image") -> str:
        path = self.new_path(stem, ".png")
        image.save(path, format="PNG")
        return str(path)


OUTPUTS = OutputFiles()


def shown(image: PIL.Image.Image, stem: str = "image") -> str:
    """An output image enlarged for display and saved as a PNG path (see :class:`OutputFiles` for why a path)."""
    return OUTPUTS.save_png(enlarge(image), stem)


def random_seed() -> int:
    """A fresh seed for the dice buttons (any seed the number boxes accept)."""
    return random.SystemRandom().randint(0, MAX_SEED)


def bind(fn: Callable[..., Any], *bound: Any) -> Callable[..., Any]:
    """``fn`` with its leading arguments fixed, keeping a real signature and name for Gradio.

    Gradio reads the handler's signature (to find ``gr.Progress`` defaults) and name, which a
    ``functools.partial`` does not carry.
    """

    @functools.wraps(fn)
    def bound_fn(*args: Any, **kwargs: Any) -> Any:
        return fn(*bound, *args, **kwargs)

    signature = inspect.signature(fn)
    bound_fn.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[len(bound):]
    )
    del bound_fn.__wrapped__  # so inspect.signature uses __signature__, not fn's
    return bound_fn


def seed_row(label: str, value: int = 0) -> tuple[gr.Number, gr.Button]:
    """A seed box with a dice button next to it."""
    with gr.Row(equal_height=True):
        number = gr.Number(value=value, label=label, precision=0, minimum=0, maximum=MAX_SEED, scale=4)
        dice = gr.Button("Random", scale=1, min_width=80, size="md", elem_classes=["dice"])
    return number, dice
