"""``gmbench export``: the store's runs and traces in formats other tools read.

* ``csv`` / ``parquet``: ``runs.{csv,parquet}`` (one row per run, with its full configuration:
  problem, instance, method and its resolved parameters (``param.<name>`` columns and the JSON),
  seed, budget, device, dtype, gmbench version and code fingerprint, the run manifest's torch version,
  device name, host and git commit) and ``traces.{csv,parquet}`` (one row per reported candidate).
  Parquet needs pyarrow (``pip install 'gmbench[export]'``).
* ``extxyz``: per atomistic problem, one extended-XYZ file with the reference structure (where the
  problem has one) and the best structure of every run, each with its energy (ASE's format; ASE is
  optional, ``pip install ase``).
* ``coco``: COCO data folders readable by cocopp (Hansen et al., "COCO: a platform for comparing
  continuous optimizers in a black-box setting", 2021; the data formats are those of the COCO ``bbob``
  logger, ``data_format = 'bbob-new2'``), one per COCO suite and method: ``bbob/<method>/`` holds the
  runs on gmbench's bbob problems (``gmbench/problems/functions/bbob.py``) under suite ``bbob`` with
  their true function number, COCO instance and dimension, so cocopp reads them beside its archived
  bbob data; ``gmbench/<method>/`` every other problem under the suite name ``gmbench`` (unknown to
  cocopp, so never mistaken for bbob), numbered F = 1, 2, ... in the order of ``README.txt`` (at most
  24), COCO instance = gmbench instance + 1. One trial per seed; f - fopt is the energy gap to f* (to
  the best energy any stored run reached where f* is unknown). Each .dat/.tdat trial begins at
  evaluation 1 (cocopp needs it); where a method reported its first candidate later, that line holds
  the placeholder f - fopt = 1e30 (:data:`COCO_NO_VALUE`: gmbench keeps no value before the first
  reported candidate). ``.dat`` has a line at every improvement of the prediction (the lowest-energy
  candidate reported so far) and ``.tdat`` one at evaluation counts ⌊10^(i/20)⌋ and at the end; x is not
  logged (traces keep no coordinates). Method folders are safe names (see :func:`method_folders`).
  Post-process with ``python -m cocopp -o ppdata bbob/<method> ...`` or the generated ``run_cocopp.py``.

The export folder must be new or empty (``--force`` writes into a non-empty one). The store is opened read-only.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gmbench.core.errors import GmbenchError

EXPORT_FORMATS = ("csv", "parquet", "coco", "extxyz")
COCO_MAX_FUNCTIONS = 24


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "x"


def open_store(path: Path) -> Any:
    from gmbench.store.sqlite import Store

    return Store(path, create=False)  # read-only (mode=ro)


def runs_frame(store: Any, suite: str | None = None) -> pd.DataFrame:
    """One row per stored run (done or failed) with its configuration flattened into columns."""
    if suite is not None and suite not in store.suites():
        raise GmbenchError(f"suite {suite!r} has no results in {store.path} (stored suites: "
                           f"{', '.join(store.suites()) or 'none'})")
    if suite is None:
        df = pd.read_sql_query("SELECT * FROM cells ORDER BY started", store.db)
    else:
        df = pd.read_sql_query(
            "SELECT c.* FROM suite_cells s JOIN cells c ON c.key = s.key WHERE s.suite = ? ORDER BY s.rowid",
            store.db, params=(suite,))
        df["suite"] = suite
    if df.empty:
        raise GmbenchError(f"no stored runs{f' of suite {suite!r}' if suite else ''} in {store.path}")
    df = df.drop(columns=["best_x"], errors="ignore")
    pconf = [json.loads(c) if isinstance(c, str) else {} for c in df["problem_config"]]
    mconf = [json.loads(c) if isinstance(c, str) else {} for c in df["method_config"]]
    budget = [json.loads(c) if isinstance(c, str) else {} for c in df["budget"]]
    df.insert(df.columns.get_loc("problem") + 1, "instance", [int(c.get("instance", 0) or 0) for c in pconf])
    df.insert(df.columns.get_loc("instance") + 1, "rotate", [bool(c.get("rotate", False)) for c in pconf])
    df.insert(df.columns.get_loc("rotate") + 1, "bounds_lo", [(c.get("bounds") or [None, None])[0] for c in pconf])
    df.insert(df.columns.get_loc("bounds_lo") + 1, "bounds_hi", [(c.get("bounds") or [None, None])[1] for c in pconf])
    df["budget_time_s"] = [b.get("time_s") for b in budget]
    df["budget_evals"] = [b.get("evals") for b in budget]
    params = pd.DataFrame([{f"param.{k}": (json.dumps(v) if isinstance(v, (list, dict)) else v)
                            for k, v in (m.get("params") or {}).items()} for m in mconf], index=df.index)
    man = {r["run_id"]: json.loads(r["manifest"]) if r.get("manifest") else {} for r in store.runs()}
    for col, key in (("gmbench", "gmbench"), ("code", "code"), ("git_commit", "git_commit"), ("python", "python"),
                     ("torch", "torch"), ("device_name", "device_name"), ("cpu", "cpu"), ("host", "host")):
        df[f"manifest.{col}"] = [_manifest_get(man.get(r), key) for r in df["run_id"]]
    return pd.concat([df, params], axis=1)


def _manifest_get(m: dict[str, Any] | None, key: str) -> Any:
    if not m:
        return None
    if key in m:
        v = m[key]
        return json.dumps(v) if isinstance(v, (dict, list)) else v
    for v in m.values():  # one level of nesting (e.g. versions: {torch: ...})
        if isinstance(v, dict) and key in v:
            return v[key] if not isinstance(v[key], (dict, list)) else json.dumps(v[key])
    return None


def traces_frame(store: Any, runs: pd.DataFrame) -> pd.DataFrame:
    keys = list(runs["key"])
    parts = []
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        parts.append(pd.read_sql_query(f"SELECT * FROM traces WHERE key IN ({','.join('?' * len(chunk))}) "
                                       "ORDER BY key, idx", store.db, params=chunk))
    tr = pd.concat(parts, ignore_index=True)
    ids = runs[["key", "suite", "problem", "instance", "label", "seed"]].drop_duplicates("key")
    return ids.merge(tr, on="key", how="right")


def check_out(out: Path, force: bool = False) -> None:
    """The export folder must be new or empty (an export never mixes with, or silently overwrites, what
    is there); ``force`` writes into a non-empty folder, replacing files of the same name."""
    if out.exists() and not out.is_dir():
        raise GmbenchError(f"--out {out} is a file, not a folder")
    if not force and out.is_dir() and any(out.iterdir()):
        raise GmbenchError(f"--out {out} is not empty: export into a new or empty folder, or pass --force to "
                           "write into it (files of the same name are replaced)")


def export(store_path: Path, fmt: str, out: Path, suite: str | None = None, force: bool = False,
           notes: list[str] | None = None) -> list[Path]:
    """Write the export; returns the files (or folders, for coco) written. ``notes`` collects what the
    user should know (a method label written to a folder of another name)."""
    if fmt not in EXPORT_FORMATS:
        raise GmbenchError(f"unknown export format {fmt!r} (use one of {', '.join(EXPORT_FORMATS)})")
    check_out(out, force)
    store = open_store(store_path)
    try:
        runs = runs_frame(store, suite)
        try:
            if fmt in ("csv", "parquet"):
                return _tables(store, runs, fmt, out)
            if fmt == "extxyz":
                return export_extxyz(store, runs, out)
            return export_coco(store, runs, out, notes)
        except OSError as exc:
            raise GmbenchError(f"cannot write the export to {out}: {exc.strerror or exc}") from exc
    finally:
        store.close()


def _tables(store: Any, runs: pd.DataFrame, fmt: str, out: Path) -> list[Path]:
    traces = traces_frame(store, runs)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        paths = [out / "runs.csv", out / "traces.csv"]
        runs.to_csv(paths[0], index=False)
        traces.to_csv(paths[1], index=False)
        return paths
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise GmbenchError("parquet export needs pyarrow: pip install 'gmbench[export]' (or pyarrow)") from None
    paths = [out / "runs.parquet", out / "traces.parquet"]
    runs.to_parquet(paths[0], index=False)
    traces.to_parquet(paths[1], index=False)
    return paths


# ---- extxyz -----------------------------------------------------------------------------------------

def export_extxyz(store: Any, runs: pd.DataFrame, out: Path) -> list[Path]:
    try:
        from ase import Atoms
        from ase.io import write
    except ImportError:
        raise GmbenchError("extxyz export needs ASE: pip install ase") from None
    atoms_runs = runs[[("n_atoms" in json.loads(c)) if isinstance(c, str) else False for c in runs["problem_config"]]]
    atoms_runs = atoms_runs[atoms_runs["status"] == "done"]
    if atoms_runs.empty:
        raise GmbenchError("no finished atomistic run to export as extxyz (functions have no structure)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for pconf, pr in atoms_runs.groupby("problem_config", sort=False):
        cfg = json.loads(pconf)
        frames = []
        species, cell, pbc = _structure_meta(cfg)
        ref = _reference(cfg)
        if ref is not None:
            a = Atoms(symbols=species, positions=ref, cell=cell, pbc=pbc)
            a.info.update({"energy": float(cfg["f_star"]), "kind": "reference", "problem": cfg["name"]})
            frames.append(a)
        keys = list(pr["key"])
        blobs = dict(store.db.execute(f"SELECT key, best_x FROM cells WHERE key IN ({','.join('?' * len(keys))})",
                                      keys).fetchall())
        for r in pr.itertuples(index=False):
            blob = blobs.get(r.key)
            if blob is None:
                continue
            x = np.frombuffer(blob, dtype=np.float64).reshape(-1, 3)
            a = Atoms(symbols=species, positions=x, cell=cell, pbc=pbc)
            a.info.update({"energy": float(r.final_energy), "kind": "best", "key": r.key, "suite": r.suite,
                           "method": r.label, "seed": int(r.seed), "problem": cfg["name"]})
            if r.final_gap is not None and not (isinstance(r.final_gap, float) and math.isnan(r.final_gap)):
                a.info["gap"] = float(r.final_gap)
            frames.append(a)
        path = out / f"{_slug(cfg['name'])}_{_slug(str(cfg.get('n_atoms')))}atoms_{_slug(_short_hash(pconf))}.extxyz"
        write(str(path), frames, format="extxyz")
        written.append(path)
    return written


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _structure_meta(cfg: dict[str, Any]) -> tuple[list[str], Any, bool]:
    """Chemical symbols (LJ particles written as Ar, the B species of binary mixtures as Kr unless the
    problem names its species), the periodic cell and pbc flag."""
    from gmbench.problems import make_problem

    n = int(cfg["n_atoms"])
    species: list[Any] = []
    for kw in ({"n": n}, {}):
        try:
            st = make_problem(cfg["name"], **kw).structure()
        except Exception:  # e.g. a problem without an ``n`` parameter; or one this gmbench cannot rebuild
            continue
        sp = getattr(st, "species", None)
        if st.n_atoms == n:
            species = [] if sp is None else [int(v) for v in sp.tolist()]
            break
    symbols = _symbols(species, n, cfg)
    box = cfg.get("box")
    if cfg.get("space") == "periodic" and box:
        b = np.asarray(box, dtype=float)
        cell = np.diag(b if b.ndim else np.full(3, float(b)))
        return symbols, cell, True
    return symbols, None, False


def _symbols(species: list[Any], n: int, cfg: dict[str, Any]) -> list[str]:
    names = cfg.get("species_names") or cfg.get("elements")
    if species and len(species) == n:
        if all(isinstance(s, str) for s in species):
            return list(species)
        table = names or ["Ar", "Kr", "Xe", "Ne"]
        return [table[int(s) % len(table)] for s in species]
    return ["Ar"] * n


def _reference(cfg: dict[str, Any]) -> np.ndarray | None:
    """The reference structure of a cluster with a known minimum (rebuilt by its problem; never a method's)."""
    if cfg.get("f_star") is None:
        return None
    try:
        from gmbench.problems import make_problem

        p = make_problem(cfg["name"])
        xs = p.x_star()
        return None if xs is None else xs.detach().cpu().double().numpy().reshape(-1, 3)
    except Exception:
        return None


# ---- COCO ----------------------------------------------------------------------------------------------

COCO_BBOB = "bbob"  # gmbench's bbob problems (gmbench/problems/functions/bbob.py): COCO's own functions
COCO_OTHER = "gmbench"  # every other problem: a suite name cocopp does not know, so it never reads them as bbob
_FOLDER_MAX = 64
#: f - fopt logged at evaluation 1 when a method's first candidate came later: COCO's observer logs every
#: trial from evaluation 1 (cocopp needs it), gmbench stores no value before the first reported candidate, so
#: a placeholder worse than every target stands there (no target counts as reached before that candidate).
#: cocopp cannot align an infinite value (its target ladder never reaches it), hence a finite one.
COCO_NO_VALUE = 1e30
_FIRST_ROW = "1 0 {:+.9e} {{0:+.9e}} {{0:+.9e}}".format(COCO_NO_VALUE)


def _best_known(store: Any) -> dict[str, float]:
    rows = store.db.execute("SELECT problem_config, MIN(final_energy) FROM cells WHERE status='done' "
                            "GROUP BY problem_config").fetchall()
    return {c: float(e) for c, e in rows if c is not None and e is not None}


def coco_checkpoints(max_evals: float) -> np.ndarray:
    """COCO's .tdat evaluation counts: ⌊10^(i/20)⌋, distinct, up to ``max_evals``."""
    i = np.arange(0, int(20 * math.log10(max(max_evals, 1.0))) + 2)
    return np.unique(np.floor(10 ** (i / 20)).astype(np.int64))


def method_folders(labels: list[str]) -> tuple[dict[str, str], list[str]]:
    """A safe, distinct folder name per method label, and a note for every label that is not its own
    folder name. Names keep [A-Za-z0-9_.-] only and never start with a dot (no ``..``, no hidden
    folder, no path separator: nothing lands outside the export folder); a label that had to change
    (or is longer than 64 characters) gets a hash of the full label appended, so two labels never share
    a folder, also on case-insensitive file systems."""
    folders: dict[str, str] = {}
    for label in labels:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).lstrip(".").strip("_")[:_FOLDER_MAX] or "method"
        folders[label] = base if base == label else f"{base}-{_short_hash(label)}"
    by_key: dict[str, list[str]] = {}
    for label, folder in folders.items():
        by_key.setdefault(folder.casefold(), []).append(label)
    for group in by_key.values():
        if len(group) > 1:  # e.g. "Adam" and "adam": one folder on macOS/Windows
            for label in group:
                if folders[label] == label:
                    folders[label] = f"{label}-{_short_hash(label)}"
    if len({f.casefold() for f in folders.values()}) != len(folders):
        raise GmbenchError("two method labels map to one export folder: " + ", ".join(sorted(map(repr, folders))))
    notes = [f"method {label!r} is in folder {folder!r}" for label, folder in folders.items() if folder != label]
    return folders, notes


def _alg_id(label: str) -> str:
    """The label as cocopp's .info header can hold it (single quotes delimit the value)."""
    return re.sub(r"['\"\r\n]", "_", label)


def _coco_key(cfg: dict[str, Any], label_of: str) -> tuple[str, str]:
    """(COCO suite, function key) of one stored problem configuration."""
    if cfg.get("family") == "bbob" and isinstance(cfg.get("function"), int):
        return COCO_BBOB, f"f{cfg['function']}"
    return COCO_OTHER, label_of


def export_coco(store: Any, runs: pd.DataFrame, out: Path, notes: list[str] | None = None) -> list[Path]:
    """One COCO data folder per (COCO suite, method): ``bbob/<method>/`` holds the runs on gmbench's bbob
    problems under their true function number, instance and dimension (suite ``bbob``: cocopp compares
    them with its archived bbob data and reference algorithms), ``gmbench/<method>/`` every other problem,
    numbered in the order of README.txt under the suite name ``gmbench`` (which cocopp does not know, so
    it never mistakes them for bbob; run_cocopp.py registers it). Each .dat/.tdat trial begins at
    evaluation 1, as COCO's observer logs it; gmbench knows no value before a method's first reported
    candidate, so that line carries f - f_opt = :data:`COCO_NO_VALUE` when the first report came later
    (no target is credited before it)."""
    from gmbench import __version__
    from gmbench.report.labels import problem_label

    done = runs[runs["status"] == "done"].copy()
    if done.empty:
        raise GmbenchError("no finished run to export")
    cfgs = [json.loads(c) for c in done["problem_config"]]
    keys = [_coco_key(c, problem_label({k: v for k, v in c.items() if k != "dim"})) for c in cfgs]
    done["coco_cfg"] = cfgs
    done["coco_suite"] = [k[0] for k in keys]
    done["coco_fun"] = [k[1] for k in keys]
    other = list(dict.fromkeys(f for s, f in keys if s == COCO_OTHER))
    if len(other) > COCO_MAX_FUNCTIONS:
        raise GmbenchError(f"{len(other)} problems that are not bbob: cocopp's single-objective testbed has "
                           f"{COCO_MAX_FUNCTIONS} function slots; export one suite (--suite) with fewer problems")
    fid = {(COCO_OTHER, f): i + 1 for i, f in enumerate(other)}
    fid.update({(COCO_BBOB, f): int(f[1:]) for s, f in keys if s == COCO_BBOB})
    folders, renamed = method_folders(list(dict.fromkeys(done["label"])))
    if notes is not None:
        notes.extend(renamed)
    best = _best_known(store)
    traces = traces_frame(store, done)
    by_key = dict(tuple(traces.groupby("key", sort=False)))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for (csuite, label), mr in done.groupby(["coco_suite", "label"], sort=False):
        alg = out / csuite / folders[label]
        alg.mkdir(parents=True, exist_ok=True)
        for (fun, dim), fr in mr.groupby(["coco_fun", "dim"], sort=False):
            f, d = fid[(csuite, fun)], int(dim)
            data_dir = alg / f"data_f{f}"
            data_dir.mkdir(exist_ok=True)
            stem = f"bbobexp_f{f}_DIM{d}"
            dat, tdat, entries = [], [], []
            fopt_note = ""
            for r in fr.sort_values(["instance", "seed"]).itertuples(index=False):
                cfg = r.coco_cfg
                f_star = cfg.get("f_star")
                t = by_key.get(r.key)
                if t is None or t.empty:
                    continue
                e = t["energy"].astype(float).to_numpy()
                if f_star is not None or t["gap"].notna().any():
                    fopt = float(f_star) if f_star is not None else float(np.nanmedian(e - t["gap"].astype(float)))
                    fopt_note = "energy gap E - f*"
                else:
                    fopt = best.get(r.problem_config, float(np.nanmin(e)))
                    fopt_note = "gap to the best energy any stored run reached (no known minimum)"
                ev = t["n_energy"].astype(float).to_numpy()
                bsf = np.fmin.accumulate(np.where(np.isfinite(e), e, np.inf))
                gap = np.maximum(bsf - fopt, 0.0)  # below the reference (float rounding): reached every target
                inst = int(r.instance) if csuite == COCO_BBOB else int(r.instance) + 1
                head = (f"%% iter/random seed: {int(r.seed)}; gmbench key {r.key}\n"
                        f"% f evaluations | g evaluations | best noise-free fitness - Fopt ({fopt:.12e}) + sum g_i+ | "
                        f"measured fitness | best measured fitness or single-digit g-values | x1 | x2...\n")
                first = [] if int(ev[0]) <= 1 else [_FIRST_ROW.format(fopt + COCO_NO_VALUE)]  # see COCO_NO_VALUE
                improve = np.r_[True, bsf[1:] < bsf[:-1]] & np.isfinite(bsf)
                rows = [f"{int(ev[i])} 0 {gap[i]:+.9e} {e[i]:+.9e} {bsf[i]:+.9e}" for i in np.flatnonzero(improve)]
                end = int(max(r.n_energy, ev[-1]))
                last = f"{end} 0 {gap[-1]:+.9e} {e[-1]:+.9e} {bsf[-1]:+.9e}"
                dat.append(head + "\n".join(first + rows + ([last] if int(ev[np.flatnonzero(improve)[-1]]) != end
                                                                else [])))
                cps = coco_checkpoints(end)
                cps = cps[cps <= end]  # the last line is the end itself
                j = np.searchsorted(ev, cps, side="right") - 1
                ok = (j >= 0) & np.isfinite(bsf[np.maximum(j, 0)])
                trows = [f"{int(c)} 0 {gap[k]:+.9e} {e[k]:+.9e} {bsf[k]:+.9e}" for c, k in zip(cps[ok], j[ok])]
                if not trows or int(cps[ok][-1]) != end:
                    trows.append(last)
                tdat.append(head + "\n".join((first if not trows[0].startswith("1 ") else []) + trows))
                entries.append(f"{inst}:{end}|{gap[-1]:.1e}")
            if not entries:
                continue
            (data_dir / f"{stem}.dat").write_text("\n".join(dat) + "\n")
            (data_dir / f"{stem}.tdat").write_text("\n".join(tdat) + "\n")
            what = (f"gmbench bbob-f{f} = COCO bbob f{f}, COCO's instances" if csuite == COCO_BBOB else
                    f"gmbench {fun} (D={d}); COCO instance = gmbench instance + 1")
            info = (f"suite = '{csuite}', funcId = {f}, DIM = {d}, Precision = 1.000e-08, algId = '{_alg_id(label)}', "
                    f"coco_version = 'gmbench-{__version__}', logger = 'bbob', data_format = 'bbob-new2'\n"
                    f"% {what}; f - fopt: {fopt_note}; one trial per seed\n"
                    f"data_f{f}/{stem}.dat, " + ", ".join(entries) + "\n")
            (alg / f"{stem}.info").write_text(info)
        written.append(alg)
    _coco_readme(out, done, folders, other, fid)
    return written


def _coco_readme(out: Path, done: pd.DataFrame, folders: dict[str, str], other: list[str],
                 fid: dict[tuple[str, str], int]) -> None:
    suites = list(dict.fromkeys(done["coco_suite"]))
    paths = {s: [f"{s}/{folders[lab]}" for lab in dict.fromkeys(done[done["coco_suite"] == s]["label"])]
             for s in suites}
    lines = ["gmbench COCO export (data_format bbob-new2). Folders: <COCO suite>/<method>/."]
    if COCO_BBOB in paths:
        lines += ["bbob/: gmbench's bbob problems, COCO's functions under their own numbers, instances and",
                  "dimensions (suite 'bbob'): cocopp compares them with its archived bbob data, e.g.",
                  f"  python -m cocopp -o ppdata {' '.join(paths[COCO_BBOB])}",
                  "(offline: cocopp's shipped 'best 2009' reference is used)."]
    if COCO_OTHER in paths:
        lines += ["gmbench/: every other problem, under the suite name 'gmbench' (not a bbob function), numbered:"]
        lines += [f"  f{fid[(COCO_OTHER, f)]}: {f}" for f in other]
        lines += ["cocopp does not know the suite 'gmbench': run_cocopp.py registers it (no reference algorithm)."]
    lines += ["Methods: " + ", ".join(f"{lab} -> {fo}" if fo != lab else lab for lab, fo in folders.items()),
              "Every trial begins at evaluation 1 (as COCO logs it); when a method's first candidate came later,",
              f"that line has the placeholder f - fopt = {COCO_NO_VALUE:.0e} (gmbench keeps no value before the first",
              "candidate; no target counts as reached before it).",
              "Post-process all of it: python run_cocopp.py (ppdata-<suite>/index.html)."]
    (out / "README.txt").write_text("\n".join(lines) + "\n")
    names = {str(fid[(COCO_OTHER, f)]): f for f in other}
    (out / "run_cocopp.py").write_text(_RUN_COCOPP.format(bbob=json.dumps(paths.get(COCO_BBOB, [])),
                                                          other=json.dumps(paths.get(COCO_OTHER, [])),
                                                          names=json.dumps(names, ensure_ascii=True)))


_RUN_COCOPP = '''"""Run cocopp on this gmbench export (pip install cocopp six); offline. HTML: ppdata-bbob/index.html
(gmbench's bbob runs beside cocopp's shipped best 2009 reference) and ppdata-gmbench/index.html (the other
problems, under the suite name 'gmbench', registered here; no reference algorithm)."""
import os

import cocopp
from cocopp import testbedsettings as tb

BBOB = {bbob}
OTHER = {other}
NAMES = {names}


class GmbenchTestbed(tb.GECCOBBOBTestbed):
    """gmbench's own problems (not COCO's bbob functions), numbered as in README.txt."""

    settings = dict(tb.GECCOBBOBTestbed.settings, name="gmbench", reference_algorithm_filename="",
                    reference_algorithm_displayname=None,
                    short_names={{int(k): v for k, v in NAMES.items()}})

    def __init__(self, target_values):
        for key, val in GmbenchTestbed.settings.items():
            setattr(self, key, val)
        self.instantiate_attributes(target_values)

    def info(self, fun_number=None):
        return self.__doc__ if fun_number is None else "F%d %s" % (fun_number, NAMES.get(str(fun_number), ""))

    def filter(self, dsl):
        return dsl


os.chdir(os.path.dirname(os.path.abspath(__file__)))
if BBOB:
    cocopp.main(["-o", "ppdata-bbob"] + BBOB)
if OTHER:
    tb.GmbenchTestbed = GmbenchTestbed
    tb.suite_to_testbed["gmbench"] = "GmbenchTestbed"
    cocopp.main(["-o", "ppdata-gmbench"] + OTHER)
'''
