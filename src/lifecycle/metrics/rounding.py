"""The one rounding of every metric written to JSON."""

from __future__ import annotations


def rounded(value: float) -> float:
    """Round for stable, readable JSON (differences below 1e-6 are noise)."""
    return round(float(value), 6)
