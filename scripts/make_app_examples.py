"""Make the app's example sketches and prompts from held-out people of the London faces set.

    python scripts/make_app_examples.py [--data-dir data/london_faces] [--count 6]

Sketches are drawn by the project's own extractor (:func:`zoo.sketch.sketch_from_pil`), the one
the sketch-to-photo model is trained on, so the examples look like its training inputs. Only
held-out people are used (same split as the trainer: :func:`training.data.split_indices` over
``face_id`` with the trainer's default seed and fraction), so the examples show generalisation,
not memorised faces. Prompts are the held-out people's captions, built with the trainer's
caption template, so they are phrased the way the text model learned.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import PIL.Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.captions import build_caption  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.data import split_indices  # noqa: E402
from zoo.sketch import sketch_from_pil  # noqa: E402

DEFAULT_DATA_DIR = ROOT / "data" / "london_faces"
OUT_DIR = ROOT / "ui" / "examples"
CAPTION_TEMPLATE = "a {expression} {gender_noun}[ in {possessive} {age_band}], {ethnicity}"
SKETCH_SIZE = 256


def heldout_rows(data_dir: Path, fraction: float, seed: int) -> list[dict[str, str]]:
    with open(data_dir / "metadata.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    _, heldout = split_indices(len(rows), [row["face_id"] for row in rows], fraction, seed)
    return [rows[i] for i in heldout.tolist()]


def one_per_person(rows: list[dict[str, str]], count: int) -> list[dict[str, str]]:
    """Up to ``count`` different people, alternating neutral and smiling photos, for variety."""
    by_person: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_person.setdefault(row["face_id"], []).append(row)
    picked = []
    for i, person in enumerate(sorted(by_person)[:count]):
        options = sorted(by_person[person], key=lambda r: r["expression"])
        picked.append(options[i % len(options)])
    return picked


def make_sketches(data_dir: Path, rows: list[dict[str, str]], count: int) -> list[Path]:
    """One sketch per held-out person, as small greyscale PNGs."""
    picked = one_per_person(rows, count)
    for old in OUT_DIR.glob("sketch_*.png"):
        old.unlink()
    written = []
    for row in picked:
        photo = PIL.Image.open(data_dir / row["file_name"]).convert("RGB")
        photo = photo.resize((SKETCH_SIZE, SKETCH_SIZE), PIL.Image.Resampling.LANCZOS)
        sketch = sketch_from_pil(photo).convert("L")
        path = OUT_DIR / f"sketch_{row['face_id']}_{row['expression']}.png"
        sketch.save(path, optimize=True)
        written.append(path)
    return written


def make_drawings(data_dir: Path, rows: list[dict[str, str]], count: int) -> list[Path]:
    """Hand-drawing-like line drawings of held-out people's neutral photos, from their landmark
    templates (what a face drawn with the mouse looks like, and what the model learned from)."""
    from zoo import line_drawings

    for old in OUT_DIR.glob("drawing_*.png"):
        old.unlink()
    written = []
    for row in rows:
        template = line_drawings.template_path(data_dir / "landmarks", row["file_name"])
        if template is None or len(written) >= count:
            continue
        stroke = line_drawings.Stroke(width=SKETCH_SIZE / 64)  # 1 px at the model's 64 px
        drawing = line_drawings.render(line_drawings.read_template(template), SKETCH_SIZE, stroke).convert("L")
        path = OUT_DIR / f"drawing_{row['face_id']}.png"
        drawing.save(path, optimize=True)
        written.append(path)
    return written


def make_prompts(rows: list[dict[str, str]], count: int) -> Path:
    captions = list(dict.fromkeys(build_caption(CAPTION_TEMPLATE, row) for row in one_per_person(rows, count)))
    path = OUT_DIR / "prompts.txt"
    header = "# Captions of held-out people, in the words the text-to-image model was trained on.\n"
    path.write_text(header + "\n".join(captions) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--count", type=int, default=6, help="number of example sketches")
    parser.add_argument("--prompts", type=int, default=8, help="number of example prompts")
    parser.add_argument("--heldout-fraction", type=float, default=defaults.heldout_fraction)
    parser.add_argument("--seed", type=int, default=defaults.seed, help="the training config's seed")
    args = parser.parse_args(argv)
    if not (args.data_dir / "metadata.csv").is_file():
        print(f"data directory {args.data_dir} not found (or has no metadata.csv); the London faces set is "
              "needed to make the examples. Pass --data-dir.", file=sys.stderr)
        return 1
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rows = heldout_rows(args.data_dir, args.heldout_fraction, args.seed)
    for path in make_sketches(args.data_dir, rows, args.count) + make_drawings(args.data_dir, rows, args.count // 2):
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")
    print(f"wrote {make_prompts(rows, args.prompts).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
