"""Retraining: the challenger against the champion, and what decides a promotion."""
