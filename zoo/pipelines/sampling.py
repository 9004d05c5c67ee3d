"""Noise -> images for any :class:`~zoo.models.base.NoiseGenerator` (DCGAN and StyleGAN families)."""

from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from diffusers.pipelines.pipeline_utils import ImagePipelineOutput

from zoo.limits import MAX_BATCH_SIZE, check_int, check_psi
from zoo.pipelines.base import ZooPipeline, check_output_type, draw_latents


class GANSamplingPipeline(ZooPipeline):
    """Sample images from noise.

    Example:
        >>> from zoo.pipelines import GANSamplingPipeline
        >>> pipe = GANSamplingPipeline.from_pretrained("zoo/pretrained/faces-style-64")  # doctest: +SKIP
        >>> images = pipe(batch_size=4, seed=0, truncation_psi=0.7).images  # doctest: +SKIP
    """

    @torch.inference_mode()
    def __call__(
        self,
        batch_size: int = 1,
        generator: Optional[torch.Generator] = None,
        seed: Optional[int] = None,
        seeds: Optional[Sequence[int]] = None,
        truncation_psi: float = 1.0,
        class_labels: Optional[Union[int, Sequence[int], torch.Tensor]] = None,
        latents: Optional[torch.Tensor] = None,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> Union[ImagePipelineOutput, tuple]:
        """Generate ``batch_size`` images.

        ``seed=s`` gives image ``i`` the seed ``s + i`` (so image 0 of a batch of 8 equals the single
        image of a batch of 1); ``seeds`` names each image's seed; ``generator`` draws all latents
        from one ``torch.Generator`` as in diffusers; ``latents`` bypasses sampling. ``truncation_psi``
        in ``[0, 1]`` pulls styles towards the mean (0 = the average image).
        """
        check_output_type(output_type)
        psi = check_psi(truncation_psi)
        latent_dim = self.generator.config.latent_dim
        if latents is None:
            batch_size = len(seeds) if seeds is not None else check_int("batch_size", batch_size, 1, MAX_BATCH_SIZE)
            latents = draw_latents(latent_dim, batch_size, seed=seed, seeds=seeds, generator=generator)
        elif latents.ndim != 2 or latents.shape[1] != latent_dim:
            raise ValueError(f"latents must have shape [B, {latent_dim}], got {tuple(latents.shape)}")
        labels = self.generator.check_class_labels(class_labels, latents.shape[0])
        device, dtype = self.model_device, self.model_dtype
        labels = None if labels is None else labels.to(device)
        images = self.generator(latents.to(device, dtype), labels, truncation_psi=psi)
        images = self.postprocess(images, output_type)
        return ImagePipelineOutput(images=images) if return_dict else (images,)
