"""Cell keys hash a prose-free configuration (gmbench.run.cell.key_configuration): rewording a citation or
a note changes no key, and the cells keyed when the prose was still hashed keep their keys through the
frozen one-time mapping (FIRST_KEYED_PROSE)."""

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


def test_rewording_prose_changes_no_key_and_a_new_note_enters_none(tmp_path, monkeypatch):
    import importlib.util

    from gmbench.run.cell import cell_key

    assert importlib.util.find_spec("gmbench.core.wording") is None  # the registry of old wordings is gone
    path = tmp_path / "wording.yaml"
    path.write_text(SUITE)
    cells = expand(load_suite(str(path)), "cpu")
    before = [c.key for c in cells]
    for c in cells:  # reword every prose field and add a note: no key moves
        for k in FIRST_RECORDED:
            if c.problem_config.get(k):
                c.problem_config[k] = "entirely different wording"
        c.problem_config["citation_note"] = "a new note"
        assert cell_key(c) == before[cells.index(c)]
    c = cells[0]  # a change of substance still does
    c.problem_config["f_star"] = -1.0
    assert cell_key(c) != before[0]
