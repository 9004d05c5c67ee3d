"""Load test of the app's faces and sketch endpoints through ``gradio_client``.

    python bench/load_test.py --tiny --clients 1 8 32 --requests 32     # tiny random models
    python bench/load_test.py --clients 1 8 --requests 16               # the bundled models
    python bench/load_test.py --url http://127.0.0.1:7860/ --clients 1 8 32

Without ``--url`` the app is started as a separate process (``python app.py``), so the server
does not share a GIL with the load generator. Each concurrency level opens that many clients
(separate sessions), which together send ``--requests`` requests per endpoint; the table shows
latency percentiles as a user would feel them (queueing included) and the failures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradio_client import Client, handle_file  # noqa: E402

ENDPOINTS = ("faces", "sketch")


@dataclass
class Result:
    endpoint: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0

    def row(self) -> str:
        ok = sorted(self.latencies)
        if ok:
            p50 = statistics.median(ok)
            p95 = ok[min(len(ok) - 1, max(0, round(0.95 * len(ok)) - 1))]
            stats = f"{p50:7.3f} {p95:7.3f} {ok[-1]:7.3f}"
        else:
            stats = f"{'-':>7} {'-':>7} {'-':>7}"
        total = len(ok) + len(self.errors)
        rate = len(ok) / self.wall if self.wall else 0.0
        return f"{self.endpoint:<16} {self.clients:>7} {total:>8} {len(self.errors):>6} {stats} {rate:7.2f}"


HEADER = (f"{'endpoint':<16} {'clients':>7} {'requests':>8} {'failed':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7} "
          f"{'req/s':>7}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode} before it answered")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.5)
    raise TimeoutError(f"the app did not answer at {url} within {timeout:.0f}s")


@contextlib.contextmanager
def started_app(models: list[str]) -> Iterator[str]:
    """``python app.py`` on a free port; stopped (this process's child only) afterwards."""
    port = _free_port()
    command = [sys.executable, str(ROOT / "app.py"), "--port", str(port)]
    for model in models:
        command += ["--model", model]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def tiny_models(directory: Path) -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from tiny import save_tiny_checkpoint

    return {"faces": str(save_tiny_checkpoint("dcgan", directory / "tiny-dcgan")),
            "sketch": str(save_tiny_checkpoint("pix2pix", directory / "tiny-pix2pix"))}


def default_model(client: Client, api_name: str) -> Optional[str]:
    """The model the app's dropdown starts with for an endpoint."""
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"][api_name]
    return next((p["parameter_default"] for p in info["parameters"] if p["parameter_name"] == "model"), None)


def example_sketch(directory: Path) -> Path:
    examples = sorted((ROOT / "ui" / "examples").glob("sketch_*.png"))
    if examples:
        return examples[0]
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(image).ellipse((64, 40, 192, 216), outline="black", width=4)
    path = directory / "sketch.png"
    image.save(path)
    return path


def request_makers(models: dict[str, str], sketch: Path, count: int) -> dict[str, Callable[[Client, int], Any]]:
    return {
        "faces": lambda client, i: client.predict(models["faces"], i, count, 0.7, None, api_name="/generate_faces"),
        "sketch": lambda client, i: client.predict(models["sketch"], None, handle_file(sketch), False,
                                                   api_name="/sketch_to_photo"),
    }


def run_level(url: str, endpoint: str, call: Callable[[Client, int], Any], clients: int, requests: int) -> Result:
    """``clients`` sessions share ``requests`` requests; each request's latency is measured separately."""
    result = Result(endpoint, clients)
    sessions = [Client(url, analytics_enabled=False, verbose=False) for _ in range(clients)]
    counter = iter(range(requests))
    lock = threading.Lock()

    def worker(client: Client) -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            start = time.perf_counter()
            try:
                call(client, i)
                elapsed = time.perf_counter() - start
                with lock:
                    result.latencies.append(elapsed)
            except Exception as err:  # noqa: BLE001 - every failure is counted and reported
                with lock:
                    result.errors.append(f"{type(err).__name__}: {err}")

    threads = [threading.Thread(target=worker, args=(client,)) for client in sessions]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall = time.perf_counter() - start
    for client in sessions:
        with contextlib.suppress(Exception):
            client.close()
    return result


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an app that is already running; default: start one")
    parser.add_argument("--tiny", action="store_true", help="start the app with tiny random models")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=32, help="requests per endpoint and concurrency level")
    parser.add_argument("--count", type=int, default=4, help="images per faces request")
    parser.add_argument("--endpoints", nargs="+", choices=ENDPOINTS, default=list(ENDPOINTS))
    parser.add_argument("--faces-model", help="model for /generate_faces (default: the app's default)")
    parser.add_argument("--sketch-model", help="model for /sketch_to_photo (default: the app's default)")
    args = parser.parse_args(argv)
    if args.url and args.tiny:
        parser.error("--tiny starts its own app; do not combine it with --url")

    with tempfile.TemporaryDirectory(prefix="gan_zoo_load_") as tmp:
        models = tiny_models(Path(tmp)) if args.tiny else {}
        app = contextlib.nullcontext(args.url) if args.url else started_app(list(models.values()))
        with app as url:
            probe = Client(url, analytics_enabled=False, verbose=False)
            models["faces"] = args.faces_model or models.get("faces") or default_model(probe, "/generate_faces")
            models["sketch"] = args.sketch_model or models.get("sketch") or default_model(probe, "/sketch_to_photo")
            makers = request_makers(models, example_sketch(Path(tmp)), args.count)
            for endpoint in args.endpoints:  # warm-up: load each model once, outside the measurements
                makers[endpoint](probe, 0)
            print(f"app: {url}  models: {models}  requests per level: {args.requests}  images per faces "
                  f"request: {args.count}")
            print(HEADER)
            failures = 0
            for endpoint in args.endpoints:
                api_name = "/generate_faces" if endpoint == "faces" else "/sketch_to_photo"
                for clients in args.clients:
                    result = run_level(url, api_name, makers[endpoint], clients, args.requests)
                    print(result.row(), flush=True)
                    failures += len(result.errors)
                    for message in sorted(set(result.errors))[:3]:
                        print(f"    failure: {message}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
