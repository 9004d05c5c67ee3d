"""Wrappers around one Gradio instance's methods, so that Gradio's own input failures read well.

Gradio decodes inputs before any handler runs, and a failure there (a non-image upload, a string
for a number) reaches the user as an exception whose text they never see. Each patch wraps the
method of *one instance* and changes only what the user is told; Gradio's processing is kept.
Instances are patched rather than subclassed because Gradio writes a ``.pyi`` stub next to any
module that defines a component class.
"""

from __future__ import annotations

import re
from typing import Any, Optional, TypeVar

import gradio as gr

from ui.checks import check_upload_payload, user_error

ImageComponent = TypeVar("ImageComponent", gr.Image, gr.Sketchpad)


def checked_upload(component: ImageComponent, what: str = "upload") -> ImageComponent:
    """Give an image input readable errors for bad uploads, checked before Gradio decodes them.

    Gradio's own preprocessing fails on a non-image with an exception whose text the user never
    sees, and fully decodes a 100-megapixel PNG before a handler could refuse it. (Gradio would
    rebuild the instance if an event returned an update for it; no event does, and none should.)
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
    runs, and Gradio shows only "has not enabled verbose error reporting".
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
