"""The HTML reports as a person sees them: opened in a real browser (headless Chromium).

The session's demo batch (``demo_batch`` in ``tests/conftest.py``: school 0113's reports, the
national ones and the index page) is read; Chromium loads its pages from disk, runs
them as a reader's browser would, and gives back the rendered page (``--dump-dom``) and a
screenshot. Needs Debian's ``chromium`` package (``.ci/run`` installs it); skipped without it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")]


def browse(tmp_path: Path, page: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)


def test_index_page_renders_and_every_link_opens(demo_batch, tmp_path):
    r = browse(tmp_path, demo_batch / "index.html", "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    assert "<h1>Home-school partnership reports</h1>" in dom
    links = re.findall(r'href="([^"]+\.html)"', dom)
    assert sorted(links) == ["0113/school_evaluation.html", "0113/whanau_board_summary.html",
                             "national/inquiry_impact.html", "national/national_overview.html"]
    for link in links:
        assert (demo_batch / link).is_file(), link


def test_school_report_renders_its_sections_and_figures(demo_batch, tmp_path):
    r = browse(tmp_path, demo_batch / "0113" / "school_evaluation.html", "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    for heading in ("Summary", "Who is and is not reached", "Provenance"):
        assert re.search(rf"<h2[^>]*>[^<]*{heading}", dom, flags=re.IGNORECASE), heading
    assert len(re.findall(r'<img[^>]+src="data:image/svg\+xml;base64,', dom)) >= 10   # the figures are in the page
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ", dom, flags=re.S))
    assert "Summary" in text and "Traceback" not in text and "Error" not in text   # no failed cell shown


def test_screenshot_is_not_blank(demo_batch, tmp_path):
    shot = tmp_path / "board.png"
    r = browse(tmp_path, demo_batch / "0113" / "whanau_board_summary.html", f"--screenshot={shot}",
               "--window-size=1200,1600")
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    from matplotlib.image import imread

    img = imread(shot)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    assert img[..., :3].std() > 0.05   # text and charts, not an empty page
