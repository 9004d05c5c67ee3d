"""Sketch (or photo) -> photo with a pix2pix U-Net."""

from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np
import PIL.Image
import torch
from diffusers.pipelines.pipeline_utils import ImagePipelineOutput

from zoo.pipelines.base import ZooPipeline, check_output_type
from zoo.sketch import extract_sketch, normalize_canvas, restore_aspect, size_at_resolution


class Sketch2PhotoPipeline(ZooPipeline):
    """Turn line drawings into photos.

    Inputs may be PIL images, numpy arrays or RGBA canvas drawings of any size: each is composited
    on white, padded square and resized to the model's resolution, and the photo comes back at the
    input's aspect ratio. ``from_photo=True`` first runs the project's own edge extractor, which is
    exactly how the training sketches were made. :meth:`sketch_of` shows the drawing the model sees.
    """

    @torch.inference_mode()
    def __call__(
        self,
        image: Union[Any, Sequence[Any]],
        from_photo: bool = False,
        output_type: str = "pil",
        return_dict: bool = True,
        at_model_resolution: bool = False,
    ) -> Union[ImagePipelineOutput, tuple]:
        """Photos of ``image`` (one or a list), each at its input's size and aspect ratio.

        ``at_model_resolution=True`` returns ``pil``/``np`` images at the model's own resolution
        instead (the input's aspect ratio, long side = resolution): what the model drew, not resampled
        up to a large input's size. ``output_type="pt"`` is always the square ``[0, 1]`` model output.
        """
        check_output_type(output_type)
        items = list(image) if isinstance(image, (list, tuple)) else [image]
        if not items:
            raise ValueError("image must not be an empty list")
        sketches, sizes = self._model_inputs(items, from_photo)
        photos = self.generator(sketches.to(self.model_device, self.model_dtype))
        if output_type == "pt":
            out: Any = self.postprocess(photos, "pt")
        else:
            pils = [restore_aspect(p, self._output_size(s, at_model_resolution))
                    for p, s in zip(self.postprocess(photos, "pil"), sizes)]
            out = pils if output_type == "pil" else np.stack([np.asarray(p, dtype=np.float32) / 255.0 for p in pils])
        return ImagePipelineOutput(images=out) if return_dict else (out,)

    def sketch_of(self, image: Any, from_photo: bool = True, at_model_resolution: bool = False) -> PIL.Image.Image:
        """The line drawing the model sees for ``image``, as a picture at the input's aspect ratio.

        By default ``image`` is a photo and this is its extracted line drawing (what ``from_photo=True``
        feeds the model); with ``from_photo=False`` it is the drawing itself as the model gets it
        (composited on white, padded square and resized). ``at_model_resolution`` as in ``__call__``.
        """
        sketch, (size,) = self._model_inputs([image], from_photo)
        return restore_aspect(self.postprocess(sketch, "pil")[0], self._output_size(size, at_model_resolution))

    def _model_inputs(self, items: Sequence[Any], from_photo: bool) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """The ``[B, 3, R, R]`` generator input for ``items`` and each item's original ``(width, height)``."""
        normalised = [normalize_canvas(item, self.generator.config.resolution) for item in items]
        sketches = torch.cat([tensor for tensor, _ in normalised])
        if from_photo:
            sketches = extract_sketch(sketches)
        return sketches, [size for _, size in normalised]

    def _output_size(self, size: tuple[int, int], at_model_resolution: bool) -> tuple[int, int]:
        return size_at_resolution(size, self.generator.config.resolution) if at_model_resolution else size
