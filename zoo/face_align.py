"""Put an uploaded face where the training photos have theirs, before GAN inversion looks for it.

The face models only ever saw the London faces photos: frontal portraits whose face is centred and
about 40% of the side, eyes level. A user's photo (a selfie, a passport photo, a holiday snapshot)
has the face anywhere, at any size, slightly tilted; its centre square is a framing the models never
drew, so inversion spends its effort on hair and background and finds a stranger.

The detector is OpenCV's Haar cascades (Viola-Jones), because their weights ship *inside* the
``opencv-python-headless`` wheel (``cv2.data.haarcascades``): CPU only, milliseconds, nothing to
download, so the app and the CLI stay offline. The largest frontal face is found, then the two eyes
in its upper part. The face box sets the square's centre and size; the eyes, when both are found,
set its angle, so the eye line comes out level. The square is then searched again (the face now
upright, at the training photos' size, where the detector's boxes are most repeatable) and
corrected once. With no face, the centre square is used and :attr:`Alignment.message` says so.

The target framing is *measured*, not guessed: :func:`calibrate` runs the same detector on the
training photos and takes medians, so the detector's own bias (Haar face boxes cut the forehead
and the chin) cancels between the training photos and the upload.

    python -m zoo.face_align --calibrate data/london_faces   # recompute the constants below
    python -m zoo.face_align photo.jpg --out aligned.png     # align one photo
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import PIL.Image
import PIL.ImageOps

from zoo.images import square_crop

# The training framing: the face box's centre and width as fractions of the photo side (x right,
# y down) and the eye line's angle in degrees (clockwise). Medians over the 204 training photos
# (face found in 202, both eyes in 202), printed by
#   OMP_NUM_THREADS=1 python -m zoo.face_align --calibrate data/london_faces
# which also checks the eye line against the set's hand-placed pupils (101 neutral photos: median
# error 0.39 degrees, max 1.73). Re-run it and paste its output here if the detector settings change.
FACE_CENTRE = (0.5, 0.502)
FACE_SIZE = 0.4
EYE_ANGLE = 0.0

#: Side of the aligned square: the training photos' 256 px (the pipelines resize it to the model's resolution).
OUTPUT_SIDE = 256
#: Detection runs on a copy whose longer side is at most this (a 12 MP phone photo takes seconds otherwise).
DETECT_SIDE = 640
FACE_CASCADE = "haarcascade_frontalface_default.xml"
#: Scale step of the face search and how many overlapping hits make a face (the box is their mean).
#: Finer steps with more hits (1.05/10, 1.02/15) framed the bench's uploads no closer, only slower.
FACE_SCALE_STEP = 1.1
FACE_NEIGHBOURS = 5
#: Finds eyes with and without glasses; on the London set's 102 neutral photos its eye centres were
#: closer to the hand-placed pupils (median 3% of the eye distance) than ``haarcascade_eye.xml``'s (5%).
EYE_CASCADE = "haarcascade_eye_tree_eyeglasses.xml"
#: Face width (px) the eye search sees: eyes of 20 px and more, the eye cascade's smallest window.
EYE_FACE_WIDTH = 200

FOUND_EYES = "face found and aligned (eyes levelled)"
FOUND_FACE = "face found and aligned (eyes not found, so not levelled)"
NO_FACE = "no face found: used the centre square"
NOT_ASKED = "alignment off: used the centre square"


@dataclass(frozen=True)
class Detection:
    """Where the face is, in pixels of the image it was found in."""

    box: tuple[float, float, float, float]  # x, y, width, height of the largest face
    eyes: Optional[tuple[tuple[float, float], tuple[float, float]]]  # (left, right) eye centres, as seen


@dataclass(frozen=True)
class Alignment:
    """The square to show the model, and how it was found (for the user: :attr:`message`)."""

    image: PIL.Image.Image  # square RGB
    face_found: bool
    eyes_found: bool
    angle: float  # degrees the photo was turned to level the eyes (0 without eyes)
    message: str
    detection: Optional[Detection] = None


@functools.lru_cache(maxsize=None)
def _cascade(name: str):
    import cv2

    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / name))
    if cascade.empty():  # a broken OpenCV install; better a clear error than "no face" on every photo
        raise RuntimeError(f"OpenCV could not load its bundled {name} from {cv2.data.haarcascades}")
    return cascade


def _eye_pair(eyes: Sequence[Sequence[int]], box: tuple[float, float, float, float]):
    """The most plausible left/right pair among eye candidates (in ``box`` coordinates' frame), or None.

    One eye each side of the face's centre line, 25-65% of the face width apart, at about the same
    height and size: this drops nostrils, eyebrows and glasses' frames the cascade also fires on.
    """
    x, _, w, _ = box
    best, best_size = None, 0.0
    centres = [(ex + ew / 2, ey + eh / 2, ew) for ex, ey, ew, eh in eyes]
    for a, b in itertools.combinations(centres, 2):
        left, right = sorted([a, b])
        dx, dy = right[0] - left[0], abs(right[1] - left[1])
        if not left[0] < x + w / 2 < right[0] or not 0.25 * w < dx < 0.65 * w or dy > 0.3 * dx:
            continue
        if max(left[2], right[2]) > 1.6 * min(left[2], right[2]):
            continue
        if left[2] + right[2] > best_size:
            best, best_size = (left[:2], right[:2]), left[2] + right[2]
    return best


def detect(gray: np.ndarray) -> Optional[Detection]:
    """The largest frontal face in a uint8 greyscale array, and its eyes if both are found."""
    import cv2

    side = min(gray.shape)
    faces = _cascade(FACE_CASCADE).detectMultiScale(gray, scaleFactor=FACE_SCALE_STEP, minNeighbors=FACE_NEIGHBOURS,
                                                    minSize=(max(24, side // 10),) * 2)
    if len(faces) == 0:
        return None
    x, y, w, h = (float(v) for v in max(faces, key=lambda f: f[2] * f[3]))
    # Eyes: in the top 60% of the face box, each 10-40% of the face width. The box is resized to
    # EYE_FACE_WIDTH first: the eye cascade's smallest window is 20 px, larger than the eyes of a small face.
    top = gray[int(y): int(y + 0.6 * h), int(x): int(x + w)]
    zoom = EYE_FACE_WIDTH / top.shape[1]
    top = cv2.resize(top, (EYE_FACE_WIDTH, max(1, round(top.shape[0] * zoom))),
                     interpolation=cv2.INTER_CUBIC if zoom > 1 else cv2.INTER_AREA)
    found = _cascade(EYE_CASCADE).detectMultiScale(top, scaleFactor=1.1, minNeighbors=5,
                                                   minSize=(int(0.1 * EYE_FACE_WIDTH),) * 2,
                                                   maxSize=(int(0.4 * EYE_FACE_WIDTH),) * 2)
    pair = _eye_pair([(ex / zoom + x, ey / zoom + y, ew / zoom, eh / zoom) for ex, ey, ew, eh in found], (x, y, w, h))
    return Detection((x, y, w, h), pair)


def find_face(image: PIL.Image.Image) -> Optional[Detection]:
    """:func:`detect` on a working copy at most :data:`DETECT_SIDE` px long, in ``image``'s pixels."""
    scale = min(1.0, DETECT_SIDE / max(image.size))
    small = image.convert("L")
    if scale < 1:
        small = small.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             PIL.Image.Resampling.BOX)
    found = detect(np.asarray(small))
    if found is None or scale == 1:
        return found
    box = tuple(v / scale for v in found.box)
    eyes = None if found.eyes is None else tuple((ex / scale, ey / scale) for ex, ey in found.eyes)
    return Detection(box, eyes)


def centre_square(image: PIL.Image.Image, size: int = OUTPUT_SIDE) -> PIL.Image.Image:
    """The largest centred square, resized to ``size``: what the app did before alignment."""
    return square_crop(image, size)


def _eye_angle(detection: Detection) -> Optional[float]:
    """The eye line's angle in degrees (clockwise, as y points down), or None without both eyes."""
    if detection.eyes is None:
        return None
    (lx, ly), (rx, ry) = detection.eyes
    return math.degrees(math.atan2(ry - ly, rx - lx))


def _square(detection: Detection) -> tuple[float, float, float, float]:
    """(centre x, centre y, side, angle in radians) of the square that frames the detected face as the
    training photos frame theirs: the face box's centre and width set the first three, the eye line
    (when both eyes were found) the angle the square is turned by, so that it comes out level."""
    x, y, w, h = detection.box
    side = w / FACE_SIZE
    eye_angle = _eye_angle(detection)
    angle = 0.0 if eye_angle is None else math.radians(eye_angle - EYE_ANGLE)
    # The face centre sits (FACE_CENTRE - 0.5) * side from the square's centre, along the turned axes.
    ox, oy = (FACE_CENTRE[0] - 0.5) * side, (FACE_CENTRE[1] - 0.5) * side
    cos, sin = math.cos(angle), math.sin(angle)
    return (x + w / 2 - (ox * cos - oy * sin), y + h / 2 - (ox * sin + oy * cos), side, angle)


def _warp(image: PIL.Image.Image, cx: float, cy: float, side: float, angle: float, size: int) -> PIL.Image.Image:
    """The turned square (centre, side, angle) of ``image`` as a ``size`` px image; beyond the photo's
    edges its border pixels are repeated (a plain extension of the background, not black bars)."""
    import cv2

    rgb = image.convert("RGB")
    scale = size / side
    if scale < 0.5:  # shrink first with a proper filter; warpAffine alone would alias a large photo
        factor = min(1.0, 2 * scale)
        rgb = rgb.resize((max(1, round(rgb.width * factor)), max(1, round(rgb.height * factor))),
                         PIL.Image.Resampling.LANCZOS)
        cx, cy, side, scale = cx * factor, cy * factor, side * factor, scale / factor
    cos, sin = math.cos(angle), math.sin(angle)
    # output pixel u -> photo pixel: centre + R(angle) @ (u - size/2) / scale; invert for warpAffine.
    matrix = np.array([[cos, sin, 0.0], [-sin, cos, 0.0]]) * scale
    matrix[:, 2] = np.array([size / 2, size / 2]) - matrix[:, :2] @ np.array([cx, cy])
    out = cv2.warpAffine(np.asarray(rgb), matrix, (size, size), flags=cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_REPLICATE)
    return PIL.Image.fromarray(out)


def align_face(image: PIL.Image.Image, size: int = OUTPUT_SIDE, align: bool = True) -> Alignment:
    """The upload framed like the training photos (see the module docstring), as a ``size`` px square.

    ``align=False`` (or no face found) gives the centre square instead, with a message that says
    which. The photo's EXIF orientation is applied first either way (phones store portraits sideways).
    """
    image = PIL.ImageOps.exif_transpose(image)
    if not align:
        return Alignment(centre_square(image, size), False, False, 0.0, NOT_ASKED)
    found = find_face(image)
    if found is None:
        return Alignment(centre_square(image, size), False, False, 0.0, NO_FACE)
    cx, cy, side, angle = _square(found)
    # Once more on that first square (OUTPUT_SIDE px, face upright and at the training size: the
    # conditions the constants were measured in), and correct the square by what is found there.
    # On all 204 training photos made into uploads as bench/inversion_quality.py --perturb does
    # (shrunk to 0.6, turned up to 8 degrees, pasted off-centre), this second look took the crops'
    # L1 to the photos (64 px) from 0.069 to 0.061; the centre square is at 0.29.
    again = find_face(_warp(image, cx, cy, side, angle, OUTPUT_SIDE))
    if again is not None:
        dx, dy, side_again, turn = _square(again)
        k, cos, sin = side / OUTPUT_SIDE, math.cos(angle), math.sin(angle)
        dx, dy = (dx - OUTPUT_SIDE / 2) * k, (dy - OUTPUT_SIDE / 2) * k
        cx, cy, side, angle = cx + dx * cos - dy * sin, cy + dx * sin + dy * cos, side_again * k, angle + turn
    eyes = found.eyes is not None or (again is not None and again.eyes is not None)
    return Alignment(_warp(image, cx, cy, side, angle, size), True, eyes, math.degrees(angle),
                     FOUND_EYES if eyes else FOUND_FACE, found)


def calibrate(data_dir: Path) -> dict[str, Any]:
    """The training framing measured on ``data_dir/images/*.jpg`` (square photos): medians of the
    detector's face box centre and width (fractions of the side) and of the eye line's angle. Where
    ``data_dir/landmarks/*.tem`` exist (the London set's hand-placed templates; points 0 and 1 are
    the pupils), also how far the detected eye line is from the pupils' line, in degrees."""
    boxes, angles, errors = [], [], []
    photos = sorted((data_dir / "images").glob("*.jpg"))
    if not photos:
        raise ValueError(f"no .jpg photos in {data_dir}/images")
    for path in photos:
        with PIL.Image.open(path) as photo:
            side = float(min(photo.size))
            found = find_face(photo)
        if found is None:
            continue
        x, y, w, h = (v / side for v in found.box)
        boxes.append((x + w / 2, y + h / 2, w))
        angle = _eye_angle(found)
        if angle is None:
            continue
        angles.append(angle)
        template = data_dir / "landmarks" / f"{path.stem}.tem"
        if template.exists():  # the angle is the same in the templates' 1350 px frame
            (lx, ly), (rx, ry) = sorted(tuple(map(float, line.split())) for line in template.read_text().splitlines()[1:3])
            errors.append(abs(angle - math.degrees(math.atan2(ry - ly, rx - lx))))
    if not boxes or not angles:
        raise ValueError(f"the detector found no faces (or no eyes) in {data_dir}/images")
    def median(values) -> float:
        return round(float(statistics.median(values)), 3)

    return {"photos": len(photos), "faces": len(boxes), "eyes": len(angles),
            "pupils": (len(errors), median(errors), round(max(errors), 2)) if errors else None,
            "FACE_CENTRE": (median(b[0] for b in boxes), median(b[1] for b in boxes)),
            "FACE_SIZE": median(b[2] for b in boxes), "EYE_ANGLE": median(angles)}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", nargs="?", type=Path, help="a photo to align (writes --out)")
    parser.add_argument("--out", type=Path, default=Path("aligned.png"))
    parser.add_argument("--calibrate", type=Path, metavar="DATA_DIR",
                        help="measure the training framing on DATA_DIR/images/*.jpg and print the constants")
    args = parser.parse_args(argv)
    if args.calibrate:
        try:
            values = calibrate(args.calibrate)
        except ValueError as err:
            parser.error(str(err))
        print(f"# {values.pop('photos')} photos: face found in {values.pop('faces')}, both eyes in {values.pop('eyes')}")
        pupils = values.pop("pupils")
        if pupils:
            print(f"# eye line vs hand-placed pupils ({pupils[0]} photos): median error {pupils[1]} degrees, max {pupils[2]}")
        for name, value in values.items():
            print(f"{name} = {value}")
        return 0
    if args.photo is None:
        parser.error("give a photo to align, or --calibrate DATA_DIR")
    with PIL.Image.open(args.photo) as photo:
        result = align_face(photo)
    result.image.save(args.out)
    print(f"{args.out}: {result.message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
