"""Unit tests of lifecycle.remote."""
