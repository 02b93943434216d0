"""End to end in a real browser: Debian's Chromium driven by Playwright (no browser download)
opens the marimo app served by `marimo run`, sends a message, rates the agent's step, and the
rating is in the experience store. Also: the offline `marimo export html` opens with no CDN."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentgym.store import ExperienceStore

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "notebooks" / "workbench_app.py"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs Debian's chromium (apt-get install chromium; .ci/run installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"nothing listening on {port}")


@pytest.fixture()
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_marimo_app_send_and_rate_lands_in_the_store(tmp_path, browser):
    store_dir = tmp_path / "store"
    port = _free_port()
    env = {**os.environ, "AGENTGYM_STORE": str(store_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "marimo", "run", str(APP), "--headless", "--host", "127.0.0.1",
                             "--port", str(port), "--no-token"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _wait_http(port, proc)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        page.locator(".ag-input").wait_for(timeout=90_000)
        page.locator(".ag-input").fill("Hello! <script>window.pwned=1</script> Which city are you in?")
        page.locator(".ag-send").click()
        agent = page.locator(".ag-msg.ag-agent").first
        agent.wait_for(timeout=60_000)
        assert "<script>" in agent.locator(".ag-text").inner_text()  # shown as text, never run
        assert page.evaluate("window.pwned === undefined")
        agent.locator(".ag-tag", has_text="great").click()
        agent.locator('.ag-value[data-value="1"]').click()
        page.locator(".ag-msg.ag-agent .ag-saved", has_text="saved").wait_for(timeout=30_000)
        shot = Path(os.environ.get("AGENTGYM_SCREENSHOT", tmp_path / "workbench.png"))
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=False)
        with ExperienceStore(store_dir) as store:
            ratings = store.ratings()
            steps = store.steps()
        assert len(ratings) == 1
        r = ratings.iloc[0]
        assert r["step_idx"] == 1 and r["value"] == 1.0 and r["rater"] == "marimo" and r["tags"] == ["great"]
        assert steps[steps["idx"] == 1]["action"].iloc[0].startswith("Hello!")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_exported_page_opens_offline_with_widget_and_charts(tmp_path, browser):
    from agentgym.workbench.export import export_app

    out = export_app(APP, tmp_path / "site" / "workbench.html", env={"AGENTGYM_STORE": str(tmp_path / "store")})
    html = out.read_text()
    assert "cdn.jsdelivr.net/npm/@marimo-team" not in html
    port = _free_port()
    srv = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(out.parent)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(port, srv)
        page = browser.new_page()
        external = []
        page.on("request", lambda req: external.append(req.url) if not req.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
        page.goto(f"http://127.0.0.1:{port}/{out.name}")
        page.locator(".ag-stepper").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        # the only thing the page may still ask the network for is MathJax (LaTeX in markdown), unused here
        assert [u for u in external if "mathjax" not in u] == []
    finally:
        srv.terminate()
