"""The text table of a ``gmbench perf`` run (the JSON is the run's dict itself)."""

from __future__ import annotations

from typing import Any

from gmbench.report.fmt import short as _fmt


def render(res: dict[str, Any]) -> str:
    from tabulate import tabulate

    m = res["machine"]
    rows = []
    for r in res["records"]:
        ratio = "-" if r["ratio"] is None else (f"{r['ratio']:.3g}x" if r["ratio_meaning"] != "fraction of the bandwidth bound"
                                                  else f"{100 * r['ratio']:.1f}%")
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        mem = _fmt(r["peak_mem_mb"]) + (f" / {_fmt(r['reference_peak_mem_mb'])}" if r["reference_peak_mem_mb"] is not None
                                        else "")
        ref_name = r["reference_name"] + (f" (v{r['peer_version']})" if r.get("peer_version") else "")
        if r["skipped"] and r["reference"] is None:
            ref_name = (ref_name + ": " if ref_name else "") + ("not installed" if "not installed" in r["notes"]
                                                                else "skipped")
        rows.append([r["figure"], r["name"] + (" (skipped)" if r["skipped"] else ""), _fmt(r["gmbench"]),
                     _fmt(r["reference"]), ref_name, r["unit"], ratio, (r["target"] + " " + met).strip(), mem])
    head = (f"gmbench perf{' --quick' if res['quick'] else ''} on {m['device']} ({m['device_name']}, "
            f"{m['cpu_count']} CPUs, {m['torch_threads']} torch threads); gmbench {m['gmbench']}, torch {m['torch']}, "
            f"numpy {m['numpy']}, Python {m['python']}; peers: "
            + ", ".join(f"{k.replace('_', '-')} {m.get(k) or 'not installed'}"
                        for k in ("ase", "jax", "jax_md", "torch_sim", "vesin", "vesin_torch", "cma", "ioh", "cocoex")) + "; "
            f"load average {m['load_average_start'][0]:.2f} -> {m['load_average_end'][0]:.2f}; {res['wall_s']:.0f} s")
    table = tabulate(rows, headers=["#", "figure", "gmbench", "reference", "reference is", "unit", "ratio", "target",
                                     "peak MiB (g / ref)"],
                     tablefmt="github", disable_numparse=True)
    notes = "\n".join(f"  [{r['figure']}] {r['name']}: {r['notes']}" for r in res["records"] if r["notes"])
    return (f"{head}\n\n{table}\n\nratio: speed-up over the reference; for energy+grad the fraction of the "
            f"bandwidth bound; for neighbour-list scaling time per atom relative to N = 100; for the peers "
            f"(jax-md, torch-sim, vesin, ASE, vectorised torch, pycma) gmbench's speed / the peer's on the same work.\n"
            f"peak memory: {res['peak_memory_method']}\n\nnotes:\n{notes}\n")
