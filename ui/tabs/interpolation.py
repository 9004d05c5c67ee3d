"""Tab 4 -- latent interpolation: morph one face into another, and (StyleGAN) mix their styles."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.catalog import Catalog, get_pipeline
from ui.checks import check_choice, check_int, check_psi, check_seed, class_label, user_error, user_errors
from ui.outputs import OUTPUTS, shown
from ui.spaces import GPU
from ui.widgets import (
    MODEL_QUEUE, bind, class_picker, class_picker_update, details_box, model_details, random_seed, seed_row,
)
from zoo import families, limits
from zoo.limits import APP_MAX_FRAMES
from zoo.pipelines import GANInterpolationPipeline, GANStyleMixingPipeline, write_gif, write_mp4

TASK = families.UNCONDITIONAL
PREFERRED_MODEL = "faces-style-64"
METHODS = limits.INTERPOLATION_METHODS
SPACES = limits.LATENT_SPACES
STYLE_RANGES = limits.STYLE_RANGE_NAMES
GIF_FPS = 10


@GPU
def interpolate(
    catalog: Catalog,
    model: str,
    seed_a: Any,
    seed_b: Any,
    frames: Any,
    method: Any,
    space: Any,
    truncation_psi: Any = 1.0,
    class_name: Any = None,
    progress: gr.Progress = gr.Progress(),
) -> tuple[list[tuple[Any, str]], str, str]:
    """Frames from seed A to seed B, plus the same walk as a looping GIF and an MP4."""
    choice = catalog.require(model, TASK)
    seed_a, seed_b = check_seed(seed_a, "seed A"), check_seed(seed_b, "seed B")
    frames = check_int("frames", frames, 2, APP_MAX_FRAMES)
    method = check_choice("method", method, METHODS)
    space = check_choice("space", space, SPACES)
    psi = check_psi(truncation_psi)
    label = class_label(choice, class_name)
    progress(0.05, desc="Loading model")
    pipe = get_pipeline(choice, GANInterpolationPipeline)
    progress(0.2, desc=f"Rendering {frames} frames")
    with user_errors():
        images = pipe(seed_a=seed_a, seed_b=seed_b, num_frames=frames, method=method, space=space,
                      truncation_psi=psi, class_labels=label).images
    progress(0.6, desc="Encoding GIF")
    stem = f"interp_{seed_a}_{seed_b}"
    gif = write_gif(images, OUTPUTS.new_path(stem, ".gif"), fps=GIF_FPS)
    progress(0.8, desc="Encoding MP4")
    mp4 = write_mp4(images, OUTPUTS.new_path(stem, ".mp4"), fps=GIF_FPS)
    gallery = [(shown(image, f"{stem}_{i}"), f"t = {i / (frames - 1):.2f}") for i, image in enumerate(images)]
    return gallery, str(gif), str(mp4)


@GPU
def style_mix(
    catalog: Catalog,
    model: str,
    seed_a: Any,
    seed_b: Any,
    style_range: Any,
    truncation_psi: Any = 1.0,
    class_name: Any = None,
    progress: gr.Progress = gr.Progress(),
) -> list[tuple[Any, str]]:
    """[A, B, A with the chosen layers' styles taken from B]."""
    choice = catalog.require(model, TASK)
    if not choice.supports_style_mixing:
        raise user_error(f"{choice.label} is a {choice.family} model; style mixing needs a StyleGAN-family model")
    seed_a, seed_b = check_seed(seed_a, "seed A"), check_seed(seed_b, "seed B")
    style_range = check_choice("style range", style_range, STYLE_RANGES)
    psi = check_psi(truncation_psi)
    label = class_label(choice, class_name)
    progress(0.1, desc="Loading model")
    pipe = get_pipeline(choice, GANStyleMixingPipeline)
    with user_errors():
        a, b, mixed = pipe(seed_a=seed_a, seed_b=seed_b, style_range=style_range, truncation_psi=psi,
                           class_labels=label).images
    captions = [f"A (seed {seed_a})", f"B (seed {seed_b})", f"A with {style_range} styles from B"]
    return [(shown(image, "mix"), caption) for image, caption in zip((a, b, mixed), captions)]


def on_model_change(catalog: Catalog, model: str) -> tuple[Any, str, Any, Any]:
    """The class picker, the details line, the style-mixing panel and the truncation slider."""
    choice = catalog.find(model, TASK)
    if choice is None:
        return gr.update(visible=False), "", gr.update(visible=False), gr.update()
    return (class_picker_update(choice), model_details(choice), gr.update(visible=choice.supports_style_mixing),
            gr.update(value=choice.suggested_psi))


def build(catalog: Catalog) -> None:
    default = catalog.default(TASK, prefer=[PREFERRED_MODEL] + [
        c.key for c in catalog.for_task(TASK) if c.supports_style_mixing
    ])
    choice = catalog.find(default, TASK)
    gr.Markdown(
        "Walk from the face of seed A to the face of seed B. *slerp* follows the Gaussian prior; the *w* space "
        "(StyleGAN models) usually gives the smoothest morph."
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            model = gr.Dropdown(catalog.dropdown(TASK), value=default, label="Model")
            details = details_box(choice)
            seed_a, dice_a = seed_row("Seed A", 1)
            seed_b, dice_b = seed_row("Seed B", 7)
            frames = gr.Slider(2, APP_MAX_FRAMES, value=16, step=1, label="Frames")
            with gr.Row():
                method = gr.Radio(list(METHODS), value="slerp", label="Interpolation")
                space = gr.Radio(list(SPACES), value="w" if choice and choice.supports_style_mixing else "z",
                                 label="Latent space")
            psi = gr.Slider(0.0, 1.0, value=families.suggested_psi(choice.family if choice else None), step=0.05, label="Truncation ψ")
            klass = class_picker(choice)
            button = gr.Button("Interpolate", variant="primary", elem_id="interp-generate")
        with gr.Column(scale=2):
            with gr.Row():
                gif = gr.Image(label="Animated GIF", type="filepath", height=300, interactive=False,
                               elem_id="interp-gif")
                video = gr.Video(label="MP4", height=300, interactive=False, loop=True, autoplay=True,
                                 elem_id="interp-video")
            gallery = gr.Gallery(label="Frames", columns=6, height=300, object_fit="contain", format="png",
                                 elem_id="interp-gallery")
    with gr.Accordion("Style mixing", open=True, visible=bool(choice and choice.supports_style_mixing),
                      elem_id="style-mixing") as mixing:
        gr.Markdown(
            "Take one group of style layers from seed B: **coarse** = pose and face shape, **middle** = features "
            "and expression, **fine** = colours and micro-texture (64 px models and up)."
        )
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                style_range = gr.Radio(list(STYLE_RANGES), value="coarse", label="Styles from B")
                mix_button = gr.Button("Mix styles", variant="primary", elem_id="mix-generate")
            with gr.Column(scale=2):
                mixed = gr.Gallery(label="A · B · A with B's styles", columns=3, height=280, object_fit="contain",
                                   format="png", elem_id="mix-gallery")

    dice_a.click(random_seed, None, seed_a, api_name="random_seed_a")
    dice_b.click(random_seed, None, seed_b, api_name="random_seed_b")
    model.change(bind(on_model_change, catalog), model, [klass, details, mixing, psi], api_name="interpolation_model_info",
                 api_visibility="undocumented")
    button.click(bind(interpolate, catalog), [model, seed_a, seed_b, frames, method, space, psi, klass],
                 [gallery, gif, video], api_name="interpolate", concurrency_id=MODEL_QUEUE)
    mix_button.click(bind(style_mix, catalog), [model, seed_a, seed_b, style_range, psi, klass], mixed,
                     api_name="style_mix", concurrency_id=MODEL_QUEUE)
