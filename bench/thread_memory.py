"""Resident memory held by threads that once ran a model: Gradio's worker threads vs one small pool.

    python bench/thread_memory.py --threads 30

Loads the bundled faces, text and sketch models, runs them once (warm-up), then lets ``--threads``
long-lived threads (as Gradio's idle AnyIO workers are) each run all three once, at most two at a
time, either *directly* on their own thread or by handing the call to a 2-thread pool as the app
does (``ui/model_threads.py``). Prints resident memory after the warm-up and after the threads ran,
while they are still alive. Each mode runs in its own process so neither inherits the other's heap.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load_test import resident_kib  # noqa: E402


def resident_mib() -> float:
    return resident_kib(os.getpid()) / 1024


def run_mode(mode: str, threads: int) -> None:
    import numpy as np
    from PIL import Image

    from zoo import registry

    faces = registry.load_pipeline("faces-projected-64")
    text = registry.load_pipeline("text2face-64")
    sketch = registry.load_pipeline("sketch2face-64")
    drawing = np.full((256, 256, 3), 255, np.uint8)
    drawing[60:200:10, 40:220] = 20
    drawing = Image.fromarray(drawing)

    def job(seed: int) -> None:
        faces(batch_size=4, seed=seed, output_type="np")
        text("a smiling woman", num_images_per_prompt=4, seed=seed, output_type="np")
        sketch(drawing, output_type="np")

    job(0)
    before = resident_mib()
    pool = ThreadPoolExecutor(2)
    two_at_a_time = threading.Semaphore(2)
    done = threading.Barrier(threads + 1)
    release = threading.Event()

    def worker(seed: int) -> None:
        with two_at_a_time:
            job(seed) if mode == "direct" else pool.submit(job, seed).result()
        done.wait()
        release.wait()  # stay alive, as idle Gradio workers do

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    done.wait()
    time.sleep(1.0)
    after = resident_mib()
    print(f"{mode:>8}: {threads} threads ran the models; resident {before:.0f} -> {after:.0f} MiB "
          f"(+{after - before:.0f} MiB), {len(os.listdir('/proc/self/task'))} OS threads alive")
    release.set()
    for t in workers:
        t.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=30)
    parser.add_argument("--mode", choices=["direct", "pool"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mode:
        run_mode(args.mode, args.threads)
        return 0
    for mode in ("direct", "pool"):
        subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--mode", mode], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
