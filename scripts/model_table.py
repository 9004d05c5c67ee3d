"""Print the README's tables of bundled models from their own metrics.json / training_summary.json.

    python scripts/model_table.py

Table 1 lists what each model is and its scores against its training people; table 2 puts every
model next to the real-vs-real reference under one protocol (same real half, same set sizes).
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
        return (f"gender {_fmt(t.get('gender'), '{:.2f}')} / {_fmt(u.get('gender'), '{:.2f}')}, "
                f"expression {_fmt(t.get('expression'), '{:.2f}')} / {_fmt(u.get('expression'), '{:.2f}')} (template / unseen wording)")
    if "class_accuracy" in f:
        return f"{f['attribute']} accuracy {f['class_accuracy']:.2f} (probe ceiling {f['probe_ceiling']:.2f})"
    if "sketch_styles" in f:
        s = f["sketch_styles"]
        return ", ".join(f"{style} L1 {_fmt(v.get('l1'), '{:.3f}')} KID {_fmt(v.get('kid'), '{:.2f}')} (n={v['n']})"
                         for style, v in s.items())
    return "-"


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


if __name__ == "__main__":
    main()
