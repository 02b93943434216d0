"""End to end in a real browser: Debian's Chromium driven by Playwright (no browser download)
opens the product notebook in JupyterLab and the marimo app served by `marimo run`, sends a
message, rates the agent's step, and the rating is in the experience store. Also: the offline
`marimo export html` opens with no CDN."""
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
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="needs Debian's chromium (apt-get install chromium; make test installs it)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(port: int, proc: subprocess.Popen, timeout: float = 90, log: Path | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            said = log.read_text()[-3000:] if log else proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"server exited: {said}")
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


def _send_and_rate(page, message: str):
    """Type a message in the stepper, send it, tag and rate the agent's step; wait for 'saved'."""
    page.locator(".ag-input").fill(message)
    page.locator(".ag-send").click()
    agent = page.locator(".ag-msg.ag-agent").first
    agent.wait_for(timeout=60_000)
    assert "<script>" in agent.locator(".ag-text").inner_text()  # shown as text, never run
    assert page.evaluate("window.pwned === undefined")
    agent.locator(".ag-tag", has_text="great").click()
    agent.locator('.ag-value[data-value="1"]').click()
    page.locator(".ag-msg.ag-agent .ag-saved", has_text="saved").wait_for(timeout=30_000)
    roles = page.locator(".ag-msg .ag-role").all_inner_texts()
    texts = page.locator(".ag-msg .ag-text").all_inner_texts()
    assert roles and not any(t.startswith(("user:", "tool:")) for t in texts)  # the role is shown once


def _one_rating(store_dir, rater: str):
    with ExperienceStore(store_dir) as store:
        ratings = store.ratings()
        steps = store.steps()
    assert len(ratings) == 1
    r = ratings.iloc[0]
    assert r["step_idx"] == 1 and r["value"] == 1.0 and r["rater"] == rater and r["tags"] == ["great"]
    assert steps[steps["idx"] == 1]["action"].iloc[0].startswith("Hello!")


def test_jupyterlab_notebook_stepper_send_and_rate_lands_in_the_store(tmp_path, browser):
    """The product notebook (02_step_and_rate) in JupyterLab 4: run its stepper cell, use the widget."""
    work = tmp_path / "lab"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / "02_step_and_rate.ipynb", work / "step.ipynb")
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "jcfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "jrun"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "jset"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "jws")}
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                             f"--ServerApp.port={port}", f"--ServerApp.root_dir={work}", "--IdentityProvider.token=",
                             "--ServerApp.password=", "--allow-root", "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                            env=env, stdout=(tmp_path / "lab.log").open("w"), stderr=subprocess.STDOUT, text=True)
    try:
        _wait_http(port, proc, log=tmp_path / "lab.log")
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"http://127.0.0.1:{port}/lab/tree/step.ipynb", wait_until="domcontentloaded")
        cell = page.locator(".jp-Notebook .jp-CodeCell").first
        cell.wait_for(timeout=120_000)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)
        prompt = cell.locator(".jp-InputPrompt")
        for _ in range(10):  # run the stepper cell only; a key press before the page settles can be lost
            cell.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            try:
                page.wait_for_function("el => /\\[[0-9*]+\\]/.test(el.textContent)", arg=prompt.element_handle(), timeout=5_000)
                break
            except sync_api.TimeoutError:
                continue
        page.locator(".jp-OutputArea .ag-input").wait_for(timeout=180_000)
        _send_and_rate(page, "Hello! <script>window.pwned=1</script> Which city are you in?")
        _one_rating(work / "runs" / "notebook-store", rater="me")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_marimo_app_send_and_rate_lands_in_the_store(tmp_path, browser):
    store_dir = tmp_path / "agentgym-store"  # the page names the store as a person would: a relative path
    port = _free_port()
    env = {**os.environ, "AGENTGYM_STORE": store_dir.name}
    proc = subprocess.Popen([sys.executable, "-m", "marimo", "run", str(APP), "--headless", "--host", "127.0.0.1",
                             "--port", str(port), "--no-token"], env=env, cwd=tmp_path,
                            stdout=(tmp_path / "marimo.log").open("w"), stderr=subprocess.STDOUT, text=True)
    try:
        _wait_http(port, proc, log=tmp_path / "marimo.log")
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        page.locator(".ag-input").wait_for(timeout=90_000)
        _send_and_rate(page, "Hello! <script>window.pwned=1</script> Which city are you in?")
        shot = Path(os.environ.get("AGENTGYM_SCREENSHOT", tmp_path / "workbench.png"))
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=False)
        _one_rating(store_dir, rater="marimo")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_exported_demo_page_opens_offline_on_conversations_verdicts_and_filled_charts(tmp_path, browser):
    from agentgym.workbench.export import export_app

    out = export_app(APP, tmp_path / "site" / "workbench.html",
                     env={"AGENTGYM_STORE": str(tmp_path / "store"), "AGENTGYM_DEMO": "1"}, timeout=1500)
    html = out.read_text()
    assert "cdn.jsdelivr.net/npm/@marimo-team" not in html
    assert "no finished episodes yet" not in html and "sft-demo" in html  # the charts hold baselines and a trained version
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
        page.locator(".ag-episodes tr").nth(3).wait_for(timeout=60_000)  # the browser lists the demo episodes
        page.locator(".ag-inspector .ag-verdict, .ag-verdict").first.wait_for(timeout=60_000)  # a judge verdict
        # the only thing the page may still ask the network for is MathJax (LaTeX in markdown), unused here
        assert [u for u in external if "mathjax" not in u] == []
    finally:
        srv.terminate()
