"""Training data: decode once into a uint8 tensor cache, then train by indexing tensors.

Why a tensor cache: on a 2-core CPU, JPEG decoding and resizing cost more than a tiny GAN's
forward pass, and worker processes would compete with training for the same cores. Decoding the
whole set once into ``[N, 3, R, R]`` uint8 (plus derived sketches, labels and caption embeddings),
saving it as ``.safetensors`` keyed by a hash of everything that shapes it, turns every later run
(and every later step) into tensor indexing. Caption embeddings are cached too, so GPU runs never
load the text encoder.

Sources: a Hub dataset id (``datasets.load_dataset``), or a local ``imagefolder`` directory: a
``metadata.csv`` with a ``file_name`` column (more image columns as ``<name>_file_name``, the
``datasets`` convention), or class sub-folders without metadata.

Batches are drawn by :class:`~training.batches.BatchSampler` from a permutation per epoch seeded by
``(seed, epoch)``: which images step ``s`` sees is a pure function of ``s``, which is what makes
resuming exact.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import PIL.Image
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from training.captions import build_caption, counterfactual_captions
from training.config import TrainConfig

CACHE_VERSION = "gan-zoo-data/v1"
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


# ------------------------------------------------------------------------------------------------
# Reading sources
# ------------------------------------------------------------------------------------------------


class DataError(ValueError):
    """The data does not fit the config (a missing column, no images...): the trainer prints the
    message as one line and exits 2, like a config error, instead of a traceback."""


@dataclass
class Source:
    """Rows of a dataset plus how to turn an image cell into a PIL image."""

    name: str
    fingerprint: str
    rows: Sequence[dict[str, Any]]
    open_image: Callable[[Any], PIL.Image.Image]
    image_column_map: dict[str, str] = field(default_factory=dict)  # config column -> row key
    label_names: Optional[list[str]] = None  # from a ClassLabel feature

    def image_key(self, column: str) -> str:
        return self.image_column_map.get(column, column)


def _hash_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _local_source(data_dir: Path) -> Source:
    if not data_dir.is_dir():
        raise DataError(f"data_dir {data_dir} does not exist or is not a directory")
    metadata = data_dir / "metadata.csv"
    # Content, not location: a copied or moved folder (with its mtimes) keeps its cache.
    digest = hashlib.sha256(b"imagefolder")
    if metadata.is_file():
        with metadata.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            raise DataError(f"{metadata} has no rows")
        columns = list(rows[0])
        if "file_name" not in columns:
            raise DataError(f"{metadata} needs a file_name column (imagefolder convention); it has {columns}")
        digest.update(_hash_file(metadata).encode())
        column_map = {"image": "file_name"}
        for col in columns:
            if col.endswith("_file_name"):
                column_map[col[: -len("_file_name")]] = col
    else:
        files = sorted(p for p in data_dir.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise DataError(f"{data_dir} has neither a metadata.csv nor any images ({sorted(IMAGE_EXTENSIONS)})")
        rows = []
        for p in files:
            rel = p.relative_to(data_dir)
            row = {"file_name": rel.as_posix()}
            if len(rel.parts) > 1:
                row["label"] = rel.parts[0]  # imagefolder: the top-level sub-folder is the class
            rows.append(row)
        column_map = {"image": "file_name"}
    for row in rows:  # size + mtime catch replaced images without hashing every byte
        path = data_dir / row["file_name"]
        stat = path.stat() if path.is_file() else None
        digest.update(f"{row['file_name']}:{stat.st_size if stat else -1}:{stat.st_mtime_ns if stat else -1}".encode())

    def open_image(value: Any) -> PIL.Image.Image:
        path = data_dir / str(value)
        if not path.is_file():
            raise DataError(f"image {path} listed in {data_dir} does not exist")
        return PIL.Image.open(path)

    return Source(data_dir.name, digest.hexdigest(), rows, open_image, column_map)


def _hub_source(cfg: TrainConfig) -> Source:
    """A Hub dataset. Needs the network (or a warm HF cache); the code path is deliberately the plain one."""
    import datasets  # imported here: loading it is slow and local runs do not need it

    ds = datasets.load_dataset(cfg.dataset, cfg.dataset_config_name, split=cfg.dataset_split)
    if cfg.max_images is not None:
        ds = ds.select(range(min(cfg.max_images, len(ds))))
    label_names = None
    if cfg.label_column and cfg.label_column in ds.features:
        feature = ds.features[cfg.label_column]
        label_names = list(getattr(feature, "names", None) or []) or None
    fingerprint = f"{cfg.dataset}|{cfg.dataset_config_name}|{cfg.dataset_split}|{getattr(ds, '_fingerprint', '')}"

    def open_image(value: Any) -> PIL.Image.Image:
        if isinstance(value, PIL.Image.Image):
            return value
        if isinstance(value, dict) and value.get("bytes"):
            import io

            return PIL.Image.open(io.BytesIO(value["bytes"]))
        if isinstance(value, dict) and value.get("path"):
            return PIL.Image.open(value["path"])
        raise DataError(f"cannot read an image from a {type(value).__name__} cell")

    return Source(cfg.dataset, hashlib.sha256(fingerprint.encode()).hexdigest(), ds, open_image, {}, label_names)


# ------------------------------------------------------------------------------------------------
# Decoding
# ------------------------------------------------------------------------------------------------


def _square(image: PIL.Image.Image) -> PIL.Image.Image:
    """Centre crop to a square: faces and objects are centred, and stretching would distort them."""
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return image.crop((left, top, left + side, top + side))


def to_uint8(image: PIL.Image.Image, resolution: int) -> torch.Tensor:
    """PIL image -> ``[3, R, R]`` uint8 (RGB, centre-cropped, Lanczos-resized)."""
    image = _square(image.convert("RGB"))
    if image.size != (resolution, resolution):
        image = image.resize((resolution, resolution), PIL.Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)


def split_side_by_side(image: PIL.Image.Image, input_side: str) -> tuple[PIL.Image.Image, PIL.Image.Image]:
    """An ``A|B`` image (pix2pix datasets) -> ``(input, target)`` halves."""
    w, h = image.size
    left, right = image.crop((0, 0, w // 2, h)), image.crop((w // 2, 0, w // 2 * 2, h))
    return (left, right) if input_side == "left" else (right, left)


def uint8_to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``[0, 255]`` -> float ``[-1, 1]``, the range every model in the zoo uses."""
    return images.float().div_(127.5).sub_(1.0)


def float_to_uint8(images: torch.Tensor) -> torch.Tensor:
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


# ------------------------------------------------------------------------------------------------
# The dataset
# ------------------------------------------------------------------------------------------------


@dataclass
class TrainData:
    """Everything the loop needs, already decoded. Image tensors are uint8 ``[N, 3, R, R]`` on CPU."""

    images: torch.Tensor
    sketches: Optional[torch.Tensor]
    labels: Optional[torch.Tensor]
    class_names: list[str]
    captions: Optional[list[str]]
    caption_ids: Optional[torch.Tensor]  # [N] id of each row's caption (equal captions share an id)
    text_embeds: Optional[torch.Tensor]  # [N, D] float32
    groups: list[str]
    train_idx: torch.Tensor
    heldout_idx: torch.Tensor
    name: str
    cache_path: Path
    #: Mixed sketch styles (pix2pix): ``[N, S, 3, R, R]`` uint8, which exist ``[N, S]``, their names.
    sketch_styles: Optional[torch.Tensor] = None
    sketch_style_ok: Optional[torch.Tensor] = None
    sketch_style_names: list[str] = field(default_factory=list)
    #: Each row's caption in every ``caption_paraphrases`` wording: ``[N, P, D]`` (``text_embeds`` is wording 0).
    paraphrase_embeds: Optional[torch.Tensor] = None
    #: Each row's captions with one ``counterfactual_fields`` attribute changed ``[N, K, D]``, and
    #: the weight to draw each ``[N, K]`` (0 = padding).
    counterfactual_embeds: Optional[torch.Tensor] = None
    counterfactual_weights: Optional[torch.Tensor] = None

    @property
    def num_images(self) -> int:
        return int(self.images.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.labels is not None else 0

    @functools.cached_property
    def group_ids(self) -> torch.Tensor:
        """``[N]`` integer id of each row's ``groups`` entry (its person), for tensor comparisons."""
        ids = {g: i for i, g in enumerate(dict.fromkeys(self.groups))}
        return torch.tensor([ids[g] for g in self.groups], dtype=torch.long)

    def train_images_float(self) -> torch.Tensor:
        return uint8_to_float(self.images[self.train_idx])


def cache_key(cfg: TrainConfig, fingerprint: str) -> str:
    """Hash of the source and of every option that changes the decoded tensors (not the split)."""
    parts = {
        "version": CACHE_VERSION,
        "source": fingerprint,
        "resolution": data_resolution(cfg),
        "image_column": cfg.image_column,
        "label_column": cfg.label_column,
        "caption_column": cfg.caption_column,
        "caption_template": cfg.caption_template,
        **({"caption_paraphrases": cfg.caption_paraphrases, "caption_words": cfg.caption_words}
           if (cfg.caption_paraphrases or cfg.caption_words) else {}),
        **({"counterfactual_fields": cfg.counterfactual_fields} if cfg.counterfactual_fields else {}),
        "sketch_source": cfg.sketch_source,
        "sketch_column": cfg.sketch_column,
        **({"sketch_styles": cfg.sketch_style_list, "landmarks": _landmarks_fingerprint(cfg)} if cfg.sketch_style_list != ["xdog"] else {}),
        "side_by_side_input": cfg.side_by_side_input,
        "max_images": cfg.max_images,
        "split_key": cfg.split_key,
        "text_encoder": cfg.text_encoder if (cfg.caption_column or cfg.caption_template) else None,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def data_resolution(cfg: TrainConfig) -> int:
    """The size images are cached at, the family's to say: a two-stage textgan trains on its refined
    (largest) output, every other family at ``resolution``."""
    from training.families import get_family  # here: the family adapters import this module

    return get_family(cfg.family).data_resolution(cfg)


def _encode_captions(
    captions: list[str], encoder_name: str, paraphrases: Optional[list[list[str]]] = None,
    counterfactuals: Optional[list[list[tuple[int, str]]]] = None, batch_size: int = 256,
) -> dict[str, torch.Tensor]:
    """Embed each distinct caption once. Returns per-row ``text_embeds`` and ``caption_ids``; the
    ``[N, P, D]`` ``paraphrase_embeds`` when ``paraphrases`` are given; and for ``counterfactuals``
    (from :func:`~training.captions.counterfactual_captions`) their ``[N, K, D]`` embeddings padded
    to the longest row, with ``counterfactual_weights`` ``[N, K]``: 0 on padding, else chosen so that
    each field gets an equal share of a row's draws however many values and wordings it has."""
    from zoo.text import load_sentence_encoder

    cf_rows = counterfactuals or []
    every = captions + [c for row in paraphrases or [] for c in row] + [c for row in cf_rows for _, c in row]
    unique = sorted(set(every))
    ids = {c: i for i, c in enumerate(unique)}
    encoder = load_sentence_encoder(encoder_name)
    chunks = [encoder.encode(unique[i : i + batch_size]).float().cpu() for i in range(0, len(unique), batch_size)]
    table = torch.cat(chunks)
    caption_ids = torch.tensor([ids[c] for c in captions], dtype=torch.long)
    out = {"text_embeds": table[caption_ids].contiguous(), "caption_ids": caption_ids}
    if paraphrases:
        out["paraphrase_embeds"] = table[torch.tensor([[ids[c] for c in row] for row in paraphrases], dtype=torch.long)].contiguous()
    if cf_rows and any(cf_rows):
        width = max(len(row) for row in cf_rows)
        embeds = torch.zeros(len(cf_rows), width, table.shape[1])
        weights = torch.zeros(len(cf_rows), width)
        for n, row in enumerate(cf_rows):
            if not row:
                continue
            fields = [k for k, _ in row]
            embeds[n, : len(row)] = table[torch.tensor([ids[c] for _, c in row], dtype=torch.long)]
            weights[n, : len(row)] = torch.tensor([1.0 / (fields.count(k) * len(set(fields))) for k in fields])
        out["counterfactual_embeds"], out["counterfactual_weights"] = embeds, weights
    return out


def _sketches_from_photos(images: torch.Tensor, batch_size: int = 256, **xdog: float) -> torch.Tensor:
    from zoo.sketch import extract_sketch

    out = [float_to_uint8(extract_sketch(uint8_to_float(images[i : i + batch_size]), **xdog)) for i in range(0, len(images), batch_size)]
    return torch.cat(out)


#: XDoG variants of the mixed sketch styles: fewer lines (lower tau) and bolder lines (wider blur).
XDOG_VARIANTS = {"xdog": {}, "xdog_sparse": {"tau": 0.95}, "xdog_bold": {"sigma": 1.0}}


def landmarks_dir(cfg: TrainConfig) -> Optional[Path]:
    if cfg.landmarks_dir:
        return Path(cfg.landmarks_dir).expanduser()
    return Path(cfg.data_dir).expanduser() / "landmarks" if cfg.data_dir else None


def _landmarks_fingerprint(cfg: TrainConfig) -> str:
    folder = landmarks_dir(cfg)
    if folder is None or not folder.is_dir():
        return "none"
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.tem")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def sketch_style_tensors(cfg: TrainConfig, images: torch.Tensor, file_names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """``[N, S, 3, R, R]`` uint8 sketches in every configured style, and ``[N, S]`` which exist.

    Template styles exist only for photos with a ``.tem`` file (London faces: the neutral photos;
    a smiling photo's mouth does not match its neutral template). The doodle of row ``i`` uses
    seed ``i``, so the cache is deterministic.
    """
    from zoo import line_drawings

    styles, folder = cfg.sketch_style_list, landmarks_dir(cfg)
    resolution = images.shape[-1]
    out = torch.empty(len(images), len(styles), *images.shape[1:], dtype=torch.uint8)
    ok = torch.ones(len(images), len(styles), dtype=torch.bool)
    for s, style in enumerate(styles):
        if style in XDOG_VARIANTS:
            out[:, s] = _sketches_from_photos(images, **XDOG_VARIANTS[style])
            continue
        for i, name in enumerate(file_names):
            path = line_drawings.template_path(folder, name) if folder is not None else None
            if path is None:
                ok[i, s] = False
                out[i, s] = 255
                continue
            stroke = line_drawings.doodle(i, resolution) if style == "doodle" else line_drawings.CLEAN
            drawing = line_drawings.render(line_drawings.read_template(path), resolution, stroke)
            out[i, s] = torch.from_numpy(np.array(drawing)).permute(2, 0, 1)
    if not ok.any(dim=1).all():
        raise DataError(f"some images have none of the sketch styles {styles}; add 'xdog' to sketch_styles")
    return out, ok


#: Joins the columns of a joint label (``label_column: "gender+expression"``) and their values.
JOINT_LABEL_SEPARATOR = "+"


def label_value(row: dict[str, Any], label_column: str) -> Any:
    """The row's class: one column's value, or for ``a+b`` the joint value ``"<a>+<b>"``.

    Why joint classes: a text model's auxiliary classifier asks G for one attribute only, and the
    attributes it does not name get no direct gradient; a joint class (gender x expression) asks for
    both at once without a second head or a multi-label loss."""
    columns = label_column.split(JOINT_LABEL_SEPARATOR)
    missing = [c for c in columns if c not in row]
    if missing:
        raise DataError(f"label_column {label_column!r} not found ({', '.join(missing)} missing); columns are {sorted(row)} "
                        "(set label_column to one of them, several joined by '+', or null for an unconditional model)")
    if len(columns) == 1:
        return row[label_column]
    return JOINT_LABEL_SEPARATOR.join(str(row[c]) for c in columns)


def _decode(cfg: TrainConfig, source: Source) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Decode every row into tensors (the slow part, done once per cache key)."""
    resolution = data_resolution(cfg)
    rows = source.rows
    limit = len(rows) if cfg.max_images is None else min(cfg.max_images, len(rows))
    images, sketches, raw_labels, captions, paraphrases, groups = [], [], [], [], [], []
    caption_values: list[dict] = []
    split_by_file = False
    image_key = source.image_key(cfg.image_column)
    sketch_key = source.image_key(cfg.sketch_column) if cfg.sketch_column else None
    for i in range(limit):
        row = rows[i]
        if image_key not in row:
            raise DataError(f"image_column {cfg.image_column!r} not found; columns are {sorted(row)}")
        photo = source.open_image(row[image_key])
        if cfg.sketch_source == "side_by_side":
            sketch_img, photo = split_side_by_side(photo, cfg.side_by_side_input)
            sketches.append(to_uint8(sketch_img, resolution))
        elif cfg.sketch_source == "column":
            if sketch_key not in row:
                raise DataError(f"sketch_column {cfg.sketch_column!r} not found; columns are {sorted(row)}")
            sketches.append(to_uint8(source.open_image(row[sketch_key]), resolution))
        images.append(to_uint8(photo, resolution))
        if cfg.label_column:
            raw_labels.append(label_value(row, cfg.label_column))
        if cfg.caption_column:
            if cfg.caption_column not in row:
                raise DataError(f"caption_column {cfg.caption_column!r} not found; columns are {sorted(row)}")
            captions.append(str(row[cfg.caption_column]))
        elif cfg.caption_template:
            values = {k: v for k, v in row.items() if not isinstance(v, PIL.Image.Image)}
            caption_values.append(values)
            captions.append(build_caption(cfg.caption_template, values, cfg.caption_words))
            if cfg.caption_paraphrases:
                paraphrases.append([build_caption(t, values, cfg.caption_words) for t in cfg.caption_paraphrases])
        if cfg.split_key:
            if cfg.split_key in row:
                groups.append(str(row[cfg.split_key]))
            elif not groups:  # a plain folder of images: hold out by file instead of by person
                print(f"[train] notice: split_key {cfg.split_key!r} is not a column of {source.name!r} "
                      f"(columns: {', '.join(sorted(map(str, row)))}); holding out images by file instead")
                split_by_file = True
            if split_by_file:
                groups.append(f"file-{i}")
            elif cfg.split_key not in row:
                raise DataError(f"split_key {cfg.split_key!r} is missing from row {i} of {source.name!r}; "
                                "give every row a value or set split_key: null")
    if not images:
        raise DataError(f"the data source {source.name!r} has no images")

    tensors = {"images": torch.stack(images).contiguous()}
    meta: dict[str, str] = {"version": CACHE_VERSION, "name": source.name}
    if cfg.sketch_source == "xdog":
        tensors["sketches"] = _sketches_from_photos(tensors["images"])
        if cfg.sketch_style_list != ["xdog"]:
            names = [str(rows[i].get(image_key, "")) for i in range(limit)]
            tensors["sketch_styles"], tensors["sketch_style_ok"] = sketch_style_tensors(cfg, tensors["images"], names)
            meta["sketch_styles"] = json.dumps(cfg.sketch_style_list)
    elif sketches:
        tensors["sketches"] = torch.stack(sketches).contiguous()
    if cfg.label_column:
        if source.label_names is not None and all(isinstance(v, (int, np.integer)) for v in raw_labels):
            class_names = list(source.label_names)
            ids = [int(v) for v in raw_labels]
        else:
            class_names = sorted({str(v) for v in raw_labels})
            ids = [class_names.index(str(v)) for v in raw_labels]
        if len(class_names) < 2:
            raise DataError(f"label_column {cfg.label_column!r} has {len(class_names)} distinct value(s); need >= 2 classes")
        tensors["labels"] = torch.tensor(ids, dtype=torch.long)
        meta["class_names"] = json.dumps(class_names)
    if captions:
        counterfactuals = None
        if cfg.counterfactual_fields:
            columns = set(rows[0]) if rows else set()
            unknown = [f for f in cfg.counterfactual_fields if f not in columns]
            if unknown:
                raise DataError(f"counterfactual_fields {unknown} are not metadata columns; columns are {sorted(columns)}")
            counterfactuals = counterfactual_captions([cfg.caption_template, *cfg.caption_paraphrases], caption_values,
                                                      cfg.counterfactual_fields, cfg.caption_words)
            idle = [f for k, f in enumerate(cfg.counterfactual_fields) if not any(j == k for row in counterfactuals for j, _ in row)]
            if idle:
                raise DataError(f"counterfactual_fields {idle} change no caption: no caption template names them, "
                                "or the data has only one value of each")
        tensors.update(_encode_captions(captions, cfg.text_encoder, paraphrases, counterfactuals))
        meta["captions"] = json.dumps(captions)
        if paraphrases:
            meta["paraphrases"] = json.dumps(paraphrases)
    if groups:
        meta["groups"] = json.dumps(groups)
    return tensors, meta


def split_indices(num: int, groups: Optional[list[str]], fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded train/held-out split; rows sharing a group (e.g. a person) land on the same side."""
    keys = groups if groups else [str(i) for i in range(num)]
    unique = sorted(set(keys))
    n_held = int(round(fraction * len(unique)))
    if fraction > 0 and len(unique) >= 2:
        n_held = min(max(n_held, 1), len(unique) - 1)
    perm = torch.randperm(len(unique), generator=torch.Generator().manual_seed(seed))
    held = {unique[i] for i in perm[:n_held].tolist()}
    is_held = torch.tensor([k in held for k in keys], dtype=torch.bool)
    idx = torch.arange(num)
    return idx[~is_held], idx[is_held]


def load_data(cfg: TrainConfig, log: Callable[[str], None] = print) -> TrainData:
    """Load the cache for ``cfg`` or build it. In multi-process runs call this main-process-first."""
    if cfg.data_dir is not None:
        source = _local_source(Path(cfg.data_dir).expanduser())
    else:
        source = _hub_source(cfg)
    cache_dir = Path(cfg.cache_dir).expanduser()
    path = cache_dir / f"{source.name.replace('/', '__')}-{data_resolution(cfg)}px-{cache_key(cfg, source.fingerprint)}.safetensors"
    if not path.is_file():
        log(f"decoding {source.name} at {data_resolution(cfg)} px into {path} (once)")
        tensors, meta = _decode(cfg, source)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file(tensors, str(tmp), metadata=meta)
        tmp.replace(path)  # atomic: a concurrent or interrupted run never sees half a file
    tensors, meta = read_cache(path)
    groups = json.loads(meta["groups"]) if "groups" in meta else []
    train_idx, heldout_idx = split_indices(len(tensors["images"]), groups, cfg.heldout_fraction, cfg.seed)
    if len(train_idx) == 0:
        raise DataError("no training images left after the held-out split; lower heldout_fraction")
    return TrainData(
        images=tensors["images"],
        sketches=tensors.get("sketches"),
        labels=tensors.get("labels"),
        class_names=json.loads(meta.get("class_names", "[]")),
        captions=json.loads(meta["captions"]) if "captions" in meta else None,
        caption_ids=tensors.get("caption_ids"),
        text_embeds=tensors.get("text_embeds"),
        groups=groups,
        train_idx=train_idx,
        heldout_idx=heldout_idx,
        name=cfg.dataset_name or (cfg.dataset if cfg.dataset else source.name),
        cache_path=path,
        sketch_styles=tensors.get("sketch_styles"),
        sketch_style_ok=tensors.get("sketch_style_ok"),
        sketch_style_names=json.loads(meta.get("sketch_styles", "[]")),
        paraphrase_embeds=tensors.get("paraphrase_embeds"),
        counterfactual_embeds=tensors.get("counterfactual_embeds"),
        counterfactual_weights=tensors.get("counterfactual_weights"),
    )


def read_cache(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("version") != CACHE_VERSION:
            raise DataError(f"{path} is a data cache of another version ({meta.get('version')!r}); delete it")
        return {k: f.get_tensor(k) for k in f.keys()}, meta


def describe(data: TrainData, cfg: TrainConfig) -> dict[str, Any]:
    """The ``dataset`` block of training_summary.json."""
    return {
        "name": data.name,
        "num_images": data.num_images,
        "train_size": int(len(data.train_idx)),
        "heldout_size": int(len(data.heldout_idx)),
        "license": cfg.dataset_license,
        "credit": cfg.dataset_credit,
        "hub_id": cfg.dataset or None,  # a Hub dataset id when the data came from the Hub
    }

