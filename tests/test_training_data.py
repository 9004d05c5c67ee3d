"""Training data: imagefolder loading, the uint8 cache, captions, pairs, the split and the batch sampler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from training import data as data_mod
from training.batches import BatchSampler, caption_rows, make_batch, mismatched_rows
from training.captions import build_caption, caption_fields, counterfactual_captions
from training.config import build_config
from training.data import load_data, split_indices
from training.synthetic import make_imagefolder, make_side_by_side_folder
from zoo.sketch import extract_sketch

LONDON = Path(__file__).resolve().parents[1] / "data" / "london_faces"
TEMPLATE = "a {expression} {gender_noun}[ in {possessive} {age_band}], {ethnicity}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_imagefolder(tmp_path_factory.mktemp("faces"), num_images=12, size=40)


def cfg_for(folder: Path, cache: Path, **values):
    return build_config({"data_dir": str(folder), "cache_dir": str(cache), "resolution": 32, **values})


@pytest.mark.parametrize(
    "row, caption",
    [
        ({"expression": "smiling", "age": "24", "gender": "female", "ethnicity": "white"}, "a smiling woman in her twenties, white"),
        ({"expression": "neutral", "age": "31", "gender": "male", "ethnicity": "east_asian/white"},
         "a neutral man in his thirties, east asian and white"),
        ({"expression": "smiling", "age": "NA", "gender": "male", "ethnicity": "black"}, "a smiling man, black"),
        ({"expression": "neutral", "age": "19", "gender": "", "ethnicity": "west_asian"}, "a neutral person in their teens, west asian"),
    ],
)
def test_caption_builder(row, caption):
    assert build_caption(TEMPLATE, row) == caption


def test_caption_template_with_unknown_field_is_rejected():
    with pytest.raises(ValueError, match=r"\['hair'\]"):
        build_caption("a {hair} person", {"expression": "smiling"})


WORDS = {"with_expression": {"from": "expression", "smiling": "with a smile", "neutral": "with a neutral expression"},
         "sex": {"from": "gender", "female": "female", "male": "male"}}


@pytest.mark.parametrize(
    "template, row, caption",
    [
        ("a {sex} adult {with_expression}", {"expression": "smiling", "gender": "female"}, "a female adult with a smile"),
        ("a {gender_noun} {with_expression}", {"expression": "Neutral", "gender": "male"}, "a man with a neutral expression"),
        # A value the map does not name leaves the field missing, so its optional part is dropped.
        ("a {gender_noun}[ {with_expression}]", {"expression": "surprised", "gender": "male"}, "a man"),
        ("a [{sex} ]person", {"expression": "smiling", "gender": ""}, "a person"),
    ],
)
def test_word_maps_give_other_words_for_a_fields_values(template, row, caption):
    assert build_caption(template, row, WORDS) == caption


def test_imagefolder_is_decoded_once_into_a_uint8_cache(folder, tmp_path, monkeypatch):
    cfg = cfg_for(folder, tmp_path, label_column="expression", split_key="face_id", heldout_fraction=0.34)
    data = load_data(cfg, log=lambda m: None)
    assert data.images.dtype == torch.uint8 and data.images.shape == (12, 3, 32, 32)
    assert data.class_names == ["neutral", "smiling"] and data.labels.tolist() == [0, 1] * 6
    assert data.cache_path.parent == tmp_path and data.cache_path.suffix == ".safetensors"
    # The cached pixels are the resized photo.
    expected = np.asarray(Image.open(folder / "images/003.png").convert("RGB").resize((32, 32), Image.Resampling.LANCZOS))
    assert np.array_equal(data.images[3].permute(1, 2, 0).numpy(), expected)

    # A second load reads the cache and never decodes; another resolution gets its own cache.
    monkeypatch.setattr(data_mod, "_decode", lambda *a: pytest.fail("decoded again"))
    again = load_data(cfg, log=lambda m: None)
    assert torch.equal(again.images, data.images) and again.cache_path == data.cache_path
    monkeypatch.undo()
    other = load_data(cfg_for(folder, tmp_path, resolution=64), log=lambda m: None)
    assert other.cache_path != data.cache_path and other.images.shape[-1] == 64

    # Split by person: nobody on both sides, ~a third of the people held out, same split every time.
    train_people = {data.groups[i] for i in data.train_idx.tolist()}
    held_people = {data.groups[i] for i in data.heldout_idx.tolist()}
    assert not train_people & held_people and len(held_people) == 2 and len(train_people) == 4
    assert torch.equal(again.heldout_idx, data.heldout_idx)


def test_joint_label_column_makes_one_class_per_combination(folder, tmp_path):
    data = load_data(cfg_for(folder, tmp_path, label_column="gender+expression"), log=lambda m: None)
    rows = (folder / "metadata.csv").read_text().splitlines()[1:]
    wanted = [f"{r.split(',')[5]}+{r.split(',')[3]}" for r in rows]
    assert data.class_names == sorted(set(wanted)) == ["female+neutral", "female+smiling", "male+neutral", "male+smiling"]
    assert [data.class_names[i] for i in data.labels.tolist()] == wanted
    with pytest.raises(data_mod.DataError, match=r"label_column 'gender\+mood' not found \(mood missing\)"):
        load_data(cfg_for(folder, tmp_path, label_column="gender+mood"), log=lambda m: None)


def test_split_indices_by_row_and_by_group():
    train, held = split_indices(10, None, 0.2, seed=1)
    assert len(held) == 2 and sorted(train.tolist() + held.tolist()) == list(range(10))
    assert torch.equal(split_indices(10, None, 0.2, seed=1)[1], held)
    assert not torch.equal(split_indices(10, None, 0.5, seed=2)[1], split_indices(10, None, 0.5, seed=3)[1])
    train, held = split_indices(4, ["a", "a", "b", "b"], 0.1, seed=0)  # rounds to 0 groups -> still one held out
    assert len(held) == 2 and len(train) == 2
    assert len(split_indices(5, None, 0.0, seed=0)[1]) == 0


def test_paired_column_side_by_side_and_xdog_sketches(folder, tmp_path):
    column = load_data(cfg_for(folder, tmp_path, family="pix2pix", sketch_source="column", sketch_column="sketch"), log=print)
    assert torch.equal(column.sketches.int(), (255 - column.images.int()).clamp(0, 255)) or (
        (column.sketches.int() + column.images.int() - 255).abs().max() <= 2  # resampling rounding
    )

    sbs = make_side_by_side_folder(tmp_path / "sbs", num_images=4, size=32)
    pairs = load_data(cfg_for(sbs, tmp_path, family="pix2pix", sketch_source="side_by_side"), log=print)
    assert pairs.sketches.shape == pairs.images.shape == (4, 3, 32, 32)
    assert (pairs.sketches[:, 0] == 255).all() and (pairs.sketches[:, 1:] == 0).all()  # left half = red input
    assert not (pairs.images[:, 0] == 255).all()
    swapped = load_data(cfg_for(sbs, tmp_path, family="pix2pix", sketch_source="side_by_side", side_by_side_input="right"), log=print)
    assert torch.equal(swapped.images, pairs.sketches)

    xdog = load_data(cfg_for(folder, tmp_path, family="pix2pix", sketch_source="xdog"), log=print)
    expected = extract_sketch(data_mod.uint8_to_float(xdog.images))
    assert (data_mod.uint8_to_float(xdog.sketches) - expected).abs().max() <= 1 / 127.5 + 1e-6


def test_class_subfolders_become_labels(tmp_path):
    for cls in ("rock", "paper", "scissors"):
        make_side_by_side_folder(tmp_path / "rps" / cls, num_images=2, size=16)
    data = load_data(cfg_for(tmp_path / "rps", tmp_path, label_column="label"), log=print)
    assert data.class_names == ["paper", "rock", "scissors"] and data.num_classes == 3
    assert sorted(data.labels.tolist()) == [0, 0, 1, 1, 2, 2]


def test_captions_are_embedded_and_cached(folder, tmp_path):
    cfg = cfg_for(folder, tmp_path, family="textgan", caption_template=TEMPLATE, split_key="face_id")
    data = load_data(cfg, log=print)
    assert data.captions[0] == "a neutral woman in her teens, white"
    assert data.text_embeds.shape == (12, 384) and data.text_embeds.dtype == torch.float32
    assert torch.allclose(data.text_embeds.norm(dim=1), torch.ones(12), atol=1e-4)
    same = [i for i in range(12) if data.captions[i] == data.captions[0]]
    assert all(torch.equal(data.text_embeds[i], data.text_embeds[0]) for i in same)
    # Mismatched captions for the matching-aware loss really differ from each row's own caption.
    rows = data.train_idx[:6]
    wrong = mismatched_rows(data, rows, torch.Generator().manual_seed(0))
    assert (data.caption_ids[wrong] != data.caption_ids[rows]).all()
    batch = make_batch(data, rows, torch.device("cpu"), torch.Generator().manual_seed(0), hflip=True, channels_last=True)
    assert batch.images.is_contiguous(memory_format=torch.channels_last)
    assert batch.images.min() >= -1 and batch.images.max() <= 1 and batch.text_embeds.shape == (6, 384)


def test_paraphrased_captions_say_the_same_row_in_other_words(folder, tmp_path):
    paraphrases = ["a {sex} adult {with_expression}", "{ethnicity} {gender_noun}"]
    plain = load_data(cfg_for(folder, tmp_path, family="textgan", caption_template=TEMPLATE, split_key="face_id"), log=print)
    cfg = cfg_for(folder, tmp_path, family="textgan", caption_template=TEMPLATE, split_key="face_id",
                  caption_paraphrases=paraphrases, caption_words=WORDS)
    data = load_data(cfg, log=print)
    assert data.cache_path != plain.cache_path and plain.paraphrase_embeds is None
    # The template's wording is unchanged (grids, metrics and mismatch tests use it); the paraphrases
    # are each row's own attributes, embedded by the same encoder.
    assert data.captions == plain.captions and torch.equal(data.text_embeds, plain.text_embeds)
    assert data.paraphrase_embeds.shape == (12, 2, 384)
    from zoo.text import load_sentence_encoder

    row0 = load_sentence_encoder(cfg.text_encoder).encode(["a female adult with a neutral expression", "white woman"]).float()
    assert torch.allclose(data.paraphrase_embeds[0], row0, atol=1e-5)
    # A batch draws one wording per row among the template and the paraphrases, from that row only.
    rows = torch.tensor([0, 1, 2, 3] * 50)
    picked = caption_rows(data, rows, torch.Generator().manual_seed(0))
    wordings = torch.cat([data.text_embeds[rows, None], data.paraphrase_embeds[rows]], dim=1)
    which = (picked[:, None] - wordings).abs().amax(dim=-1).argmin(dim=1)
    assert torch.allclose(picked, wordings[torch.arange(len(rows)), which])
    assert set(which.tolist()) == {0, 1, 2}
    # Wording noise moves each drawn wording by a multiple of one training row's wording minus that
    # row's mean wording, so each noised caption is one of its own row's wordings plus 2x such an offset.
    wordings_train = torch.cat([data.text_embeds[data.train_idx, None], data.paraphrase_embeds[data.train_idx]], dim=1)
    offsets = (wordings_train - wordings_train.mean(dim=1, keepdim=True)).flatten(0, 1)
    noisy = caption_rows(data, rows, torch.Generator().manual_seed(0), wording_noise=2.0)
    assert not torch.allclose(noisy, picked)
    moved = (noisy[:, None] - wordings) / 2.0  # candidate offsets, per wording this row could have drawn
    dist = (moved[:, :, None] - offsets[None, None]).abs().amax(dim=-1)  # [rows, wordings, offsets]
    assert bool((dist.amin(dim=(1, 2)) < 1e-5).all())
    # make_batch hands the noise to the matched and the wrong captions alike; at 0 it draws nothing extra.
    plain_batch = make_batch(data, rows[:8], torch.device("cpu"), torch.Generator().manual_seed(0), hflip=False, channels_last=False)
    noisy_batch = make_batch(data, rows[:8], torch.device("cpu"), torch.Generator().manual_seed(0), hflip=False, channels_last=False,
                             wording_noise=2.0)
    assert not torch.allclose(plain_batch.text_embeds, noisy_batch.text_embeds)
    assert not torch.allclose(plain_batch.mismatch_embeds, noisy_batch.mismatch_embeds)
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(caption_rows(data, rows, gen, wording_noise=0.0), picked)
    again = torch.Generator().manual_seed(0)
    caption_rows(data, rows, again)
    assert torch.equal(gen.get_state(), again.get_state())  # and nothing more at noise 0
    # Without paraphrases, the caption is the template's and no random number is drawn.
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(caption_rows(plain, rows, gen), plain.text_embeds[rows])
    assert torch.equal(gen.get_state(), torch.Generator().manual_seed(0).get_state())


def test_same_person_negatives_differ_only_by_that_persons_other_photo(folder, tmp_path):
    cfg = cfg_for(folder, tmp_path, family="textgan", caption_template=TEMPLATE, split_key="face_id")
    data = load_data(cfg, log=print)
    rows = data.train_idx
    wrong = mismatched_rows(data, rows, torch.Generator().manual_seed(0), same_group=1.0)
    assert (data.caption_ids[wrong] != data.caption_ids[rows]).all()
    has_partner = [any(data.groups[j] == data.groups[i] and data.caption_ids[j] != data.caption_ids[i] for j in rows.tolist())
                   for i in rows.tolist()]
    assert any(has_partner)
    for i, w, partnered in zip(rows.tolist(), wrong.tolist(), has_partner):
        if partnered:  # the other photo of the same person: same person, other expression
            assert data.groups[w] == data.groups[i] and w in rows.tolist()
    # The default keeps random negatives: over the same rows some come from other people.
    plain = mismatched_rows(data, rows, torch.Generator().manual_seed(0))
    assert any(data.groups[w] != data.groups[i] for i, w in zip(rows.tolist(), plain.tolist()))


def test_counterfactual_captions_change_exactly_one_named_attribute():
    templates = [TEMPLATE, "a {sex} adult {with_expression}", "{ethnicity} {gender_noun}"]
    rows = [{"expression": "smiling", "age": "24", "gender": "female", "ethnicity": "white"},
            {"expression": "neutral", "age": "31", "gender": "male", "ethnicity": "black"},
            {"expression": "neutral", "age": "40", "gender": "male", "ethnicity": "east_asian/white"},
            {"expression": "smiling", "age": "50", "gender": "female", "ethnicity": ""}]
    slots = counterfactual_captions(templates, rows, ["ethnicity", "expression"], WORDS)
    truths = [{build_caption(t, row, WORDS) for t in templates} for row in rows]
    for row, row_slots, truth in zip(rows, slots, truths):
        assert not {text for _, text in row_slots} & truth  # never the photo's own caption in any wording
    # White woman: black in the two wordings that name the ethnicity, not "east asian and white",
    # which still names her own; neutral in the two wordings that name the expression.
    assert slots[0] == [(0, "a smiling woman in her twenties, black"), (0, "black woman"),
                        (1, "a neutral woman in her twenties, white"), (1, "a female adult with a neutral expression")]
    assert {text for k, text in slots[1] if k == 0} == {"a neutral man in his thirties, white", "white man",
                                                        "a neutral man in his thirties, east asian and white",
                                                        "east asian and white man"}
    assert [k for k, _ in slots[2]] == [0, 0, 1, 1]  # black only: white is part of his own value
    assert [k for k, _ in slots[3]] == [1, 1]  # no ethnicity to change


def test_counterfactual_negatives_are_the_rows_own_caption_with_one_field_changed(folder, tmp_path):
    cfg = cfg_for(folder, tmp_path, family="textgan", caption_template=TEMPLATE, split_key="face_id",
                  counterfactual_fields=["ethnicity", "expression"], mismatch_counterfactual=1.0)
    data = load_data(cfg, log=print)
    plain = load_data(cfg_for(folder, tmp_path, family="textgan", caption_template=TEMPLATE, split_key="face_id"), log=print)
    assert data.cache_path != plain.cache_path and plain.counterfactual_embeds is None
    weights = data.counterfactual_weights
    assert torch.allclose(weights.sum(dim=1), torch.ones(12))
    from zoo.text import load_sentence_encoder

    encoder = load_sentence_encoder(cfg.text_encoder)
    rows = data.train_idx
    batch = make_batch(data, rows, torch.device("cpu"), torch.Generator().manual_seed(0), hflip=False,
                       channels_last=False, counterfactual_negatives=1.0)
    metadata = data_mod._local_source(folder).rows
    slots = counterfactual_captions([TEMPLATE], metadata, ["ethnicity", "expression"])
    changed = {"ethnicity": 0, "expression": 0}
    for n, i in enumerate(rows.tolist()):
        fields = caption_fields(metadata[i])
        texts = [text for _, text in slots[i]]
        embeds = encoder.encode(texts).float()
        nearest = (embeds - batch.mismatch_embeds[n]).abs().amax(dim=1).argmin()
        assert torch.allclose(embeds[nearest], batch.mismatch_embeds[n], atol=1e-5)  # one of its own counterfactuals
        wrong = texts[nearest]
        changed["ethnicity" if fields["expression"] in wrong else "expression"] += 1
    assert changed["ethnicity"] > 0 and changed["expression"] > 0  # both fields are drawn
    # Off (the default), the batch draws exactly the random numbers it drew before the option existed.
    gen = torch.Generator().manual_seed(0)
    make_batch(plain, rows, torch.device("cpu"), gen, hflip=False, channels_last=False, counterfactual_negatives=0.5)
    ref = torch.Generator().manual_seed(0)
    make_batch(plain, rows, torch.device("cpu"), ref, hflip=False, channels_last=False)
    assert torch.equal(gen.get_state(), ref.get_state())


def test_counterfactual_fields_must_be_metadata_columns(folder, tmp_path):
    cfg = cfg_for(folder, tmp_path, family="textgan", caption_template=TEMPLATE, counterfactual_fields=["hair"])
    with pytest.raises(data_mod.DataError, match="hair"):
        load_data(cfg, log=print)
    # A column that no caption names would give no wrong captions at all: said, not silently skipped.
    cfg = cfg_for(folder, tmp_path, family="textgan", caption_template="a {gender_noun}", counterfactual_fields=["ethnicity"])
    with pytest.raises(data_mod.DataError, match=r"\['ethnicity'\] change no caption"):
        load_data(cfg, log=print)


def test_batch_sampler_is_a_pure_function_of_the_micro_batch():
    indices = torch.arange(100, 110)
    a = BatchSampler(indices, batch_size=4, num_processes=1, rank=0, seed=3)
    b = BatchSampler(indices, batch_size=4, num_processes=1, rank=0, seed=3)
    seq = [a(m) for m in range(5)]
    assert all(torch.equal(b(m), seq[m]) for m in reversed(range(5)))  # any order, same answer (resume)
    stream = torch.cat(seq)
    assert sorted(stream[:10].tolist()) == list(range(100, 110))  # each epoch is a permutation
    assert sorted(stream[10:20].tolist()) == list(range(100, 110))
    assert not torch.equal(stream[:10], stream[10:20])  # reshuffled per epoch
    # Two processes take disjoint halves of the same global batch.
    r0 = BatchSampler(indices, 2, 2, 0, 3)
    r1 = BatchSampler(indices, 2, 2, 1, 3)
    assert torch.equal(torch.cat([r0(0), r1(0)]), seq[0])
    tiny = BatchSampler(torch.arange(3), 8, 1, 0, 0)(0)  # a batch larger than the dataset wraps epochs
    assert len(tiny) == 8 and set(tiny.tolist()) == {0, 1, 2}


@pytest.mark.skipif(not (LONDON / "metadata.csv").is_file(), reason="London faces not present")
def test_london_faces_with_person_split_and_captions(tmp_path):
    cfg = build_config(
        {"data_dir": str(LONDON), "cache_dir": str(tmp_path), "resolution": 32, "family": "textgan",
         "caption_template": TEMPLATE, "split_key": "face_id", "heldout_fraction": 0.1}
    )
    data = load_data(cfg, log=print)
    assert data.num_images == 204 and len(data.heldout_idx) == 20  # 10 of 102 people, both photos each
    assert "a smiling woman in her twenties, white" in data.captions
    assert not {data.groups[i] for i in data.train_idx.tolist()} & {data.groups[i] for i in data.heldout_idx.tolist()}


def test_dataset_source_goes_through_datasets_load_dataset(folder, tmp_path, monkeypatch):
    """The Hub code path, offline: ``load_dataset`` also accepts a local dataset folder as the id."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_datasets")
    cfg = build_config(
        {"dataset": str(folder), "cache_dir": str(tmp_path / "cache"), "resolution": 32, "family": "pix2pix",
         "sketch_source": "column", "sketch_column": "sketch", "label_column": "expression", "class_head": "ac",
         "max_images": 6}
    )
    data = load_data(cfg, log=print)
    assert data.images.shape == (6, 3, 32, 32) and data.sketches.shape == (6, 3, 32, 32)
    assert data.class_names == ["neutral", "smiling"] and data.labels.tolist() == [0, 1, 0, 1, 0, 1]
    local = load_data(cfg_for(folder, tmp_path / "cache", max_images=6), log=print)
    assert torch.equal(data.images, local.images)  # same pixels whichever reader decoded them
    assert (tmp_path / "hf_datasets").is_dir()
