"""Model cards for published GAN Zoo checkpoints, rendered only from what the trainer recorded."""

from model_cards.render import render_model_card, write_model_card

__all__ = ["render_model_card", "write_model_card"]
