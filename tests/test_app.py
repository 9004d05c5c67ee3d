"""The Gradio app, driven end to end through ``gradio_client`` against a real server on 127.0.0.1.

Tiny random checkpoints of every family stand in for the bundled models, so these tests check
the wiring (endpoints, sizes, counts, determinism, error messages, survival after bad input), not
image quality.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the app's `ui` package lives at the repo root

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from tiny import RESOLUTION, save_tiny_checkpoint  # noqa: E402

from ui import build_demo, launch_options  # noqa: E402
from ui.browser import free_local_port  # noqa: E402
from ui.outputs import DISPLAY_SIZE  # noqa: E402
from ui.tabs.model_info import card_markdown  # noqa: E402
from ui.tabs.text import learned_words  # noqa: E402
from zoo.limits import APP_MAX_IMAGES as MAX_IMAGES  # noqa: E402

OFFLINE_REPO = "gan-zoo-test/never-downloaded"
ENV_REPO = "gan-zoo-test/from-env"
CLASS_NAMES = ["neutral", "smiling", "surprised"]
SCALE = DISPLAY_SIZE // RESOLUTION  # tiny 32px images are shown enlarged 8x


def _write_card(directory: Path) -> None:
    """A model card the way the trainer writes one: YAML header, relative image links, sample files."""
    (directory / "samples").mkdir()
    Image.new("RGB", (40, 40), "red").save(directory / "samples" / "final_grid.png")
    frames = [Image.new("RGB", (20, 20), colour) for colour in ("red", "blue")]
    frames[0].save(directory / "samples" / "progress.gif", save_all=True, append_images=frames[1:])
    (directory / "README.md").write_text(
        "---\nlicense: mit\ntags:\n- gan\n---\n# Tiny StyleGAN\n\nSamples:\n\n"
        "![final grid](samples/final_grid.png)\n\nSee [the config](training_config.yaml) and "
        "[the paper](https://arxiv.org/abs/1812.04948).\n"
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("app_models")
    paths = {family: str(save_tiny_checkpoint(family, root / f"tiny-{family}"))
             for family in ("dcgan", "stylegan", "pix2pix", "textgan")}
    paths["conditional"] = str(save_tiny_checkpoint("dcgan", root / "tiny-conditional", num_classes=3))
    paths["named"] = str(save_tiny_checkpoint("dcgan", root / "tiny-named", num_classes=3))
    # What the trainer writes for a class-conditional run: the names the app's class pickers show.
    summary = {"family": "dcgan", "class_names": CLASS_NAMES}
    (Path(paths["named"]) / "training_summary.json").write_text(json.dumps(summary))
    _write_card(Path(paths["stylegan"]))
    return paths


@pytest.fixture(scope="module")
def client(models: dict[str, str]):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("GAN_ZOO_MODELS", ENV_REPO)
        demo = build_demo(models=list(models.values()) + [OFFLINE_REPO], include_bundled=False)
    port = free_local_port()
    demo.launch(**launch_options(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True))
    try:
        yield Client(f"http://127.0.0.1:{port}/", analytics_enabled=False, verbose=False)
    finally:
        demo.close()


def _pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _gallery(result: list[dict]) -> list[np.ndarray]:
    return [_pixels(item["image"]) for item in result]


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to one 8-bit level: the same latent run in batches of different sizes differs by float rounding."""
    return a.shape == b.shape and int(np.abs(a.astype(int) - b.astype(int)).max()) <= 1


def _faces(client: Client, model: str, seed: int, count: int, psi: float = 0.7, klass=None):
    return client.predict(model, seed, count, psi, klass, api_name="/generate_faces")


def test_every_endpoint_is_published(client: Client) -> None:
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {"/generate_faces", "/sketch_to_photo", "/text_to_image", "/interpolate", "/style_mix", "/model_info",
            "/random_seed"} <= names


def test_random_seed(client: Client) -> None:
    seeds = {client.predict(api_name="/random_seed") for _ in range(3)}
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in seeds)


def test_generate_faces_sizes_counts_and_grid(client: Client, models: dict[str, str]) -> None:
    gallery, grid = _faces(client, models["dcgan"], seed=3, count=5)
    images = _gallery(gallery)
    assert len(images) == 5 and all(im.shape == (DISPLAY_SIZE, DISPLAY_SIZE, 3) for im in images)
    assert [item["caption"] for item in gallery] == [f"seed {s}" for s in range(3, 8)]
    # The download keeps native resolution: 5 images -> a 3x2 grid of 32px tiles with 2px gutters.
    assert Image.open(grid).format == "PNG"
    assert Image.open(grid).size == (3 * RESOLUTION + 2 * 2, 2 * RESOLUTION + 2)
    # Enlarging is nearest-neighbour: every 8x8 block is one native pixel.
    assert np.array_equal(images[0], np.kron(images[0][::SCALE, ::SCALE], np.ones((SCALE, SCALE, 1), np.uint8)))


def test_generate_faces_is_reproducible_per_seed(client: Client, models: dict[str, str]) -> None:
    first = _gallery(_faces(client, models["stylegan"], seed=11, count=3)[0])
    again = _gallery(_faces(client, models["stylegan"], seed=11, count=3)[0])
    third_alone = _gallery(_faces(client, models["stylegan"], seed=13, count=1)[0])
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert _close(first[2], third_alone[0])  # image i of seed s is the image of seed s + i
    assert not np.array_equal(first[0], first[1])


def test_truncation_changes_images(client: Client, models: dict[str, str]) -> None:
    full = _gallery(_faces(client, models["stylegan"], seed=5, count=1, psi=1.0)[0])[0]
    mean = _gallery(_faces(client, models["stylegan"], seed=6, count=1, psi=0.0)[0])[0]
    other_mean = _gallery(_faces(client, models["stylegan"], seed=99, count=1, psi=0.0)[0])[0]
    assert np.array_equal(mean, other_mean)  # psi 0 is the average face whatever the seed
    assert not np.array_equal(full, mean)


def test_class_conditional_model(client: Client, models: dict[str, str]) -> None:
    a = _gallery(_faces(client, models["conditional"], seed=1, count=1, klass="class 0")[0])[0]
    b = _gallery(_faces(client, models["conditional"], seed=1, count=1, klass="class 2")[0])[0]
    assert not np.array_equal(a, b)
    with pytest.raises(AppError, match="class-conditional"):
        _faces(client, models["conditional"], seed=1, count=1, klass="class 7")


@pytest.mark.parametrize(
    ("seed", "count", "psi", "message"),
    [(0, 0, 0.7, "less than minimum"), (0, MAX_IMAGES + 1, 0.7, "greater than maximum"),
     (0, 2, 1.5, "greater than maximum"), (-1, 2, 0.7, "less than minimum"), (2**31, 2, 0.7, "greater than maximum"),
     (0, 2.5, 0.7, "whole number")],
)
def test_generate_faces_rejects_out_of_range(client: Client, models: dict[str, str], seed, count, psi, message) -> None:
    with pytest.raises(AppError, match=message):
        _faces(client, models["dcgan"], seed=seed, count=count, psi=psi)


def test_unknown_and_unreachable_models(client: Client, models: dict[str, str]) -> None:
    with pytest.raises(AppError, match="not in the list of choices|Unknown model"):
        _faces(client, "/etc", seed=0, count=1)
    with pytest.raises(AppError, match="HF_HUB_OFFLINE"):  # listed, but says why it cannot be used
        _faces(client, OFFLINE_REPO, seed=0, count=1)
    with pytest.raises(AppError, match="HF_HUB_OFFLINE"):  # GAN_ZOO_MODELS is honoured the same way
        _faces(client, ENV_REPO, seed=0, count=1)
    with pytest.raises(AppError, match="not in the list of choices|Unknown model"):  # wrong task for the tab
        client.predict(models["dcgan"], "a smiling woman", 0, 1, api_name="/text_to_image")


@pytest.fixture(scope="module")
def sketch_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    image = Image.new("RGB", (96, 64), "white")
    image.paste((0, 0, 0), (20, 28, 76, 36))  # a thick stroke survives the downscale to 32px
    path = tmp_path_factory.mktemp("sketch") / "sketch.png"
    image.save(path)
    return path


def _sketch(client: Client, models: dict[str, str], canvas=None, upload=None, from_photo=False):
    return client.predict(models["pix2pix"], canvas, upload, from_photo, api_name="/sketch_to_photo")


def test_sketch_to_photo_from_upload_keeps_aspect(client: Client, models: dict[str, str], sketch_png: Path) -> None:
    seen, photo = _sketch(client, models, upload=handle_file(sketch_png))
    # 96x64 input -> both shown at the model's 32px with the input's aspect (32x21), enlarged 8x.
    assert Image.open(seen).size == Image.open(photo).size == (256, 168)
    assert _pixels(seen).min() < 60  # the stroke is visible in "what the model saw"
    again = _sketch(client, models, upload=handle_file(sketch_png))[1]
    assert np.array_equal(_pixels(photo), _pixels(again))


def test_sketch_to_photo_from_canvas(client: Client, models: dict[str, str], sketch_png: Path) -> None:
    file = handle_file(sketch_png)
    canvas = {"background": file, "layers": [], "composite": file, "id": None}
    seen, photo = _sketch(client, models, canvas=canvas)
    via_upload = _sketch(client, models, upload=handle_file(sketch_png))[1]
    assert np.array_equal(_pixels(photo), _pixels(via_upload))


def test_live_sketch_updates_without_the_button(client: Client, models: dict[str, str], sketch_png: Path,
                                               tmp_path: Path) -> None:
    """Every stroke gives the same photo the button would; an empty canvas or 'live' off gives nothing."""
    file = handle_file(sketch_png)
    canvas = {"background": file, "layers": [], "composite": file, "id": None}
    seen, photo = client.predict(models["pix2pix"], canvas, True, api_name="/sketch_live")
    button_seen, button_photo = _sketch(client, models, canvas=canvas)
    assert np.array_equal(_pixels(photo), _pixels(button_photo))
    assert np.array_equal(_pixels(seen), _pixels(button_seen))  # and shows the same input
    blank = tmp_path / "blank.png"
    Image.new("RGBA", (64, 64), (255, 255, 255, 0)).save(blank)
    empty = {"background": handle_file(blank), "layers": [], "composite": handle_file(blank), "id": None}
    assert client.predict(models["pix2pix"], empty, True, api_name="/sketch_live") == (None, None)


def test_sketch_from_photo_extracts_lines(client: Client, models: dict[str, str], tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    photo = np.full((64, 64, 3), 180, np.uint8)
    photo[16:48, 16:48] = rng.integers(0, 120, (32, 32, 3))
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    seen, _ = _sketch(client, models, upload=handle_file(path), from_photo=True)
    seen_pixels = _pixels(seen)
    assert np.allclose(seen_pixels, seen_pixels[..., :1])  # a grey line drawing, not the colour photo
    seen_plain, _ = _sketch(client, models, upload=handle_file(path), from_photo=False)
    assert not np.array_equal(seen_pixels, _pixels(seen_plain))


def test_sketch_to_photo_rejects_bad_input(client: Client, models: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(AppError, match="canvas is empty"):
        _sketch(client, models)
    Image.new("RGB", (64, 64), "white").save(tmp_path / "blank.png")
    with pytest.raises(AppError, match="empty"):
        _sketch(client, models, upload=handle_file(tmp_path / "blank.png"))
    huge = Image.new("L", (4097, 4096), 255)
    huge.putpixel((10, 10), 0)
    huge.save(tmp_path / "huge.png")
    with pytest.raises(AppError, match="4097x4096 pixels; the limit"):
        _sketch(client, models, upload=handle_file(tmp_path / "huge.png"))
    (tmp_path / "notes.png").write_text("this is not an image")
    with pytest.raises(AppError, match="not an image"):
        _sketch(client, models, upload=handle_file(tmp_path / "notes.png"))
    (tmp_path / "notes.txt").write_text("this is not an image either")
    with pytest.raises(AppError, match="not an image"):
        file = handle_file(tmp_path / "notes.txt")
        _sketch(client, models, canvas={"background": file, "layers": [], "composite": file, "id": None})


def test_text_to_image(client: Client, models: dict[str, str]) -> None:
    prompt = "a smiling woman in her twenties"
    gallery = client.predict(models["textgan"], prompt, 4, 3, api_name="/text_to_image")
    assert [item["caption"] for item in gallery] == [f"{prompt} · seed {s}" for s in (4, 5, 6)]
    images = _gallery(gallery)
    assert all(im.shape == (DISPLAY_SIZE, DISPLAY_SIZE, 3) for im in images)
    again = _gallery(client.predict(models["textgan"], prompt, 4, 3, api_name="/text_to_image"))
    assert all(np.array_equal(a, b) for a, b in zip(images, again))
    other = _gallery(client.predict(models["textgan"], "a neutral man in his forties", 4, 1, api_name="/text_to_image"))
    assert not np.array_equal(images[0], other[0])


def test_prompt_guide_says_which_words_the_model_follows(client: Client, models: dict[str, str]) -> None:
    directory = Path(models["textgan"])
    assert "not measured" in client.predict(models["textgan"], api_name="/prompt_guide")
    scores = {"template_wording": {"accuracy": {"gender": 0.9, "expression": 0.74}},
              "unseen_wording": {"accuracy": {"gender": 0.8, "expression": 0.6}},
              "ethnicity": {"accuracy": {"ethnicity": 0.51}}}
    (directory / "metrics.json").write_text(json.dumps({"evaluation": {"faithfulness": scores}}))
    try:
        guide = client.predict(models["textgan"], api_name="/prompt_guide")
    finally:
        (directory / "metrics.json").unlink()
    assert "gender 90% (80% in other wordings)" in guide and "expression 74% (60% in other wordings)" in guide
    assert "ethnicity (white / not white) 51%: about chance" in guide and "gender 90% (80% in other wordings):" not in guide


def test_prompt_guide_of_the_bundled_text_model_quotes_its_evaluation() -> None:
    from ui.catalog import inspect_model
    from ui.tabs.text import prompt_guide

    choice = inspect_model("text2face-64")
    scores = json.loads((Path(choice.directory) / "metrics.json").read_text())["evaluation"]["faithfulness"]
    guide = prompt_guide(choice)
    for block, attribute in (("template_wording", "gender"), ("template_wording", "expression"), ("ethnicity", "ethnicity")):
        assert f" {100 * scores[block]['accuracy'][attribute]:.0f}%" in guide
    assert "gender" in guide and "expression" in guide and "ethnicity" in guide
    summary = json.loads((Path(choice.directory) / "training_summary.json").read_text())
    for value, words in learned_words(summary["config"])["expression"].items():  # every word its captions used
        assert f"*{value}*: " + ", ".join(words) in guide


def test_learned_words_lists_each_value_in_every_wording_of_the_captions() -> None:
    config = {"caption_template": "a {expression} {gender_noun}",
              "caption_paraphrases": ["{sex}, {mood}", "a {gender_noun} {with_expression}"],
              "caption_words": {"mood": {"from": "expression", "smiling": "beaming", "neutral": "expressionless"},
                                "with_expression": {"from": "expression", "smiling": "with a smile", "neutral": "still"},
                                "sex": {"from": "gender", "female": "female", "male": "male"}}}
    assert learned_words(config) == {"expression": {"smiling": ["smiling", "beaming", "with a smile"],
                                                    "neutral": ["neutral", "expressionless", "still"]}}
    # Said one way only (gender through "sex"): nothing a prompt's wording could get wrong, so not listed.
    config["caption_template"] = "a {gender_noun}"
    assert learned_words(config)["expression"]["smiling"] == ["beaming", "with a smile"]
    assert learned_words({"caption_template": "a {expression} face"}) == {} and learned_words(None) == {}


@pytest.mark.parametrize(("prompt", "count", "message"),
                         [("   ", 1, "prompt is empty"), ("a" * 301, 1, "too long"), ("a face", 9, "greater than")])
def test_text_to_image_rejects_bad_input(client: Client, models: dict[str, str], prompt, count, message) -> None:
    with pytest.raises(AppError, match=message):
        client.predict(models["textgan"], prompt, 0, count, api_name="/text_to_image")


def test_interpolation_frames_gif_and_mp4(client: Client, models: dict[str, str]) -> None:
    gallery, gif, mp4 = client.predict(models["stylegan"], 1, 2, 5, "slerp", "w", 0.7, None, api_name="/interpolate")
    frames = _gallery(gallery)
    assert len(frames) == 5 and all(f.shape == (DISPLAY_SIZE, DISPLAY_SIZE, 3) for f in frames)
    # The walk starts and ends exactly at the faces of the two seeds.
    assert _close(frames[0], _gallery(_faces(client, models["stylegan"], seed=1, count=1)[0])[0])
    assert _close(frames[-1], _gallery(_faces(client, models["stylegan"], seed=2, count=1)[0])[0])
    animation = Image.open(gif)
    assert animation.format == "GIF" and animation.n_frames == 8 and min(animation.size) >= DISPLAY_SIZE  # boomerang
    header = Path(mp4).read_bytes()[:12]
    assert header[4:8] == b"ftyp" and Path(mp4).stat().st_size > 1000


def test_interpolation_in_z_with_lerp(client: Client, models: dict[str, str]) -> None:
    gallery, _, _ = client.predict(models["dcgan"], 3, 4, 3, "lerp", "z", 1.0, None, api_name="/interpolate")
    frames = _gallery(gallery)
    assert len(frames) == 3 and not np.array_equal(frames[0], frames[1])


@pytest.mark.parametrize(("frames", "method", "space", "message"),
                         [(1, "slerp", "z", "less than minimum"), (49, "slerp", "z", "greater than maximum"),
                          (4, "cubic", "z", "not in the list of choices|method must be"),
                          (4, "slerp", "x", "not in the list of choices|space must be")])
def test_interpolation_rejects_bad_input(client: Client, models: dict[str, str], frames, method, space,
                                         message) -> None:
    with pytest.raises(AppError, match=message):
        client.predict(models["stylegan"], 1, 2, frames, method, space, 0.7, None, api_name="/interpolate")


def test_style_mix(client: Client, models: dict[str, str]) -> None:
    gallery = client.predict(models["stylegan"], 1, 2, "coarse", 0.7, None, api_name="/style_mix")
    a, b, mixed = _gallery(gallery)
    assert gallery[2]["caption"] == "A with coarse styles from B"
    assert not _close(mixed, a) and not _close(mixed, b)
    assert _close(a, _gallery(_faces(client, models["stylegan"], seed=1, count=1)[0])[0])
    with pytest.raises(AppError, match="style mixing needs a StyleGAN"):
        client.predict(models["dcgan"], 1, 2, "coarse", 0.7, None, api_name="/style_mix")
    with pytest.raises(AppError, match="selects no layers"):  # a 32px model has no 64px+ "fine" layers
        client.predict(models["stylegan"], 1, 2, "fine", 0.7, None, api_name="/style_mix")


def test_model_info_renders_the_card(client: Client, models: dict[str, str]) -> None:
    card, grid, progress, source, snippet = client.predict(models["stylegan"], api_name="/model_info")
    assert card.startswith("# Tiny StyleGAN") and "license: mit" not in card
    assert "samples/final_grid.png" not in card and "(shown next to the card)" in card
    assert "[the paper](https://arxiv.org/abs/1812.04948)" in card and "the config (`training_config.yaml`)" in card
    assert Image.open(grid).size == (40, 40) and Image.open(progress).format == "GIF"
    assert "local directory" in source and "32x32" in source and "stylegan" in source
    assert f'GANSamplingPipeline.from_pretrained("{models["stylegan"]}")' in snippet
    compile(snippet, "snippet", "exec")  # the copy-paste code is valid Python


def test_model_info_without_card_and_offline(client: Client, models: dict[str, str]) -> None:
    card, grid, progress, _, snippet = client.predict(models["pix2pix"], api_name="/model_info")
    assert "no model card" in card and grid is None and progress is None
    assert "Sketch2PhotoPipeline" in snippet and "from_photo=True" in snippet
    card, *_ = client.predict(OFFLINE_REPO, api_name="/model_info")
    assert "cannot be used" in card and "HF_HUB_OFFLINE" in card
    with pytest.raises(AppError, match="not in the list of choices|Unknown model"):
        client.predict("nobody/nothing", api_name="/model_info")


def test_model_dependent_controls(models: dict[str, str]) -> None:
    """The class dropdown shows only for class-conditional models; style mixing only for StyleGAN ones."""
    from ui.catalog import build_catalog
    from ui.tabs import interpolation, noise

    catalog = build_catalog(list(models.values()), include_bundled=False)
    klass, details, _ = noise.on_model_change(catalog, models["conditional"])
    assert klass["visible"] and klass["choices"][:3] == ["class 0", "class 1", "class 2"] and "3 classes" in details
    klass, details, psi = noise.on_model_change(catalog, models["dcgan"])
    assert not klass["visible"] and "32x32" in details
    assert interpolation.on_model_change(catalog, models["stylegan"])[2]["visible"]
    assert not interpolation.on_model_change(catalog, models["dcgan"])[2]["visible"]
    # Truncation shrinks a DCGAN's z off the prior's typical shell and only hurts it (README, the
    # truncation table), so its slider starts at 1; a StyleGAN's at 0.7, where it measured cleaner.
    assert psi["value"] == 1.0 and interpolation.on_model_change(catalog, models["dcgan"])[3]["value"] == 1.0
    assert noise.on_model_change(catalog, models["stylegan"])[2]["value"] == 0.7
    assert interpolation.on_model_change(catalog, models["stylegan"])[3]["value"] == 0.7
    assert catalog.default("unconditional-image-generation", prefer=["nope", models["stylegan"]]) == models["stylegan"]


def test_class_pickers_show_the_class_names_of_the_training_summary(client: Client, models: dict[str, str]) -> None:
    """A class-conditional checkpoint's ``class_names`` (training_summary.json) are what the user picks from."""
    from ui.catalog import build_catalog
    from ui.tabs import interpolation, noise

    catalog = build_catalog([models["named"]], include_bundled=False)
    for tab in (noise, interpolation):
        klass = tab.on_model_change(catalog, models["named"])[0]
        assert klass["visible"] and klass["choices"][:3] == CLASS_NAMES and klass["value"] == "neutral"
    # The pickers built at start-up, when the model is the tabs' default, offer the same names.
    config = build_demo(models=[models["named"]], include_bundled=False).config
    pickers = [c["props"] for c in config["components"] if c["props"].get("label") == "Class"]
    assert len(pickers) == 2
    assert all(p["visible"] and [name for name, _ in p["choices"]][:3] == CLASS_NAMES for p in pickers)

    def face(klass: str) -> np.ndarray:
        return _gallery(_faces(client, models["named"], seed=1, count=1, klass=klass)[0])[0]

    # The names work end to end: a name picks the same class as its index, and other names other classes.
    smiling = face("smiling")
    assert np.array_equal(smiling, face("1")) and not np.array_equal(smiling, face("neutral"))
    with pytest.raises(AppError, match="neutral, smiling, surprised"):
        _faces(client, models["named"], seed=1, count=1, klass="class 0")

    # "All classes": the same seeds once per class, one grid row each, captions naming the class.
    from ui.widgets import ALL_CLASSES

    assert noise.on_model_change(catalog, models["named"])[0]["choices"] == CLASS_NAMES + [ALL_CLASSES]
    gallery, grid = _faces(client, models["named"], seed=1, count=2, klass=ALL_CLASSES)
    assert [item["caption"] for item in gallery] == [f"{name} · seed {s}" for name in CLASS_NAMES for s in (1, 2)]
    assert _close(_gallery(gallery)[2], smiling)  # row 2, seed 1 = the "smiling" face of seed 1
    width, height = Image.open(grid).size
    assert height > width  # 3 rows of 2


def test_spaces_gpu_shim_is_transparent_bare_and_with_arguments() -> None:
    from ui.spaces import GPU

    def generate() -> str:
        return "ok"

    for decorated in (GPU(generate), GPU()(generate), GPU(duration=60)(generate)):
        assert decorated() == "ok"


def test_app_command_line() -> None:
    import app

    args = app.parse_args(["--model", "org/a", "--model", "org/b", "--port", "7999", "--share"])
    assert args.model == ["org/a", "org/b"] and args.port == 7999 and args.share


def test_example_script_says_when_the_data_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "make_app_examples.py"
    spec = importlib.util.spec_from_file_location("make_app_examples", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--data-dir", str(tmp_path / "missing")]) == 1
    assert "not found" in capsys.readouterr().err


def test_bundled_examples_are_small_line_drawings() -> None:
    from ui.tabs.sketch import example_sketches
    from ui.tabs.text import example_prompts

    for path in example_sketches():
        image = Image.open(path)
        assert image.mode == "L" and Path(path).stat().st_size < 32_000
        assert np.asarray(image).mean() > 200  # mostly white paper with dark lines
    assert all(0 < len(prompt) <= 300 for prompt in example_prompts())


def test_card_markdown_strips_front_matter_only_at_the_top() -> None:
    text = card_markdown("---\na: 1\n---\nbody\n\n---\n\nmore ![x](https://e.org/x.png)")
    assert text.startswith("body") and "---" in text and "![x](https://e.org/x.png)" in text


def test_concurrent_identical_requests_all_succeed(client: Client, models: dict[str, str], sketch_png: Path) -> None:
    """Many users pressing Generate with the default seed at once get the same pictures, whole."""
    url = client.src
    sessions = [Client(url, analytics_enabled=False, verbose=False) for _ in range(8)]
    with ThreadPoolExecutor(len(sessions)) as pool:
        faces = list(pool.map(lambda c: _gallery(_faces(c, models["dcgan"], seed=42, count=8)[0]), sessions))
        photos = list(pool.map(lambda c: _pixels(_sketch(c, models, upload=handle_file(sketch_png))[1]), sessions))
    assert all(np.array_equal(a, b) for result in faces[1:] for a, b in zip(faces[0], result))
    assert all(np.array_equal(photos[0], photo) for photo in photos[1:])


def test_server_still_answers_after_errors(client: Client, models: dict[str, str]) -> None:
    """Runs last: every bad request above must have left the server healthy."""
    gallery, _ = _faces(client, models["dcgan"], seed=0, count=2)
    assert len(gallery) == 2


def test_model_events_share_one_queue_group_and_the_queue_is_bounded(models: dict[str, str]) -> None:
    """All generations share one concurrency limit (not one each), and waiting requests are capped."""
    from ui.app import DEFAULT_MAX_QUEUE
    from ui.widgets import MODEL_QUEUE

    demo = build_demo(models=list(models.values()), include_bundled=False, concurrency_limit=2)
    heavy = {"generate_faces", "sketch_to_photo", "sketch_live", "text_to_image", "text_to_image_submit",
             "interpolate", "style_mix"}
    groups = {fn.api_name: fn.concurrency_id for fn in demo.fns.values() if fn.api_name in heavy}
    assert set(groups) == heavy and set(groups.values()) == {MODEL_QUEUE}
    # ... and run on one pool as large as that limit (ui/model_threads.py), the other events do not.
    pools = {getattr(fn.fn, "model_pool", None) for fn in demo.fns.values() if fn.concurrency_id == MODEL_QUEUE}
    assert pools == {demo.model_pool} and demo.model_pool._max_workers == 2
    assert not any(hasattr(fn.fn, "model_pool") for fn in demo.fns.values() if fn.concurrency_id != MODEL_QUEUE)
    assert demo._queue.max_size == DEFAULT_MAX_QUEUE and demo._queue.default_concurrency_limit == 2


def test_every_view_of_a_model_shares_one_generator(models: dict[str, str]) -> None:
    from ui.catalog import build_catalog, get_pipeline
    from zoo.pipelines import GANInterpolationPipeline, GANSamplingPipeline, GANStyleMixingPipeline

    choice = build_catalog([models["stylegan"]], include_bundled=False).find(models["stylegan"])
    views = [get_pipeline(choice, cls) for cls in (GANSamplingPipeline, GANInterpolationPipeline, GANStyleMixingPipeline)]
    assert len({id(v.generator) for v in views}) == 1  # loaded and held in memory once
    assert get_pipeline(choice, GANInterpolationPipeline) is views[1]


def test_your_face_tab_finds_and_morphs_an_uploaded_photo(client: Client, models: dict[str, str], tmp_path: Path) -> None:
    """Upload -> the model's version of the photo; then a GIF from it to a seed. Bad input reads clearly."""
    photo = tmp_path / "me.png"
    Image.fromarray((np.random.default_rng(0).random((80, 60, 3)) * 255).astype(np.uint8)).save(photo)
    target, reconstruction, note = client.predict(models["stylegan"], handle_file(photo), api_name="/find_face")
    assert _pixels(target).shape == _pixels(reconstruction).shape
    assert note == "No face found: used the centre square."  # noise has no face; the user is told
    gif = client.predict(models["stylegan"], 3, 4, api_name="/morph_face")
    assert Image.open(gif).format == "GIF" and Image.open(gif).n_frames >= 4
    with pytest.raises(AppError, match="No photo"):
        client.predict(models["stylegan"], None, api_name="/find_face")
    with pytest.raises(AppError, match="not in the list of choices"):  # only class-free models are offered
        client.predict(models["conditional"], handle_file(photo), api_name="/find_face")


def test_your_face_tab_inverts_the_aligned_crop_and_shows_it(client: Client, models: dict[str, str], tmp_path: Path) -> None:
    """A face pasted small and off-centre: the model is given (and the user shown) the aligned crop,
    the same one ``python -m zoo project`` uses; unticking "Align face automatically" gives the centre square."""
    from zoo.face_align import align_face, centre_square
    from zoo.pipelines.inversion import square_crop

    face = Image.open(Path(__file__).resolve().parents[1] / "data" / "london_faces" / "images" / "003_neutral.jpg")
    upload = Image.new("RGB", (400, 520), (40, 90, 160))
    upload.paste(face.convert("RGB").resize((150, 150)), (20, 330))
    photo = tmp_path / "me.png"
    upload.save(photo)
    for align, crop, message in [(True, align_face(upload).image, "Face found and aligned (eyes levelled)."),
                                 (False, centre_square(upload), "Alignment off: used the centre square.")]:
        target, _, note = client.predict(models["stylegan"], handle_file(photo), align, api_name="/find_face")
        shown_crop = _pixels(target)[::SCALE, ::SCALE]  # shown enlarged, nearest neighbour
        assert np.array_equal(shown_crop, np.asarray(square_crop(crop, RESOLUTION))) and note == message
