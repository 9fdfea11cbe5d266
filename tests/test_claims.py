"""Claims that expire: host, pid and a renewed lease; dead or expired claims are taken over."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gmbench.store.sqlite import Store

HOST = socket.gethostname()


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def put_claim(store: Store, key: str, pid: int, host: str, lease_until: float | None, since: float | None = None) -> None:
    with store.transaction() as db:
        db.execute("INSERT OR REPLACE INTO claims (key, pid, host, since, lease_until) VALUES (?,?,?,?,?)",
                   (key, pid, host, since if since is not None else time.time(), lease_until))


def holder(store: Store, key: str) -> tuple:
    return store.db.execute("SELECT pid, host FROM claims WHERE key=?", (key,)).fetchone()


@pytest.fixture
def store(tmp_path: Path):
    st = Store(tmp_path / "s.sqlite")
    yield st
    st.close()


def test_stale_claim_of_a_dead_process_is_taken_over(store):
    put_claim(store, "k", dead_pid(), HOST, time.time() + 3600)  # lease still valid, but the process is gone
    assert store.claim("k") == "ok"
    assert holder(store, "k") == (os.getpid(), HOST)


def test_expired_lease_on_another_host_is_taken_over(store):
    put_claim(store, "k", 12345, "some-other-node", time.time() - 1.0)
    assert store.claim("k") == "ok"
    assert holder(store, "k") == (os.getpid(), HOST)


def test_live_claims_are_not_taken_over(store):
    put_claim(store, "remote", 12345, "some-other-node", time.time() + 60)
    assert store.claim("remote") == "busy"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        put_claim(store, "local", live.pid, HOST, time.time() + 60)
        assert store.claim("local") == "busy"
        assert holder(store, "local") == (live.pid, HOST)
        # the same live process whose lease ran out (hung, or its renewals stopped): taken over
        put_claim(store, "local", live.pid, HOST, time.time() - 1)
        assert store.claim("local") == "ok"
    finally:
        live.kill()
        live.wait()


def test_claim_without_a_lease_column_value_uses_since(store):
    """Claims written before leases existed (lease_until NULL) expire LEASE_S after they were made."""
    put_claim(store, "old", 12345, "some-other-node", None, since=time.time() - store.lease_s - 5)
    assert store.claim("old") == "ok"
    put_claim(store, "new", 12345, "some-other-node", None, since=time.time())
    assert store.claim("new") == "busy"


def test_lease_is_renewed_while_the_claim_is_held(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    st.lease_s, st.lease_renew_s = 1.0, 0.1
    try:
        assert st.claim("k") == "ok"
        first = st.db.execute("SELECT lease_until FROM claims WHERE key='k'").fetchone()[0]
        time.sleep(1.5)  # past the first lease: only renewals keep it alive
        renewed = st.db.execute("SELECT lease_until FROM claims WHERE key='k'").fetchone()[0]
        assert renewed > first and renewed > time.time()
        st.release("k")
        assert holder(st, "k") is None
    finally:
        st.close()


def test_a_stored_cell_is_never_claimed(store):
    row = {"key": "k", "status": "done", "code": "abc"}
    store.save_cell(row, [])
    assert store.claim("k") == "done"
    assert store.claim("k", code="abc") == "done"
    assert store.claim("k", code="other") == "stale"  # computed by other code: kept unless asked
    assert store.claim("k", code="other", rerun_stale=True) == "ok"
    assert store.save_cell({"key": "k", "status": "done", "code": "other"}, [], replace_stale=True)
    assert store.db.execute("SELECT code FROM cells WHERE key='k'").fetchone()[0] == "other"
    assert not store.save_cell({"key": "k", "status": "done", "code": "third"}, [])  # no replace: kept


def test_a_store_on_a_network_filesystem_is_recognised(tmp_path):
    from gmbench.store.sqlite import network_filesystem

    table = (f"/dev/sda1 / ext4 rw 0 0\nserver:/export {tmp_path} nfs4 rw 0 0\n"
             f"server:/scratch {tmp_path}/scratch\\040dir lustre rw 0 0\n")
    assert network_filesystem(tmp_path / "s.sqlite", table) == "nfs4"
    (tmp_path / "scratch dir").mkdir()  # a path that does not exist yet is judged by its nearest existing parent
    assert network_filesystem(tmp_path / "scratch dir" / "x" / "s.sqlite", table) == "lustre"
    assert network_filesystem("/s.sqlite", table) is None
    assert network_filesystem(tmp_path / "s.sqlite", "/dev/sda1 / ext4 rw 0 0\n") is None
