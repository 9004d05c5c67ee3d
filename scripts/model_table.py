"""Print the README's table of bundled models from their own metrics.json / training_summary.json.

    python scripts/model_table.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "zoo" / "pretrained"


def _fmt(value, spec: str = "{:.1f}") -> str:
    return "-" if value is None else spec.format(value)


def main() -> None:
    print("| model | task | steps | hardware, wall time | FID: init -> (step 500 ->) final | KID | held-out L1 (mean-face baseline) | size |")
    print("|---|---|---|---|---|---|---|---|")
    for path in sorted(ROOT.glob("*/metrics.json")):
        folder = path.parent
        metrics = json.loads(path.read_text())
        summary = json.loads((folder / "training_summary.json").read_text())
        fids = " -> ".join(_fmt(h.get("fid")) for h in metrics.get("history", []) if h.get("fid") is not None)
        l1 = "-" if metrics.get("l1") is None else f"{metrics['l1']:.4f} ({metrics['baseline_l1']:.4f})"
        size = sum(p.stat().st_size for p in folder.glob("*/*.safetensors")) / 1e6
        print(
            f"| {folder.name} | {summary['task']} | {summary['steps']} | {summary['hardware']}, "
            f"{summary['wall_time_seconds'] / 60:.1f} min | {fids or _fmt(metrics.get('fid'))} "
            f"(n={metrics.get('num_generated')}) | {_fmt(metrics.get('kid_mean'), '{:.3f}')} | {l1} | {size:.1f} MB |"
        )


if __name__ == "__main__":
    main()
