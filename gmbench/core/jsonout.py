"""JSON that is JSON: non-finite floats (NaN, +-inf) become ``null``, which every parser accepts
(RFC 8259 section 6 has no NaN or Infinity; Python's ``json`` writes them unless told not to)."""

from __future__ import annotations

import json
import math
from typing import Any


def finite_or_none(obj: Any) -> Any:
    """``obj`` with every non-finite float (also inside dicts, lists and tuples) replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    try:  # numpy scalars
        import numpy as np

        if isinstance(obj, np.floating):
            return finite_or_none(float(obj))
        if isinstance(obj, np.integer):
            return int(obj)
    except ImportError:  # pragma: no cover
        pass
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that writes ``null`` for NaN/inf and never emits a bare ``NaN``."""
    return json.dumps(finite_or_none(obj), allow_nan=False, **kwargs)
