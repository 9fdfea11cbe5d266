"""One prediction rule (issue 22): the Recorder records the prediction so far in every trace row; the
reports read it, and a store written before gets the same predictions derived (legacy path)."""

from __future__ import annotations

import sqlite3

import pandas as pd
import torch

from gmbench.run.recorder import Candidate, Recorder
from gmbench.problems import make_problem
from tests.test_hostile import make_store

SUITE = """
name: pred
device: cpu
seeds: 2
budget: {evals: 300}
problems:
  - {name: rastrigin, dim: 3}
  - {name: sphere, dim: 2, bounds: [-1, 1]}
methods:
  - {name: random-search, params: {batch_size: 16}}
  - {name: gd, params: {n_points: 4, max_steps: 20, lr: 0.3, report_every: 2}}
"""


def test_the_recorder_prefers_in_box_rows_and_marks_the_prediction_so_far():
    p = make_problem("sphere", dim=2, bounds=(-1.0, 1.0))
    xs = [torch.tensor([0.5, 0.5]), torch.tensor([2.0, 0.0]), torch.tensor([0.1, 0.0]), torch.tensor([0.3, 0.0]),
          torch.tensor([-5.0, 0.0])]
    rec = Recorder(p)
    rec.assess([Candidate(float(i), i, 0, i, x.double(), {}) for i, x in enumerate(xs)])
    # row 1 (energy 4) is out of the box, row 4 too: never the prediction while an in-box row exists
    assert [r.pred for r in rec.rows] == [0, 0, 2, 2, 2]
    assert rec.prediction() is rec.rows[2] and rec.summary()["final_energy"] == rec.rows[2].energy
    only_out = Recorder(p)
    only_out.assess([Candidate(0.0, 1, 0, 1, torch.tensor([3.0, 0.0]).double(), {}),
                     Candidate(1.0, 2, 0, 2, torch.tensor([2.0, 0.0]).double(), {})])
    assert [r.pred for r in only_out.rows] == [0, 1]  # none inside: the lowest energy


def test_reports_read_the_recorded_prediction_and_old_stores_derive_the_same(tmp_path):
    from gmbench.report.analysis import load
    from gmbench.store.sqlite import Store

    st = make_store(tmp_path / "s.sqlite", SUITE)
    db = sqlite3.connect(st)
    assert db.execute("SELECT count(*) FROM traces WHERE pred IS NULL").fetchone()[0] == 0
    db.close()
    new = load(Store(st, create=False)).trace
    db = sqlite3.connect(st)
    db.execute("UPDATE traces SET pred = NULL")  # what a store written before looks like
    db.commit()
    db.close()
    old = load(Store(st, create=False)).trace
    cols = ["key", "idx", "pred_energy", "pred_gap", "pred_dist"]
    pd.testing.assert_frame_equal(new[cols].reset_index(drop=True), old[cols].reset_index(drop=True))
    assert new["pred_energy"].notna().all()
