"""Server time of one live sketch-to-photo update (the app's per-stroke handler), in milliseconds.

    python bench/live_sketch_speed.py [--model sketch2face-64] [--calls 40]

The live tab re-renders the photo for every stroke, so one update must stay well under the 50 ms a
drawing hand notices. This times ``ui.tabs.sketch.live_photo`` in-process on a 512x512 canvas with a
face outline and a mouth (preprocessing, the generator, both PNGs), after one warm-up call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sketch2face-64")
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args(argv)

    import PIL.Image
    import PIL.ImageDraw
    import torch

    from ui.catalog import build_catalog
    from ui.tabs.sketch import live_photo

    catalog = build_catalog([args.model])
    canvas = PIL.Image.new("RGBA", (512, 512), (255, 255, 255, 0))
    draw = PIL.ImageDraw.Draw(canvas)
    draw.ellipse((150, 100, 360, 400), outline=(0, 0, 0, 255), width=8)
    draw.line((200, 330, 300, 330), fill=(0, 0, 0, 255), width=8)
    live_photo(catalog, args.model, {"composite": canvas})  # loads the model
    times = []
    for _ in range(args.calls):
        start = time.perf_counter()
        live_photo(catalog, args.model, {"composite": canvas})
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    print(f"{args.model}: live update median {statistics.median(times):.1f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms over {args.calls} calls; "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
