"""Tab 1 -- faces from noise: a seed, a count and a truncation knob give a gallery and a PNG grid."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.common import (
    GPU,
    MAX_IMAGES,
    NOISE_TASK,
    OUTPUTS,
    Catalog,
    ModelChoice,
    bind,
    check_int,
    check_psi,
    check_seed,
    class_label,
    get_pipeline,
    image_grid,
    random_seed,
    seed_row,
    shown,
    user_errors,
)
from zoo.pipelines import GANSamplingPipeline


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
    """Images ``seed .. seed+count-1`` (each image keeps its seed whatever the count) and their grid PNG."""
    choice = catalog.require(model, NOISE_TASK)
    seed = check_seed(seed)
    count = check_int("number of images", count, 1, MAX_IMAGES)
    psi = check_psi(truncation_psi)
    label = class_label(choice, class_name)
    progress(0.1, desc="Loading model")
    pipe = get_pipeline(choice, GANSamplingPipeline)
    progress(0.4, desc=f"Generating {count} image{'s' * (count > 1)}")
    with user_errors():
        images = pipe(batch_size=count, seed=seed, truncation_psi=psi, class_labels=label).images
    grid_path = OUTPUTS.new_path(f"faces_seed{seed}", ".png")
    image_grid(images).save(grid_path)
    gallery = [(shown(image, f"face_{seed + i}"), f"seed {seed + i}") for i, image in enumerate(images)]
    return gallery, str(grid_path)


def model_details(choice: ModelChoice) -> str:
    """One line under the dropdown: what the model is and at what size it really draws."""
    if choice.error:
        return f"**Unavailable:** {choice.error}"
    extra = f" · {choice.num_classes} classes" if choice.num_classes else ""
    about = choice.description or choice.family
    return f"{about} · native resolution **{choice.native_size}** (shown enlarged){extra}"


def class_dropdown_update(choice: ModelChoice) -> dict[str, Any]:
    names = list(choice.class_names)
    return gr.update(choices=names, value=names[0] if names else None, visible=bool(names))


def on_model_change(catalog: Catalog, model: str) -> tuple[Any, str]:
    choice = next((c for c in catalog.for_task(NOISE_TASK) if c.key == model), None)
    if choice is None:
        return gr.update(visible=False), ""
    return class_dropdown_update(choice), model_details(choice)


def build(catalog: Catalog) -> None:
    """The tab's components and events (call inside a ``gr.Blocks`` context)."""
    default = catalog.default(NOISE_TASK)
    choice = next((c for c in catalog.for_task(NOISE_TASK) if c.key == default), None)
    gr.Markdown("Every seed is a different face. Lower the truncation ψ for more typical, cleaner faces.")
    if choice is None:
        gr.Markdown("**Note:** no noise-to-face model is available yet; start the app with `--model org/name`.")
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            model = gr.Dropdown(catalog.dropdown(NOISE_TASK), value=default, label="Model")
            details = gr.Markdown(model_details(choice) if choice else "", elem_classes=["model-details"])
            seed, dice = seed_row("Seed", 42)
            count = gr.Slider(1, MAX_IMAGES, value=8, step=1, label="Number of images")
            psi = gr.Slider(0.0, 1.0, value=0.7, step=0.05, label="Truncation ψ",
                            info="1 = full variety, 0 = the average face")
            names = list(choice.class_names) if choice else []
            klass = gr.Dropdown(names, value=names[0] if names else None, label="Class", visible=bool(names),
                                allow_custom_value=True)
            button = gr.Button("Generate", variant="primary", elem_id="faces-generate")
        with gr.Column(scale=2):
            gallery = gr.Gallery(label="Generated faces", columns=4, height=560, object_fit="contain",
                                 format="png", elem_id="faces-gallery")
            download = gr.DownloadButton("Download grid PNG (native resolution)", elem_id="faces-download")

    dice.click(random_seed, None, seed, api_name="random_seed")
    model.change(bind(on_model_change, catalog), model, [klass, details], api_name="faces_model_info",
                 api_visibility="undocumented")
    button.click(bind(generate_faces, catalog), [model, seed, count, psi, klass], [gallery, download],
                 api_name="generate_faces")
