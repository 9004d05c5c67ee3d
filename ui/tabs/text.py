"""Tab 3 -- text to image: a short description of a face becomes a few pictures of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import gradio as gr

from ui.catalog import Catalog, ModelChoice, get_pipeline, read_json
from ui.checks import check_int, check_seed, user_errors
from ui.outputs import shown
from ui.spaces import GPU
from ui.tabs import EXAMPLES_DIR
from ui.widgets import MODEL_QUEUE, bind, random_seed, seed_row
from zoo import families
from zoo.limits import APP_MAX_TEXT_IMAGES
from zoo.pipelines import Text2ImagePipeline
from zoo.text import DEFAULT_MAX_PROMPT_CHARS, validate_prompt

TASK = families.TEXT_TO_IMAGE
PROMPTS_FILE = EXAMPLES_DIR / "prompts.txt"
FALLBACK_PROMPTS = ["a smiling woman in her twenties", "a neutral man in his thirties"]


def example_prompts() -> list[str]:
    """Prompts written in the words of the training captions (the model knows nothing else)."""
    try:
        lines = PROMPTS_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:
        return FALLBACK_PROMPTS
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")] or FALLBACK_PROMPTS


#: (block of the evaluation's faithfulness scores, attribute, how the UI names what was asked).
_FOLLOWS = (("template_wording", "gender", "gender"), ("template_wording", "expression", "expression"),
            ("ethnicity", "ethnicity", "ethnicity (white / not white)"))


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def learned_words(config: Any) -> dict[str, dict[str, list[str]]]:
    """Per metadata field, per value, the words the training captions used for it, read from the
    caption config in ``training_summary.json`` (``caption_words`` maps, and the value itself where a
    template names the field directly). Only fields said in more than one way: those are where a
    prompt's wording matters, and the words the model met are the ones it follows best.
    """
    if not isinstance(config, dict) or not isinstance(config.get("caption_words"), dict):
        return {}
    templates = [t for t in [config.get("caption_template"), *(config.get("caption_paraphrases") or [])] if isinstance(t, str)]
    out: dict[str, dict[str, list[str]]] = {}
    for spec in config["caption_words"].values():
        if not isinstance(spec, dict) or not isinstance(spec.get("from"), str):
            continue
        field = spec["from"]
        values = out.setdefault(field, {})
        for value, words in spec.items():
            if value == "from" or not isinstance(words, str):
                continue
            said = values.setdefault(value, [value] if any("{" + field + "}" in t for t in templates) else [])
            if words not in said:
                said.append(words)
    return {field: values for field, values in out.items() if any(len(words) > 1 for words in values.values())}


def _words_line(summary: Any) -> str:
    words = learned_words((summary if isinstance(summary, dict) else {}).get("config"))
    if not words:
        return ""
    fields = "; ".join(
        f"{field}: " + " · ".join(f"*{value}*: " + ", ".join(said) for value, said in values.items())
        for field, values in words.items()
    )
    return f"\n\n**Words it learned** (its training captions; other wordings work less well): {fields}."


def prompt_guide(choice: Optional[ModelChoice]) -> str:
    """Which prompt words the chosen model really follows, from the attribute probes in its ``metrics.json``.

    A user typing "an east asian woman" deserves to know before clicking that the model may ignore the
    word: the numbers are the share of generated faces that probes trained on real faces read as asked
    (balanced over the values, so 50% is chance), written by ``python -m training.evaluate``; then
    the words its captions used (``training_summary.json``), so the user can borrow them.
    """
    directory = Path(choice.directory) if choice is not None and choice.directory else None
    metrics = read_json(directory / "metrics.json") if directory else {}
    scores = ((metrics if isinstance(metrics, dict) else {}).get("evaluation") or {}).get("faithfulness") or {}

    def accuracy(block: str, attribute: str) -> Optional[float]:
        value = ((scores.get(block) or {}).get("accuracy") or {}).get(attribute)
        return value if isinstance(value, (int, float)) else None

    parts = []
    for block, attribute, name in _FOLLOWS:
        value = accuracy(block, attribute)
        if value is None:
            continue
        other = accuracy("unseen_wording", attribute)
        text = f"{name} {_percent(value)}"
        if block == "template_wording" and other is not None:
            text += f" ({_percent(other)} in other wordings)"
        if value < 0.6:
            text += ": about chance, the model ignores this word"
        parts.append(text)
    words = _words_line(read_json(directory / "training_summary.json")) if directory else ""
    if not parts:
        return "**What this model follows:** not measured (its files have no attribute-probe scores)." + words
    return ("**What this model follows** (share of its faces that probes trained on real photos read as asked; "
            "50% is chance): " + " · ".join(parts) + "." + words)


@GPU
def text_to_image(
    catalog: Catalog,
    model: str,
    prompt: Any,
    seed: Any,
    count: Any,
    progress: gr.Progress = gr.Progress(),
) -> list[tuple[Any, str]]:
    """``count`` images of one prompt; image ``i`` uses seed ``seed + i``."""
    choice = catalog.require(model, TASK)
    with user_errors():
        prompt = validate_prompt(prompt if prompt is not None else "")
    seed = check_seed(seed)
    count = check_int("number of images", count, 1, APP_MAX_TEXT_IMAGES)
    progress(0.1, desc="Loading model and text encoder")
    pipe = get_pipeline(choice, Text2ImagePipeline)
    progress(0.4, desc="Generating")
    with user_errors():
        images = pipe(prompt, num_images_per_prompt=count, seed=seed).images
    return [(shown(image, f"text_{seed + i}"), f"{prompt} · seed {seed + i}") for i, image in enumerate(images)]


def build(catalog: Catalog) -> None:
    default = catalog.default(TASK)
    gr.Markdown("Describe a face in a few words. The model learned from captions like the examples below.")
    if default is None:
        gr.Markdown("**Note:** no text-to-image model is available yet; start the app with `--model org/name`.")
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            model = gr.Dropdown(catalog.dropdown(TASK), value=default, label="Model")
            guide = gr.Markdown(prompt_guide(catalog.find(default, TASK)), elem_id="prompt-guide")
            prompt = gr.Textbox(label="Prompt", value=example_prompts()[0], max_length=DEFAULT_MAX_PROMPT_CHARS,
                                placeholder="a smiling woman in her twenties", elem_id="prompt")
            gr.Examples(example_prompts(), inputs=prompt, label="Example prompts", elem_id="prompt-examples",
                        api_name="load_example_prompt")
            seed, dice = seed_row("Seed", 0)
            count = gr.Slider(1, APP_MAX_TEXT_IMAGES, value=4, step=1, label="Number of images")
            button = gr.Button("Generate", variant="primary", elem_id="text-generate")
        with gr.Column(scale=2):
            choice = catalog.find(default, TASK)
            label = f"Generated ({choice.native_size} native, shown enlarged)" if choice else "Generated"
            gallery = gr.Gallery(label=label,
                                 columns=4, height=520, object_fit="contain", format="png", elem_id="text-gallery")

    model.change(lambda key: prompt_guide(catalog.find(key, TASK)), model, guide, api_name="prompt_guide")
    dice.click(random_seed, None, seed, api_name="random_seed_text")
    button.click(bind(text_to_image, catalog), [model, prompt, seed, count], gallery, api_name="text_to_image",
                 concurrency_id=MODEL_QUEUE)
    prompt.submit(bind(text_to_image, catalog), [model, prompt, seed, count], gallery, api_name="text_to_image_submit",
                  concurrency_id=MODEL_QUEUE, api_visibility="undocumented")
