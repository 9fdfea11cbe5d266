"""Reference rows for function tables, computed by the harness from the problem, never by a method.

Two answer-free guesses a reader can compare every method with:

* ``(box centre)``: the centre of the box, its distance to the designated minimizer x* and to the
  nearest global minimizer, and its energy. On the published (instance 0) functions with x* = 0 in a
  symmetric box the centre *is* the answer, which is why instances (``instances:`` in a suite) exist.
* ``(uniform point)``: a point drawn uniformly in the box: the expected distances, estimated as the
  mean over :data:`N_UNIFORM` points drawn with a fixed seed, and the median energy.

A method whose row is no better than these did no better than guessing.
"""

from __future__ import annotations

from typing import Any

import torch


N_UNIFORM = 4096
SEED = 0
CENTRE = "(box centre)"
UNIFORM = "(uniform point)"
NOTE = (f"{CENTRE} and {UNIFORM} are reference rows computed by the harness, not by a method: the centre of the box, "
        f"and a uniform random point in it (mean distances over {N_UNIFORM:,} uniform points, seed {SEED}; median "
        "energy).")
SECRET_NOTE = ("Reference rows are not shown for instances derived from a suite secret: the report does not know "
               "the secret, so it cannot rebuild x*.")

def _one(v: float) -> dict[str, float]:
    return {"median": float(v), "min": float(v), "max": float(v), "n": 1}


def reference_values(problem) -> dict[str, dict[str, Any]]:
    """``{CENTRE: {...}, UNIFORM: {...}}`` with ``dist`` (to x*), ``dist_nearest``, ``nearest_exact``
    and ``energy``, all float64 (batched; no per-point Python loop)."""
    lo, hi = problem.lower, problem.upper
    centre = (0.5 * (lo + hi)).unsqueeze(0)
    g = torch.Generator().manual_seed(SEED)
    pts = lo + (hi - lo) * torch.rand(N_UNIFORM, problem.dim, generator=g, dtype=torch.float64)
    f = problem.energy_fn()
    xs = problem.x_star()
    out = {}
    for label, x in ((CENTRE, centre), (UNIFORM, pts)):
        e = f(x)
        dist = torch.linalg.vector_norm(x - xs, dim=-1) if xs is not None else None
        near, exact = problem.nearest_minimizer(x)
        dn = torch.linalg.vector_norm(x - near, dim=-1) if near is not None else None
        out[label] = {
            "dist": None if dist is None else float(dist.mean()),
            "dist_nearest": None if dn is None else float(dn.mean()),
            "nearest_exact": bool(exact),
            "energy": float(e.median()) if label == UNIFORM else float(e[0]),
        }
    return out


def reference_records(suite: str, problem_key: str, cfg: dict[str, Any], template: dict[str, Any],
                      values: dict[str, dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The two reference records of one function table, shaped like its method records (``template``
    gives the keys), flagged ``reference: True``, from ``values`` (:func:`reference_values`, recorded in
    the store when the suite ran); [] where there are none (a secret instance, a problem not rebuilt)."""
    if not values:
        return []
    recs = []
    for label, v in values.items():
        rec = {k: None for k in template if k != "stale"}  # a reference row is never stale
        rec.update({
            "suite": suite, "problem": problem_key, "method": label, "reference": True,
            "seeds_done": 0, "seeds_total": 0, "failed": 0, "errors": [], "config": cfg,
            "nearest_exact": v["nearest_exact"], "layout": template.get("layout"),
        })
        dim = cfg.get("dim") or 1
        if v["dist"] is not None:
            rec["min_dist"] = rec["final_dist"] = _one(v["dist"])
            rec["avg_err_per_dim"] = _one(v["dist"] / dim ** 0.5)
        if v["dist_nearest"] is not None:
            rec["final_dist_nearest"] = _one(v["dist_nearest"])
        rec["final_energy"] = _one(v["energy"])
        if cfg.get("f_star") is not None:  # the gap column of tables whose f* is not 0 (bbob)
            rec["final_gap"] = _one(v["energy"] - float(cfg["f_star"]))
        recs.append(rec)
    return recs


def with_reference_rows(records: list[dict[str, Any]], reference_of) -> list[dict[str, Any]]:
    """``records`` with the reference records inserted after the last method record of each function
    table (``reference_of(config)``: the recorded reference values, None where there are none)."""
    out: list[dict[str, Any]] = []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["suite"], r["problem"]), []).append(r)
    for (suite, pkey), rs in groups.items():
        out += rs
        cfg = rs[0].get("config") or {}
        if rs[0].get("layout", "functions") == "functions":
            out += reference_records(suite, pkey, cfg, rs[0], reference_of(cfg))
    return out


def secret_instances(records: list[dict[str, Any]]) -> bool:
    return any((r.get("config") or {}).get("secret_sha256") for r in records)
