"""Every model call of the app runs on one small, fixed set of threads.

Gradio runs a sync handler on whichever of its up to 40 AnyIO worker threads is free, and a thread
that has once run PyTorch keeps per-thread state for as long as it lives: its own OpenMP team,
oneDNN scratch buffers, malloc arenas. Idle AnyIO workers are only retired when new work arrives,
so after a burst of traffic they all stay. ``python bench/thread_memory.py --threads 30``: 30 live
threads that each ran the bundled faces, text and sketch models once held 281 MiB more than before;
the same calls handed to a 2-thread pool, 30 MiB (the waiting threads' own stacks). Under the
64-client load test (``bench/load_test.py --duration 60 --clients 64``) this was most of the app's
memory growth (x1.46 before, x1.085 with the pool, x1.066 with the trim below).

So the handlers of the model queue group (which already limits how many run at once) are moved
onto a pool of exactly that many threads; the AnyIO worker only waits for the result. Gradio's
context (request, progress bar) travels with the call, and exceptions (``gr.Error`` included)
reach Gradio unchanged. After each call the pool thread hands freed heap memory back to the system
(glibc's ``malloc_trim``; a no-op elsewhere): image batches of many sizes otherwise leave the heap
at its high-water mark.
"""

from __future__ import annotations

import contextvars
import ctypes
import ctypes.util
import functools
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

import gradio as gr

#: Prefix of the pool's thread names (what ``top -H`` and a profiler show).
THREAD_PREFIX = "gan-zoo-model"


def _load_malloc_trim() -> Optional[Callable[[int], int]]:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS, Windows)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _load_malloc_trim()


def release_free_memory() -> None:
    """Return the C heap's free pages to the system (nothing to do without glibc).

    Not free: later calls fault those pages in again. Under the 64-client load test it cost about
    10% of accepted requests (README, "Sustained load"), for memory that stays flat.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _call_then_trim(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    finally:
        release_free_memory()


def on_pool(fn: Callable[..., Any], pool: ThreadPoolExecutor) -> Callable[..., Any]:
    """``fn`` run on ``pool`` in a copy of the caller's context, with the caller blocking for the result.

    ``functools.wraps`` keeps the signature Gradio inspects for ``gr.Progress`` and request
    arguments; the ``model_pool`` attribute marks the wrapper so a second pass does not wrap it again.
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        context = contextvars.copy_context()
        return pool.submit(context.run, _call_then_trim, fn, *args, **kwargs).result()

    run.model_pool = pool  # type: ignore[attr-defined]
    return run


def run_on_model_threads(demo: gr.Blocks, concurrency_id: str, workers: int) -> gr.Blocks:
    """Move every sync handler of ``concurrency_id`` onto one pool of ``workers`` threads (the group's limit).

    Generator and async handlers cannot simply be moved (a generator resumes on whatever thread
    asks for its next item), so one in the group is refused rather than left on Gradio's threads.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=THREAD_PREFIX)
    for block_fn in demo.fns.values():
        fn = block_fn.fn
        if block_fn.concurrency_id != concurrency_id or fn is None or hasattr(fn, "model_pool"):
            continue
        if inspect.iscoroutinefunction(fn) or inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise TypeError(f"{getattr(fn, '__name__', fn)!r} in queue group {concurrency_id!r} must be a plain "
                            "function: generator and async handlers cannot be moved onto the model threads")
        block_fn.fn = on_pool(fn, pool)
    demo.model_pool = pool  # type: ignore[attr-defined]
    return demo
