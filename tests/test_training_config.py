"""Trainer configuration: YAML + CLI overrides, type checks, validation messages, README coverage."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from training.config import (
    ConfigError,
    TINY_PRESET,
    TrainConfig,
    build_config,
    field_docs,
    flag_table,
    load_config,
    parse_overrides,
)
from training.families import get_family
from training.train import main as train_main

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "training" / "configs").glob("*.yaml"))
BASE = {"data_dir": "somewhere"}


def test_every_shipped_config_loads_and_validates():
    names = {p.name for p in CONFIGS}
    expected = {
        "dcgan-faces-64.yaml", "dcgan-cifar10-32.yaml", "dcgan-roses-small.yaml", "dcgan-rps-conditional.yaml",
        "pix2pix-sketch2photo.yaml", "textgan-two-stage.yaml", "faces-dcgan-64.yaml", "faces-projected-64.yaml", "faces-fastgan-64.yaml", "faces-style-64.yaml", "faces-style-64-classic.yaml",
        "sketch2face-64.yaml", "text2face-64.yaml", "text2face-64-dcgan.yaml", "text2face-64-words.yaml", "text2face-64-joint.yaml", "text2face-64-wordnoise.yaml", "sketch2face-64-drawings.yaml", "faces-expression-64.yaml",
    }
    assert expected <= names
    for path in CONFIGS:
        text = path.read_text()
        assert "london_faces" not in text.replace("--data_dir data/london_faces", ""), f"{path.name} hard-codes data"
        extra = [] if "\ndataset: " in text else ["--data_dir", "/data"]
        cfg = load_config(path, extra)
        get_family(cfg.family).check_config(cfg)  # generator/discriminator kwargs match the model classes
    faces = load_config(ROOT / "training/configs/faces-dcgan-64.yaml", ["--data_dir", "/data"])
    assert faces.diffaugment_policies == ("color", "translation", "cutout") and faces.ema_decay > 0
    assert faces.split_key == "face_id" and faces.dataset_license == "CC BY 4.0"
    two_stage = load_config(ROOT / "training/configs/textgan-two-stage.yaml", ["--data_dir", "/data"])
    assert (two_stage.resolution, two_stage.generator_kwargs["refine_resolution"]) == (64, 128)


def test_overrides_are_typed_and_bool_flags_need_no_value():
    values = parse_overrides(
        ["--max_steps", "7", "--lr_g=0.001", "--push_to_hub", "--hub_model_id", "org/x", "--hflip", "false",
         "--label_column", "none", "--generator_kwargs", "{mapping_layers: 2}", "--mixed_precision", "no",
         "--caption_paraphrases", "['a {gender_noun}, {expression}', 'close-up of a {gender_noun}']"]
    )
    assert values == {
        "max_steps": 7, "lr_g": 0.001, "push_to_hub": True, "hub_model_id": "org/x", "hflip": False,
        "label_column": None, "generator_kwargs": {"mapping_layers": 2}, "mixed_precision": "no",
        "caption_paraphrases": ["a {gender_noun}, {expression}", "close-up of a {gender_noun}"],
    }
    cfg = build_config(BASE, {k: v for k, v in values.items() if k != "caption_paraphrases"})  # textgan only
    assert cfg.max_steps == 7 and cfg.push_to_hub and cfg.mixed_precision == "no"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max_step", "3"], "unknown config key 'max_step'.*Did you mean max_steps"),
        (["--max_steps", "1.5"], "--max_steps expects an integer"),
        (["--hflip", "maybe"], "--hflip expects true or false"),
        (["--max_steps"], "--max_steps needs a value"),
        (["--generator_kwargs", "{a:1}"], "space after each ':'"),
        (["--caption_paraphrases", "[a, b"], "expects a YAML list"),
        (["stray"], "expected --key value"),
    ],
)
def test_bad_command_line_gives_clear_errors(args, message):
    with pytest.raises(ConfigError, match=message):
        parse_overrides(args)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"resolution": 48}, "resolution must be one of 32, 64, 128, 256; got 48"),
        ({"mixed_precision": "fp8"}, "mixed_precision must be one of no, fp16, bf16"),
        ({"mixed_precision": False}, "YAML boolean False; quote it"),
        ({"heldout_fraction": 1.0}, r"heldout_fraction must be in \[0, 1\)"),
        ({"batch_size": 0}, "batch_size must be > 0"),
        ({"max_steps": "ten"}, "max_steps must be an integer"),
        ({"ema_decay": 1.5}, r"ema_decay must be in \[0, 1\)"),
        ({"lr_g": float("nan")}, "lr_g must be finite"),
        ({"diffaugment": "color,blur"}, r"unknown policy \['blur'\]"),
        ({"family": "vae"}, "family must be one of dcgan, stylegan, fastgan, pix2pix, textgan"),
        ({"family": "pix2pix"}, "pix2pix needs paired inputs"),
        ({"family": "pix2pix", "sketch_source": "column"}, "needs sketch_column"),
        ({"family": "textgan"}, "textgan needs captions"),
        ({"sketch_source": "xdog"}, "sketch_source is only used by pix2pix"),
        ({"caption_column": "text"}, "only used by textgan"),
        ({"dataset": "org/data"}, "set exactly one data source"),
        ({"push_to_hub": True}, "push_to_hub needs --hub_model_id"),
        ({"hub_model_id": "noslash"}, "must look like 'org/name'"),
        ({"family": "stylegan", "class_head": "ac"}, "only supports class_head 'projection'"),
        ({"family": "textgan", "caption_template": "a {expression} face", "label_column": "expression"},
         "auxiliary classifier"),
        ({"resume_from_checkpoint": "/no/such/dir"}, "neither 'latest' nor a directory"),
        ({"bogus": 1}, "unknown config key 'bogus'"),
        ({"generator_kwargs": [1, 2]}, "generator_kwargs must be a mapping"),
        ({"caption_paraphrases": "a {gender_noun}"}, "caption_paraphrases must be a list"),
        ({"caption_paraphrases": ["a {gender_noun}"]}, "only used by textgan"),
        ({"family": "textgan", "caption_column": "text", "caption_paraphrases": ["a {gender_noun}"]}, "set caption_template too"),
        ({"family": "textgan", "caption_template": "a {sex}", "caption_paraphrases": [""]}, "non-empty template strings"),
        ({"family": "textgan", "caption_template": "a {sex}", "caption_words": {"sex": {"female": "female"}}}, r"from: <field>"),
        ({"family": "textgan", "caption_template": "a {sex}", "caption_words": {"sex": {"from": "gender", "male": 1}}},
         "every entry must be a string"),
        ({"family": "textgan", "caption_template": "a {sex}", "caption_words": {"sex": {"from": "sex", "male": "m"}}},
         "maps from itself"),
        ({"family": "textgan", "caption_template": "a {sex}", "mismatch_counterfactual": 0.5}, "needs counterfactual_fields"),
        ({"family": "textgan", "caption_column": "text", "counterfactual_fields": ["gender"]}, "set it"),
        ({"counterfactual_fields": ["gender"]}, "only used by textgan"),
        ({"mismatch_counterfactual": 1.5}, r"mismatch_counterfactual must be in \[0, 1\]"),
        ({"family": "textgan", "caption_template": "a {sex}", "wording_noise": 1.0}, "wording_noise needs caption_paraphrases"),
        ({"wording_noise": -1.0}, "wording_noise must be >= 0"),
    ],
)
def test_bad_values_give_clear_errors(values, message):
    with pytest.raises(ConfigError, match=message):
        build_config({**BASE, **values})


def test_no_data_source_is_an_error():
    with pytest.raises(ConfigError, match="--data_dir"):
        build_config({})


def test_bad_model_kwargs_are_caught_before_training():
    cfg = build_config({**BASE, "generator_kwargs": {"mapping_layer": 2}, "family": "stylegan"})
    with pytest.raises(ConfigError, match="StyleGANGenerator has no argument 'mapping_layer'.*mapping_layers"):
        get_family("stylegan").check_config(cfg)
    cfg = build_config({**BASE, "generator_kwargs": {"resolution": 32}})
    with pytest.raises(ConfigError, match="set from the top-level config"):
        get_family("dcgan").check_config(cfg)


def test_tiny_preset_sits_between_file_and_command_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("family: stylegan\ndata_dir: x\nmax_steps: 500\ntiny: true\ngenerator_kwargs: {w_dim: 24}\n")
    cfg = load_config(path, ["--batch_size", "3"])
    assert cfg.resolution == TINY_PRESET["resolution"] and cfg.max_steps == TINY_PRESET["max_steps"]
    assert cfg.batch_size == 3  # the command line wins over the preset
    assert cfg.generator_kwargs == {"w_dim": 24, "mapping_layers": 2, "max_channels": 16}  # user keys win
    assert load_config(path, ["--tiny", "false"]).max_steps == 500


def test_readme_documents_every_field_with_its_default():
    readme = (ROOT / "training" / "README.md").read_text()
    assert flag_table() in readme, "training/README.md is stale: paste the output of `python -m training.config`"
    for field in dataclasses.fields(TrainConfig):
        assert f"`--{field.name}`" in readme
        assert field.metadata.get("doc"), f"{field.name} has no documentation"
    assert set(field_docs()) == {f.name for f in dataclasses.fields(TrainConfig)}


def test_cli_entry_point_reports_config_errors_with_exit_code_2(capsys):
    assert train_main(["--data_dir", "x", "--resolution", "33"]) == 2
    assert "resolution must be one of" in capsys.readouterr().err
    assert train_main(["--config", "/no/such.yaml"]) == 2
    assert "does not exist" in capsys.readouterr().err
