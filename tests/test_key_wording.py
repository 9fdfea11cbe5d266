"""Reworded citations in recorded problem configurations keep the cell keys of stored results: the key
hashes the first-recorded wording (gmbench.core.wording), the configuration carries the new one."""

from __future__ import annotations

import hashlib
import json

from gmbench import __version__
from gmbench.config.suite import expand, load_suite

SUITE = """
name: wording
problems:
  - {name: lj13}
  - {name: binary-lj-cluster, params: {n: 10}}
methods:
  - {name: random-search, params: {batch_size: 4}}
budget: {evals: 8}
seeds: 1
"""

FIRST_RECORDED = {
    "reference_table": "ccd-lj-2025.1 (atoms.md §2: N = 13, 19, 26, 38, 55, 75, 98, 100, 147, 150)",
    "best_known_note": "no certified global minimum; -650.64 is a loose BH upper bound (atoms.md §3.1), not a reference",
}


def _key_before_rewording(cell) -> str:
    """The key formula of the code that first recorded these texts (no wording map)."""
    problem = dict(cell.problem_config)
    for k, old in FIRST_RECORDED.items():
        if k in problem:
            problem[k] = old
    payload = {"problem": problem, "method": {"name": cell.method_config["name"], "params": cell.method_config["params"]},
               "seed": cell.seed, "budget": cell.budget.as_dict(), "dtype": cell.dtype, "device": "cpu",
               "version": __version__}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def test_reworded_texts_keep_the_keys_they_were_stored_under(tmp_path):
    path = tmp_path / "wording.yaml"
    path.write_text(SUITE)
    cells = expand(load_suite(str(path)), "cpu")
    assert len(cells) == 2
    seen = set()
    for c in cells:
        recorded = {k: c.problem_config[k] for k in FIRST_RECORDED if c.problem_config.get(k)}
        assert recorded, c.problem_config  # each system records one of the reworded texts
        for k, text in recorded.items():
            assert "atoms.md" not in text and text != FIRST_RECORDED[k]  # the new wording is what is stored
            seen.add(k)
        assert c.key == _key_before_rewording(c)
    assert seen == set(FIRST_RECORDED)
