"""Compatibility: the StriderNET study's public names, now split by concern across
:mod:`gmbench.methods.stridernet` (``config``, ``rollout``, ``train``, ``adapt``, ``model_io``,
``baselines``) and :mod:`gmbench.studies.stridernet` (``bench``)."""

from __future__ import annotations

from gmbench.studies.stridernet import *  # noqa: F401,F403
from gmbench.studies.stridernet import __all__  # noqa: F401
