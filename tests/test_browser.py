"""report.html in a real browser: headless Chromium (Debian's ``chromium``).

The page must render with no console message at all (script errors, blocked
loads and CSP violations are all console messages), show the headline counts,
and its filters must work from the address (``report.html#status=review``).
Skipped only when Chromium is missing outside CI; ``.ci/run`` installs it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from handmade import BANK, INSURANCE, RESIDENTS

import linkage

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)
if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package", pytrace=False)
    pytest.skip("chromium is not installed (apt-get install chromium); CI installs it", allow_module_level=True)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, linkage.AuditResult]:
    result = linkage.audit(RESIDENTS, bank=BANK, insurance=INSURANCE)
    out = tmp_path_factory.mktemp("browser") / "out"
    result.write(out)
    return out / "report.html", result


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120)


def console(stderr: str) -> list[str]:
    """Console messages Chromium logged (any level: errors and CSP reports included)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_renders_without_console_messages_and_shows_the_counts(report, tmp_path):
    page, result = report
    proc = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert console(proc.stderr) == []
    assert 'data-ready="1"' in dom  # the script ran to its end
    for status, n in result.counts().items():
        card = re.search(rf'<a class="card[^"]*"[^>]*data-status="{status}"[^>]*>(.*?)</a>', dom, re.S)
        assert card and f'<span class="n">{n:,}</span>' in card.group(1)
    act = (result.findings["status"] != "ok").sum()
    assert f"Showing {act:,} of {act:,}" in dom
    assert dom.count('<figure class="chart"') == 4


def test_filter_from_the_address(report, tmp_path):
    page, result = report
    proc = chromium(tmp_path, "--dump-dom", page.as_uri() + "#status=review")
    assert console(proc.stderr) == []
    rows = re.findall(r'<tr class="row-(\w+)"[^>]*?(\shidden(?:="")?)?>', proc.stdout)
    visible = [s for s, hidden in rows if not hidden]
    assert visible and set(visible) == {"review"}
    assert len(visible) == result.counts()["review"]
    act = (result.findings["status"] != "ok").sum()
    assert f'data-shown="{len(visible)}">Showing {len(visible)} of {act}' in proc.stdout


def test_screenshot_is_not_blank(report, tmp_path):
    import matplotlib.image

    page, _ = report
    shot = tmp_path / "shot.png"
    proc = chromium(tmp_path, "--window-size=1280,1600", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), proc.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[0] >= 1000 and pixels.std() > 0.05  # text, cards and charts, not a blank page
    # The status colours of the headline cards are on screen.
    rgb = (pixels[..., :3] * 255).round().astype(int).reshape(-1, 3)
    colours = {tuple(c) for c in pd.DataFrame(rgb).drop_duplicates().to_numpy()}
    assert (0xB3, 0x26, 0x1E) in colours and (0x3A, 0x7D, 0x44) in colours
