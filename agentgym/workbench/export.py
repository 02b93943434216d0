"""The workbench as a static page: `marimo export html` that opens with no network. marimo's page loads
its front end from a CDN, so the front end the marimo package already ships is copied beside the page
and the page points at that copy instead. The page says it is a snapshot, never shows the exporter's
paths, and opened from `file://` (where browsers refuse its modules) it says how to serve it."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

CDN = re.compile(r"https://cdn\.jsdelivr\.net/npm/@marimo-team/frontend@[^/\"']+/dist/")
# a classic inline script runs from file:// where the page's ES modules do not: it replaces the blank page with the fix
FILE_GUARD = """<script>
if (location.protocol === "file:") document.addEventListener("DOMContentLoaded", function () {
  var d = document.createElement("div");
  d.setAttribute("style", "font: 15px system-ui, sans-serif; max-width: 44em; margin: 3em auto; line-height: 1.5");
  d.innerHTML = "<h2>This page has to be served, not opened as a file</h2><p>Browsers refuse the page's " +
    "JavaScript modules from <code>file://</code>, so it would stay blank. Serve its folder and open it there:</p>" +
    "<pre>python -m http.server -d DIR 8000</pre><p>then <code>http://127.0.0.1:8000/NAME</code>.</p>";
  document.body.prepend(d);
});
</script>"""


def marimo_static() -> Path:
    import marimo

    return Path(marimo.__file__).parent / "_static"


def export_app(app: str | os.PathLike[str], out: str | os.PathLike[str], *, offline: bool = True,
               env: dict[str, str] | None = None, timeout: float = 1800, demo: bool | None = None,
               store: str | None = None, progress: bool = True) -> Path:
    """Run the app headless and write `out` (HTML with every output); with `offline` put marimo's front end
    in `<out dir>/marimo-assets/` (~28 MB, shared by every page in that folder).

    `demo` (or AGENTGYM_DEMO=1 in `env`) fills the store first, here, with progress (`seed_demo`: the
    baselines, a briefly trained policy, the local judge, ~3-6 min on 2 cores; once), so the export itself
    only renders. `store` (or AGENTGYM_STORE) is the store the page shows. A failure raises RuntimeError
    saying what failed and how to fix it."""
    env = {**(env or {})}
    demo = bool(env.get("AGENTGYM_DEMO")) if demo is None else demo
    store = store or env.get("AGENTGYM_STORE") or os.environ.get("AGENTGYM_STORE") or "agentgym-store"
    app, out = Path(app), Path(out)
    if not app.exists():
        raise FileNotFoundError(f"No marimo app at {app}; the workbench app is notebooks/workbench_app.py in a checkout.")
    out.parent.mkdir(parents=True, exist_ok=True)
    if demo:
        from agentgym.workbench.demo import seed_demo

        started = time.time()
        if progress:
            print("agentgym: filling the demo store (once; a few minutes on CPU)...", file=sys.stderr, flush=True)
        seed_demo(store, progress=progress)
        if progress:
            print(f"agentgym: demo store ready in {time.time() - started:.0f} s; rendering the page...", file=sys.stderr, flush=True)
    run_env = {**os.environ, **env, "AGENTGYM_STORE": str(store), "AGENTGYM_SNAPSHOT": "1"}
    if demo:
        run_env["AGENTGYM_DEMO"] = "1"  # seeded above: the app's own seeding finds it done
    cmd = [sys.executable, "-m", "marimo", "export", "html", str(app), "-o", str(out), "--no-include-code"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=run_env)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"marimo export of {app} did not finish in {timeout:.0f} s (a busy machine runs the app "
                           f"slower); nothing was written to {out}. Rerun with a longer timeout (--timeout "
                           f"{int(timeout * 2)}, or timeout= in export_app).") from None
    if done.returncode != 0 or not out.exists():
        said = (done.stderr or done.stdout or "").strip()[-1500:]
        raise RuntimeError(f"marimo export of {app} failed (exit {done.returncode}); run `marimo run {app}` to see the "
                           f"failing cell. It said:\n{said}")
    html = out.read_text(encoding="utf-8")
    if offline:
        assets = out.parent / "marimo-assets"
        if not (assets / "assets").exists():
            shutil.copytree(marimo_static(), assets, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.md", "index.html"))
        html = CDN.sub("./marimo-assets/", html)
    guard = FILE_GUARD.replace("DIR", out.parent.name or ".").replace("NAME", out.name)
    html = html.replace("<head>", "<head>\n" + guard, 1) if "<head>" in html else guard + html
    for secret in {str(Path(store).resolve()), str(Path.cwd().resolve())} - {"/"}:
        html = html.replace(secret, Path(secret).name)  # the page never shows where the exporter's files live
    out.write_text(html, encoding="utf-8")
    return out
