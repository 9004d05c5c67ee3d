"""Print the README's tables of bundled models from their own metrics.json / training_summary.json.

    python scripts/model_table.py

Table 1 lists what each model is and its scores against its training people; table 2 puts every
model next to the real-vs-real reference under one protocol (same real half, same set sizes);
table 3 checks each model against the quality bars set for its kind of model (issue 13).
Every number is read from the files ``python -m training.evaluate`` wrote; none is typed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1] / "zoo" / "pretrained"


def _fmt(value: Optional[float], spec: str = "{:.3f}") -> str:
    return "-" if value is None else spec.format(value)


def _models() -> list[tuple[Path, dict[str, Any], dict[str, Any]]]:
    out = []
    for path in sorted(ROOT.glob("*/metrics.json")):
        folder = path.parent
        out.append((folder, json.loads(path.read_text()), json.loads((folder / "training_summary.json").read_text())))
    return out


def _follows(metrics: dict[str, Any]) -> str:
    """The one-line summary of how well a conditional model follows its input."""
    f = (metrics.get("evaluation") or {}).get("faithfulness") or {}
    if "template_wording" in f:
        t, u = f["template_wording"]["accuracy"], f["unseen_wording"]["accuracy"]
        line = (f"gender {_fmt(t.get('gender'), '{:.2f}')} / {_fmt(u.get('gender'), '{:.2f}')}, "
                f"expression {_fmt(t.get('expression'), '{:.2f}')} / {_fmt(u.get('expression'), '{:.2f}')} (template / unseen wording)")
        if "ethnicity" in f:
            line += f", ethnicity {_fmt(f['ethnicity']['accuracy'].get('ethnicity'), '{:.2f}')} (white / not white)"
        return line
    if "class_accuracy" in f:
        return f"{f['attribute']} accuracy {f['class_accuracy']:.2f} (probe ceiling {f['probe_ceiling']:.2f})"
    if "sketch_styles" in f:
        s = f["sketch_styles"]
        return ", ".join(f"{style} L1 {_fmt(v.get('l1'), '{:.3f}')} KID {_fmt(v.get('kid'), '{:.2f}')} (n={v['n']})"
                         for style, v in s.items())
    return "-"


#: The quality bars for each kind of bundled model: (what, ">=" or "<=", bar). Text attribute
#: accuracies must hold for the captions' own wording and for unseen wordings, so the lower counts.
BARS: dict[str, list[tuple[str, str, float]]] = {
    "unconditional": [("KID", "<=", 0.03), ("precision", ">=", 0.5), ("recall", ">=", 0.3),
                      ("diversity", ">=", 0.9), ("memorisation", ">=", 0.8)],
    "class-conditional": [("class accuracy", ">=", 0.8), ("KID", "<=", 0.04)],
    "text": [("gender accuracy", ">=", 0.9), ("expression accuracy", ">=", 0.75),
             ("within-prompt diversity", ">=", 0.6), ("KID", "<=", 0.05)],
    "sketch": [("edge sketch L1", "<=", 0.035), ("landmark drawing KID", "<=", 0.06),
               ("landmark drawing precision", ">=", 0.3)],
}


def _kind(summary: dict[str, Any]) -> str:
    if summary["task"] == "text-to-image":
        return "text"
    if summary["task"] == "image-to-image":
        return "sketch"
    return "class-conditional" if summary.get("class_names") else "unconditional"


def _measured(what: str, metrics: dict[str, Any]) -> tuple[Optional[float], str]:
    """The number a bar is checked against, and how it is shown (both wordings for text attributes)."""
    train = (metrics.get("evaluation") or {}).get("vs_train") or {}
    follows = (metrics.get("evaluation") or {}).get("faithfulness") or {}
    plain = {"KID": train.get("kid"), "precision": train.get("precision"), "recall": train.get("recall"),
             "diversity": train.get("diversity"), "memorisation": train.get("memorisation_ratio"),
             "class accuracy": follows.get("class_accuracy"),
             "within-prompt diversity": metrics.get("within_condition_diversity")}
    styles = follows.get("sketch_styles") or {}
    plain.update({"edge sketch L1": (styles.get("edges") or {}).get("l1"),
                  "landmark drawing KID": (styles.get("landmarks") or {}).get("kid"),
                  "landmark drawing precision": (styles.get("landmarks") or {}).get("precision")})
    if what in plain:
        return plain[what], _fmt(plain[what])
    attribute = what.split()[0]
    values = [(follows.get(w) or {}).get("accuracy", {}).get(attribute) for w in ("template_wording", "unseen_wording")]
    if None in values:
        return None, "-"
    return min(values), f"{values[0]:.2f} / {values[1]:.2f} (template / unseen wording)"


def main() -> None:
    models = _models()
    print("| model | task | steps | hardware, wall time | KID (1000 generated) | precision / recall (k=3, as many generated as real) "
          "| diversity | memorisation | follows its input | size |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for folder, metrics, summary in models:
        train = (metrics.get("evaluation") or {}).get("vs_train") or {}
        size = sum(p.stat().st_size for p in folder.glob("*/*.safetensors")) / 1e6
        print(
            f"| {folder.name} | {summary['task']} | {summary['steps']} | {summary['hardware']}, "
            f"{summary['wall_time_seconds'] / 60:.1f} min | {_fmt(train.get('kid'), '{:.4f}')} | "
            f"{_fmt(train.get('precision'))} / {_fmt(train.get('recall'))} (n={train.get('num_real', '-')}) | "
            f"{_fmt(train.get('diversity'))} | {_fmt(train.get('memorisation_ratio'))} | {_follows(metrics)} | {size:.1f} MB |"
        )
    print()
    reference = next(((m.get("evaluation") or {}).get("reference_real_vs_real") for _, m, _ in models
                      if (m.get("evaluation") or {}).get("reference_real_vs_real")), None)
    print("| against half A of the real people | n (real / generated) | precision | recall | KID | diversity |")
    print("|---|---|---:|---:|---:|---:|")
    rows = ([("**real people, half B (best possible)**", reference)] if reference else []) + [
        (folder.name, (m.get("evaluation") or {}).get("vs_half")) for folder, m, _ in models
    ]
    for name, s in rows:
        if not s:
            continue
        print(f"| {name} | {s['num_real']} / {s['num_fake']} | {s['precision']:.3f} | {s['recall']:.3f} | "
              f"{s['kid']:.4f} | {s['diversity']:.3f} |")
    print()
    print("| model | bar | measured | met |")
    print("|---|---|---|---|")
    for folder, metrics, summary in models:
        for what, sign, bar in BARS[_kind(summary)]:
            value, shown = _measured(what, metrics)
            met = "-" if value is None else ("yes" if (value >= bar if sign == ">=" else value <= bar) else "**no**")
            print(f"| {folder.name} | {what} {sign} {bar:g} | {shown} | {met} |")


if __name__ == "__main__":
    main()
