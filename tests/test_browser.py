"""End to end in a real browser: Debian's Chromium driven by Playwright (no browser download)
opens the product notebook in JupyterLab and the marimo app served by `marimo run`, sends a
message, rates the agent's step, and the rating is in the experience store. Also: the offline
`marimo export html` opens with no CDN."""
import contextlib
import json
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


@contextlib.contextmanager
def _lab(tmp_path: Path, notebook: Path, browser, *, dark: bool = False):
    """JupyterLab 4 on `notebook` (in its own folder, settings and runtime dirs), in the light or dark theme;
    yields the page with the notebook's first cell run."""
    work = notebook.parent
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "jcfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "jrun"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "jset"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "jws")}
    if dark:
        theme = tmp_path / "jset" / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
        theme.parent.mkdir(parents=True, exist_ok=True)
        theme.write_text(json.dumps({"theme": "JupyterLab Dark"}))
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                             f"--ServerApp.port={port}", f"--ServerApp.root_dir={work}", "--IdentityProvider.token=",
                             "--ServerApp.password=", "--allow-root", "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                            env=env, stdout=(tmp_path / "lab.log").open("w"), stderr=subprocess.STDOUT, text=True)
    try:
        _wait_http(port, proc, log=tmp_path / "lab.log")
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"http://127.0.0.1:{port}/lab/tree/{notebook.name}", wait_until="domcontentloaded")
        cell = page.locator(".jp-Notebook .jp-CodeCell").first
        cell.wait_for(timeout=120_000)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)
        prompt = cell.locator(".jp-InputPrompt")
        for _ in range(10):  # run the first cell only; a click or key press before the page settles can be lost
            try:
                cell.locator(".jp-InputArea-editor").click(timeout=15_000)
                page.keyboard.press("Shift+Enter")
                page.wait_for_function("el => /\\[[0-9*]+\\]/.test(el.textContent)", arg=prompt.element_handle(), timeout=5_000)
                break
            except sync_api.TimeoutError:
                continue
        page.locator(".jp-OutputArea .ag-input").wait_for(timeout=180_000)
        yield page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _notebook(path: Path, source: str) -> Path:
    """A one-cell notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                                           "source": source}],
                                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                                "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_jupyterlab_notebook_stepper_send_and_rate_lands_in_the_store(tmp_path, browser):
    """The product notebook (02_step_and_rate) in JupyterLab 4: run its stepper cell, use the widget."""
    work = tmp_path / "lab"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / "02_step_and_rate.ipynb", work / "step.ipynb")
    with _lab(tmp_path, work / "step.ipynb", browser) as page:
        _send_and_rate(page, "Hello! <script>window.pwned=1</script> Which city are you in?")
        _readable(page, dark=False)
        _one_rating(work / "runs" / "notebook-store", rater="me")


# the contrast of an element's text against what is really behind it (its own and its ancestors' backgrounds,
# composited), by WCAG's formula; colours normalised through a canvas, which reads every CSS colour syntax
CONTRAST_JS = """(el) => {
  const ctx = document.createElement("canvas").getContext("2d");
  const rgba = (c) => { ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = "rgba(0,0,0,0)"; ctx.fillStyle = c; ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data; return [d[0], d[1], d[2], d[3] / 255]; };
  const layers = [];
  for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
    const c = rgba(getComputedStyle(n).backgroundColor); if (c[3] > 0) layers.push(c); if (c[3] >= 1) break;
  }
  let bg = [255, 255, 255];
  for (const c of layers.reverse()) bg = bg.map((v, i) => c[i] * c[3] + v * (1 - c[3]));
  const fgc = rgba(getComputedStyle(el).color);
  const fg = fgc.slice(0, 3).map((v, i) => v * fgc[3] + bg[i] * (1 - fgc[3]));
  const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return { ratio: (a + 0.05) / (b + 0.05), background: lum(bg), border: parseFloat(getComputedStyle(el).borderTopWidth) };
}"""


def _readable(page, *, dark: bool) -> None:
    """Every kind of control and text of the stepper reads against what is behind it (WCAG AA, 4.5:1), inputs
    have borders, and in a dark theme the controls are dark (not browser-white rectangles)."""
    for sel in (".ag-send", ".ag-start", ".ag-value", ".ag-tag", ".ag-input", ".ag-task", ".ag-msg .ag-text", ".ag-head b",
                ".ag-toolbox summary", ".ag-goal"):
        seen = page.locator(sel).first.evaluate(CONTRAST_JS)
        assert seen["ratio"] >= 4.5, (sel, seen)
        if dark:
            assert seen["background"] < 0.2, (sel, seen)
        if sel in (".ag-input", ".ag-task", ".ag-send"):
            assert seen["border"] >= 1, (sel, seen)
    assert page.locator(".ag-goal").evaluate("el => getComputedStyle(el).wordBreak") == "normal"


SIX_TURNS = ["Hello! What can I do for you today?", "Sure. Which city are you in?", "And for which date?",
             "What time would suit you?", "How many people is it for?", "Thanks. Anything else I should know?"]


def test_jupyterlab_dark_stepper_updates_in_place_and_keeps_your_place(tmp_path, browser):
    """JupyterLab's dark theme: the stepper reads; six sends scroll the chat to the newest message; text typed
    in the box survives a rating click; the open tool form keeps its fields after a call; a tag toggled after
    rating is saved with that rating; a live training curve is drawn once, not once per update."""
    nb = _notebook(tmp_path / "lab" / "dark.ipynb", (
        "from agentgym.train import LiveCurve\nfrom agentgym.widgets import Stepper\n"
        "curve = LiveCurve(metrics=('reward',), title='curve')\n"
        "for i in range(5):\n    curve({'step': i, 'reward': i / 5})\n"
        "Stepper('store', seed=7, reveal_goal=True, rater='lab')\n"))
    with _lab(tmp_path, nb, browser, dark=True) as page:
        assert page.evaluate("document.body.dataset.jpThemeLight") == "false"
        _readable(page, dark=True)
        chat = page.locator(".ag-chat")
        for i, text in enumerate(SIX_TURNS):
            page.locator(".ag-input").fill(text)
            page.locator(".ag-send").click()
            page.locator(".ag-msg.ag-agent").nth(i).wait_for(timeout=60_000)
        page.wait_for_function("el => el.querySelectorAll('.ag-msg.ag-agent').length === 6", arg=chat.element_handle())
        assert page.locator(".ag-send").is_enabled(), "the episode is still going (the rest of the test calls a tool)"
        page.locator(".ag-input").wait_for()
        geometry = chat.evaluate("el => [el.scrollTop, el.clientHeight, el.scrollHeight]")
        assert geometry[2] > geometry[1] and geometry[0] + geometry[1] >= geometry[2] - 2, geometry  # newest in view
        page.locator(".ag-input").fill("half-typed, not sent")
        first = page.locator(".ag-msg.ag-agent").first
        first.locator('.ag-value[data-value="1"]').click()
        first.locator(".ag-saved", has_text="saved").wait_for(timeout=30_000)
        assert page.locator(".ag-input").input_value() == "half-typed, not sent"
        first.locator(".ag-tag", has_text="great").click()  # after the rating: saved with it
        page.wait_for_function("el => el.classList.contains('on')", arg=first.locator(".ag-tag", has_text="great").element_handle())
        first.locator(".ag-saved", has_text="saved ✓").wait_for(timeout=30_000)
        page.locator(".ag-toolbox summary").click()
        before = page.locator(".ag-msg").count()
        page.locator(".ag-call").click()  # nothing filled: refused in the form, naming what is missing, nothing sent
        assert "is required" in page.locator(".ag-form-errors").inner_text()
        filled = []
        for field in page.locator(".ag-toolbox .ag-fields .ag-field.required").all():
            control = field.locator("input, select").first
            if control.evaluate("el => el.tagName") == "SELECT":
                control.select_option(index=1)
            else:
                control.fill("2" if control.get_attribute("type") == "number" else "San Jose")
            filled.append(control.input_value())
        page.locator(".ag-call").click()
        page.wait_for_function(f"() => document.querySelectorAll('.ag-msg').length > {before}", timeout=60_000)
        assert page.locator(".ag-form-errors").inner_text() == ""
        assert page.locator(".ag-toolbox").evaluate("el => el.open") is True  # still open, every field as it was
        assert [f.locator("input, select").first.input_value()
                for f in page.locator(".ag-toolbox .ag-fields .ag-field.required").all()] == filled
        assert page.locator(".ag-input").input_value() == "half-typed, not sent"
        assert page.locator(".jp-OutputArea .js-plotly-plot").count() == 1  # the curve, drawn once and updated
        if os.environ.get("AGENTGYM_SCREENSHOT_DARK"):  # docs/workbench-dark.png is taken here
            page.locator(".ag-stepper").screenshot(path=os.environ["AGENTGYM_SCREENSHOT_DARK"])
    with ExperienceStore(tmp_path / "lab" / "store") as store:
        ratings = store.ratings()
    assert len(ratings) == 1 and ratings.iloc[0]["tags"] == ["great"] and ratings.iloc[0]["rater"] == "lab"


def test_tau2_airline_booking_made_from_the_tool_form(tmp_path, browser):
    """tau2's write tools from the form: book_reservation's arrays of objects (rows added in the form), integers
    and enums, filled with a task's gold booking, are sent typed and book (the tool result is the reservation)."""
    pytest.importorskip("tau2")
    from agentgym.domains.tau2.data import tasks

    task = next(t for t in tasks("airline", "test") if any(a.name == "book_reservation" for a in t.evaluation_criteria.actions or []))
    gold = next(a for a in task.evaluation_criteria.actions if a.name == "book_reservation").arguments
    nb = _notebook(tmp_path / "lab" / "tau2.ipynb",
                   f"from agentgym.widgets import Stepper\nStepper('store', env_id='agentgym/tau2-airline-v0', task_id={task.id!r}, rater='lab')\n")
    with _lab(tmp_path, nb, browser) as page:
        page.locator(".ag-toolbox summary").click()
        page.locator(".ag-tool-select").select_option("book_reservation")
        form = page.locator(".ag-toolbox .ag-fields > .ag-object")
        _fill(page, form, gold)
        page.locator(".ag-call").click()
        tool = page.locator(".ag-msg.ag-tool").last
        tool.wait_for(timeout=60_000)
        text = tool.locator(".ag-text").inner_text()
        assert "reservation_id" in text and "Error" not in text, text
        assert page.locator(".ag-msg.ag-agent .ag-errtext").count() == 0
    with ExperienceStore(tmp_path / "lab" / "store") as store:
        steps = store.steps()
    call = steps[steps["idx"] == 1]["tool_calls"].iloc[0][0]
    assert call["name"] == "book_reservation" and call["arguments"] == gold  # typed: ints, lists and objects as the schema says


def _fill(page, scope, value) -> None:
    """Fill a schema form (an .ag-object) with a JSON value the way a person would: type text and numbers,
    pick enum options, add array rows and fill each."""
    for key, v in value.items():
        field = scope.locator(f":scope > .ag-field[data-field='{key}']")
        if isinstance(v, list):
            for i, item in enumerate(v):
                field.locator(":scope > .ag-array > .ag-add").click()
                row = field.locator(":scope > .ag-array > .ag-rows > .ag-row").nth(i)
                if isinstance(item, dict):
                    _fill(page, row.locator(":scope > .ag-object"), item)
                else:
                    row.locator("input, select").first.fill(str(item))
        elif isinstance(v, dict):
            _fill(page, field.locator(":scope > .ag-object"), v)
        else:
            control = field.locator(":scope > input, :scope > select")
            if control.evaluate("el => el.tagName") == "SELECT":
                control.select_option(label=str(v).lower() if isinstance(v, bool) else str(v))
            else:
                control.fill(str(v))


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
        _readable(page, dark=False)  # marimo's reset strips input borders: the widget brings its own
        shot = Path(os.environ.get("AGENTGYM_SCREENSHOT", tmp_path / "workbench.png"))
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=False)
        _one_rating(store_dir, rater="marimo")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_exported_demo_page_opens_offline_on_conversations_verdicts_and_filled_charts(tmp_path, browser):
    """`agentgym export-app --demo`: the store is seeded first (each part once), the page opens with no network on
    the demo's episodes, verdicts and charts, says it is a static snapshot, shows no path of the exporter's, and
    opened from file:// says how to serve it instead of staying blank."""
    from agentgym.workbench.demo import seed_demo

    store_dir = tmp_path / "store"
    out = tmp_path / "site" / "workbench.html"
    done = subprocess.run([sys.executable, "-m", "agentgym.cli", "export-app", "--app", str(APP), "--out", str(out),
                           "--store", str(store_dir), "--demo"], capture_output=True, text=True, timeout=2400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "demo: the scripted baseline plays 6 dev tasks" in done.stderr and "open it served" in done.stderr
    html = out.read_text()
    assert "cdn.jsdelivr.net/npm/@marimo-team" not in html
    assert "no finished episodes yet" not in html and "sft-demo" in html  # the charts hold baselines and a trained version
    assert "A static snapshot." in html and str(tmp_path) not in html
    with ExperienceStore(store_dir) as store:
        episodes = store.episodes()
    episodes = episodes[episodes["agent"] != "human"]  # the page's stepper opened one episode of its own
    assert len(episodes) == 4 * 6 and not episodes.duplicated(["agent", "version", "task_id"]).any()
    assert seed_demo(store_dir) == {"seeded": False, "episodes": 0, "tasks": sorted(set(episodes["task_id"]), key=list(episodes["task_id"]).index)}
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
        page.get_by_text("A static snapshot.").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        page.locator(".ag-episodes tr").nth(3).wait_for(timeout=60_000)  # the browser lists the demo episodes
        page.locator(".ag-inspector .ag-verdict, .ag-verdict").first.wait_for(timeout=60_000)  # a judge verdict
        # the only thing the page may still ask the network for is MathJax (LaTeX in markdown), unused here
        assert [u for u in external if "mathjax" not in u] == []
        local = browser.new_page()
        local.goto(out.as_uri())
        local.get_by_text("This page has to be served, not opened as a file").wait_for(timeout=30_000)
        assert f"python -m http.server -d {out.parent.name} 8000" in local.content()
    finally:
        srv.terminate()
