"""The GAN Zoo Gradio app.

* :mod:`ui.app` assembles the tabs of :mod:`ui.tabs` (one module per tab);
* :mod:`ui.catalog`: the models offered, described from their files, and their cached pipelines;
* :mod:`ui.checks`: input checks that end in a readable ``gr.Error`` (limits from :mod:`zoo.limits`);
* :mod:`ui.gradio_patches`: readable errors for input Gradio itself fails to decode;
* :mod:`ui.outputs`: the files handlers return, and images enlarged for display;
* :mod:`ui.widgets`: seed boxes, the class picker, model details and :func:`ui.widgets.bind`;
* :mod:`ui.spaces`: the Hugging Face Spaces ``GPU`` decorator, or a stand-in.
* :mod:`ui.browser`: a free local port to serve on, and the clicks the browser tests and README
  screenshots drive the app with.
"""

from ui.app import build_demo, launch_options

__all__ = ["build_demo", "launch_options"]
