"""Tab 2 -- sketch to photo: draw a face (or upload a drawing or a photo) and see the pix2pix photo next to it."""

from __future__ import annotations

from typing import Any, Optional

import gradio as gr
import PIL.Image

from ui.catalog import Catalog, get_pipeline
from ui.checks import check_pixels, open_user_image, user_error, user_errors
from ui.gradio_patches import checked_upload
from ui.outputs import shown
from ui.spaces import GPU
from ui.tabs import EXAMPLES_DIR
from ui.widgets import MODEL_QUEUE, bind
from zoo import families
from zoo.pipelines import Sketch2PhotoPipeline

TASK = families.IMAGE_TO_IMAGE

#: Gradio's Sketchpad opens with no tool selected ("select the draw tool to start"); pick the brush
#: for the user when the tab is shown. Retries because the canvas mounts after the tab switch.
SELECT_BRUSH_JS = """
() => {
  let tries = 0;
  const pick = () => {
    const brush = document.querySelector('#sketchpad button[aria-label="Brush"]');
    if (brush) { brush.click(); } else if (tries++ < 30) { setTimeout(pick, 100); }
  };
  pick();
}
"""


def example_sketches() -> list[str]:
    """Line drawings from face templates first (what a hand drawing should look like), then edge sketches."""
    return sorted(str(p) for p in EXAMPLES_DIR.glob("drawing_*.png")) + sorted(str(p) for p in EXAMPLES_DIR.glob("sketch_*.png"))


def _canvas_image(canvas: Any) -> Optional[PIL.Image.Image]:
    """The flattened drawing of a Sketchpad value, or ``None`` when nothing was drawn."""
    if canvas is None:
        return None
    if isinstance(canvas, dict):
        canvas = canvas.get("composite")
    if isinstance(canvas, PIL.Image.Image):
        check_pixels(canvas.width, canvas.height, "sketch")
        return canvas
    return None


def _render(pipe: Sketch2PhotoPipeline, image: PIL.Image.Image, from_photo: bool) -> tuple[str, str]:
    """(what the model saw, the generated photo), both at the model's own resolution (the input's
    aspect ratio) and enlarged with visible pixels: what the button and every live stroke show."""
    with user_errors():
        seen = pipe.sketch_of(image, from_photo=from_photo, at_model_resolution=True)
        photo = pipe(image, from_photo=from_photo, at_model_resolution=True).images[0]
    return shown(seen, "sketch"), shown(photo, "photo")


@GPU
def sketch_to_photo(
    catalog: Catalog,
    model: str,
    sketch: Any,
    upload: Optional[str],
    from_photo: bool = False,
    progress: gr.Progress = gr.Progress(),
) -> tuple[str, str]:
    """(what the model saw, the generated photo); an uploaded image is used in preference to the canvas."""
    choice = catalog.require(model, TASK)
    if upload:
        image = open_user_image(upload, "upload")
    else:
        image = _canvas_image(sketch)
        if image is None:
            raise user_error("The sketch canvas is empty: draw a face (or upload an image) first")
        if from_photo:
            raise user_error("'Extract the line drawing from a photo first' applies to uploaded photos, not drawings")
    progress(0.1, desc="Loading model")
    pipe = get_pipeline(choice, Sketch2PhotoPipeline)
    progress(0.4, desc="Drawing the photo")
    return _render(pipe, image, bool(from_photo))


@GPU
def live_photo(catalog: Catalog, model: str, sketch: Any) -> tuple[Optional[str], Optional[str]]:
    """The photo of the drawing so far, for every stroke (no button): quiet while the canvas is empty
    or the model is unusable, because an error popup per stroke would be noise; the button says why."""
    choice = catalog.find(model, TASK)
    image = _canvas_image(sketch)
    if choice is None or choice.error or image is None or image.getbbox() is None:
        return None, None
    return _render(get_pipeline(choice, Sketch2PhotoPipeline), image, from_photo=False)


def build(catalog: Catalog) -> None:
    default = catalog.default(TASK)
    gr.Markdown(
        "Draw a face with the mouse (black lines on white), or upload a line drawing. Tick the box to upload a "
        "*photo* instead: the app first turns it into a line drawing with the same extractor the model was "
        "trained on. An uploaded image takes precedence over the canvas (clear the upload to use your drawing).\n\n"
        "**What works best:** a frontal face that fills the middle third of the canvas, drawn with thin lines: "
        "the outline of the face, brows, eyes, nose and lips, like the first example drawings. The model was "
        "trained on such drawings (made from face landmark templates), on hasty doodles of them and on edge "
        "sketches of photos; it has not seen profiles, shading or tiny faces in a corner."
    )
    if default is None:
        gr.Markdown("**Note:** no sketch-to-photo model is available yet; start the app with `--model org/name`.")
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            model = gr.Dropdown(catalog.dropdown(TASK), value=default, label="Model")
            with gr.Tabs():
                with gr.Tab("Draw") as draw_tab:
                    sketch = gr.Sketchpad(
                        label="Sketch",
                        type="pil",
                        image_mode="RGBA",
                        canvas_size=(512, 512),
                        brush=gr.Brush(default_size=8, colors=["#000000"], color_mode="fixed"),
                        layers=False,
                        height=440,
                        elem_id="sketchpad",
                    )
                    checked_upload(sketch, "sketch")
                with gr.Tab("Upload"):
                    upload = checked_upload(gr.Image(label="Upload a sketch or a photo", type="filepath",
                                                     image_mode=None, sources=["upload", "clipboard"], height=360,
                                                     elem_id="sketch-upload"))
                    examples = example_sketches()
                    if examples:
                        gr.Examples(examples, inputs=upload, label="Example sketches (from held-out faces)",
                                    elem_id="sketch-examples", api_name="load_example_sketch")
            from_photo = gr.Checkbox(False, label="Extract the line drawing from a photo first")
            live = gr.Checkbox(True, label="Live: update the photo while I draw", elem_id="sketch-live")
            button = gr.Button("Make a photo", variant="primary", elem_id="sketch-generate")
        with gr.Column(scale=1):
            with gr.Row():
                seen = gr.Image(label="Input sketch (as the model sees it)", format="png", height=360,
                                interactive=False, elem_id="sketch-seen")
                photo = gr.Image(label="Generated photo", format="png", height=360, interactive=False,
                                 elem_id="sketch-photo")
            choice = catalog.find(default, TASK)
            if choice:
                gr.Markdown(f"The model works at **{choice.native_size}**; results are shown enlarged.")

    draw_tab.select(None, None, None, js=SELECT_BRUSH_JS)
    button.click(bind(sketch_to_photo, catalog), [model, sketch, upload, from_photo], [seen, photo],
                 api_name="sketch_to_photo", concurrency_id=MODEL_QUEUE)
    # Every stroke re-renders the photo; "always_last" drops the strokes that arrive while one is being
    # drawn, so a fast hand never queues a backlog, and no spinner covers the result.
    sketch.input(bind(live_sketch_or_nothing, catalog), [model, sketch, live], [seen, photo], api_name="sketch_live",
                 concurrency_id=MODEL_QUEUE, trigger_mode="always_last", show_progress="hidden", queue=True)


def live_sketch_or_nothing(catalog: Catalog, model: str, sketch: Any, live: bool) -> tuple[Any, Any]:
    """Live updates when the box is ticked; otherwise leave the shown images as they are."""
    if not live:
        return gr.skip(), gr.skip()
    return live_photo(catalog, model, sketch)
