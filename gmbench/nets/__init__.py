"""Neural-network building blocks (PLNet/BiLipNet)."""

from .plnet import BiLipNet, InverseInfo, MonLipLayer, OrthogonalLayer, PLNet, cayley, default_tol

__all__ = ["BiLipNet", "InverseInfo", "MonLipLayer", "OrthogonalLayer", "PLNet", "cayley", "default_tol"]
