"""Hand-drawing-like sketches from face landmark templates, and doodle versions of them.

Why: an edge extractor (:func:`zoo.sketch.extract_sketch`) traces every shadow and hair strand, but
a person drawing a face with a mouse draws a few clean outlines: face, hairline, brows, eyes, nose,
lips. A sketch-to-photo model trained on edge maps alone turns such a drawing into a smear. The
London faces come with 189-point templates (Psychomorph ``.tem``: points, then polylines); drawing
their polylines gives exactly that kind of line drawing, and the doodle variant (thicker strokes,
dropped strokes, jittered points) imitates a hasty mouse drawing.

``.tem`` format: the number of points, one ``x y`` line per point (pixels of the original photo),
the number of polylines, then per polyline three lines: closed flag, point count, point indices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
from PIL import Image, ImageDraw

#: Side of the photos the London faces templates were measured on.
LONDON_TEMPLATE_SIDE = 1350


@dataclass(frozen=True)
class Template:
    points: np.ndarray  # [P, 2] float, in template pixels
    polylines: tuple[tuple[tuple[int, ...], bool], ...]  # (point indices, closed)
    side: float  # width/height of the square frame the points are measured in


def read_template(path: Union[str, Path], side: float = LONDON_TEMPLATE_SIDE) -> Template:
    """Parse a Psychomorph ``.tem`` file; errors name the file and what is wrong."""
    tokens = Path(path).read_text().split("\n")
    lines = [t.strip() for t in tokens if t.strip()]
    try:
        n_points = int(lines[0])
        points = np.array([[float(v) for v in lines[1 + i].split()[:2]] for i in range(n_points)])
        at = 1 + n_points
        n_lines = int(lines[at])
        at += 1
        polylines = []
        for _ in range(n_lines):
            closed = lines[at] == "1"
            count = int(lines[at + 1])
            indices = tuple(int(v) for v in lines[at + 2].split())
            if len(indices) != count or max(indices) >= n_points:
                raise ValueError(f"polyline {len(polylines)} lists {indices}")
            polylines.append((indices, closed))
            at += 3
    except (IndexError, ValueError) as err:
        raise ValueError(f"{path} is not a valid .tem template: {err}") from err
    return Template(points, tuple(polylines), float(side))


@dataclass(frozen=True)
class Stroke:
    """How to draw: stroke width in pixels of the output, share of polylines dropped, point jitter
    (as a fraction of the output side) and the random seed for dropping and jitter."""

    width: float = 1.0
    drop: float = 0.0
    jitter: float = 0.0
    seed: int = 0


CLEAN = Stroke()


def doodle(seed: int, size: int) -> Stroke:
    """A hasty-mouse style: 1.3-2 px strokes at 64 px (scaled with ``size``), a quarter of the strokes
    dropped, points jittered by ~1% of the side."""
    rng = np.random.default_rng(seed)
    return Stroke(width=float(rng.uniform(1.3, 2.0)) * size / 64, drop=0.25, jitter=0.01, seed=seed)


def render(template: Template, size: int, stroke: Stroke = CLEAN, supersample: int = 4) -> Image.Image:
    """Black lines on white, ``size`` x ``size`` RGB (drawn large and downsampled for clean lines).

    Polylines of one or two repeated points (the pupils) are drawn as dots.
    """
    rng = np.random.default_rng(stroke.seed)
    big = size * supersample
    scale = big / template.side
    points = template.points * scale
    if stroke.jitter > 0:
        points = points + rng.normal(0.0, stroke.jitter * big, size=points.shape)
    canvas = Image.new("L", (big, big), 255)
    draw = ImageDraw.Draw(canvas)
    width = max(1, int(round(stroke.width * supersample)))
    for indices, closed in template.polylines:
        if stroke.drop > 0 and rng.random() < stroke.drop:
            continue
        xy = [tuple(points[i]) for i in indices]
        if len(set(indices)) == 1:  # a single point: draw it as a dot
            x, y = xy[0]
            r = width * 0.8
            draw.ellipse((x - r, y - r, x + r, y + r), fill=0)
            continue
        if closed:
            xy.append(xy[0])
        draw.line(xy, fill=0, width=width, joint="curve")
    return canvas.resize((size, size), Image.Resampling.LANCZOS).convert("RGB")


def template_path(landmarks_dir: Union[str, Path], file_name: str) -> Optional[Path]:
    """The template for an image file (``images/001_neutral.jpg`` -> ``landmarks/001_neutral.tem``), if any."""
    path = Path(landmarks_dir) / (Path(file_name).stem + ".tem")
    return path if path.is_file() else None


def draw_many(templates: Sequence[Template], size: int, stroke: Stroke = CLEAN) -> list[Image.Image]:
    return [render(t, size, stroke) for t in templates]
