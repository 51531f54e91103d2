"""Helpers the tests share: the project tree, pipeline repositories, samples, servers."""
