"""Figures from the store (matplotlib, Agg): the seed paper's Figures 2-4 and anytime curves."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from gmbench.core.errors import GmbenchError
from gmbench.store.sqlite import Store


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def load_traces(store: Store, suite: str) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """{problem label: {method label: [trace of each done cell]}}."""
    df = store.cells_frame(suite)
    df = df[df["status"] == "done"]
    out: dict[str, dict[str, list]] = {}
    for _, row in df.iterrows():
        cfg = json.loads(row["slot_problem_config"])
        problem = f"{cfg['name']} (D={cfg.get('dim')})"
        trace = list(store.trace(row["key"]))
        if trace:
            out.setdefault(problem, {}).setdefault(row["slot_label"], []).append(trace)
    return out


def best_so_far(trace: list[dict[str, Any]]) -> list[tuple[float, float, float, float]]:
    """(evaluations, time, energy, distance) of the lowest-energy candidate so far, at every report."""
    best_e, best_d, rows = math.inf, math.nan, []
    for r in trace:
        e = r["energy"]
        if e is not None and e < best_e:
            best_e, best_d = e, (r["dist"] if r["dist"] is not None else math.nan)
        rows.append((r["n_energy"], r["t"], best_e, best_d))
    return rows


def iteration_axis(rows: list[dict[str, Any]]) -> list[float]:
    """x values for per-iteration plots: warm-start reports (phase 0, all at iteration 0) spread evenly over
    [−1, 0], action/sample iterations at their iteration number."""
    n_warm = sum(1 for r in rows if r["scalars"].get("phase") == 0)
    xs, k = [], 0
    for r in rows:
        if r["scalars"].get("phase") == 0:
            xs.append(-1 + k / (n_warm - 1) if n_warm > 1 else 0.0)
            k += 1
        else:
            xs.append(r["scalars"]["iteration"])
    return xs


def plot_suite(store: Store, suite: str, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = load_traces(store, suite)
    if not data:
        raise GmbenchError(f"no finished cells of suite {suite!r} in {store.path}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    def style(i: int, j: int, label: str) -> dict[str, Any]:
        """Method i's colour; one legend entry per method (its first seed j = 0), later seeds fainter."""
        return {"color": colors[i % len(colors)], "lw": 1.2, "label": label if j == 0 else None,
                "alpha": 1.0 if j == 0 else 0.45}

    for problem, methods in data.items():
        base = _slug(f"{suite}_{problem}")
        iterative = {m: ts for m, ts in methods.items() if any("iteration" in r["scalars"] for t in ts for r in t)}
        # Figures 2/3: energy and distance of each iteration's learned minimum, over iterations and over time
        if iterative:
            for xkey, xlabel, suffix in (("iteration", "iteration", "iterations"), ("t", "wall time [s]", "time")):
                fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
                for i, (m, traces) in enumerate(iterative.items()):
                    for j, t in enumerate(traces):
                        rows = [r for r in t if "iteration" in r["scalars"]]
                        xs = iteration_axis(rows) if xkey == "iteration" else [r["t"] for r in rows]
                        kw = style(i, j, m)
                        axes[0].plot(xs, [r["energy"] for r in rows], **kw)
                        axes[1].plot(xs, [r["dist"] for r in rows], **kw)
                axes[0].set_ylabel("true energy of the learned minimum")
                axes[1].set_ylabel("distance of the learned minimum to x*")
                for ax in axes:
                    ax.set_xlabel(xlabel + (" (warm start in [−1, 0])" if xkey == "iteration" else ""))
                    ax.grid(alpha=0.3)
                    ax.legend()
                if xkey == "t":
                    axes[0].set_xscale("log")
                    axes[1].set_xscale("log")
                fig.suptitle(f"{problem}: learned minimum per iteration (suite {suite}; one line per seed)")
                path = out_dir / f"{base}_learned_minimum_{suffix}.png"
                fig.savefig(path, dpi=120)
                plt.close(fig)
                written.append(path)
        # Figure 4: trajectory loss over iterations
        lossy = {m: ts for m, ts in methods.items() if any("traj_loss" in r["scalars"] for t in ts for r in t)}
        if lossy:
            fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
            for i, (m, traces) in enumerate(lossy.items()):
                for j, t in enumerate(traces):
                    rows = [r for r in t if "traj_loss" in r["scalars"]]
                    ax.plot([r["scalars"]["iteration"] for r in rows], [r["scalars"]["traj_loss"] for r in rows],
                            **style(i, j, m))
            ax.set_xlabel("iteration")
            ax.set_ylabel("mean-squared y loss on the GD trajectories")
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
            ax.legend()
            ax.set_title(f"{problem}: trajectory loss")
            path = out_dir / f"{base}_trajectory_loss.png"
            fig.savefig(path, dpi=120)
            plt.close(fig)
            written.append(path)
        # anytime: best-so-far (lowest-energy) prediction's distance and energy versus evaluations
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
        for i, (m, traces) in enumerate(methods.items()):
            for j, t in enumerate(traces):
                rows = best_so_far(t)
                kw = style(i, j, m) | {"drawstyle": "steps-post"}
                axes[0].plot([max(r[0], 1) for r in rows], [r[3] for r in rows], **kw)
                axes[1].plot([max(r[0], 1) for r in rows], [r[2] for r in rows], **kw)
        axes[0].set_ylabel("distance to x* of the best-so-far prediction")
        axes[1].set_ylabel("energy of the best-so-far prediction")
        for ax in axes:
            ax.set_xscale("log")
            ax.set_xlabel("energy evaluations")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        positive = [r[2] for ts in methods.values() for t in ts for r in best_so_far(t) if r[2] is not None and r[2] > 0]
        if positive and all(r[2] > 0 for ts in methods.values() for t in ts for r in best_so_far(t) if math.isfinite(r[2])):
            axes[1].set_yscale("log")
        fig.suptitle(f"{problem}: anytime performance (suite {suite}; one line per seed)")
        path = out_dir / f"{base}_anytime.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written
