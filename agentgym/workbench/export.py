"""`marimo export html` that opens with no network: marimo's page loads its front end from a CDN,
so the front end the marimo package already ships is copied beside the page and the page points
at that copy instead."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

CDN = re.compile(r"https://cdn\.jsdelivr\.net/npm/@marimo-team/frontend@[^/\"']+/dist/")


def marimo_static() -> Path:
    import marimo

    return Path(marimo.__file__).parent / "_static"


def export_app(app: str | os.PathLike[str], out: str | os.PathLike[str], *, offline: bool = True,
               env: dict[str, str] | None = None, timeout: float = 600) -> Path:
    """Run the app headless, write `out` (HTML with every output), and with `offline` put marimo's
    front end in `<out dir>/marimo-assets/` (~28 MB, shared by every page in that folder)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "marimo", "export", "html", str(app), "-o", str(out), "--no-include-code"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"marimo export failed ({done.returncode}): {done.stderr[-2000:]}")
    if offline:
        assets = out.parent / "marimo-assets"
        if not (assets / "assets").exists():
            shutil.copytree(marimo_static(), assets, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.md", "index.html"))
        html = out.read_text(encoding="utf-8")
        out.write_text(CDN.sub("./marimo-assets/", html), encoding="utf-8")
    return out
