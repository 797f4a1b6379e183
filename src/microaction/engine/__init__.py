"""Training, evaluation, checkpoints and distributed setup."""
