"""GAN Zoo showcase app (also the Hugging Face Space entry point).

    python app.py [--model org/name ...] [--port 7860] [--share] [--backend onnx]

Extra models may also come from ``GAN_ZOO_MODELS=org/a,org/b`` or from ``models.txt`` next to
this file (``scripts/space_export.py`` writes it for a Space); all three use one syntax: ids separated
by commas, spaces or new lines, ``#`` starts a comment (``zoo.registry.extra_models``). Works offline
with whatever models are bundled; unreachable Hub models are listed with the reason they cannot be
used.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

# Before gradio is imported: it reads these at import time. No telemetry, no phoning home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from ui import build_demo, launch_options  # noqa: E402
from ui.catalog import BACKENDS  # noqa: E402

MODELS_FILE = Path(__file__).with_name("models.txt")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], metavar="ORG/NAME",
                        help="extra model: Hub repo id, local checkpoint directory or registry name (repeatable)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="interface to listen on (0.0.0.0 inside containers and Spaces)")
    parser.add_argument("--share", action="store_true", help="create a temporary public gradio.live link")
    parser.add_argument("--backend", choices=BACKENDS, default=os.environ.get("GAN_ZOO_BACKEND", "torch"),
                        help="onnx: faces from noise run on onnxruntime, each model exported once on first use "
                             "(cached in $GAN_ZOO_ONNX_CACHE, default ~/.cache/gan_zoo/onnx)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    demo = build_demo(models=args.model, models_file=MODELS_FILE, backend=args.backend)
    demo.launch(**launch_options(server_name=args.host, server_port=args.port, share=args.share))


if __name__ == "__main__":
    main()
