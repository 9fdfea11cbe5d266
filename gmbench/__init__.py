"""gmbench: fair, reproducible benchmarks for global minimisation of high-dimensional energy landscapes."""

__version__ = "0.1.0"
