"""Line drawings from face templates, doodles, and the mixed sketch styles the trainer feeds pix2pix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from training.batches import Batch, make_batch, sketch_rows
from training.config import ConfigError, build_config
from training.data import load_data
from training.families.pix2pix import Pix2PixFamily
from zoo import line_drawings

DATA = Path(__file__).resolve().parents[1] / "data" / "london_faces"
TEM = DATA / "landmarks" / "001_neutral.tem"


def ink(image) -> np.ndarray:
    return np.asarray(image.convert("L")) < 128


def test_template_parses_and_renders_a_face_outline():
    t = line_drawings.read_template(TEM)
    assert t.points.shape == (189, 2) and len(t.polylines) == 44
    clean = ink(line_drawings.render(t, 64))
    assert 0.03 < clean.mean() < 0.3  # lines, not a blank page or a filled blob
    rows, cols = np.nonzero(clean)
    assert 20 < cols.mean() < 44 and 15 < rows.mean() < 50  # the face sits in the middle, like the photos


def test_doodles_are_bolder_sparser_and_differ_by_seed():
    t = line_drawings.read_template(TEM)
    clean = ink(line_drawings.render(t, 64))
    a, b = (ink(line_drawings.render(t, 64, line_drawings.doodle(s, 64))) for s in (1, 2))
    assert not np.array_equal(a, b)
    assert a.mean() > clean.mean()  # thicker strokes outweigh the dropped ones


def test_bad_template_is_named(tmp_path):
    bad = tmp_path / "x.tem"
    bad.write_text("3\n1 2\n")
    with pytest.raises(ValueError, match="x.tem"):
        line_drawings.read_template(bad)


def test_mixed_styles_are_cached_and_drawn_per_row_only_where_they_exist(tmp_path):
    cfg = build_config({"family": "pix2pix", "sketch_source": "xdog", "data_dir": str(DATA), "cache_dir": str(tmp_path),
                        "resolution": 32, "sketch_styles": "xdog,landmarks,doodle", "split_key": "face_id"})
    data = load_data(cfg, log=lambda _: None)
    assert data.sketch_style_names == ["xdog", "landmarks", "doodle"]
    ok = data.sketch_style_ok
    assert ok[:, 0].all() and ok[:, 1].sum() == 102 and torch.equal(ok[:, 1], ok[:, 2])  # templates: neutral photos
    no_template = ~ok[:, 1]
    rows = torch.arange(len(ok)).repeat(20)
    picked = sketch_rows(data, rows, torch.Generator().manual_seed(0))
    # A row without a template always gets its edge sketch; rows with one get every style sometimes.
    for i in torch.nonzero(no_template).flatten()[:5].tolist():
        assert all(torch.equal(picked[j], data.sketch_styles[i, 0]) for j in torch.nonzero(rows == i).flatten().tolist())
    neutral = torch.nonzero(~no_template).flatten()[0].item()
    seen = {s for s in range(3) for j in torch.nonzero(rows == neutral).flatten().tolist()
            if torch.equal(picked[j], data.sketch_styles[neutral, s])}
    assert seen == {0, 1, 2}

    # A batch names the style each row's input was drawn in, the very sketch it carries.
    batch = make_batch(data, rows[:64], torch.device("cpu"), torch.Generator().manual_seed(1), hflip=False, channels_last=False)
    assert batch.sketch_style is not None and set(batch.sketch_style.tolist()) == {0, 1, 2}
    for j, (i, s) in enumerate(zip(rows[:64].tolist(), batch.sketch_style.tolist())):
        assert torch.equal(batch.sketches[j], data.sketch_styles[i, s].float() / 127.5 - 1)


def test_l1_style_weights_scale_each_rows_error_by_its_input_style():
    cfg = build_config({"family": "pix2pix", "sketch_source": "xdog", "data_dir": str(DATA), "sketch_styles": "xdog,landmarks,doodle",
                        "l1_style_weights": {"landmarks": 0.1, "doodle": 0.0}})
    photos = torch.zeros(3, 3, 4, 4)
    fake = torch.stack([torch.full((3, 4, 4), v) for v in (0.2, 0.4, 0.8)])
    batch = Batch(images=photos, sketch_style=torch.tensor([0, 1, 2]))
    assert Pix2PixFamily._l1(cfg, fake, batch).item() == pytest.approx((0.2 * 1 + 0.4 * 0.1 + 0.8 * 0.0) / 3)
    plain = build_config({"family": "pix2pix", "sketch_source": "xdog", "data_dir": str(DATA), "sketch_styles": "xdog,landmarks,doodle"})
    assert Pix2PixFamily._l1(plain, fake, batch).item() == pytest.approx((0.2 + 0.4 + 0.8) / 3)


@pytest.mark.parametrize("values, message", [
    ({"sketch_styles": "xdog,crayon"}, "sketch_styles"),
    ({"sketch_styles": "landmarks", "sketch_source": "column", "sketch_column": "x"}, "sketch_source 'xdog'"),
    ({"sketch_styles": "xdog,landmarks", "l1_style_weights": {"doodle": 0.1}}, r"l1_style_weights names \['doodle'\]"),
    ({"sketch_styles": "xdog,landmarks", "l1_style_weights": {"landmarks": -1}}, "numbers >= 0"),
])
def test_bad_sketch_styles_are_refused(values, message):
    with pytest.raises(ConfigError, match=message):
        build_config({"family": "pix2pix", "sketch_source": "xdog", "data_dir": str(DATA), **values})
