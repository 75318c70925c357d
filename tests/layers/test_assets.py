"""The map's JavaScript and CSS: pinned on npm, copied into static/vendor, served by Streamlit itself."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from layers.assets import VENDOR_CSS, VENDOR_DIR, VENDOR_JS, missing_vendor_files, vendor_files

ROOT = Path(__file__).resolve().parent.parent.parent
SETUP_HINT = "static/vendor is not populated: run scripts/setup.sh (npm ci + scripts/vendor_assets.sh)"


def _package() -> dict:
    return json.loads((ROOT / "package.json").read_text(encoding="utf-8"))


def _need_vendor() -> None:
    missing = missing_vendor_files()
    if missing:
        pytest.skip(f"{SETUP_HINT}; missing {missing[0]}")


def test_npm_packages_are_pinned_exactly_and_locked() -> None:
    deps = _package()["dependencies"]
    assert deps["leaflet"] == "1.9.4"
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in deps.values()), deps  # no ^, ~ or ranges
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["lockfileVersion"] >= 2
    assert lock["packages"][""]["dependencies"] == deps
    for name, version in deps.items():
        entry = lock["packages"][f"node_modules/{name}"]
        assert entry["version"] == version
        assert entry["integrity"].startswith("sha512-")
    # only what the map needs: Leaflet, and jQuery for pages that add folium Popups
    assert set(deps) == {"leaflet", "jquery"}


def test_repository_layout_for_static_serving() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["enableStaticServing"] is True
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "node_modules/" in ignored and "static/vendor/" in ignored
    assert (ROOT / "static" / ".gitkeep").is_file()
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "npm ci" in setup and "scripts/vendor_assets.sh" in setup


def test_vendored_files_are_the_pinned_versions() -> None:
    _need_vendor()
    deps = _package()["dependencies"]
    assert json.loads((VENDOR_DIR / "versions.json").read_text(encoding="utf-8")) == deps
    head = (VENDOR_DIR / VENDOR_JS["leaflet"]).read_text(encoding="utf-8")[:400]
    assert f"Leaflet {deps['leaflet']}" in head
    jq = (VENDOR_DIR / VENDOR_JS["jquery"]).read_text(encoding="utf-8")[:200]
    assert f"jQuery v{deps['jquery']}" in jq
    # every url(...) of Leaflet's CSS resolves to a vendored file
    css = (VENDOR_DIR / VENDOR_CSS["leaflet_css"]).read_text(encoding="utf-8")
    refs = [u for u in re.findall(r"url\(([^)]+)\)", css) if not u.startswith("#")]
    assert refs, "Leaflet's CSS references its images"
    for ref in refs:
        path = VENDOR_DIR / "leaflet" / ref.strip("'\"")
        assert path.is_file(), ref
        assert f"leaflet/{ref.strip(chr(39) + chr(34))}" in vendor_files()


def test_vendor_script_copies_from_node_modules(tmp_path: Path) -> None:
    """scripts/vendor_assets.sh in a scratch tree: fresh copy, idempotent, clear error without node_modules."""
    if not (ROOT / "node_modules" / "leaflet" / "package.json").is_file():
        pytest.skip("node_modules is absent: run scripts/setup.sh (npm ci)")
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "vendor_assets.sh", tmp_path / "scripts" / "vendor_assets.sh")
    script = str(tmp_path / "scripts" / "vendor_assets.sh")
    bad = subprocess.run(["bash", script], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "npm ci" in bad.stderr
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    for _ in range(2):  # a second run replaces the folder
        done = subprocess.run(["bash", script], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    vendor = tmp_path / "static" / "vendor"
    assert not missing_vendor_files(vendor)
    assert sorted(p.name for p in (tmp_path / "static").iterdir()) == ["vendor"]  # no .tmp / .old left over
    src = ROOT / "node_modules" / "leaflet" / "dist" / "leaflet.js"
    assert (vendor / "leaflet" / "leaflet.js").read_bytes() == src.read_bytes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_streamlit_serves_the_vendored_files(tmp_path: Path) -> None:
    """A real ``streamlit run`` with the repository's config serves static/vendor at /app/static/vendor."""
    _need_vendor()
    app = tmp_path / "app.py"
    app.write_text("import streamlit as st\nst.write('ok')\n", encoding="utf-8")
    (tmp_path / "static").symlink_to(ROOT / "static", target_is_directory=True)
    port = _free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    # cwd = repository root: its .streamlit/config.toml turns static serving on
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, "streamlit exited"
            assert time.monotonic() - t0 < 45, "streamlit did not start"
            time.sleep(0.3)
        for rel, ctype in ((VENDOR_JS["leaflet"], "javascript"), (VENDOR_CSS["leaflet_css"], "text/css"),
                           ("leaflet/images/layers.png", "image/png")):  # fmt: skip
            with urllib.request.urlopen(f"{base}/app/static/vendor/{rel}", timeout=10) as r:
                assert r.status == 200
                assert ctype in r.headers["Content-Type"], (rel, r.headers["Content-Type"])
                assert r.read() == (VENDOR_DIR / rel).read_bytes()
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/app/static/vendor/leaflet/nope.js", timeout=10)
        assert err.value.code == 404
        err.value.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
