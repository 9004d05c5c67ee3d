"""Small building blocks the tabs share: seed boxes with a dice button, model details, the class picker,
and :func:`bind` to give a handler its catalogue."""

from __future__ import annotations

import functools
import inspect
import random
from typing import Any, Callable, Optional

import gradio as gr

from ui.catalog import ModelChoice
from zoo.limits import MAX_SEED


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


def model_details(choice: ModelChoice) -> str:
    """One line under the dropdown: what the model is and at what size it really draws."""
    if choice.error:
        return f"**Unavailable:** {choice.error}"
    extra = f" · {choice.num_classes} classes" if choice.num_classes else ""
    about = choice.description or choice.family
    return f"{about} · native resolution **{choice.native_size}** (shown enlarged){extra}"


def details_box(choice: Optional[ModelChoice]) -> gr.Markdown:
    """The :func:`model_details` line of the model chosen at start-up."""
    return gr.Markdown(model_details(choice) if choice else "", elem_classes=["model-details"])


#: The queue group of every event that runs a model: they share one concurrency limit, sized to the
#: CPU cores in ui/app.py, instead of each event allowing its own (which let 12 generations fight
#: over 2 cores).
MODEL_QUEUE = "models"

#: The class-picker entry that asks for every class side by side (one row per class, same seeds).
ALL_CLASSES = "All classes (one row each)"


def _class_choices(choice: Optional[ModelChoice], with_all: bool) -> list[str]:
    names = list(choice.class_names) if choice else []
    return names + [ALL_CLASSES] if names and with_all else names


def class_picker(choice: Optional[ModelChoice], with_all: bool = False, elem_id: Optional[str] = None) -> gr.Dropdown:
    """The class dropdown of a class-conditional model (its class names); hidden for other models."""
    names = _class_choices(choice, with_all)
    return gr.Dropdown(names, value=names[0] if names else None, label="Class", visible=bool(names),
                       allow_custom_value=True, elem_id=elem_id)


def class_picker_update(choice: ModelChoice, with_all: bool = False) -> dict[str, Any]:
    """The class dropdown for a newly chosen model."""
    names = _class_choices(choice, with_all)
    return gr.update(choices=names, value=names[0] if names else None, visible=bool(names))
