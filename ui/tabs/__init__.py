"""The app's tabs, one module each: every tab owns its components, events and handlers.

``noise`` (faces from noise), ``sketch`` (sketch to photo), ``text`` (text to image),
``interpolation`` (latent walks and style mixing) and ``model_info`` (each model's card).
"""

from pathlib import Path

#: Example sketches and prompts shown under the inputs (``scripts/make_app_examples.py`` writes them).
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
