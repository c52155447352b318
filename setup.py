"""Kept for `pip install -e .` on older tooling; the metadata lives in pyproject.toml."""

from setuptools import setup

setup()
