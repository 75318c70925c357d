"""The PDF report read back with poppler: every town and its coverage figure, embedded CJK font, real pages."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import FontMissingError
from reports.content import LEVEL_TOWN, LEVEL_VILLAGE
from reports.fonts import find_cjk_font
from reports.labels import fmt_count, fmt_pct
from reports.model import Report
from reports.pdf import write_pdf
from tests.reports import xihu_report

pytestmark = pytest.mark.xihu
POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm") and shutil.which("pdffonts")


@pytest.fixture(scope="module")
def report(xihu_dir: Path) -> Report:
    if not POPPLER:
        pytest.skip("poppler-utils (pdftotext, pdftoppm, pdffonts) are not installed")
    return xihu_report()


@pytest.fixture(scope="module")
def pdfs(report: Report, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pdf")
    town = next(s for s in report.scopes(LEVEL_TOWN) if s.area_id == "330106109")
    village = report.scopes(LEVEL_VILLAGE)[3]
    return {
        "district": write_pdf(report, report.scopes("district")[0], out / "district.pdf"),
        "town": write_pdf(report, town, out / "town.pdf"),
        "village": write_pdf(report, village, out / "village.pdf"),
    }


def text_of(path: Path, *pages: int) -> str:
    args = ["pdftotext", "-layout"]
    if pages:
        args += ["-f", str(pages[0]), "-l", str(pages[-1])]
    return subprocess.run([*args, str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_every_town_and_its_coverage_figure_is_printed(pdfs: dict[str, Path], report: Report) -> None:
    text = text_of(pdfs["district"])
    towns = report.published.area_display(LEVEL_TOWN)
    assert len(towns) == 12
    lines = text.splitlines()
    for t in towns.to_dict("records"):
        name = str(t["name"])
        n, pct = fmt_count(t["n"]), fmt_pct(t["pct_inside"], bound=t["pct_inside_bound"])
        # the towns table: one line per town with its households and coverage share as printed
        row = [ln for ln in lines if ln.strip().startswith(name) and n in ln.split()]
        assert row, name
        assert pct in row[0].split(), (name, pct, row[0])
        # and the town's own section heading
        assert any(ln.strip() == name for ln in lines), name
    pts = report.tables.run.points
    assert f"{100.0 * pts['covered'].mean():.1f}%" in text  # the district figure: 64.4%
    assert f"{len(pts):,}" in text


def test_methods_box_and_attribution(pdfs: dict[str, Path]) -> None:
    first = text_of(pdfs["district"], 1)
    for s in ("步行速度", "4.5 km/h", "10 分钟", "750 米", "xihu.osm.pbf", "EPSG:4326", "H3 分辨率", "合成"):
        assert s in first, s
    whole = text_of(pdfs["district"])
    for s in ("© OpenStreetMap contributors", "ODbL", "Vonng/adcode", "CC BY 4.0", "<10", "≥10", "个人名单"):
        assert s in whole, s
    assert "新增站点甲" in whole and "测试方案" in whole


def test_cjk_font_is_embedded(pdfs: dict[str, Path]) -> None:
    out = subprocess.run(["pdffonts", str(pdfs["district"])], capture_output=True, text=True, check=True).stdout
    fonts = out.splitlines()[2:]
    assert fonts and all("WenQuanYi" in f for f in fonts)
    assert all(re.search(r"\byes\s+yes\s+yes\b", f) for f in fonts)  # embedded, subset, with a ToUnicode map


def test_first_pages_render_with_map_and_text(pdfs: dict[str, Path], tmp_path: Path) -> None:
    subprocess.run(
        ["pdftoppm", "-r", "60", "-f", "1", "-l", "2", "-png", str(pdfs["district"]), str(tmp_path / "p")], check=True
    )
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 2
    for p in pages:
        img = np.asarray(Image.open(p).convert("RGB"), dtype=np.int16)
        ink = (img.sum(axis=2) < 600).mean()
        assert ink > 0.02, p.name  # not blank
    # page 1 carries the coloured map: red-to-green hexes and blue hubs, not only black text
    img = np.asarray(Image.open(pages[0]).convert("RGB"), dtype=np.int16)
    colourful = (np.abs(img[:, :, 0] - img[:, :, 1]) > 60) | (np.abs(img[:, :, 1] - img[:, :, 2]) > 60)
    assert colourful.mean() > 0.003


def test_town_and_village_reports(pdfs: dict[str, Path], report: Report) -> None:
    town = text_of(pdfs["town"])
    assert "三墩镇" in town and "村(社区)服务点与社区" in town
    t = report.published.area_display(LEVEL_TOWN).set_index("area_id").loc["330106109"]
    assert fmt_pct(t["pct_inside"], bound=t["pct_inside_bound"]) in town
    village_scope = report.scopes(LEVEL_VILLAGE)[3]
    village = text_of(pdfs["village"])
    assert village_scope.name in village and str(village_scope.hub_id) in village
    assert "方法" in village and "隐私保护" in village


def test_missing_font_fails_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(FontMissingError, match=r"fonts-wqy-zenhei|找不到"):
        find_cjk_font(tmp_path / "nope.ttc")
    assert find_cjk_font().is_file()


def test_maps_on_the_reused_figure_are_the_same_as_on_a_new_one(report: Report) -> None:
    # every thread re-uses one figure per size; a map must not depend on what was drawn before it
    import threading

    from reports.maps import coverage_map_png

    town = next(s for s in report.scopes(LEVEL_TOWN) if s.area_id == "330106109")
    village = report.scopes(LEVEL_VILLAGE)[3]
    md = report.map_data

    def draw(sc: object) -> bytes:
        return coverage_map_png(md, bounds=report.bounds(sc), outline=report.outline(sc), title=str(sc))  # type: ignore[arg-type]

    def fresh(sc: object) -> bytes:
        out: list[bytes] = []
        th = threading.Thread(target=lambda: out.append(draw(sc)))  # a new thread: a new figure
        th.start()
        th.join()
        return out[0]

    first_town, first_village = draw(town), draw(village)
    again_town = draw(town)
    assert first_town == again_town == fresh(town)
    assert first_village == fresh(village)
    assert first_town != first_village


def test_map_pixels_are_copied_into_the_pdf_unchanged(pdfs: dict[str, Path], report: Report, tmp_path: Path) -> None:
    # the map's PNG data goes into the PDF as it is (reports.pdf_png): what a reader decodes is the map
    village = report.scopes(LEVEL_VILLAGE)[3]
    listing = subprocess.run(["pdfimages", "-list", str(pdfs["village"])], capture_output=True, text=True, check=True)
    assert "Syntax Error" not in listing.stderr
    rows = listing.stdout.splitlines()[2:]
    assert len(rows) == 1 and " rgb " in f" {rows[0]} "
    subprocess.run(["pdfimages", "-png", str(pdfs["village"]), str(tmp_path / "img")], check=True)
    got = np.asarray(Image.open(tmp_path / "img-000.png").convert("RGB"))
    want = np.asarray(Image.open(io.BytesIO(report.map_png(village))).convert("RGB"))
    assert got.shape == want.shape
    assert np.array_equal(got, want)


def test_png_data_takes_only_8_bit_rgb_non_interlaced_intact_pngs() -> None:
    from reports.pdf_png import png_data

    def png(mode: str) -> bytes:
        buf = io.BytesIO()
        Image.new(mode, (7, 5), "red" if mode != "L" else 128).save(buf, format="PNG")
        return buf.getvalue()

    rgb = png("RGB")
    data = png_data(rgb)
    assert data is not None and (data.width, data.height) == (7, 5)
    assert len(zlib.decompress(data.idat)) == 5 * (1 + 7 * 3)  # one filter byte per row
    assert png_data(png("RGBA")) is None
    assert png_data(png("L")) is None
    # the same header marked interlaced (Adam7), with a valid CRC
    ihdr = bytearray(rgb[12:29])  # b"IHDR" + 13 bytes
    ihdr[-1] = 1
    interlaced = rgb[:12] + bytes(ihdr) + zlib.crc32(bytes(ihdr)).to_bytes(4, "big") + rgb[33:]
    assert png_data(interlaced) is None
    damaged = bytearray(rgb)
    damaged[40] ^= 0xFF
    assert png_data(bytes(damaged)) is None
    assert png_data(b"not a png") is None


def test_maps_drawn_by_a_fork_servers_processes_are_the_same(report: Report) -> None:
    # as the Reports page has them drawn: a fork server's processes, the same PNGs
    import dataclasses

    from reports.build import draw_maps

    villages = report.scopes(LEVEL_VILLAGE)[5:8]
    fresh = dataclasses.replace(report, _maps={}, memo={})
    assert draw_maps(fresh, villages, workers=2, start_method="forkserver") == 3
    assert draw_maps(fresh, villages, workers=2, start_method="forkserver") == 0  # drawn once
    for sc in villages:
        assert fresh._maps[(sc.level, sc.area_id)] == report.map_png(sc)
