#!/usr/bin/env python
"""Usage: python scripts/plnet_ablation_table.py STORE (a store of suites/plnet-ablation.yaml)

Per variant x function x instance type: distances, how often the final pick is a warm-start candidate, the
energy change of phase 1 (the action iterations; for sample-only its continued sample training) against the
warm start's best, the median share of the action gradient per parameter group and how far the learned
minimum moved per iteration (trace scalars)."""
import sqlite3, json, numpy as np, sys
db = sqlite3.connect(sys.argv[1])
cells = db.execute("select key, label, problem_config, seed, final_dist, final_dist_nearest, final_energy, n_cost from cells where status='done'").fetchall()
def kind(c):
    i = int(c.get("instance", 0) or 0)
    return "i0" if i == 0 else ("rotated" if c.get("rotate") else "shifted")
rows = {}
for key, label, cfg, seed, d, dn, e, n in cells:
    c = json.loads(cfg)
    tr = db.execute("select energy, dist, dist_nearest, scalars from traces where key=? order by idx", (key,)).fetchall()
    sc = [json.loads(t[3]) for t in tr]
    act = [s for s in sc if s.get("phase") == 1.0]
    warm = [t for t, s in zip(tr, sc) if s.get("phase") == 0.0]
    best = min(range(len(tr)), key=lambda i: tr[i][0] if tr[i][0] is not None else 1e300)
    pick_warm = sc[best].get("phase") == 0.0
    warm_best = min((t[0] for t in warm if t[0] is not None), default=None)
    r = rows.setdefault((label, c["name"], kind(c)), {"d": [], "dn": [], "pick_warm": 0, "n": 0, "share": {k: [] for k in ("share_scale","share_c","share_orth","share_mon")}, "moved": [], "improve": [], "iters": []})
    r["d"].append(d); r["dn"].append(dn); r["n"] += 1; r["pick_warm"] += int(pick_warm)
    r["iters"].append(len(act))
    for s in act:
        for k in r["share"]:
            if k in s and s[k] == s[k]: r["share"][k].append(s[k])
        if s.get("moved") == s.get("moved") and "moved" in s: r["moved"].append(s["moved"])
    if warm_best is not None and e is not None:
        r["improve"].append((e - warm_best) / abs(warm_best) * 100)
def f(v):
    if v is None or v != v: return "—"
    a = abs(v)
    if a == 0: return "0"
    if a >= 1e4 or a < 1e-3: return f"{v:.1e}"
    if a >= 100: return f"{v:.0f}"
    return f"{v:.3g}"
def mm(xs):
    xs = [x for x in xs if x is not None]
    if not xs: return "—"
    xs = np.array(xs); return f"{f(np.median(xs))} [{f(xs.min())}, {f(xs.max())}]"
print("| variant | function | instance | dist to x* | dist to nearest | final pick from warm start | energy change by the action phase, % | share of the action gradient: scale / c / orth / mon | learned minimum moved per iteration | action iterations |")
print("|---|---|---|---|---|---|---|---|---|---|")
for (label, name, k), r in sorted(rows.items(), key=lambda x: (x[0][1], ["i0","shifted","rotated"].index(x[0][2]), x[0][0])):
    sh = " / ".join(f(np.median(r["share"][x])) if r["share"][x] else "—" for x in ("share_scale","share_c","share_orth","share_mon"))
    print(f"| {label} | {name} | {k} | {mm(r['d'])} | {mm(r['dn'])} | {r['pick_warm']}/{r['n']} | {mm(r['improve'])} | {sh} | {mm(r['moved'])} | {mm(r['iters'])} |")
