"""Draw batch indices (:class:`BatchSampler`) and turn them into a device batch: uint8 cache -> float
``[-1, 1]``, flips, mismatched captions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from training.augment import random_hflip
from training.data import TrainData, uint8_to_float

#: Re-draws per row when looking for a mismatched caption; a few suffice unless nearly all captions agree.
_MISMATCH_TRIES = 4


class BatchSampler:
    """Indices for micro-batch ``m`` on process ``rank``, a pure function of ``(seed, m, rank)``.

    The global stream is the concatenation of per-epoch permutations of the training indices;
    micro-batch ``m`` takes the next ``batch_size * num_processes`` positions of it and each process
    its own slice. Nothing is dropped and any dataset size works (even one smaller than a batch).
    """

    def __init__(self, indices: torch.Tensor, batch_size: int, num_processes: int, rank: int, seed: int):
        if len(indices) == 0:
            raise ValueError("BatchSampler needs at least one index")
        self.indices = indices
        self.batch_size = batch_size
        self.num_processes = num_processes
        self.rank = rank
        self.seed = seed
        self._perms: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            if len(self._perms) > 4:
                self._perms.pop(min(self._perms))
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perms[epoch] = self.indices[torch.randperm(len(self.indices), generator=gen)]
        return self._perms[epoch]

    def __call__(self, micro_batch: int) -> torch.Tensor:
        n = len(self.indices)
        start = (micro_batch * self.num_processes + self.rank) * self.batch_size
        positions = torch.arange(start, start + self.batch_size)
        epochs = positions // n
        out = torch.empty(self.batch_size, dtype=torch.long)
        for epoch in epochs.unique().tolist():
            sel = epochs == epoch
            out[sel] = self._perm(epoch)[positions[sel] % n]
        return out


@dataclass
class Batch:
    """One micro-batch on the training device; images in ``[-1, 1]``."""

    images: torch.Tensor
    labels: Optional[torch.Tensor] = None
    sketches: Optional[torch.Tensor] = None
    #: With mixed sketch styles, each row's input style (index into ``TrainData.sketch_style_names``).
    sketch_style: Optional[torch.Tensor] = None
    text_embeds: Optional[torch.Tensor] = None
    mismatch_embeds: Optional[torch.Tensor] = None


def mismatched_rows(data: TrainData, idx: torch.Tensor, rng: torch.Generator, same_group: float = 0.0) -> torch.Tensor:
    """For each row, a random training row whose caption differs (the matching-aware loss's negatives).

    Captions built from metadata repeat a lot (two photos per person, shared attributes), so a
    plain shuffle would often pair an image with its own caption and teach D that it is "wrong".

    With ``same_group`` > 0 that share of rows takes its negative from another photo of the same
    person (same ``split_key`` group) whose caption differs. Those captions differ only in what
    changes between one person's photos (on London faces: the expression), so D cannot reject them
    by gender or skin tone and must read that word; random negatives almost always differ in
    something easier. Rows whose group has no such photo keep their random negative.
    """
    pool = data.train_idx
    out = pool[torch.randint(0, len(pool), (len(idx),), generator=rng)]
    for _ in range(_MISMATCH_TRIES):
        same = data.caption_ids[out] == data.caption_ids[idx]
        if not bool(same.any()):
            break
        out[same] = pool[torch.randint(0, len(pool), (int(same.sum()),), generator=rng)]
    if same_group > 0.0 and data.groups:
        group_ids = data.group_ids
        candidates = (group_ids[pool][None, :] == group_ids[idx][:, None]) & (
            data.caption_ids[pool][None, :] != data.caption_ids[idx][:, None]
        )
        chosen = (torch.rand(len(idx), generator=rng) < same_group) & candidates.any(dim=1)
        if bool(chosen.any()):
            picks = torch.multinomial(candidates[chosen].float(), 1, generator=rng).squeeze(1)
            out[chosen] = pool[picks]
    return out


def _all_wordings(data: TrainData, idx: torch.Tensor) -> torch.Tensor:
    """``[len(idx), P + 1, D]``: each row's caption in the template's wording and every paraphrase."""
    return torch.cat([data.text_embeds[idx, None], data.paraphrase_embeds[idx]], dim=1)


def sample_wording_offsets(wordings: torch.Tensor, count: int, rng: torch.Generator) -> torch.Tensor:
    """``count`` random wording offsets from ``wordings`` (``[rows, wordings, D]``, each row's caption in
    every wording): one row's caption in one wording minus the mean of that row's wordings. All wordings
    of a row say the same attributes, so an offset moves an embedding along "how it is said" and not
    "what it says"; adding such offsets teaches the conditioning to ignore wording beyond the few
    phrasings the captions use (``bench/caption_readout.py --wording_noise`` measures what that buys a
    linear read-out of the captions)."""
    rows = torch.randint(0, wordings.shape[0], (count,), generator=rng)
    pick = torch.randint(0, wordings.shape[1], (count,), generator=rng)
    return wordings[rows, pick] - wordings[rows].mean(dim=1)


def wording_offsets(data: TrainData, count: int, rng: torch.Generator) -> torch.Tensor:
    """:func:`sample_wording_offsets` over the training rows only (held-out people's captions stay unseen)."""
    return sample_wording_offsets(_all_wordings(data, data.train_idx), count, rng)


def caption_rows(data: TrainData, idx: torch.Tensor, rng: torch.Generator, wording_noise: float = 0.0) -> torch.Tensor:
    """Each row's caption embedding; with ``caption_paraphrases``, in a wording drawn per row (the
    template or any paraphrase, alike), so the generator meets each attribute in several phrasings,
    plus ``wording_noise`` times a random :func:`wording_offsets` offset."""
    if data.paraphrase_embeds is None:
        return data.text_embeds[idx]
    wordings = _all_wordings(data, idx)
    pick = torch.randint(0, wordings.shape[1], (len(idx),), generator=rng)
    out = wordings[torch.arange(len(idx)), pick]
    if wording_noise > 0.0:
        out = out + wording_noise * wording_offsets(data, len(idx), rng)
    return out


def counterfactual_rows(data: TrainData, idx: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Per row, one of its own captions with one attribute changed (``counterfactual_fields``), each
    field equally likely. Every row of ``idx`` must have at least one."""
    pick = torch.multinomial(data.counterfactual_weights[idx], 1, generator=rng).squeeze(1)
    return data.counterfactual_embeds[idx, pick]


def sketch_rows(data: TrainData, idx: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """The input sketch of each row: with mixed styles, one style drawn per row among those it has."""
    return sketch_rows_with_style(data, idx, rng)[0]


def sketch_rows_with_style(data: TrainData, idx: torch.Tensor, rng: torch.Generator) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """:func:`sketch_rows` and the style drawn for each row (its index in ``data.sketch_style_names``;
    ``None`` without mixed styles), so losses can treat styles differently."""
    if data.sketch_styles is None:
        return data.sketches[idx], None
    available = data.sketch_style_ok[idx].float()
    style = torch.multinomial(available, 1, generator=rng).squeeze(1)
    return data.sketch_styles[idx, style], style


def make_batch(
    data: TrainData,
    idx: torch.Tensor,
    device: torch.device,
    rng: torch.Generator,
    hflip: bool,
    channels_last: bool,
    same_group_negatives: float = 0.0,
    counterfactual_negatives: float = 0.0,
    wording_noise: float = 0.0,
) -> Batch:
    images = uint8_to_float(data.images[idx])
    sketches = style = None
    if data.sketches is not None:
        raw, style = sketch_rows_with_style(data, idx, rng)
        sketches = uint8_to_float(raw)
    if hflip:
        images, sketches = random_hflip([images, sketches], rng)
    fmt = torch.channels_last if channels_last else torch.contiguous_format

    def move(x: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        if x is None:
            return None
        x = x.to(device, non_blocking=True)
        return x.contiguous(memory_format=fmt) if x.ndim == 4 else x

    text = mismatch = None
    if data.text_embeds is not None:
        text = caption_rows(data, idx, rng, wording_noise)
        mismatch = caption_rows(data, mismatched_rows(data, idx, rng, same_group_negatives), rng, wording_noise)
        if counterfactual_negatives > 0.0 and data.counterfactual_weights is not None:
            has = data.counterfactual_weights[idx].sum(dim=1) > 0
            chosen = (torch.rand(len(idx), generator=rng) < counterfactual_negatives) & has
            if bool(chosen.any()):
                counterfactual = counterfactual_rows(data, idx[chosen], rng)
                if wording_noise > 0.0:  # noised like every other caption, or D could reject it for being clean
                    counterfactual = counterfactual + wording_noise * wording_offsets(data, len(counterfactual), rng)
                mismatch[chosen] = counterfactual
    return Batch(
        images=move(images),
        labels=move(data.labels[idx]) if data.labels is not None else None,
        sketches=move(sketches),
        sketch_style=move(style),
        text_embeds=move(text),
        mismatch_embeds=move(mismatch),
    )
