"""Sketch (or photo) -> photo with a pix2pix U-Net."""

from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np
import PIL.Image
import torch
from diffusers.pipelines.pipeline_utils import ImagePipelineOutput

from zoo.pipelines.base import ZooPipeline, check_output_type
from zoo.sketch import extract_sketch, normalize_canvas, restore_aspect


class Sketch2PhotoPipeline(ZooPipeline):
    """Turn line drawings into photos.

    Inputs may be PIL images, numpy arrays or RGBA canvas drawings of any size: each is composited
    on white, padded square and resized to the model's resolution, and the photo comes back at the
    input's aspect ratio. ``from_photo=True`` first runs the project's own edge extractor, which is
    exactly how the training sketches were made.
    """

    @torch.inference_mode()
    def __call__(
        self,
        image: Union[Any, Sequence[Any]],
        from_photo: bool = False,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> Union[ImagePipelineOutput, tuple]:
        check_output_type(output_type)
        items = list(image) if isinstance(image, (list, tuple)) else [image]
        if not items:
            raise ValueError("image must not be an empty list")
        resolution = self.generator.config.resolution
        normalised = [normalize_canvas(item, resolution) for item in items]
        sketches = torch.cat([tensor for tensor, _ in normalised])
        sizes = [size for _, size in normalised]
        if from_photo:
            sketches = extract_sketch(sketches)
        photos = self.generator(sketches.to(self.model_device, self.model_dtype))
        if output_type == "pt":
            out: Any = self.postprocess(photos, "pt")
        else:
            pils = [restore_aspect(p, s) for p, s in zip(self.postprocess(photos, "pil"), sizes)]
            out = pils if output_type == "pil" else np.stack([np.asarray(p, dtype=np.float32) / 255.0 for p in pils])
        return ImagePipelineOutput(images=out) if return_dict else (out,)

    def sketch_of(self, photo: Any) -> PIL.Image.Image:
        """The line drawing the model would see for ``photo`` (what the app shows next to the result)."""
        tensor, size = normalize_canvas(photo, self.generator.config.resolution)
        return restore_aspect(self.postprocess(extract_sketch(tensor), "pil")[0], size)
