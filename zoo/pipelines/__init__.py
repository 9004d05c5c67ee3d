"""One pipeline per task; all load a checkpoint directory or a Hub repo id, safetensors only."""

from zoo.pipelines.base import ModelLoadError, ZooPipeline
from zoo.pipelines.interpolation import GANInterpolationPipeline, write_gif, write_mp4
from zoo.pipelines.inversion import GANInversionPipeline, InversionOutput
from zoo.pipelines.sampling import GANSamplingPipeline
from zoo.pipelines.sketch2photo import Sketch2PhotoPipeline
from zoo.pipelines.style_mixing import GANStyleMixingPipeline
from zoo.pipelines.text2image import Text2ImagePipeline

__all__ = [
    "GANInterpolationPipeline",
    "GANInversionPipeline",
    "InversionOutput",
    "GANSamplingPipeline",
    "GANStyleMixingPipeline",
    "ModelLoadError",
    "Sketch2PhotoPipeline",
    "Text2ImagePipeline",
    "ZooPipeline",
    "write_gif",
    "write_mp4",
]
