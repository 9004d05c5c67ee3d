"""Captions from metadata: ``caption_template`` filled from a row's columns plus derived fields.

``"a {expression} {gender_noun}[ in {possessive} {age_band}], {ethnicity}"`` on a London faces row
gives ``"a smiling woman in her twenties, white"``; ``[...]`` parts are dropped when a field in them
is missing. Derived fields: ``gender_noun`` (woman/man/person), ``possessive`` (her/his/their) and
``age_band`` (teens ... eighties).

Extra wordings for training (``caption_paraphrases``) say the same attributes in other words, so a
prompt typed in the app need not match the one training template. They can use *word maps*
(``caption_words``): a new field whose words depend on another field's value, e.g.
``{"with_expression": {"from": "expression", "smiling": "with a smile", "neutral": "with a neutral
expression"}}``; a value the map does not name leaves the field missing.
"""

from __future__ import annotations

import re
import string
from typing import Any, Optional

import numpy as np

_MISSING = {"", "na", "n/a", "nan", "none", "null", "unknown"}

_GENDER_NOUN = {"female": "woman", "woman": "woman", "f": "woman", "male": "man", "man": "man", "m": "man"}
_POSSESSIVE = {"woman": "her", "man": "his"}
_AGE_BANDS = ((13, 20, "teens"), (20, 30, "twenties"), (30, 40, "thirties"), (40, 50, "forties"),
              (50, 60, "fifties"), (60, 70, "sixties"), (70, 80, "seventies"), (80, 90, "eighties"))


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip().lower() in _MISSING


def _readable(value: Any) -> str:
    """Metadata codes -> words: ``east_asian/white`` -> ``east asian and white``."""
    return str(value).strip().replace("_", " ").replace("/", " and ")


def age_band(age: Any) -> Optional[str]:
    """``24`` -> ``"twenties"``; ``None`` when the age is missing or outside the bands."""
    if _is_missing(age):
        return None
    try:
        years = float(age)
    except (TypeError, ValueError):
        return None
    return next((name for low, high, name in _AGE_BANDS if low <= years < high), None)


WordMaps = dict[str, dict[str, str]]


def check_word_maps(words: Any) -> WordMaps:
    """``caption_words`` must map each new field to ``{"from": field, value: words, ...}``; else ValueError."""
    if not isinstance(words, dict):
        raise ValueError(f"caption_words must be a mapping of field name -> word map, got {words!r}")
    for name, spec in words.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("from"), str) or len(spec) < 2:
            raise ValueError(f"caption_words[{name!r}] must look like {{from: <field>, <value>: <words>, ...}}, got {spec!r}")
        bad = [k for k, v in spec.items() if not isinstance(v, str)]
        if bad:
            raise ValueError(f"caption_words[{name!r}]: every entry must be a string, not {bad}")
        if spec["from"] == name:
            raise ValueError(f"caption_words[{name!r}] maps from itself")
    return words


def caption_fields(row: dict[str, Any], words: Optional[WordMaps] = None) -> dict[str, Optional[str]]:
    """Every metadata column as readable words, plus derived ``gender_noun``, ``possessive``, ``age_band``
    and the fields of the word maps ``words``.

    Missing values are ``None`` so that an optional ``[...]`` template part can be dropped.
    """
    fields: dict[str, Optional[str]] = {
        key: (None if _is_missing(value) else _readable(value)) for key, value in row.items() if isinstance(value, (str, int, float))
    }
    gender = str(row.get("gender", "")).strip().lower()
    noun = _GENDER_NOUN.get(gender)
    fields["gender_noun"] = noun or "person"
    fields["possessive"] = _POSSESSIVE.get(noun or "", "their")
    fields["age_band"] = age_band(row.get("age"))
    for name, spec in (words or {}).items():  # keyed by the readable value, lower case ("east asian and white")
        value = fields.get(spec["from"])
        value = value.lower() if value is not None else None
        fields[name] = spec.get(value) if value not in (None, "from") else None  # "from" names the source field
    return fields


_OPTIONAL_PART = re.compile(r"\[([^\[\]]*)\]")


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template.replace("[", "").replace("]", "")) if name}


def build_caption(template: str, row: dict[str, Any], words: Optional[WordMaps] = None) -> str:
    """Fill ``template`` from a metadata row, dropping ``[...]`` parts whose fields are missing.

    ``"a {expression} {gender_noun}[ in {possessive} {age_band}], {ethnicity}"`` on the London
    faces row ``(smiling, 24, female, white)`` gives ``"a smiling woman in her twenties, white"``,
    and without an age ``"a smiling woman, white"``.
    """
    fields = caption_fields(row, words)
    unknown = template_fields(template) - set(fields)
    if unknown:
        from training.data import DataError  # here: data imports this module

        raise DataError(f"caption_template uses {sorted(unknown)}, which are not metadata columns or derived fields")

    def fill(part: str) -> Optional[str]:
        names = template_fields(part)
        if any(fields.get(n) is None for n in names):
            return None
        return part.format(**{n: fields[n] for n in names})

    def optional(match: re.Match) -> str:
        return fill(match.group(1)) or ""

    text = _OPTIONAL_PART.sub(optional, template)
    names = template_fields(text)
    text = text.format(**{n: fields.get(n) or "" for n in names})
    return re.sub(r"\s+", " ", text).replace(" ,", ",").strip()


def counterfactual_captions(
    templates: list[str], rows: list[dict[str, Any]], fields: list[str], words: Optional[WordMaps] = None
) -> list[list[tuple[int, str]]]:
    """For each row, its own captions with exactly one of ``fields`` changed: ``(field index, caption)``.

    Why: the matching-aware loss learns only what its wrong captions make it check. Random wrong
    captions almost always differ in gender, so D (and with it G) can ignore a rarer attribute such
    as the ethnicity word. A caption that is the photo's own except for one attribute can only be
    rejected by reading that attribute.

    Each field takes every other value seen in ``rows``, in every wording of ``templates`` where the
    change shows (a wording that does not name the field would give the true caption back, and is
    skipped). Values that contain each other (``white`` and ``east asian and white``) are not
    swapped: a caption that still names the photo's own value is not clearly wrong. Rows where the
    field is missing get no captions for it.
    """
    readable = [caption_fields(row, words) for row in rows]
    seen = {f: sorted({v for own in readable if (v := own.get(f)) is not None}) for f in fields}
    out: list[list[tuple[int, str]]] = []
    for row, own in zip(rows, readable):
        truths = [build_caption(t, row, words) for t in templates]
        slots: list[tuple[int, str]] = []
        for k, field in enumerate(fields):
            value = own.get(field)
            if value is None:
                continue
            for other in seen[field]:
                if other in value or value in other:
                    continue
                swapped = {**row, field: other}
                slots += [(k, text) for t, truth in zip(templates, truths)
                          if (text := build_caption(t, swapped, words)) != truth]
        out.append(slots)
    return out
