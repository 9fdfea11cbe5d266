"""The filter's tables (``gmbench filter``, ``gmbench report --filter``)."""

from __future__ import annotations

import math
from typing import Any

from gmbench.report.fmt import opt as _f
from gmbench.report.fmt import table as _table
from gmbench.studies.filter.config import BOUND, PAPER_2, PAPER_8, PAPER_14, THRESHOLD, FilterConfig
from gmbench.studies.filter.run import FilterResult


def _yn(b: Any) -> str:
    return "—" if b is None else ("yes" if b else "no")


def _kept(b: Any) -> str:
    return "—" if b is None else ("KEPT" if b else "dropped")


def learn_verdict(per_seed: dict[Any, dict[str, Any]]) -> tuple[int, int, bool]:
    """(passes, seeds with a result, learnable by majority)."""
    vals = [r.get("learnable") for r in per_seed.values() if r.get("learnable") is not None]
    k = sum(1 for v in vals if v)
    return k, len(vals), bool(vals) and 2 * k > len(vals)


def render(res: FilterResult) -> str:
    """The three tables and the final comparison, as plain text."""
    meta = res.config
    s = meta["settings"]
    parts: list[str] = []
    lrs = FilterConfig(**{**s, "seeds": tuple(s["seeds"])}).lrs()
    parts.append(
        f"gmbench filter (scale {s['scale']}): step 2 D={s['dim']}, {s['points']} points, {s['steps']} steps, "
        f"{len(lrs)} learning rates {lrs[0]:g}..{lrs[-1]:g}, seed {s['seeds'][0]}; step 3 d={s['learn_dim']}, "
        f"{s['learn_steps']} steps x {s['learn_points']} points, width {s['width']}, seeds {s['seeds']}; "
        f"device {s['device']}; bounds [-{BOUND:g}, {BOUND:g}]")

    # step 1
    s1 = res.step1
    rows = [[r["F"], r["function"], _yn(r["continuous"]), _yn(r["differentiable"]), _yn(r["multimodal"]),
             _yn(r["global_min_defined"]), _yn(r["unique_minimizer"]), _kept(r["declared"]), _kept(r["paper"]),
             "DIFFERS" if r["difference"] else ""] for r in s1]
    parts.append(f"\nStep 1: properties of the 30 functions (declared, at D={s['dim']}; F18* = the paper's "
                 "variant schaffer-f7-paper)\n"
                 + _table(rows, ["F", "function", "continuous", "differentiable", "multimodal", "global min in R^D",
                                 "unique x*", "declared", "paper", ""]))
    ours1 = [r["function"] for r in s1 if r["declared"]]
    parts.append(f"paper's 14: {', '.join(PAPER_14)}")
    parts.append(f"declared properties give {len(ours1)}: {', '.join(ours1)}")
    diffs = [r for r in s1 if r["difference"]]
    parts.append(f"differences ({len(diffs)}):")
    for r in diffs:
        parts.append(f"  {r['function']}: {r['difference']}")
    loose_extra = [r["function"] for r in s1 if r["loose"] and not r["declared"]]
    parts.append("'defined global minimum' is read as attained in R^D by a unique minimizer; reading it as "
                 "attained only would add: " + (", ".join(loose_extra) or "nothing"))
    if s["until"] < 2:
        return "\n".join(parts)

    # step 2
    src = ("the paper's 14; --step2-from ours for the declared list" if s["step2_from"] == "paper"
           else "the declared-property list (--step2-from ours)")
    scaled = THRESHOLD * math.sqrt(s["dim"] / 1000)  # the paper's 5 is 0.16 per coordinate at D = 1000
    rows = []
    for name, r in res.step2.items():
        note = []
        if r.get("error"):
            note.append(r["error"])
        if r.get("oob"):
            note.append(f"prediction outside the box by {r['oob']:.3g}")
        if r.get("kept") is not None and r.get("xstar_kept") is not None and r["kept"] != r["xstar_kept"]:
            note.append(f"x* distance would decide {_kept(r['xstar_kept'])}")
        if s["dim"] != 1000 and r.get("dist_nearest") is not None and (r["dist_nearest"] > scaled) != r.get("kept"):
            note.append(f"the per-coordinate threshold 5*sqrt(D/1000) = {scaled:.3g} would decide "
                        f"{_kept(r['dist_nearest'] > scaled)}")
        dn = r.get("dist_nearest")
        rows.append([name, _yn(name in PAPER_14), _yn(name in ours1), _f(r.get("energy")), _f(r.get("lr"), "g"),
                     _f(dn), _f(None if dn is None else dn / math.sqrt(s["dim"]), ".3g"), _f(r.get("dist_xstar")),
                     _kept(r.get("kept")),
                     _kept(name in PAPER_8), "; ".join(note)])
    parts.append(f"\nStep 2: can Adam solve it? (input: {src}; kept if the lowest-energy prediction is > {THRESHOLD:g} "
                 "from the nearest global minimizer)\n"
                 + _table(rows, ["function", "paper 14", "declared", "E(pred)", "lr", "dist nearest", "/sqrt(D)",
                                 "dist x*", "ours", "paper", "note"]))
    kept2 = meta.get("step2_kept", [n for n, r in res.step2.items() if r.get("kept")])
    parts.append(f"kept {len(kept2)}: {', '.join(kept2)}")
    parts.append(f"paper's 8: {', '.join(PAPER_8)}")
    if s["until"] < 3:
        return "\n".join(parts)

    # step 3
    rows = []
    for name, per in res.step3.items():
        k, m, ok = learn_verdict(per)
        ratios = ", ".join(_f(r.get("ratio"), ".3f") for r in per.values())
        notes = {r["note"] for r in per.values() if r.get("note")} | {r["error"] for r in per.values() if r.get("error")}
        rs = [r["ratio"] for r in per.values() if r.get("ratio") is not None]
        if ok and rs and all(abs(1.0 - x) < 0.02 for x in rs):
            notes.add("marginal: every ratio within 2% of 1")
        note = "; ".join(sorted(notes))
        rows.append([name, _yn(name in kept2), _yn(name in PAPER_8), ratios, f"{k}/{m}", _kept(ok),
                     _kept(name in PAPER_2), note])
    parts.append("\nStep 3: learnable by a plain MLP? (loss/baseline on held-out batches per seed; learnable if < 1 "
                 "in a majority of seeds)\n"
                 + _table(rows, ["function", "passed step 2", "paper 8", "loss/baseline per seed", "passes",
                                 "ours", "paper", "note"]))

    # final
    final = [n for n in kept2 if learn_verdict(res.step3.get(n, {}))[2]]
    names = list(dict.fromkeys(PAPER_14 + ours1))
    rows = []
    for n in names:
        learn = learn_verdict(res.step3[n])[2] if n in res.step3 else None
        s2 = res.step2.get(n, {}).get("kept") if n in res.step2 else None
        rows.append([n, _yn(n in PAPER_14), _yn(n in ours1), _kept(s2), _kept(n in PAPER_8),
                     _kept(learn), _kept(n in PAPER_2), _kept(n in final), _kept(n in PAPER_2),
                     "" if (n in final) == (n in PAPER_2) else "DIFFERS"])
    parts.append("\nFinal selection, ours beside the paper's\n"
                 + _table(rows, ["function", "step 1 paper", "step 1 declared", "step 2 ours", "step 2 paper",
                                 "step 3 ours", "step 3 paper", "final ours", "final paper", ""]))
    parts.append(f"ours ({len(final)}): {', '.join(final) or 'none'}")
    parts.append(f"paper's ({len(PAPER_2)}): {', '.join(PAPER_2)}")
    return "\n".join(parts)
