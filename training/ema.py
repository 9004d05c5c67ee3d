"""Exponential moving average of the generator: the weights that get saved and published.

Why: GAN generators oscillate around a good solution; averaging their weights over the last few
thousand steps gives visibly cleaner samples and lower FID at no training cost (Karras et al.,
Yazici et al. 2019). Buffers are copied, not averaged: BatchNorm statistics and StyleGAN's
``w_avg`` (the truncation centre, updated by the trainer on the training G) must describe the
model as it is now, and the EMA copy must carry them or truncation in the saved model breaks.
"""

from __future__ import annotations

import torch
from torch import nn


def ema_decay_at(step: int, decay: float, warmup: bool) -> float:
    """Decay for the update after ``step`` steps; the warm-up lets the EMA follow G early on."""
    if warmup:
        return min(decay, (1.0 + step) / (10.0 + step))
    return decay


def check_same_structure(ema: nn.Module, model: nn.Module) -> None:
    ema_names = [n for n, _ in ema.named_parameters()] + [n for n, _ in ema.named_buffers()]
    names = [n for n, _ in model.named_parameters()] + [n for n, _ in model.named_buffers()]
    if ema_names != names:
        raise ValueError("the EMA model and the generator have different parameters/buffers")


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema = decay * ema + (1 - decay) * model`` for parameters; buffers are copied."""
    ema_params = [p for p in ema.parameters()]
    params = [p.detach() for p in model.parameters()]
    if decay == 0.0:
        torch._foreach_copy_(ema_params, params)
    else:
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)
