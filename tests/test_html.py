"""`gmbench report --format html`: a self-contained page per suite, parsed here and rendered by a real
headless browser when Debian's chromium is installed."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gmbench.cli.app import app
from gmbench.store.sqlite import Store
from test_analysis import SPHERE, put_run

runner = CliRunner()


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.imgs: list[str] = []
        self.urls: list[str] = []
        self.headings: list[str] = []
        self._in_h = False

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        for k in ("src", "href"):
            if a.get(k) and "://" in a[k]:
                self.urls.append(a[k])
        self._in_h = tag in ("h1", "h2", "h3")

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3"):
            self._in_h = False

    def handle_data(self, data):
        if self._in_h:
            self.headings.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("html")
    st = Store(d / "h.sqlite")
    for seed in range(5):  # two methods, five paired seeds: enough for a test
        put_run(st, f"a{seed}", SPHERE, "A", seed, [(0.1, 10, 25.0, 25.0, 5.0, 0), (0.3, 30, 2.25, 2.25, 1.5 + seed, 0)],
                50, 0.5)
        put_run(st, f"b{seed}", SPHERE, "B", seed, [(0.2, 20, 9.0, 9.0, 3.0 + seed, 0)], 100, 1.0)
    st.close()
    out = d / "report"
    res = runner.invoke(app, ["report", "--store", str(d / "h.sqlite"), "--format", "html", "--out", str(out)],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out / "index.html", out / "hand.html"


def test_page_has_tables_figures_and_no_external_url(page):
    index, suite = page
    p = Page()
    p.feed(suite.read_text(encoding="utf-8"))
    assert p.tags.get("table", 0) >= 4  # results, targets, significance tests and ranks
    assert len(p.imgs) >= 4 and all(s.startswith("data:image/png;base64,") for s in p.imgs)
    png = base64.b64decode(p.imgs[0].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not p.urls  # readable offline
    text = " ".join(p.headings)
    for h in ("Results", "Targets", "Significance", "Runtime ECDFs", "Fixed-budget", "Environment", "Contention"):
        assert h in text, h
    html = suite.read_text(encoding="utf-8")
    assert "A vs B" in html and "τ=1" in html
    assert 'href="hand.html"' in index.read_text()


def test_html_needs_out(tmp_path):
    res = runner.invoke(app, ["report", "--store", str(tmp_path / "x.sqlite"), "--format", "html"])
    assert res.exit_code == 2 and "needs --out" in res.output


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_a_headless_browser_renders_the_page(page, tmp_path):
    import matplotlib.image as mpimg
    import numpy as np

    _, suite = page
    shot = tmp_path / "shot.png"
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tempfile.mkdtemp()}", f"--screenshot={shot}", "--window-size=1200,1600",
                           suite.as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    img = mpimg.imread(shot)
    assert img.shape[:2] == (1600, 1200)
    assert np.std(img[..., :3]) > 0.05  # not a blank page: text, tables and figures drew
