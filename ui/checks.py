"""Input checks for the handlers: every bad request ends in a readable ``gr.Error``.

The app is a public demo, so a handler must turn a bad request into a ``gr.Error`` (Gradio hides
the text of any other exception) and never take the server down. The limits and their messages
live in :mod:`zoo.limits`, shared with the pipelines and the CLI; this module only turns their
``ValueError`` into a ``gr.Error`` and adds the checks that only an app needs (uploaded files,
dropdown values, class names).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence

import gradio as gr
import PIL.Image

from zoo import limits

if TYPE_CHECKING:
    from ui.catalog import ModelChoice


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


def check_pixels(width: int, height: int, what: str = "image") -> None:
    with user_errors():
        limits.check_pixels(width, height, what)


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


# --- uploaded images -----------------------------------------------------------------------------


def _open_undecoded(path: Any, what: str) -> PIL.Image.Image:
    """The image at ``path`` opened from its header only, once that shows an image within the pixel limit."""
    try:
        image = PIL.Image.open(path)
    except PIL.Image.DecompressionBombError:
        raise user_error(f"The {what} is too large; the limit is {limits.MAX_PIXELS:,} pixels") from None
    except (OSError, ValueError, SyntaxError):
        raise user_error(f"The {what} is not an image this app can read (use PNG, JPEG or WebP)") from None
    try:
        check_pixels(image.width, image.height, what)
    except gr.Error:
        image.close()
        raise
    return image


def open_user_image(path: Any, what: str = "upload") -> PIL.Image.Image:
    """Open an uploaded file as an image, refusing non-images and huge images *before* decoding them."""
    if not path:
        raise user_error(f"No {what}: add an image first")
    image = _open_undecoded(path, what)
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as err:
        raise user_error(f"The {what} is a damaged image file: {err}") from None
    return image


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
        _open_undecoded(path, what).close()
