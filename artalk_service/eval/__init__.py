"""Evaluation: lip-sync and motion metrics on held-out clips, for the model and baselines."""
