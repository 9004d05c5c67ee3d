"""Tab 1 -- faces from noise: a seed, a count and a truncation knob give a gallery and a PNG grid."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import gradio as gr

from ui.catalog import Catalog, get_pipeline
from ui.checks import check_int, check_psi, check_seed, class_label, user_errors
from ui.outputs import grid_png, shown
from ui.spaces import GPU
from ui.widgets import (
    ALL_CLASSES, MODEL_QUEUE, bind, class_picker, class_picker_update, details_box, model_details, random_seed, seed_row,
)
from zoo import families
from zoo.limits import APP_MAX_IMAGES
from zoo.onnx_export import cached_export, sample_with_onnx
from zoo.pipelines import GANSamplingPipeline

TASK = families.UNCONDITIONAL


@GPU
def generate_faces(
    catalog: Catalog,
    model: str,
    seed: Any,
    count: Any,
    truncation_psi: Any,
    class_name: Any = None,
    progress: gr.Progress = gr.Progress(),
) -> tuple[list[tuple[Any, str]], str]:
    """Images ``seed .. seed+count-1`` (each image keeps its seed whatever the count) and their grid PNG.

    With "All classes" a class-conditional model draws the same seeds once per class, one grid row
    per class, so what the class changes (and what the seed keeps) can be seen at a glance.
    """
    choice = catalog.require(model, TASK)
    seed = check_seed(seed)
    count = check_int("number of images", count, 1, APP_MAX_IMAGES)
    psi = check_psi(truncation_psi)
    every_class = bool(choice.num_classes) and class_name == ALL_CLASSES
    labels = list(range(choice.num_classes)) if every_class else [class_label(choice, class_name)]
    progress(0.1, desc="Loading model")
    pipe = get_pipeline(choice, GANSamplingPipeline)
    progress(0.4, desc=f"Generating {count * len(labels)} image{'s' * (count * len(labels) > 1)}")
    images, gallery = [], []
    onnx_path = onnx_graph(pipe) if catalog.backend == "onnx" else None
    for label in labels:
        with user_errors():
            if onnx_path is None:
                row = pipe(batch_size=count, seed=seed, truncation_psi=psi, class_labels=label).images
            else:  # the same latents through onnxruntime
                row = sample_with_onnx(pipe, onnx_path, seed, count, psi, label)
        prefix = f"{choice.class_names[label]} · " if every_class else ""
        gallery += [(shown(image, f"face_{seed + i}"), f"{prefix}seed {seed + i}") for i, image in enumerate(row)]
        images += row
    return gallery, grid_png(images, f"faces_seed{seed}", cols=count if every_class else None)


#: The app's loaded generators never change, so each one's graph path is looked up once: finding it
#: by weights digest costs ~9 ms per request, as much as sampling the faces with onnxruntime.
_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # generator -> its ONNX graph path


def onnx_graph(pipe: GANSamplingPipeline) -> Path:
    """The model's ONNX graph (exported on the first request; a failure is the user's error message)."""
    graph = _GRAPHS.get(pipe.generator)
    if graph is None:
        try:
            graph = _GRAPHS[pipe.generator] = cached_export(pipe.generator)
        except Exception as err:  # noqa: BLE001 - an export problem must not take the app down
            raise gr.Error(f"Could not run this model with onnxruntime: {type(err).__name__}: {err}") from err
    return graph


def on_model_change(catalog: Catalog, model: str) -> tuple[Any, str, Any]:
    """The class picker, the details line and the truncation slider (at the model's suggested psi)."""
    choice = catalog.find(model, TASK)
    if choice is None:
        return gr.update(visible=False), "", gr.update()
    return class_picker_update(choice, with_all=True), model_details(choice), gr.update(value=choice.suggested_psi)


def build(catalog: Catalog) -> None:
    """The tab's components and events (call inside a ``gr.Blocks`` context)."""
    default = catalog.default(TASK)
    choice = catalog.find(default, TASK)
    gr.Markdown(
        "Every seed is a different face. On StyleGAN models a truncation ψ below 1 gives more typical, cleaner "
        "faces and less variety; DCGAN models look best at 1. The slider starts at the model's measured setting."
    )
    if choice is None:
        gr.Markdown("**Note:** no noise-to-face model is available yet; start the app with `--model org/name`.")
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            model = gr.Dropdown(catalog.dropdown(TASK), value=default, label="Model", elem_id="faces-model")
            details = details_box(choice)
            seed, dice = seed_row("Seed", 42)
            count = gr.Slider(1, APP_MAX_IMAGES, value=8, step=1, label="Number of images")
            psi = gr.Slider(0.0, 1.0, value=families.suggested_psi(choice.family if choice else None), step=0.05, label="Truncation ψ",
                            info="1 = full variety, 0 = the average face")
            klass = class_picker(choice, with_all=True, elem_id="faces-class")
            button = gr.Button("Generate", variant="primary", elem_id="faces-generate")
        with gr.Column(scale=2):
            gallery = gr.Gallery(label="Generated faces", columns=4, height=560, object_fit="contain",
                                 format="png", elem_id="faces-gallery")
            download = gr.DownloadButton("Download grid PNG (native resolution)", elem_id="faces-download")

    dice.click(random_seed, None, seed, api_name="random_seed")
    model.change(bind(on_model_change, catalog), model, [klass, details, psi], api_name="faces_model_info",
                 api_visibility="undocumented")
    button.click(bind(generate_faces, catalog), [model, seed, count, psi, klass], [gallery, download],
                 api_name="generate_faces", concurrency_id=MODEL_QUEUE)
