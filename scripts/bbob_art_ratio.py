#!/usr/bin/env python
"""Usage: python scripts/bbob_art_ratio.py STORE 1e-5[,1e-1] [10,20]

aRT (COCO: evaluations over all runs until hit or budget, / successes) per bbob function, dimension and
method from a gmbench store, against cocopp's shipped best2009 reference; median ratio per function group."""
import json, sqlite3, sys, warnings
import numpy as np
warnings.filterwarnings("ignore")
store, targets = sys.argv[1], [float(t) for t in sys.argv[2].split(",")]
dims = [int(d) for d in sys.argv[3].split(",")] if len(sys.argv) > 3 else [2, 5, 10, 20]
db = sqlite3.connect(store)
cells = db.execute("select key, label, problem_config, n_cost from cells where status='done'").fetchall()
runs = {}
for key, label, cfg, n_cost in cells:
    c = json.loads(cfg)
    fn = int(c["name"].split("-f")[1])
    tr = db.execute("select n_cost, gap, pred from traces where key=? order by idx", (key,)).fetchall()
    gaps = np.array([t[1] if t[1] is not None else np.inf for t in tr])
    pred = [t[2] for t in tr]
    pg = np.array([gaps[p] if p is not None and p >= 0 else np.inf for p in pred])  # the prediction's gap
    best = np.minimum.accumulate(pg) if len(pg) else pg
    ev = np.array([t[0] for t in tr])
    hit = {}
    for t in targets:
        i = np.searchsorted(-best, -t, side="left") if len(best) else 0
        hit[t] = ev[i] if i < len(best) else None
    runs.setdefault((label, fn, c["dim"]), []).append((hit, n_cost))
def art(rs, t):
    s = [h[t] for h, _ in rs if h[t] is not None]
    tot = sum(h[t] if h[t] is not None else n for h, n in rs)
    return tot / len(s) if s else np.inf, len(s), len(rs)
import cocopp.bestalg as b
ref = b.load_reference_algorithm("refalgs/best2009-bbob.tar.gz")
groups = {"separable f1-5": range(1, 6), "low/moderate cond. f6-9": range(6, 10), "high cond. f10-14": range(10, 15),
          "multimodal f15-19": range(15, 20), "weakly structured f20-24": range(20, 25)}
methods = sorted({k[0] for k in runs})
for t in targets:
    for d in dims:
        print(f"\nDelta f = {t:g}, D = {d}: median over the group's functions of aRT / aRT(best 2009) "
              "(inf: no run of the method reached it; [functions of the group solved by at least one run])\n")
        print("| method | " + " | ".join(groups) + " |")
        print("|---|" + "---|" * len(groups))
        for m in methods:
            cells = []
            for g, fns in groups.items():
                ratios, solved = [], 0
                for fn in fns:
                    rs = runs.get((m, fn, d))
                    if not rs:
                        continue
                    a, s, n = art(rs, t)
                    r0 = float(ref[(d, fn)].detERT([t])[0])
                    solved += s > 0
                    ratios.append(a / r0 if np.isfinite(r0) else np.nan)
                med = np.median(ratios) if ratios else np.nan
                cells.append(("inf" if not np.isfinite(med) else f"{med:.3g}") + f" [{solved}/{len(fns)}]")
            print(f"| {m} | " + " | ".join(cells) + " |")
