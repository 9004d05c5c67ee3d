"""Bad and odd inputs to every endpoint of the running Gradio app, through ``gradio_client``.

A public demo gets whatever a browser or a script sends: strings where numbers belong, NaN and
infinity, absurd counts, seeds outside 32 bits, files that are not images or are damaged, images of
every PNG mode, huge images, unicode and 10,000-character prompts, model names that do not exist.
Each row of :data:`CASES` says what must happen:

* ``error``: the request fails with a ``gradio_client`` ``AppError`` whose text says what is wrong
  (matching ``match`` when given; Gradio's generic "has not enabled verbose error reporting" text
  counts as *unclear*, because the user learns nothing from it) within :data:`TIMEOUT_S`;
* ``ok``: an unusual but valid input works and returns what the endpoint promises;
* ``any``: either of the two (inputs where refusing and accepting are both reasonable, e.g. the
  numeric string ``"12"`` for a seed), but never a crash, an unclear error or a hang.

After the table the app must still answer a normal request. A case with a ``bug`` reason is
marked ``xfail(strict=True)``: an open bug in the app, the reason saying what to change. The
module prints how many inputs were tried and how many failed. Tiny random checkpoints of every
family stand in for real models, as in ``tests/test_app.py``.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import struct
import sys
import zlib
from collections import Counter
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import httpx
import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the app's `ui` package lives at the repo root

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from tiny import save_tiny_checkpoint  # noqa: E402

from ui import build_demo, launch_options  # noqa: E402
from ui.browser import free_local_port  # noqa: E402
from zoo.limits import APP_MAX_FRAMES as MAX_FRAMES  # noqa: E402
from zoo.limits import APP_MAX_IMAGES as MAX_IMAGES  # noqa: E402
from zoo.limits import APP_MAX_TEXT_IMAGES as MAX_TEXT_IMAGES  # noqa: E402
from zoo.limits import MAX_SEED  # noqa: E402

#: A request that takes longer than this counts as a hang (tiny models answer in well under a second).
TIMEOUT_S = 30
OFFLINE_REPO = "gan-zoo-fuzz/never-downloaded"
#: What Gradio says instead of the real message when a handler raised something other than gr.Error.
UNCLEAR = re.compile(r"verbose error reporting|^\s*(Error|None)?\s*$", re.IGNORECASE)
NAN, INF = float("nan"), float("inf")


# ------------------------------------------------------------------------------------------------
# The server and its inputs
# ------------------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _sketch_array(width: int = 64, height: int = 48) -> np.ndarray:
    grey = np.full((height, width), 255, np.uint8)
    grey[height // 2 - 2 : height // 2 + 2, width // 8 : width - width // 8] = 0  # a thick stroke
    grey[height // 4 : 3 * height // 4, width // 2 - 2 : width // 2 + 2] = 0
    return grey


def make_files(root: Path) -> dict[str, Path]:
    """Every file the table uploads, keyed by a short name."""
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def save(name: str, image: Image.Image, **kwargs: Any) -> None:
        files[name] = root / name
        image.save(files[name], **kwargs)

    grey = _sketch_array()
    save("grey.png", Image.fromarray(grey))
    save("rgb.png", Image.fromarray(np.stack([grey] * 3, -1)))
    rgba = np.zeros(grey.shape + (4,), np.uint8)
    rgba[..., 3] = 255 - grey  # black strokes on a transparent background, as the sketchpad sends them
    save("rgba.png", Image.fromarray(rgba))
    save("sixteen_bit.png", Image.fromarray(grey.astype(np.uint16) * 257))  # mode I;16, full range
    save("palette.png", Image.fromarray(np.stack([grey] * 3, -1)).convert("P"))
    save("one_bit.png", Image.fromarray(grey).convert("1"))
    save("cmyk.jpg", Image.fromarray(np.stack([grey] * 3, -1)).convert("CMYK"))
    save("photo.webp", Image.fromarray(np.stack([grey] * 3, -1)))
    save("tiny_1x1.png", Image.new("L", (1, 1), 0))
    save("wide.png", Image.fromarray(np.tile(grey, (1, 40))))  # 2560x48
    frames = [Image.fromarray(grey), Image.fromarray(255 - grey)]
    files["animated.gif"] = root / "animated.gif"
    frames[0].save(files["animated.gif"], save_all=True, append_images=frames[1:])
    huge = Image.new("L", (5000, 5000), 255)
    huge.putpixel((10, 10), 0)
    save("huge_5000.png", huge)

    valid = files["grey.png"].read_bytes()
    (root / "zero.png").write_bytes(b"")
    (root / "truncated.png").write_bytes(valid[: len(valid) // 2])
    (root / "notes.png").write_text("this is a text file, not a picture\n")
    (root / "notes.txt").write_text("this is a text file, not a picture\n")
    ihdr = bytearray(valid[16:29])  # a valid PNG whose header claims 30000x30000 pixels (a decompression bomb)
    ihdr[0:8] = struct.pack(">II", 30000, 30000)
    (root / "bomb.png").write_bytes(valid[:16] + bytes(ihdr) + struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)))
                                    + valid[33:])
    (root / "html.png").write_text("<html><script>alert(1)</script></html>")
    (root / "svg.png").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    for name in ("zero.png", "truncated.png", "notes.png", "notes.txt", "bomb.png", "html.png", "svg.png"):
        files[name] = root / name
    return files


@dataclass
class Ctx:
    client: Client
    models: dict[str, str]
    files: dict[str, Path]

    def m(self, key: str) -> str:
        return self.models[key]

    def f(self, name: str) -> Any:
        return handle_file(self.files[name])

    def canvas(self, name: str) -> dict:
        file = self.f(name)
        return {"background": file, "layers": [], "composite": file, "id": None}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("app_fuzz")
    models = {family: str(save_tiny_checkpoint(family, root / f"tiny-{family}"))
              for family in ("dcgan", "stylegan", "pix2pix", "textgan")}
    models["conditional"] = str(save_tiny_checkpoint("dcgan", root / "tiny-conditional", num_classes=3))
    files = make_files(root / "files")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.delenv("GAN_ZOO_MODELS", raising=False)
        demo = build_demo(models=list(models.values()) + [OFFLINE_REPO], include_bundled=False)
    port = free_local_port()
    demo.launch(**launch_options(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True))
    try:
        client = Client(f"http://127.0.0.1:{port}/", analytics_enabled=False, verbose=False)
        yield Ctx(client, models, files)
    finally:
        demo.close()


# ------------------------------------------------------------------------------------------------
# Calling an endpoint and judging the outcome
# ------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "ok" | "refused" (clear AppError) | "unclear" (AppError without a useful text) | "crash" | "hang"
    message: str = ""
    result: Any = None


@dataclass
class Tally:
    tried: Counter = field(default_factory=Counter)  # endpoint -> inputs
    kinds: Counter = field(default_factory=Counter)  # outcome kind -> inputs
    failures: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"test_app_fuzz: {sum(self.tried.values())} inputs tried over {len(self.tried)} endpoints "
               f"({dict(self.tried)}); outcomes {dict(self.kinds)}; {len(self.failures)} failures found"]
        out += [f"  - {line[:200]}" for line in self.failures]
        return out


TALLY = Tally()


@pytest.fixture(scope="module", autouse=True)
def report_tally(request):
    yield
    capture = request.config.pluginmanager.getplugin("capturemanager")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        if reporter:
            reporter.write("\n")
        for line in TALLY.lines():
            reporter.write_line(line) if reporter else print(line)


def _json_safe(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(_json_safe(v) for v in value.values())
    return True


def raw_call(ctx: Ctx, endpoint: str, args: tuple) -> Outcome:
    """POST the request with NaN/Infinity literals in its JSON, as a browser script or curl can.

    ``gradio_client`` refuses to serialise non-finite floats on the client side, so the server
    would never see them; Python's (and so FastAPI's) JSON parser accepts the literals.
    """
    base = ctx.client.src.rstrip("/")
    body = json.dumps({"data": list(args)}, allow_nan=True)
    try:
        with httpx.Client(timeout=TIMEOUT_S) as http:
            posted = http.post(f"{base}/gradio_api/call{endpoint}", content=body,
                               headers={"Content-Type": "application/json"})
            if posted.status_code != 200:
                detail = posted.text
                return Outcome("refused" if posted.status_code in (400, 422) and detail else "crash",
                               f"HTTP {posted.status_code}: {detail}")
            event_id = posted.json()["event_id"]
            event = None
            with http.stream("GET", f"{base}/gradio_api/call{endpoint}/{event_id}") as stream:
                for line in stream.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event in ("complete", "error"):
                        data = json.loads(line.split(":", 1)[1])
                        if event == "complete":
                            return Outcome("ok", result=data)
                        message = data.get("error") if isinstance(data, dict) else data
                        if not message or UNCLEAR.search(str(message)):
                            return Outcome("unclear", f"error event without a message: {data!r}")
                        return Outcome("refused", str(message))
    except httpx.TimeoutException:
        return Outcome("hang", f"no answer within {TIMEOUT_S} s")
    return Outcome("crash", "the event stream ended without a result")


def call(ctx: Ctx, endpoint: str, args: tuple) -> Outcome:
    """Submit and wait at most TIMEOUT_S; classify what came back."""
    TALLY.tried[endpoint] += 1
    if not _json_safe(args):
        outcome = raw_call(ctx, endpoint, args)
        TALLY.kinds[outcome.kind] += 1
        return outcome
    try:
        job = ctx.client.submit(*args, api_name=endpoint)
        result = job.result(timeout=TIMEOUT_S)
        outcome = Outcome("ok", result=result)
    except (FutureTimeout, TimeoutError):
        outcome = Outcome("hang", f"no answer within {TIMEOUT_S} s")
    except AppError as err:
        message = str(err)
        outcome = Outcome("unclear" if UNCLEAR.search(message) else "refused", message)
    except Exception as err:  # noqa: BLE001 - the client or the transport gave up: recorded as a crash
        outcome = Outcome("crash", f"{type(err).__name__}: {err}")
    TALLY.kinds[outcome.kind] += 1
    return outcome


# ------------------------------------------------------------------------------------------------
# Checks of successful results
# ------------------------------------------------------------------------------------------------


def _image_ok(path: Any) -> bool:
    with Image.open(path) as image:
        image.load()
        return image.width > 0 and image.height > 0


def gallery_of(n: int) -> Callable[[Any], bool]:
    return lambda result: len(result) == n and all(_image_ok(item["image"]) for item in result)


def faces_of(n: int) -> Callable[[Any], bool]:
    return lambda result: gallery_of(n)(result[0]) and _image_ok(result[1])


def sketch_ok(result: Any) -> bool:
    seen, photo = result
    return _image_ok(seen) and _image_ok(photo)


def frames_of(n: int) -> Callable[[Any], bool]:
    return lambda result: gallery_of(n)(result[0]) and Path(result[1]).stat().st_size > 0


def card_ok(result: Any) -> bool:
    return len(result) == 5 and isinstance(result[0], str) and result[0].strip() != ""


def seed_ok(result: Any) -> bool:
    return isinstance(result, int) and 0 <= result <= MAX_SEED


# ------------------------------------------------------------------------------------------------
# The table
# ------------------------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    endpoint: str
    args: Callable[[Ctx], tuple]
    expect: str  # "error" | "ok" | "any"
    match: Optional[str] = None  # regex the error text must contain (case-insensitive)
    check: Optional[Callable[[Any], bool]] = None  # for successes
    bug: Optional[str] = None  # an open bug: xfail(strict=True) with this reason


def faces(model="dcgan", seed: Any = 0, count: Any = 2, psi: Any = 0.7, klass: Any = None):
    return lambda c: (c.m(model) if model in c.models else model, seed, count, psi, klass)


def text(prompt: Any = "a smiling woman", seed: Any = 0, count: Any = 1, model="textgan"):
    return lambda c: (c.m(model) if model in c.models else model, prompt, seed, count)


def interp(frames: Any = 3, method: Any = "slerp", space: Any = "z", psi: Any = 0.7, a: Any = 1, b: Any = 2,
           model="stylegan", klass: Any = None):
    return lambda c: (c.m(model) if model in c.models else model, a, b, frames, method, space, psi, klass)


def mix(style: Any = "coarse", a: Any = 1, b: Any = 2, psi: Any = 0.7, model="stylegan"):
    return lambda c: (c.m(model) if model in c.models else model, a, b, style, psi, None)


def upload(name: str, from_photo: Any = False, model="pix2pix"):
    return lambda c: (c.m(model) if model in c.models else model, None, c.f(name), from_photo)


def canvas(name: str, from_photo: Any = False):
    return lambda c: (c.m("pix2pix"), c.canvas(name), None, from_photo)


NUMBER = "number|numeric|whole|float|int|must be|valid"
RANGE = "between|minimum|maximum|less than|greater than|limit"
NOT_IMAGE = "not an image|could not read|damaged|cannot identify|image"
UNKNOWN_MODEL = "unknown model|not in the list of choices|choose one of"

CASES: list[Case] = [
    # --- /generate_faces: model, seed, count, psi, class -----------------------------------------
    Case("faces-seed-string", "/generate_faces", faces(seed="abc"), "error", NUMBER),
    Case("faces-seed-numeric-string", "/generate_faces", faces(seed="12"), "any", NUMBER, faces_of(2)),
    Case("faces-seed-nan", "/generate_faces", faces(seed=NAN), "error", NUMBER),
    Case("faces-seed-inf", "/generate_faces", faces(seed=INF), "error", NUMBER + "|" + RANGE),
    Case("faces-seed-neg-inf", "/generate_faces", faces(seed=-INF), "error", NUMBER + "|" + RANGE),
    Case("faces-seed-negative", "/generate_faces", faces(seed=-7), "error", RANGE),
    Case("faces-seed-2^31", "/generate_faces", faces(seed=2**31), "error", RANGE),
    Case("faces-seed-huge", "/generate_faces", faces(seed=10**30), "error", RANGE),
    Case("faces-seed-max", "/generate_faces", faces(seed=MAX_SEED, count=1), "ok", check=faces_of(1)),
    Case("faces-seed-max-count-2", "/generate_faces", faces(seed=MAX_SEED, count=2), "any", RANGE, faces_of(2)),
    Case("faces-seed-list", "/generate_faces", faces(seed=[1, 2]), "error", NUMBER),
    Case("faces-seed-none", "/generate_faces", faces(seed=None), "error", NUMBER),
    Case("faces-count-string", "/generate_faces", faces(count="five"), "error", NUMBER),
    Case("faces-count-nan", "/generate_faces", faces(count=NAN), "error", NUMBER),
    Case("faces-count-zero", "/generate_faces", faces(count=0), "error", RANGE),
    Case("faces-count-negative", "/generate_faces", faces(count=-5), "error", RANGE),
    Case("faces-count-huge", "/generate_faces", faces(count=10**9), "error", RANGE),
    Case("faces-count-max", "/generate_faces", faces(count=MAX_IMAGES), "ok", check=faces_of(MAX_IMAGES)),
    Case("faces-count-bool", "/generate_faces", faces(count=True), "any", NUMBER, faces_of(1)),
    Case("faces-psi-nan", "/generate_faces", faces(psi=NAN), "error", NUMBER + "|psi"),
    Case("faces-psi-inf", "/generate_faces", faces(psi=INF), "error", NUMBER + "|" + RANGE + "|psi"),
    Case("faces-psi-string", "/generate_faces", faces(psi="lots"), "error", NUMBER + "|psi"),
    Case("faces-psi-negative", "/generate_faces", faces(psi=-0.5), "error", RANGE),
    Case("faces-psi-zero", "/generate_faces", faces(psi=0.0), "ok", check=faces_of(2)),
    Case("faces-class-on-unconditional", "/generate_faces", faces(klass="class 1"), "ok", check=faces_of(2)),
    Case("faces-class-unknown", "/generate_faces", faces("conditional", klass="class 99"), "error", "class"),
    Case("faces-class-unicode", "/generate_faces", faces("conditional", klass="クラス 😀"), "error", "class"),
    Case("faces-class-negative", "/generate_faces", faces("conditional", klass=-1), "error", "class"),
    Case("faces-class-index", "/generate_faces", faces("conditional", klass="2"), "ok", check=faces_of(2)),
    Case("faces-model-unknown", "/generate_faces", faces("nobody/nothing"), "error", UNKNOWN_MODEL),
    Case("faces-model-path", "/generate_faces", faces("../../etc/passwd"), "error", UNKNOWN_MODEL),
    Case("faces-model-unicode", "/generate_faces", faces("模型/😀"), "error", UNKNOWN_MODEL),
    Case("faces-model-empty", "/generate_faces", faces(""), "error", UNKNOWN_MODEL),
    Case("faces-model-none", "/generate_faces", faces(None), "error", UNKNOWN_MODEL),
    Case("faces-model-number", "/generate_faces", faces(123), "error", UNKNOWN_MODEL),
    Case("faces-model-10k", "/generate_faces", faces("m" * 10_000), "error", UNKNOWN_MODEL),
    Case("faces-model-wrong-task", "/generate_faces", faces("pix2pix"), "error", UNKNOWN_MODEL),
    Case("faces-model-offline", "/generate_faces", faces(OFFLINE_REPO), "error", "cannot be used|offline"),
    # --- /sketch_to_photo: model, canvas, upload, from_photo ---------------------------------------
    Case("sketch-zero-byte", "/sketch_to_photo", upload("zero.png"), "error", NOT_IMAGE),
    Case("sketch-truncated-png", "/sketch_to_photo", upload("truncated.png"), "error", NOT_IMAGE),
    Case("sketch-text-as-png", "/sketch_to_photo", upload("notes.png"), "error", NOT_IMAGE),
    Case("sketch-text-file", "/sketch_to_photo", upload("notes.txt"), "error", NOT_IMAGE),
    Case("sketch-html-as-png", "/sketch_to_photo", upload("html.png"), "error", NOT_IMAGE),
    Case("sketch-svg-as-png", "/sketch_to_photo", upload("svg.png"), "error", NOT_IMAGE),
    Case("sketch-bomb-header", "/sketch_to_photo", upload("bomb.png"), "error", "too large|limit"),
    Case("sketch-5000x5000", "/sketch_to_photo", upload("huge_5000.png"), "error", "5000x5000|limit"),
    Case("sketch-rgba", "/sketch_to_photo", upload("rgba.png"), "ok", check=sketch_ok),
    Case("sketch-greyscale", "/sketch_to_photo", upload("grey.png"), "ok", check=sketch_ok),
    Case("sketch-16-bit", "/sketch_to_photo", upload("sixteen_bit.png"), "ok", check=sketch_ok),
    Case("sketch-palette", "/sketch_to_photo", upload("palette.png"), "ok", check=sketch_ok),
    Case("sketch-1-bit", "/sketch_to_photo", upload("one_bit.png"), "ok", check=sketch_ok),
    Case("sketch-cmyk-jpeg", "/sketch_to_photo", upload("cmyk.jpg"), "ok", check=sketch_ok),
    Case("sketch-webp", "/sketch_to_photo", upload("photo.webp"), "ok", check=sketch_ok),
    Case("sketch-animated-gif", "/sketch_to_photo", upload("animated.gif"), "any", NOT_IMAGE, sketch_ok),
    Case("sketch-1x1", "/sketch_to_photo", upload("tiny_1x1.png"), "any", "empty|small|image", sketch_ok),
    Case("sketch-very-wide", "/sketch_to_photo", upload("wide.png"), "any", "wide|aspect|image", sketch_ok),
    Case("sketch-from-photo-rgba", "/sketch_to_photo", upload("rgba.png", from_photo=True), "any", "empty",
         sketch_ok),
    Case("sketch-from-photo-string", "/sketch_to_photo", upload("rgb.png", from_photo="yes"), "any", "bool|check",
         sketch_ok),
    Case("sketch-canvas-rgba", "/sketch_to_photo", canvas("rgba.png"), "ok", check=sketch_ok),
    Case("sketch-canvas-text-file", "/sketch_to_photo", canvas("notes.txt"), "error", NOT_IMAGE),
    Case("sketch-canvas-truncated", "/sketch_to_photo", canvas("truncated.png"), "error", NOT_IMAGE),
    Case("sketch-canvas-huge", "/sketch_to_photo", canvas("huge_5000.png"), "error", "5000x5000|limit"),
    Case("sketch-canvas-from-photo", "/sketch_to_photo", canvas("rgb.png", from_photo=True), "error",
         "uploaded photos"),
    Case("sketch-canvas-garbage-dict", "/sketch_to_photo", lambda c: (c.m("pix2pix"), {"foo": 1}, None, False),
         "error", "empty|canvas|sketch"),
    Case("sketch-canvas-string", "/sketch_to_photo", lambda c: (c.m("pix2pix"), "not a canvas", None, False),
         "error", "empty|canvas|sketch|image"),
    Case("sketch-nothing", "/sketch_to_photo", lambda c: (c.m("pix2pix"), None, None, False), "error", "empty"),
    Case("sketch-upload-outside-path", "/sketch_to_photo",
         lambda c: (c.m("pix2pix"), None, {"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}, False),
         "error", "not allowed|cannot|access|not an image|upload|file"),
    Case("sketch-model-unknown", "/sketch_to_photo", upload("grey.png", model="nobody/nothing"), "error",
         UNKNOWN_MODEL),
    Case("sketch-model-wrong-task", "/sketch_to_photo", upload("grey.png", model="dcgan"), "error", UNKNOWN_MODEL),
    # --- /text_to_image: model, prompt, seed, count ---------------------------------------------
    Case("text-unicode", "/text_to_image", text("une femme souriante, 微笑的女人 😀"), "ok", check=gallery_of(1)),
    Case("text-rtl-combining", "/text_to_image", text("امرأة مبتسمة e\u0301\u200f"), "ok", check=gallery_of(1)),
    Case("text-control-chars", "/text_to_image", text("a\x00smiling\x1bwoman\t"), "any", "prompt", gallery_of(1)),
    Case("text-10k", "/text_to_image", text("a" * 10_000), "error", "too long|length|characters"),
    Case("text-10k-unicode", "/text_to_image", text("😀" * 10_000), "error", "too long|length|characters"),
    Case("text-whitespace", "/text_to_image", text(" \n\t "), "error", "empty"),
    Case("text-none", "/text_to_image", text(None), "error", "empty|prompt"),
    Case("text-number", "/text_to_image", text(12345), "any", "prompt|string", gallery_of(1)),
    Case("text-count-zero", "/text_to_image", text(count=0), "error", RANGE),
    Case("text-count-huge", "/text_to_image", text(count=10**6), "error", RANGE),
    Case("text-count-nan", "/text_to_image", text(count=NAN), "error", NUMBER),
    Case("text-count-max", "/text_to_image", text(count=MAX_TEXT_IMAGES), "ok", check=gallery_of(MAX_TEXT_IMAGES)),
    Case("text-seed-string", "/text_to_image", text(seed="seed"), "error", NUMBER),
    Case("text-seed-negative", "/text_to_image", text(seed=-1), "error", RANGE),
    Case("text-seed-inf", "/text_to_image", text(seed=INF), "error", NUMBER + "|" + RANGE),
    Case("text-model-unknown", "/text_to_image", text(model="nobody/nothing"), "error", UNKNOWN_MODEL),
    Case("text-model-wrong-task", "/text_to_image", text(model="dcgan"), "error", UNKNOWN_MODEL),
    # --- /interpolate: model, seed A, seed B, frames, method, space, psi, class ---------------------
    Case("interp-frames-huge", "/interpolate", interp(frames=10**6), "error", RANGE),
    Case("interp-frames-nan", "/interpolate", interp(frames=NAN), "error", NUMBER),
    Case("interp-frames-string", "/interpolate", interp(frames="many"), "error", NUMBER),
    Case("interp-frames-one", "/interpolate", interp(frames=1), "error", RANGE),
    Case("interp-frames-max", "/interpolate", interp(frames=MAX_FRAMES), "ok", check=frames_of(MAX_FRAMES)),
    Case("interp-same-seeds", "/interpolate", interp(a=5, b=5), "ok", check=frames_of(3)),
    Case("interp-seed-nan", "/interpolate", interp(a=NAN), "error", NUMBER),
    Case("interp-seed-huge", "/interpolate", interp(b=2**40), "error", RANGE),
    Case("interp-method-unknown", "/interpolate", interp(method="cubic"), "error", "method|choices"),
    Case("interp-method-none", "/interpolate", interp(method=None), "error", "method|choices"),
    Case("interp-space-uppercase", "/interpolate", interp(space="W"), "error", "space|choices"),
    Case("interp-psi-negative", "/interpolate", interp(psi=-1), "error", RANGE),
    Case("interp-dcgan-w-space", "/interpolate", interp(space="w", model="dcgan"), "any", "space", frames_of(3)),
    Case("interp-model-unknown", "/interpolate", interp(model="nobody/nothing"), "error", UNKNOWN_MODEL),
    # --- /style_mix: model, seed A, seed B, range, psi, class ---------------------------------------
    Case("mix-range-unknown", "/style_mix", mix(style="all"), "error", "style range|choices"),
    Case("mix-range-none", "/style_mix", mix(style=None), "error", "style range|choices"),
    Case("mix-seed-string", "/style_mix", mix(a="one"), "error", NUMBER),
    Case("mix-seed-inf", "/style_mix", mix(b=-INF), "error", NUMBER + "|" + RANGE),
    Case("mix-psi-nan", "/style_mix", mix(psi=NAN), "error", NUMBER + "|psi"),
    Case("mix-not-stylegan", "/style_mix", mix(model="dcgan"), "error", "StyleGAN"),
    Case("mix-middle", "/style_mix", mix(style="middle"), "ok", check=gallery_of(3)),
    # --- /model_info: model -------------------------------------------------------------------------
    Case("info-unknown", "/model_info", lambda c: ("nobody/nothing",), "error", UNKNOWN_MODEL),
    Case("info-none", "/model_info", lambda c: (None,), "error", UNKNOWN_MODEL),
    Case("info-number", "/model_info", lambda c: (42,), "error", UNKNOWN_MODEL),
    Case("info-unicode", "/model_info", lambda c: ("模型 😀",), "error", UNKNOWN_MODEL),
    Case("info-10k", "/model_info", lambda c: ("x" * 10_000,), "error", UNKNOWN_MODEL),
    Case("info-offline", "/model_info", lambda c: (OFFLINE_REPO,), "ok", check=lambda r: "cannot be used" in r[0]),
    Case("info-pix2pix", "/model_info", lambda c: (c.m("pix2pix"),), "ok", check=card_ok),
    # --- /random_seed ---------------------------------------------------------------------------
    Case("random-seed", "/random_seed", lambda c: (), "ok", check=seed_ok),
]


def _param(case: Case):
    marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
    return pytest.param(case, id=case.id, marks=marks)


def test_table_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_endpoint_input(ctx: Ctx, case: Case) -> None:
    outcome = call(ctx, case.endpoint, case.args(ctx))
    problem = judge(case, outcome)
    if problem:
        TALLY.failures.append(f"{case.id}: {problem}")
    assert problem is None, problem


def judge(case: Case, outcome: Outcome) -> Optional[str]:
    """``None`` when the outcome is what the case allows, else what went wrong."""
    if outcome.kind in ("hang", "crash", "unclear"):
        return f"{outcome.kind}: {outcome.message[:300]}"
    if outcome.kind == "refused":
        if case.expect == "ok":
            return f"valid input refused: {outcome.message[:300]}"
        if case.match and not re.search(case.match, outcome.message, re.IGNORECASE):
            return f"refused, but the message does not say why (want /{case.match}/): {outcome.message[:300]}"
        return None
    if case.expect == "error":
        return f"bad input accepted; returned {str(outcome.result)[:200]}"
    if case.check is not None:
        try:
            good = case.check(outcome.result)
        except Exception as err:  # noqa: BLE001
            return f"result unreadable: {type(err).__name__}: {err}; {str(outcome.result)[:200]}"
        if not good:
            return f"wrong result: {str(outcome.result)[:300]}"
    return None


def test_app_still_answers_after_the_table(ctx: Ctx) -> None:
    """Runs after the table (same module, later in file order): nothing above may have broken the server."""
    gallery, grid = ctx.client.predict(ctx.m("dcgan"), 3, 2, 0.7, None, api_name="/generate_faces")
    assert len(gallery) == 2 and _image_ok(grid)
    seen, photo = ctx.client.predict(ctx.m("pix2pix"), None, ctx.f("grey.png"), False, api_name="/sketch_to_photo")
    assert _image_ok(photo)
    assert len(ctx.client.predict(ctx.m("textgan"), "a smiling woman", 0, 1, api_name="/text_to_image")) == 1
