"""GAN inversion on a CPU: find the latent that makes a noise generator draw *your* photo.

The photo is centre-cropped to a square and resized to the model's resolution. The app and the CLI
first frame a user's photo like the training photos (``zoo.face_align.align_face``: face found,
centred, sized and levelled as in the London faces), so the square the pipeline gets is already
the framing the models know; the alignment is preprocessing, not part of the pipeline, which needs
no OpenCV and is published with the models. The latent is found by
optimisation, as in StyleGAN2's projector, with no encoder and no custom CUDA op: start from the
average latent, then Adam on a pixel L1 loss plus a perceptual loss (distances between frozen
ImageNet EfficientNet-lite0 features of the two images, the same offline network the projected
discriminator uses). A StyleGAN-family model is inverted into W+ (one style per layer: more
expressive, so closer reconstructions); a DCGAN into its single latent.

The result is ``w`` (``[1, num_ws, w_dim]``), which the interpolation and style-mixing tools take,
so a projected photo can be morphed into any seed or mixed with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F

from zoo.images import square_crop
from zoo.latents import interpolation_weights, latents_from_seed, lerp
from zoo.limits import MAX_FRAMES, check_int, check_psi, check_seed
from zoo.pipelines.base import ZooPipeline

#: Optimisation steps: 10 s on 2 CPU cores for a 64 px StyleGAN-family model is the budget.
DEFAULT_STEPS = 60
MAX_STEPS = 1000


@dataclass
class InversionOutput:
    image: PIL.Image.Image  # the reconstruction
    target: PIL.Image.Image  # the photo as the model was asked to draw it (cropped, resized)
    w: torch.Tensor  # [1, num_ws, w_dim]: feed it to synthesize, interpolation or style mixing
    losses: list[float]


def _to_tensor(image: PIL.Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]


class GANInversionPipeline(ZooPipeline):
    """``pipe(photo)`` -> :class:`InversionOutput` (reconstruction, target, ``w``, loss per step)."""

    _features: Optional[torch.nn.Module] = None

    def perceptual_network(self) -> torch.nn.Module:
        if GANInversionPipeline._features is None:  # loaded once per process, shared by all models
            from zoo.models.projected import EfficientNetLite0Features

            GANInversionPipeline._features = EfficientNetLite0Features().eval().requires_grad_(False)
        return GANInversionPipeline._features

    def perceptual_features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The first three EfficientNet-lite0 stages of ``images`` (in ``[-1, 1]``), each map unit-normalised
        over channels (as LPIPS does), so every stage counts alike and the distance is on the scale of
        the pixel loss whatever the feature magnitudes. 64 px faces are seen at 128 px (the network
        was trained on ~224 px images)."""
        network = self.perceptual_network().to(images.device)
        maps = network(F.interpolate(images, size=(128, 128), mode="bilinear", align_corners=False))[:3]
        return [F.normalize(m, dim=1) for m in maps]

    @staticmethod
    def perceptual_distance(a: list[torch.Tensor], b: list[torch.Tensor]) -> torch.Tensor:
        """Between two :meth:`perceptual_features` lists (0 = identical)."""
        return sum((x - y).square().sum(dim=1).mean() for x, y in zip(a, b))

    def __call__(
        self,
        image: Any,
        num_steps: int = DEFAULT_STEPS,
        learning_rate: float = 0.1,
        perceptual_weight: float = 1.0,
        callback: Optional[Callable[[int, int, float], None]] = None,
    ) -> InversionOutput:
        generator = self.generator
        if not hasattr(generator, "map"):
            raise ValueError(f"{type(generator).__name__} has no latent to invert into; inversion needs a noise model")
        if getattr(generator.config, "num_classes", 0):
            raise ValueError("inversion of class-conditional models is not supported; use an unconditional one")
        num_steps = check_int("num_steps", num_steps, 1, MAX_STEPS)
        if not isinstance(image, PIL.Image.Image):
            raise ValueError(f"image must be a PIL image, got {type(image).__name__}")
        resolution = generator.config.resolution
        target_image = square_crop(image, resolution)
        target = _to_tensor(target_image).to(self.model_device)
        with torch.no_grad():
            target_features = self.perceptual_features(target)
            w = generator.mean_w().detach().clone().float()
            w = w.expand(1, generator.num_ws, w.shape[-1]).clone()
        w.requires_grad_(True)
        optimiser = torch.optim.Adam([w], lr=learning_rate, betas=(0.9, 0.999))
        losses = []
        # Eval mode: fixed noise inputs (as the pipelines sample). Only w is optimised; the shared
        # generator's flags are put back afterwards.
        was_training, trainable = generator.training, [p.requires_grad for p in generator.parameters()]
        generator.eval().requires_grad_(False)
        try:
            for step in range(num_steps):
                image_now = generator.synthesize(w, None)
                loss = (image_now - target).abs().mean()
                if perceptual_weight:
                    loss = loss + perceptual_weight * self.perceptual_distance(
                        self.perceptual_features(image_now), target_features
                    )
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                losses.append(float(loss.detach()))
                if callback is not None:
                    callback(step + 1, num_steps, losses[-1])
            with torch.no_grad():
                final = generator.synthesize(w.detach(), None)
        finally:
            generator.train(was_training)
            for param, flag in zip(generator.parameters(), trainable):
                param.requires_grad_(flag)
        reconstruction = self.postprocess(final, "pil")[0]
        return InversionOutput(image=reconstruction, target=target_image, w=w.detach(), losses=losses)

    @torch.inference_mode()
    def morph(self, w: torch.Tensor, seed: int, num_frames: int = 16, truncation_psi: float = 1.0) -> list[PIL.Image.Image]:
        """Frames from the projected ``w`` to the face of ``seed`` (linear in w, the space it was found in)."""
        num_frames = check_int("num_frames", num_frames, 2, MAX_FRAMES)
        generator = self.generator
        z = latents_from_seed(check_seed(seed), generator.config.latent_dim).to(self.model_device)
        w_b = generator.map(z, None, truncation_psi=check_psi(truncation_psi))
        t = interpolation_weights(num_frames).to(self.model_device)[:, None, None]
        frames = lerp(w.to(w_b.dtype).expand(num_frames, -1, -1), w_b.expand(num_frames, -1, -1), t)
        return self.postprocess(generator.synthesize(frames, None), "pil")
