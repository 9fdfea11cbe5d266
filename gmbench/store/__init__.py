"""Storage: the crash-safe SQLite store of cells, traces and run manifests."""

from gmbench.store.sqlite import Store

__all__ = ["Store"]
