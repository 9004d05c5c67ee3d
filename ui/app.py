"""The GAN Zoo showcase: five tabs over whatever models this process can load.

``build_demo`` only assembles the tabs of :mod:`ui.tabs`; every tab module owns its own components
and events, so a tab can be changed (or tested) without reading the others.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence

import gradio as gr

from ui.catalog import BACKENDS, DEVICE, Catalog, build_catalog
from ui.gradio_patches import readable_input_errors
from ui.model_threads import run_on_model_threads
from ui.tabs import interpolation, model_info, noise, sketch, text, your_face
from ui.widgets import MODEL_QUEUE
from zoo import registry

TITLE = "GAN Zoo"
#: Generations running at once, across all tabs (they share one queue group): one per core, because
#: more would only slow each other down.
DEFAULT_CONCURRENCY = max(1, min(os.cpu_count() or 2, 8))
#: Requests allowed to wait; beyond that Gradio answers "the queue is full" at once instead of
#: making a user wait minutes (the app's own message asks them to try again in a moment).
DEFAULT_MAX_QUEUE = 32

HEADER = f"""
# {TITLE}
Small GANs trained from scratch on real face photos, published on the Hugging Face Hub, all in one place.
Pick a tab: sample faces from noise, turn a sketch into a photo, write a description, morph between faces,
or find your own face in a model.
"""

CSS = """
.gradio-container { max-width: 1280px !important; margin: auto; }
#faces-gallery img, #text-gallery img, #interp-gallery img, #mix-gallery img { image-rendering: pixelated; }
.model-details p { font-size: 0.9em; opacity: 0.85; }
"""


def build_demo(
    models: Optional[Sequence[str]] = None,
    include_bundled: bool = True,
    models_file: Optional[str | os.PathLike] = None,
    catalog: Optional[Catalog] = None,
    concurrency_limit: int = DEFAULT_CONCURRENCY,
    max_queue: Optional[int] = DEFAULT_MAX_QUEUE,
    backend: str = "torch",
) -> gr.Blocks:
    """The app. ``models`` are extra registry names, checkpoint directories or Hub repo ids; with
    ``models_file`` and ``$GAN_ZOO_MODELS`` they are read once by :func:`zoo.registry.extra_models`.

    Models that cannot be reached (e.g. a Hub repo while offline) are still listed, and say why
    they are unusable when chosen, so a missing network never stops the app from starting.
    ``backend="onnx"`` runs the faces-from-noise tab on onnxruntime (the other tabs stay on PyTorch).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    catalog = catalog or build_catalog(registry.extra_models(models or (), models_file), include_bundled=include_bundled)
    catalog.backend = backend
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(1800, 3600)) as demo:
        gr.Markdown(HEADER, elem_id="header")
        with gr.Tabs():
            with gr.Tab("Faces from noise", id="faces"):
                noise.build(catalog)
            with gr.Tab("Sketch to photo", id="sketch") as sketch_tab:
                sketch.build(catalog)
            sketch_tab.select(None, None, None, js=sketch.SELECT_BRUSH_JS)
            with gr.Tab("Text to image", id="text"):
                text.build(catalog)
            with gr.Tab("Latent interpolation", id="interpolation"):
                interpolation.build(catalog)
            with gr.Tab("Your face", id="your-face"):
                your_face.build(catalog)
            with gr.Tab("Models", id="models"):
                model_info.build(catalog)
        runtime = " · faces from noise on **onnxruntime**" if backend == "onnx" else ""
        gr.Markdown(f"<small>Running on **{DEVICE}**{runtime} · models load once and stay in memory.</small>")
    demo.queue(default_concurrency_limit=concurrency_limit, max_size=max_queue)
    run_on_model_threads(demo, MODEL_QUEUE, workers=concurrency_limit)
    return readable_input_errors(demo)


def launch_options(**overrides: Any) -> dict[str, Any]:
    """``Blocks.launch`` arguments the app needs (Gradio 6 takes the CSS at launch), plus ``overrides``."""
    options: dict[str, Any] = {"css": CSS, "ssr_mode": False, "max_file_size": "25mb", "show_error": False}
    options.update(overrides)
    return options
