"""Walks through latent space between two seeds, and writers for the resulting frames."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

import PIL.Image
import torch
from diffusers.pipelines.pipeline_utils import ImagePipelineOutput
from diffusers.utils import export_to_gif, export_to_video

from zoo.images import enlarge
from zoo.latents import interpolation_weights, lerp, slerp
from zoo.limits import INTERPOLATION_METHODS, LATENT_SPACES, MAX_FRAMES, check_int, check_psi
from zoo.pipelines.base import ZooPipeline, check_output_type, draw_latents



class GANInterpolationPipeline(ZooPipeline):
    """Frames between the images of ``seed_a`` and ``seed_b``.

    Interpolating in ``z`` follows the prior (slerp keeps latents on the Gaussian shell); in ``w``
    (StyleGAN family) the path is through the disentangled style space and usually looks smoother.
    The first and last frames are the images of the two seeds (up to float rounding between batch sizes).
    """

    @torch.inference_mode()
    def __call__(
        self,
        seed_a: Optional[int] = 0,
        seed_b: Optional[int] = 1,
        num_frames: int = 8,
        method: str = "slerp",
        space: str = "z",
        truncation_psi: float = 1.0,
        class_labels: Optional[Union[int, torch.Tensor]] = None,
        latents: Optional[tuple[torch.Tensor, torch.Tensor]] = None,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> Union[ImagePipelineOutput, tuple]:
        check_output_type(output_type)
        psi = check_psi(truncation_psi)
        num_frames = check_int("num_frames", num_frames, 2, MAX_FRAMES)
        if method not in INTERPOLATION_METHODS:
            raise ValueError(f"method must be one of {INTERPOLATION_METHODS}, got {method!r}")
        if space not in LATENT_SPACES:
            raise ValueError(f"space must be one of {LATENT_SPACES}, got {space!r}")
        latent_dim = self.generator.config.latent_dim
        if latents is None:
            z_a = draw_latents(latent_dim, 1, seed=seed_a)
            z_b = draw_latents(latent_dim, 1, seed=seed_b)
        else:
            z_a, z_b = (z.reshape(1, latent_dim) for z in latents)
        device, dtype = self.model_device, self.model_dtype
        labels = self.generator.check_class_labels(class_labels, 1)
        labels = None if labels is None else labels.to(device)
        blend = slerp if method == "slerp" else lerp
        t = interpolation_weights(num_frames).to(dtype)
        z_a, z_b = z_a.to(device, dtype), z_b.to(device, dtype)
        frame_labels = None if labels is None else labels.expand(num_frames)
        if space == "z":
            z = blend(z_a.expand(num_frames, -1), z_b.expand(num_frames, -1), t[:, None].to(device))
            images = self.generator(z, frame_labels, truncation_psi=psi)
        else:
            w_a, w_b = (self.generator.map(z, labels, truncation_psi=psi) for z in (z_a, z_b))
            flat = blend(
                w_a.flatten(1).expand(num_frames, -1), w_b.flatten(1).expand(num_frames, -1), t[:, None].to(device)
            )
            images = self.generator.synthesize(flat.view(num_frames, *w_a.shape[1:]), frame_labels)
        frames = self.postprocess(images, output_type)
        return ImagePipelineOutput(images=frames) if return_dict else (frames,)


def _playable_frames(frames: Sequence[PIL.Image.Image], boomerang: bool, min_size: int) -> list[PIL.Image.Image]:
    """Enlarge tiny frames (nearest-neighbour, so pixels stay honest) and loop back and forth without a jump."""
    out = [enlarge(frame, min_size, shorter_side=True) for frame in frames]
    if boomerang and len(out) > 2:
        out = out + out[-2:0:-1]
    return out


def write_gif(
    frames: Sequence[PIL.Image.Image], path: Union[str, Path], fps: int = 10, boomerang: bool = True, min_size: int = 256
) -> Path:
    """An animated GIF of the frames."""
    return Path(export_to_gif(_playable_frames(frames, boomerang, min_size), str(path), fps=fps))


def write_mp4(
    frames: Sequence[PIL.Image.Image], path: Union[str, Path], fps: int = 10, boomerang: bool = True, min_size: int = 256
) -> Path:
    """An H.264 MP4 via imageio-ffmpeg (its wheel ships the ffmpeg binary, so this works offline)."""
    return Path(export_to_video(_playable_frames(frames, boomerang, min_size), str(path), fps=fps))
