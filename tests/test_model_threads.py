"""The app's model handlers run on a fixed pool of threads, whatever Gradio thread asks (ui/model_threads.py)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from ui.model_threads import THREAD_PREFIX, run_on_model_threads

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _toy_demo(workers: int) -> gr.Blocks:
    with gr.Blocks(analytics_enabled=False) as demo:
        box = gr.Textbox()
        out = gr.Textbox()

        def model(text: str, progress: gr.Progress = gr.Progress()) -> str:
            progress(0.5, desc="half way")  # Gradio's progress context must travel with the call
            if text == "bad":
                raise gr.Error("Bad input: try another prompt.")
            return threading.current_thread().name

        def light(text: str) -> str:
            return threading.current_thread().name

        gr.Button().click(model, box, out, api_name="model", concurrency_id="models")
        gr.Button().click(light, box, out, api_name="light")
    demo.queue(default_concurrency_limit=workers)
    return run_on_model_threads(demo, "models", workers=workers)


def test_model_handlers_run_on_the_pool_only_and_errors_reach_the_user():
    demo = _toy_demo(workers=2)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        def calls(_: int) -> list[str]:
            client = Client(demo.local_url, analytics_enabled=False, verbose=False)  # its own session
            return [client.predict(str(i), api_name="/model") for i in range(4)]

        with ThreadPoolExecutor(6) as senders:
            names = [name for batch in senders.map(calls, range(6)) for name in batch]
        # 24 calls from 6 sessions, yet at most the pool's 2 threads ever ran a model.
        assert len(names) == 24 and all(n.startswith(THREAD_PREFIX) for n in names) and len(set(names)) <= 2
        client = Client(demo.local_url, analytics_enabled=False, verbose=False)
        assert not client.predict("x", api_name="/light").startswith(THREAD_PREFIX)  # other events stay put
        with pytest.raises(AppError, match="Bad input: try another prompt."):
            client.predict("bad", api_name="/model")
    finally:
        demo.close()


def test_generator_handlers_in_the_model_group_are_refused():
    with gr.Blocks(analytics_enabled=False) as demo:
        out = gr.Textbox()

        def stream():
            yield "a"

        gr.Button().click(stream, None, out, concurrency_id="models")
    with pytest.raises(TypeError, match="stream.*must be a plain function"):
        run_on_model_threads(demo, "models", workers=2)
    with pytest.raises(ValueError, match="workers must be a positive int"):
        run_on_model_threads(demo, "models", workers=0)


def test_freed_memory_is_handed_back_on_glibc():
    import platform

    from ui import model_threads

    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert model_threads._MALLOC_TRIM is not None  # the trim after each model call really happens here
    model_threads.release_free_memory()  # and is harmless wherever it is a no-op
