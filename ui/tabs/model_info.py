"""Tab 5 -- models: each model's card, where it comes from, and how to use it from Python."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import gradio as gr

from ui.catalog import Catalog, ModelChoice
from ui.checks import user_error
from ui.widgets import bind
from zoo import families

_FRONT_MATTER = re.compile(r"\A\ufeff?---\s*\n.*?\n---\s*(\n|\Z)", re.DOTALL)
_IMAGE_LINK = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EXTERNAL = ("http://", "https://", "mailto:", "#")

#: Card images the tab shows as real image components (relative links cannot be served from markdown).
SHOWN_IMAGES = {"samples/final_grid.png": "Final sample grid", "samples/progress.gif": "Training progress"}


def card_markdown(readme: str) -> str:
    """A model card as the tab can render it: no YAML header, relative links turned into plain text."""
    text = _FRONT_MATTER.sub("", readme, count=1).lstrip()

    def image(match: re.Match) -> str:
        alt, target = match.group(1), match.group(2)
        if target.startswith(_EXTERNAL):
            return match.group(0)
        where = " (shown next to the card)" if target.lstrip("./") in SHOWN_IMAGES else ""
        return f"*[image: {alt or target}{where}]*"

    def link(match: re.Match) -> str:
        label, target = match.group(1), match.group(2)
        return match.group(0) if target.startswith(_EXTERNAL) else f"{label} (`{target}`)"

    return _LINK.sub(link, _IMAGE_LINK.sub(image, text))


def python_snippet(choice: ModelChoice) -> str:
    """Copy-paste code that loads this model the way its source requires."""
    task = choice.task if choice.task in families.TASKS else families.UNCONDITIONAL
    target = choice.directory if choice.kind == "local" and choice.directory else choice.key
    bundled = choice.kind == "bundled"
    code = families.python_usage(task, choice.key if bundled else target, choice.revision, registered=bundled,
                                 class_names=choice.class_names, psi=choice.suggested_psi)
    if choice.supports_style_mixing:
        interpolation = (
            f'load_pipeline("{choice.key}", GANInterpolationPipeline)' if choice.kind == "bundled"
            else f'GANInterpolationPipeline.from_pretrained("{target}"'
            + (f', revision="{choice.revision}")' if choice.revision else ")")
        )
        code += (
            "\n# a morph between two seeds, as a GIF\n"
            "from zoo.pipelines import GANInterpolationPipeline, write_gif\n"
            f"morph = {interpolation}\n"
            'frames = morph(seed_a=1, seed_b=7, num_frames=16, space="w").images\n'
            'write_gif(frames, "morph.gif")\n'
        )
    return code


def model_info(catalog: Catalog, model: str) -> tuple[str, Optional[str], Optional[str], str, str]:
    """(card, final grid, progress GIF, source, snippet) for one model."""
    choice = _listed(catalog, model)
    directory = Path(choice.directory) if choice.directory else None
    readme = directory / "README.md" if directory else None
    if choice.error:
        card = f"### {choice.label}\n\n**Unavailable:** this model cannot be used right now: {choice.error}"
    elif readme is not None and readme.is_file():
        card = card_markdown(readme.read_text(encoding="utf-8", errors="replace"))
    else:
        card = f"### {choice.label}\n\n{choice.description or 'This checkpoint has no model card (README.md).'}"
    grid, progress_gif = (
        str(directory / name) if directory and (directory / name).is_file() else None for name in SHOWN_IMAGES
    )
    facts = [f"**Source:** {choice.source_text}", f"**Task:** {choice.task or 'unknown'}",
             f"**Family:** {_family_name(choice.family)}", f"**Native resolution:** {choice.native_size}"]
    if choice.num_classes:
        facts.append(f"**Classes:** {', '.join(choice.class_names)}")
    return card, grid, progress_gif, "  \n".join(facts), python_snippet(choice)


def _family_name(family: str) -> str:
    spec = families.FAMILIES.get(family)
    return f"{spec.display_name} (`{family}`)" if spec else family


def _listed(catalog: Catalog, model: Any) -> ModelChoice:
    """Any listed model, usable or not: the card is where an unusable model explains itself."""
    choice = catalog.find(model)
    if choice is not None:
        return choice
    if not catalog.choices:
        raise user_error("No models are available yet. Start the app with `--model org/name`.")
    raise user_error(f"Unknown model {model!r}; choose one of: {', '.join(c.key for c in catalog.choices)}")


def build(catalog: Catalog) -> None:
    default = catalog.default()
    gr.Markdown("Each model's card: how it was trained, its metrics, and how to use it from Python.")
    model = gr.Dropdown(catalog.dropdown(), value=default, label="Model", elem_id="models-model")
    initial = model_info(catalog, default) if default else ("No models are available yet.", None, None, "", "")
    with gr.Row():
        with gr.Column(scale=3):
            source = gr.Markdown(initial[3], label="Source", elem_id="model-source")
            card = gr.Markdown(initial[0], label="Model card", elem_id="model-card", max_height=800)
        with gr.Column(scale=2):
            grid = gr.Image(initial[1], label=SHOWN_IMAGES["samples/final_grid.png"], type="filepath",
                            interactive=False, height=360, visible=initial[1] is not None, elem_id="model-grid")
            progress_gif = gr.Image(initial[2], label=SHOWN_IMAGES["samples/progress.gif"], type="filepath",
                                    interactive=False, height=360, visible=initial[2] is not None,
                                    elem_id="model-progress")
    code = gr.Code(initial[4], language="python", label="Use it from Python", interactive=False)
    outputs = [card, grid, progress_gif, source, code]
    model.change(bind(model_info, catalog), model, outputs, api_name="model_info").then(
        bind(image_visibility, catalog), model, [grid, progress_gif], api_visibility="private"
    )


def image_visibility(catalog: Catalog, model: str) -> tuple[Any, Any]:
    """Hide the image boxes of files a checkpoint does not have (kept out of ``/model_info``'s plain values)."""
    choice = _listed(catalog, model)
    directory = Path(choice.directory) if choice.directory else None
    return tuple(gr.update(visible=bool(directory and (directory / name).is_file())) for name in SHOWN_IMAGES)
