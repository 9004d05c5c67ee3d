"""Tab -- your face in the zoo: upload a photo, find its latent (GAN inversion on the CPU), morph it into any seed."""

from __future__ import annotations

from typing import Any, Optional

import gradio as gr
import torch

from ui.catalog import Catalog, get_pipeline
from ui.checks import check_int, check_seed, open_user_image, user_error, user_errors
from ui.gradio_patches import checked_upload
from ui.outputs import OUTPUTS, shown
from ui.spaces import GPU
from ui.widgets import MODEL_QUEUE, bind, random_seed, seed_row
from zoo import families
from zoo.face_align import align_face
from zoo.limits import APP_MAX_FRAMES
from zoo.pipelines import GANInversionPipeline, write_gif
from zoo.pipelines.inversion import DEFAULT_STEPS

TASK = families.UNCONDITIONAL
PREFERRED_MODEL = "faces-style-64"


def _invertible(catalog: Catalog) -> list[tuple[str, str]]:
    """Noise models without classes (inversion needs one latent space to search)."""
    return [(c.label, c.key) for c in catalog.for_task(TASK) if not c.num_classes]


@GPU
def find_face(catalog: Catalog, model: str, photo: Optional[str], align: Any = True,
              progress: gr.Progress = gr.Progress()):
    """(the photo as the model sees it, its reconstruction, the latent w for the morph, a note on the framing).

    With ``align`` the face is found and framed like the training photos first (the same
    :func:`zoo.face_align.align_face` as ``python -m zoo project``); otherwise the centre square is used."""
    choice = catalog.require(model, TASK)
    if choice.num_classes:
        raise user_error(f"{choice.label} is class-conditional; pick an unconditional model to find your face in")
    image = open_user_image(photo, "photo")
    progress(0.01, desc="Finding the face")
    framed = align_face(image, align=align is not False)
    progress(0.02, desc="Loading model")
    pipe = get_pipeline(choice, GANInversionPipeline)

    def report(step: int, total: int, loss: float) -> None:
        progress(step / total, desc=f"Searching the latent space: step {step}/{total}")

    with user_errors():
        out = pipe(framed.image, num_steps=DEFAULT_STEPS, callback=report)
    note = framed.message[0].upper() + framed.message[1:] + "."
    return shown(out.target, "target"), shown(out.image, "reconstruction"), out.w.cpu(), note


@GPU
def morph_face(catalog: Catalog, model: str, w: Optional[torch.Tensor], seed: Any, frames: Any) -> str:
    """A GIF from the reconstruction to the face of ``seed``."""
    if w is None:
        raise user_error("Find your face first: upload a photo and press 'Find my face'")
    choice = catalog.require(model, TASK)
    seed = check_seed(seed)
    frames = check_int("frames", frames, 2, APP_MAX_FRAMES)
    pipe = get_pipeline(choice, GANInversionPipeline)
    with user_errors():
        images = pipe.morph(w, seed=seed, num_frames=frames)
    return str(write_gif(images, OUTPUTS.new_path(f"morph_{seed}", ".gif")))


def build(catalog: Catalog) -> None:
    options = _invertible(catalog)
    keys = [key for _, key in options]
    default = PREFERRED_MODEL if PREFERRED_MODEL in keys else (keys[0] if keys else None)
    gr.Markdown(
        "Upload a frontal photo of a face. The app finds the face and frames it as the training photos are "
        "(centred, the same size, eyes level; untick *Align face automatically* to use the centre square), "
        f"then searches the model's latent space for the face closest to it ({DEFAULT_STEPS} optimisation steps "
        "of a pixel and a perceptual loss, a few seconds on a CPU), and shows the model's version of you. "
        "Then morph it into any seed."
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            model = gr.Dropdown(options, value=default, label="Model")
            photo = checked_upload(gr.Image(label="Your photo", type="filepath", sources=["upload", "webcam", "clipboard"],
                                            height=300, elem_id="face-upload"), "photo")
            align = gr.Checkbox(True, label="Align face automatically", elem_id="face-align",
                                info="Find the face (OpenCV) and frame it like the training photos")
            find = gr.Button("Find my face", variant="primary", elem_id="face-find")
        with gr.Column(scale=2):
            with gr.Row():
                target = gr.Image(label="Your photo as the model sees it", format="png", interactive=False,
                                  height=260, elem_id="face-target")
                reconstruction = gr.Image(label="The model's version of you", format="png", interactive=False,
                                          height=260, elem_id="face-reconstruction")
            note = gr.Markdown(elem_id="face-note")
            with gr.Row():
                seed, dice = seed_row("Morph into seed", 7)
                frames = gr.Slider(2, APP_MAX_FRAMES, value=16, step=1, label="Frames")
            morph = gr.Button("Morph", elem_id="face-morph")
            gif = gr.Image(label="Your face -> seed", format="gif", interactive=False, height=260, elem_id="face-gif")
    w = gr.State(None)
    dice.click(random_seed, None, seed, api_name="random_seed_face")
    find.click(bind(find_face, catalog), [model, photo, align], [target, reconstruction, w, note], api_name="find_face",
               concurrency_id=MODEL_QUEUE)
    morph.click(bind(morph_face, catalog), [model, w, seed, frames], gif, api_name="morph_face",
                concurrency_id=MODEL_QUEUE)
