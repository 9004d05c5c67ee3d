"""The GAN Zoo Gradio app: one module per tab, shared checks and widgets in :mod:`ui.common`."""

from ui.app import build_demo, launch_options

__all__ = ["build_demo", "launch_options"]
