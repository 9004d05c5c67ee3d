"""A plain DCGAN training loop written the classic way, as the yardstick for our trainer's speed.

Why it exists: "our trainer does N images/s" means little on its own. This loop is what most
people write (the PyTorch DCGAN tutorial, HugGAN's ``dcgan/train.py``): a ``DataLoader`` that
decodes and transforms PIL images every time it visits them, ``BCEWithLogitsLoss`` with label
tensors, non-fused Adam(2e-4, betas 0.5/0.999), NCHW tensors, and ``.item()`` on every loss every
step for logging. It uses *our* networks (``zoo.models.dcgan``) and the same images, so a speed
difference measured against it comes from how the step is run, not from what is trained.

Deliberate differences from ``training/loop.py`` (each makes *this* loop do less work):

* the fake batch made for D's update is reused for G's update (the tutorial's ``fake.detach()``
  trick); our trainer draws fresh noise for G's phase and so runs G forward twice per step;
* no generator EMA, no DiffAugment hooks, no checkpoint/sample machinery.

torchvision is not a dependency of the project, so the transforms (Resize/CenterCrop, random
horizontal flip, ToTensor, Normalize(0.5, 0.5)) are written here with PIL and numpy. Centre-crop
then Lanczos resize matches ``training.data.to_uint8``, so both loops see the same pixels.

Run on its own (prints images/s), or let ``bench/compare_train_speed.py`` alternate it with ours:

    python bench/reference_dcgan.py --data_dir data/london_faces --steps 20
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import PIL.Image
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from zoo.models.dcgan import DCGANDiscriminator, DCGANGenerator  # noqa: E402

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


# ------------------------------------------------------------------------------------------------
# torchvision-free transforms
# ------------------------------------------------------------------------------------------------


def resize_center_crop(image: PIL.Image.Image, resolution: int) -> PIL.Image.Image:
    """Square centre crop, then resize: the same pixels ``training.data.to_uint8`` produces."""
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if image.size != (resolution, resolution):
        image = image.resize((resolution, resolution), PIL.Image.Resampling.LANCZOS)
    return image


def to_tensor(image: PIL.Image.Image) -> torch.Tensor:
    """Like torchvision's ``ToTensor``: HWC uint8 -> CHW float in ``[0, 1]``."""
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def normalize(x: torch.Tensor, mean: float = 0.5, std: float = 0.5) -> torch.Tensor:
    """Like ``Normalize((0.5,)*3, (0.5,)*3)``: ``[0, 1]`` -> ``[-1, 1]``."""
    return (x - mean) / std


class ImageFolderDataset(Dataset):
    """Every image file under ``root`` (``metadata.csv``'s ``file_name`` column when present), decoded per visit."""

    def __init__(self, root: Path, resolution: int, hflip: bool = True, seed: int = 0, decode_once: bool = False):
        self.root = Path(root)
        self.decoded: Optional[dict[int, PIL.Image.Image]] = {} if decode_once else None
        self.files = list_images(self.root)
        if not self.files:
            raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under {self.root}")
        self.resolution = resolution
        self.hflip = hflip
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        if self.decoded is not None and index in self.decoded:  # decode_once: what a careful user would write
            image = self.decoded[index]
        else:
            with PIL.Image.open(self.files[index]) as image:
                image = resize_center_crop(image.convert("RGB"), self.resolution)
            if self.decoded is not None:
                self.decoded[index] = image
        if self.hflip and self.rng.random() < 0.5:
            image = image.transpose(PIL.Image.Transpose.FLIP_LEFT_RIGHT)
        return normalize(to_tensor(image))


def list_images(root: Path) -> list[Path]:
    """The photos of a local imagefolder: ``metadata.csv`` rows if it has one, else every image file."""
    metadata = root / "metadata.csv"
    if metadata.is_file():
        with metadata.open(newline="") as handle:
            return [root / row["file_name"] for row in csv.DictReader(handle) if row.get("file_name")]
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


# ------------------------------------------------------------------------------------------------
# The loop
# ------------------------------------------------------------------------------------------------


class ReferenceDCGAN:
    """The tutorial's training step around our DCGAN networks; :meth:`step` runs one D and one G update."""

    def __init__(
        self,
        data_dir: Path,
        resolution: int = 64,
        latent_dim: int = 128,
        base_channels: int = 64,
        batch_size: int = 64,
        workers: int = 0,
        seed: int = 0,
        device: str = "cpu",
        decode_once: bool = False,
    ):
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.latent_dim = latent_dim
        self.batch_size = batch_size
        self.netG = DCGANGenerator(resolution=resolution, latent_dim=latent_dim, base_channels=base_channels).to(self.device)
        self.netD = DCGANDiscriminator(resolution=resolution, base_channels=base_channels).to(self.device)
        self.criterion = nn.BCEWithLogitsLoss()
        # Plain (for-loop) Adam, as the tutorial writes it: neither foreach nor fused.
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999), foreach=False, fused=False)
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999), foreach=False, fused=False)
        dataset = ImageFolderDataset(Path(data_dir), resolution, hflip=True, seed=seed, decode_once=decode_once)
        if len(dataset) < batch_size:
            raise ValueError(f"{data_dir} has {len(dataset)} images, fewer than one batch of {batch_size}")
        self.loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True,
                                 generator=torch.Generator().manual_seed(seed), persistent_workers=workers > 0)
        self._batches = self._forever()
        self.history: list[tuple[float, float, float, float, float]] = []

    def _forever(self) -> Iterator[torch.Tensor]:
        while True:
            yield from self.loader

    def step(self) -> tuple[float, float]:
        """One optimiser step of D then G; returns ``(errD, errG)`` read back with ``.item()``."""
        self.netG.train()
        self.netD.train()
        real = next(self._batches).to(self.device)
        b = real.size(0)
        label = torch.full((b,), 1.0, device=self.device)

        # (1) Update D: maximise log(D(x)) + log(1 - D(G(z)))
        self.netD.zero_grad()
        output = self.netD(real).logits.view(-1)
        errD_real = self.criterion(output, label)
        errD_real.backward()
        D_x = output.sigmoid().mean().item()
        noise = torch.randn(b, self.latent_dim, device=self.device)
        fake = self.netG(noise)
        label.fill_(0.0)
        output = self.netD(fake.detach()).logits.view(-1)
        errD_fake = self.criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.sigmoid().mean().item()
        errD = errD_real + errD_fake
        self.optD.step()

        # (2) Update G: maximise log(D(G(z))), reusing the same fakes
        self.netG.zero_grad()
        label.fill_(1.0)
        output = self.netD(fake).logits.view(-1)
        errG = self.criterion(output, label)
        errG.backward()
        D_G_z2 = output.sigmoid().mean().item()
        self.optG.step()

        record = (errD.item(), errG.item(), D_x, D_G_z1, D_G_z2)
        self.history.append(record)
        return record[0], record[1]


def default_data_dir() -> Optional[Path]:
    """The London faces when the shared data is present (the project's real small dataset)."""
    path = ROOT / "data" / "london_faces"
    return path if (path / "metadata.csv").is_file() else None


def synthetic_folder(num_images: int = 256, size: int = 96) -> Path:
    """A throwaway imagefolder for machines without the shared data."""
    from training.synthetic import make_imagefolder

    return make_imagefolder(Path(tempfile.mkdtemp(prefix="gan_zoo_refdata_")), num_images=num_images, size=size)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default=None, help="local imagefolder (default: the London faces, else synthetic)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--base_channels", type=int, default=64, help="ngf = ndf")
    parser.add_argument("--latent_dim", type=int, default=128)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers (0: decode in the training process)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data_dir = Path(args.data_dir) if args.data_dir else (default_data_dir() or synthetic_folder())
    ref = ReferenceDCGAN(data_dir, args.resolution, args.latent_dim, args.base_channels, args.batch_size, args.workers)
    for _ in range(args.warmup):
        ref.step()
    start = time.perf_counter()
    for _ in range(args.steps):
        ref.step()
    elapsed = time.perf_counter() - start
    print(f"reference DCGAN {args.resolution}px ngf=ndf={args.base_channels} batch {args.batch_size} "
          f"({torch.get_num_threads()} threads, {args.workers} workers, data {data_dir}): "
          f"{args.steps * args.batch_size / elapsed:.2f} images/s ({args.steps} steps in {elapsed:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
