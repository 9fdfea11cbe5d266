"""Neural networks used by methods: the PLNet/BiLipNet surrogate and StriderNET's graph policy."""

from gmbench.models.plnet import BiLipNet, InverseInfo, MonLipLayer, OrthogonalLayer, PLNet, cayley, default_tol

__all__ = ["BiLipNet", "InverseInfo", "MonLipLayer", "OrthogonalLayer", "PLNet", "cayley", "default_tol"]
