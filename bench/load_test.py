"""Load test of the app's generation endpoints through ``gradio_client``.

    python bench/load_test.py --tiny --clients 1 8 32 --requests 32     # tiny random models
    python bench/load_test.py --clients 1 8 --requests 16               # the bundled models
    python bench/load_test.py --url http://127.0.0.1:7860/ --clients 1 8 32
    python bench/load_test.py --duration 60 --clients 64                # sustained: the acceptance test
    python bench/load_test.py --duration 60 --clients 64 --json bench/load_sustained.json

Without ``--url`` the app is started as a separate process (``python app.py``), so the server
does not share a GIL with the load generator. Each concurrency level opens that many clients
(separate sessions), which together send ``--requests`` requests per endpoint; the table shows
latency percentiles as a user would feel them (queueing included) and the failures.

With ``--duration SECONDS`` (sustained mode) each level's clients instead keep sending requests
until the deadline, each client cycling over all five generation endpoints (faces, sketch, text,
interpolation, style mixing; small requests: ``--count`` images, ``--frames`` frames). Outcomes are
*accepted*, *busy* (the queue was full: Gradio's explicit "Queue is full" rejection, after which the
client waits ``--busy-pause`` seconds, as a user told to try again would) or *other* failures. The
app's resident memory (VmRSS of the server process) is read after a warm-up that calls every endpoint
once, and again after each level once the queue has drained. The run passes when there is no other
failure and memory after is within 10% of before (``--max-rss-growth``); exit code 0 on pass, 1 on
fail. The issue's criterion: 64 clients across all endpoints for 60 s, report the p95 of accepted
requests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.utils import QueueError  # noqa: E402

from ui.browser import free_local_port  # noqa: E402
from zoo.limits import APP_MAX_FRAMES, APP_MAX_TEXT_IMAGES  # noqa: E402

#: Every endpoint that runs a model (the app's one shared queue group), by the short names of the flags.
API_NAMES = {"faces": "/generate_faces", "sketch": "/sketch_to_photo", "text": "/text_to_image",
             "interpolation": "/interpolate", "style": "/style_mix"}
ENDPOINTS = tuple(API_NAMES)
#: What ``--requests`` mode measures unless ``--endpoints`` says otherwise (as before sustained mode).
REQUEST_MODE_ENDPOINTS = ("faces", "sketch")
#: Families of the ``--tiny`` checkpoints per endpoint.
TINY_FAMILIES = {"faces": "dcgan", "sketch": "pix2pix", "text": "textgan", "interpolation": "stylegan",
                 "style": "stylegan"}


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
            p95 = nearest_rank(ok, 0.95)
            stats = f"{p50:7.3f} {p95:7.3f} {ok[-1]:7.3f}"
        else:
            stats = f"{'-':>7} {'-':>7} {'-':>7}"
        total = len(ok) + len(self.errors)
        rate = len(ok) / self.wall if self.wall else 0.0
        return f"{self.endpoint:<16} {self.clients:>7} {total:>8} {len(self.errors):>6} {stats} {rate:7.2f}"


HEADER = (f"{'endpoint':<16} {'clients':>7} {'requests':>8} {'failed':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7} "
          f"{'req/s':>7}")


def nearest_rank(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending, non-empty sequence (p95 of 20 values is the 19th)."""
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def _tail(path: Optional[Path], chars: int = 3000) -> str:
    with contextlib.suppress(OSError):
        if path is not None:
            return path.read_text(errors="replace")[-chars:]
    return ""


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 180.0, log: Optional[Path] = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode} before it answered\n{_tail(log)}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.5)
    raise TimeoutError(f"the app did not answer at {url} within {timeout:.0f}s\n{_tail(log)}")


@contextlib.contextmanager
def started_app(models: list[str], log: Optional[Path] = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """``python app.py`` on a free port, as (url, process); stopped (this process's child only) afterwards.

    The app's output goes to ``log`` (default: discarded): a pipe nobody reads would block the
    server once a long run had filled it.
    """
    port = free_local_port()
    command = [sys.executable, str(ROOT / "app.py"), "--port", str(port)]
    for model in models:
        command += ["--model", model]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(open(log, "wb")) if log is not None else subprocess.DEVNULL
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            _wait_until_up(url, process, log=log)
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def resident_kib(pid: int) -> Optional[int]:
    """VmRSS of a process in KiB (Linux ``/proc``); ``None`` where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def tiny_models(directory: Path, endpoints: Sequence[str] = REQUEST_MODE_ENDPOINTS) -> dict[str, str]:
    """A tiny random checkpoint per endpoint (one per family, shared by interpolation and style mixing)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from tiny import save_tiny_checkpoint

    paths: dict[str, str] = {}
    for family in dict.fromkeys(TINY_FAMILIES[endpoint] for endpoint in endpoints):
        paths[family] = str(save_tiny_checkpoint(family, directory / f"tiny-{family}"))
    return {endpoint: paths[TINY_FAMILIES[endpoint]] for endpoint in endpoints}


def endpoint_defaults(client: Client, api_name: str) -> dict[str, Any]:
    """What the app's inputs for an endpoint start with, by parameter name (``model``, ``class_name``, ...)."""
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"][api_name]
    return {p["parameter_name"]: p.get("parameter_default") for p in info["parameters"]}


def default_model(client: Client, api_name: str) -> Optional[str]:
    """The model the app's dropdown starts with for an endpoint."""
    return endpoint_defaults(client, api_name).get("model")


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


@dataclass
class Options:
    """Inputs besides the model that must suit it: what the app itself starts with for its default model."""

    prompt: str = "a smiling woman in her twenties"
    space: str = "z"
    classes: dict[str, Any] = field(default_factory=dict)  # endpoint -> class picker value (None: unconditional)


def app_options(client: Client, models: dict[str, str], endpoints: Sequence[str]) -> Options:
    """The app's own defaults for the prompt, latent space and class pickers. The latent space and
    class are taken only where the model is the app's default (they depend on it); another model is
    walked in z (every family has one) and given no class."""
    options = Options()
    for endpoint in endpoints:
        defaults = endpoint_defaults(client, API_NAMES[endpoint])
        own_model = defaults.get("model") == models.get(endpoint)
        if endpoint == "text" and defaults.get("prompt"):
            options.prompt = defaults["prompt"]
        if endpoint == "interpolation" and own_model and defaults.get("space"):
            options.space = defaults["space"]
        if "class_name" in defaults:
            options.classes[endpoint] = defaults["class_name"] if own_model else None
    return options


def request_makers(models: dict[str, str], sketch: Path, count: int, frames: int = 8,
                   options: Optional[Options] = None) -> dict[str, Callable[[Client, int], Any]]:
    """One call per endpoint in ``models``; request ``i`` uses seed ``i`` (different images each time)."""
    opts = options or Options()
    klass = opts.classes.get
    makers = {
        "faces": lambda client, i: client.predict(models["faces"], i, count, 0.7, klass("faces"),
                                                  api_name="/generate_faces"),
        "sketch": lambda client, i: client.predict(models["sketch"], None, handle_file(sketch), False,
                                                   api_name="/sketch_to_photo"),
        "text": lambda client, i: client.predict(models["text"], opts.prompt, i, min(count, APP_MAX_TEXT_IMAGES),
                                                 api_name="/text_to_image"),
        "interpolation": lambda client, i: client.predict(models["interpolation"], i, i + 1, frames, "slerp",
                                                          opts.space, 0.7, klass("interpolation"),
                                                          api_name="/interpolate"),
        "style": lambda client, i: client.predict(models["style"], i, i + 1, "coarse", 0.7, klass("style"),
                                                  api_name="/style_mix"),
    }
    return {endpoint: call for endpoint, call in makers.items() if endpoint in models}


def open_clients(url: str, count: int) -> list[Client]:
    """``count`` separate sessions, opened a few at a time (each fetches the app's config)."""
    with ThreadPoolExecutor(min(8, count)) as pool:
        return list(pool.map(lambda _: Client(url, analytics_enabled=False, verbose=False), range(count)))


def close_clients(clients: Sequence[Client]) -> None:
    for client in clients:
        with contextlib.suppress(Exception):
            client.close()


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
    close_clients(sessions)
    return result


# --- sustained mode ---------------------------------------------------------------------------------

#: Other failures whose text is kept per endpoint, to print.
KEPT_FAILURES = 5


def is_busy(err: BaseException) -> bool:
    """Gradio's explicit "the queue is full" rejection (HTTP 503, or a ``queue_full`` message on the
    event stream); ``gradio_client`` raises both as ``QueueError("Queue is full! Please try again.")``.
    Any other ``QueueError`` (e.g. the event could not be queued at all) is a real failure."""
    return isinstance(err, QueueError) and "queue is full" in str(err).lower()


@dataclass
class Tally:
    """Outcomes of one endpoint's requests in a sustained run."""

    endpoint: str
    api_name: str
    latencies: list[float] = field(default_factory=list)  # accepted requests only
    busy: int = 0
    other: int = 0
    failures: list[str] = field(default_factory=list)  # the first few other failures' messages

    def add(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.busy += other.busy
        self.other += other.other
        self.failures += other.failures[:max(0, KEPT_FAILURES - len(self.failures))]

    def stats(self) -> dict[str, Any]:
        ok = sorted(self.latencies)
        return {
            "api_name": self.api_name, "accepted": len(ok), "busy": self.busy, "other": self.other,
            "p50_s": statistics.median(ok) if ok else None, "p95_s": nearest_rank(ok, 0.95) if ok else None,
            "max_s": ok[-1] if ok else None, "failures": self.failures,
        }


SUSTAINED_HEADER = (f"{'endpoint':<16} {'clients':>7} {'accepted':>8} {'busy':>6} {'other':>6} {'p50 s':>7} "
                    f"{'p95 s':>7} {'max s':>7} {'acc/s':>7}")


def sustained_row(name: str, clients: int, stats: dict[str, Any], wall: float) -> str:
    times = " ".join(f"{stats[key]:7.3f}" if stats[key] is not None else f"{'-':>7}"
                     for key in ("p50_s", "p95_s", "max_s"))
    rate = stats["accepted"] / wall if wall else 0.0
    return (f"{name:<16} {clients:>7} {stats['accepted']:>8} {stats['busy']:>6} {stats['other']:>6} {times} "
            f"{rate:7.2f}")


def run_sustained(url: str, makers: dict[str, Callable[[Client, int], Any]], clients: int, duration: float,
                  busy_pause: float = 1.0) -> tuple[dict[str, Tally], float]:
    """``clients`` sessions each send requests until ``duration`` seconds have passed, cycling over the
    endpoints of ``makers`` (client ``k`` starts at endpoint ``k``, so every endpoint is busy from the
    start). A request under way at the deadline is waited for and counted. Returns the tallies per
    endpoint and the wall time, the drain included."""
    endpoints = list(makers)
    sessions = open_clients(url, clients)
    lock = threading.Lock()
    tallies = {endpoint: Tally(endpoint, API_NAMES[endpoint]) for endpoint in endpoints}
    seeds = iter(range(10**9))  # every request its own seed (the app caches nothing, but be sure)
    start = time.perf_counter()
    deadline = start + duration

    def worker(k: int, client: Client) -> None:
        j = k
        while time.perf_counter() < deadline:
            endpoint = endpoints[j % len(endpoints)]
            j += 1
            with lock:
                seed = next(seeds)
            began = time.perf_counter()
            try:
                makers[endpoint](client, seed)
            except Exception as err:  # noqa: BLE001 - every failure is classified and counted
                with lock:
                    tally = tallies[endpoint]
                    if is_busy(err):
                        tally.busy += 1
                    else:
                        tally.other += 1
                        if len(tally.failures) < KEPT_FAILURES:
                            tally.failures.append(f"{type(err).__name__}: {err}")
                if is_busy(err):  # told to try again in a moment: do, like a person would (not in a tight loop)
                    time.sleep(min(busy_pause, max(0.0, deadline - time.perf_counter())))
            else:
                with lock:
                    tallies[endpoint].latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=worker, args=(k, client), daemon=True) for k, client in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    close_clients(sessions)
    return tallies, wall


def main_sustained(args: argparse.Namespace, url: str, pid: Optional[int],
                   makers: dict[str, Callable[[Client, int], Any]], header: str) -> int:
    """Every ``--clients`` level for ``--duration`` seconds; the table, memory and verdict; 0 on pass."""
    limit = 1.0 + args.max_rss_growth
    before = resident_kib(pid) if pid is not None else None
    print(header)
    print(f"sustained: {args.duration:g} s per level over {', '.join(API_NAMES[e] for e in makers)}; "
          f"a client rejected as busy retries after {args.busy_pause:g} s")
    print(f"RSS before: {before / 1024:.1f} MiB (pid {pid}, after a warm-up call of every endpoint)" if before
          else "RSS before: unknown (the app was not started by this script)")
    levels, passed = [], True
    for clients in args.clients:
        tallies, wall = run_sustained(url, makers, clients, args.duration, args.busy_pause)
        time.sleep(args.settle)  # the queue has drained (every client has its answer); let the server settle
        after = resident_kib(pid) if pid is not None else None
        total = Tally("total", "total")
        for tally in tallies.values():
            total.add(tally)
        print()
        print(SUSTAINED_HEADER)
        for tally in tallies.values():
            print(sustained_row(tally.api_name, clients, tally.stats(), wall))
        print(sustained_row("total", clients, total.stats(), wall), flush=True)
        for tally in tallies.values():
            for message in tally.failures:
                print(f"    failure ({tally.api_name}): {message}")
        ratio = after / before if before and after else None
        if ratio is not None:
            print(f"RSS before {before / 1024:.1f} MiB, after {after / 1024:.1f} MiB: x{ratio:.3f} "
                  f"(limit x{limit:.2f})")
        else:
            print("RSS after: unknown (--url: the server's memory is not visible from here)")
        stats = total.stats()
        memory_ok = ratio is None or ratio <= limit
        level_ok = stats["other"] == 0 and memory_ok
        passed = passed and level_ok
        why = []
        if stats["other"]:
            why.append(f"{stats['other']} failures other than 'busy' rejections")
        if not memory_ok:
            why.append(f"RSS grew x{ratio:.3f} > x{limit:.2f}")
        p95 = f"{stats['p95_s']:.3f} s" if stats["p95_s"] is not None else "- (none accepted)"
        checked = "RSS within limit" if ratio is not None else "RSS not checked (unknown)"
        print(f"{'PASS' if level_ok else 'FAIL'}: {clients} clients for {args.duration:g} s across all endpoints: "
              f"{stats['accepted']} accepted, {stats['busy']} busy, {stats['other']} other failures; "
              f"{'; '.join(why) if why else checked}; p95 of accepted requests {p95}", flush=True)
        levels.append({"clients": clients, "wall_s": wall, "endpoints": {e: t.stats() for e, t in tallies.items()},
                       "total": stats, "rss_before_kib": before, "rss_after_kib": after, "rss_ratio": ratio,
                       "passed": level_ok})
    if args.json:
        report = {"url": url, "pid": pid, "duration_s": args.duration, "busy_pause_s": args.busy_pause,
                  "count": args.count, "frames": args.frames, "max_rss_ratio": limit, "cpu_count": os.cpu_count(),
                  "models": args.models_used, "levels": levels, "passed": passed}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if passed else 1


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an app that is already running; default: start one")
    parser.add_argument("--tiny", action="store_true", help="start the app with tiny random models")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=32, help="requests per endpoint and concurrency level")
    parser.add_argument("--duration", type=float, metavar="SECONDS",
                        help="sustained mode: each level's clients send requests for this long, cycling over all "
                             "endpoints (instead of --requests)")
    parser.add_argument("--count", type=int, default=4, help="images per faces (and text) request")
    parser.add_argument("--frames", type=int, default=8, help="frames per interpolation request")
    parser.add_argument("--endpoints", nargs="+", choices=ENDPOINTS,
                        help=f"default: {' '.join(REQUEST_MODE_ENDPOINTS)}; with --duration all of them")
    parser.add_argument("--faces-model", help="model for /generate_faces (default: the app's default)")
    parser.add_argument("--sketch-model", help="model for /sketch_to_photo (default: the app's default)")
    parser.add_argument("--text-model", help="model for /text_to_image (default: the app's default)")
    parser.add_argument("--interpolation-model", help="model for /interpolate (default: the app's default)")
    parser.add_argument("--style-model", help="model for /style_mix, a StyleGAN (default: the app's default)")
    parser.add_argument("--busy-pause", type=float, default=1.0,
                        help="sustained mode: seconds a client waits after a 'queue is full' rejection")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="sustained mode: seconds to wait after the queue drained before reading memory")
    parser.add_argument("--max-rss-growth", type=float, default=0.10,
                        help="sustained mode: allowed growth of resident memory, as a fraction (0.10 = 10%%)")
    parser.add_argument("--json", metavar="PATH", help="sustained mode: also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    if args.url and args.tiny:
        parser.error("--tiny starts its own app; do not combine it with --url")
    if args.duration is None and args.json:
        parser.error("--json reports the sustained mode; give --duration")
    if args.duration is not None and args.duration <= 0:
        parser.error("--duration must be positive")
    if not 2 <= args.frames <= APP_MAX_FRAMES:
        parser.error(f"--frames must be between 2 and {APP_MAX_FRAMES}")
    endpoints = args.endpoints or list(ENDPOINTS if args.duration is not None else REQUEST_MODE_ENDPOINTS)
    chosen = {endpoint: getattr(args, f"{endpoint}_model") for endpoint in endpoints}

    with tempfile.TemporaryDirectory(prefix="gan_zoo_load_") as tmp:
        models = tiny_models(Path(tmp), endpoints) if args.tiny else {}
        app = contextlib.nullcontext((args.url, None)) if args.url else started_app(
            list(dict.fromkeys(models.values())), log=Path(tmp) / "app.log")
        with app as (url, process):
            probe = Client(url, analytics_enabled=False, verbose=False)
            for endpoint in endpoints:
                models[endpoint] = chosen[endpoint] or models.get(endpoint) or default_model(probe, API_NAMES[endpoint])
            options = app_options(probe, models, endpoints) if args.duration is not None else None
            makers = request_makers(models, example_sketch(Path(tmp)), args.count, args.frames, options)
            for endpoint in endpoints:  # warm-up: load each model once, outside the measurements
                try:
                    makers[endpoint](probe, 0)
                except Exception as err:  # noqa: BLE001 - a model that cannot answer once is not load-tested
                    print(f"warm-up call of {API_NAMES[endpoint]} with {models[endpoint]} failed: "
                          f"{type(err).__name__}: {err}", file=sys.stderr)
                    return 1
            with contextlib.suppress(Exception):
                probe.close()
            if args.duration is not None:
                args.models_used = models
                header = (f"app: {url}  models: {models}  images per faces/text request: {args.count}  "
                          f"frames per interpolation: {args.frames}")
                return main_sustained(args, url, process.pid if process else None, makers, header)
            print(f"app: {url}  models: {models}  requests per level: {args.requests}  images per faces "
                  f"request: {args.count}")
            print(HEADER)
            failures = 0
            for endpoint in endpoints:
                api_name = API_NAMES[endpoint]
                for clients in args.clients:
                    result = run_level(url, api_name, makers[endpoint], clients, args.requests)
                    print(result.row(), flush=True)
                    failures += len(result.errors)
                    for message in sorted(set(result.errors))[:3]:
                        print(f"    failure: {message}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
