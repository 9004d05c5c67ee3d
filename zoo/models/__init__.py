"""Model families. Each file holds one family's generator and discriminator."""
