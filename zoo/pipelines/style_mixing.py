"""Style mixing for StyleGAN-family generators: take a layer range's styles from a second seed."""

from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from diffusers.pipelines.pipeline_utils import ImagePipelineOutput

from zoo.latents import layers_for_range, style_mix
from zoo.limits import check_psi
from zoo.pipelines.base import ZooPipeline, check_output_type, draw_latents


class GANStyleMixingPipeline(ZooPipeline):
    """Returns ``[image_a, image_b, mixed]``: ``mixed`` is seed A with ``style_range`` taken from seed B.

    ``coarse`` layers (4-8 px) carry pose and face shape, ``middle`` (16-32 px) features and
    expression, ``fine`` (64 px and up) colour and micro-texture.
    """

    @torch.inference_mode()
    def __call__(
        self,
        seed_a: int = 0,
        seed_b: int = 1,
        style_range: Union[str, Sequence[int]] = "coarse",
        truncation_psi: float = 1.0,
        class_labels: Optional[Union[int, torch.Tensor]] = None,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> Union[ImagePipelineOutput, tuple]:
        if not getattr(self.generator, "supports_style_mixing", False):
            raise ValueError(
                f"{type(self.generator).__name__} has a single style vector; style mixing needs a StyleGAN-family model"
            )
        check_output_type(output_type)
        psi = check_psi(truncation_psi)
        if isinstance(style_range, str):
            layers = layers_for_range(self.generator, style_range)
        else:
            layers = [int(i) for i in style_range]
            if not layers or min(layers) < 0 or max(layers) >= self.generator.num_ws:
                raise ValueError(f"layer indices must be in [0, {self.generator.num_ws - 1}], got {layers}")
        device, dtype = self.model_device, self.model_dtype
        labels = self.generator.check_class_labels(class_labels, 1)
        labels = None if labels is None else labels.to(device)
        z = draw_latents(self.generator.config.latent_dim, 2, seeds=[seed_a, seed_b]).to(device, dtype)
        w = self.generator.map(z, None if labels is None else labels.expand(2), truncation_psi=psi)
        mixed = style_mix(w[:1], w[1:], layers)
        all_labels = None if labels is None else labels.expand(3)
        images = self.generator.synthesize(torch.cat([w, mixed]), all_labels)
        images = self.postprocess(images, output_type)
        return ImagePipelineOutput(images=images) if return_dict else (images,)
