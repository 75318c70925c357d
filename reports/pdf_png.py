"""A PNG image placed in a reportlab PDF as it is: its compressed pixel data copied, not re-encoded.

reportlab's ``Image`` decodes a PNG to raw pixels, hashes them, and compresses them again
(zlib level 6, plus a soft mask for an alpha channel): most of the time a report PDF
spends on its map. PDF's ``FlateDecode`` filter with the PNG predictors
(``/DecodeParms << /Predictor 15 ... >>``, PDF 1.7 §7.4.4.4) reads a PNG's ``IDAT`` data
directly, so an 8-bit RGB, non-interlaced PNG (what :func:`reports.maps.coverage_map_png`
writes) goes into the file as it is. Anything else is left to reportlab's ``Image``.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from reportlab.pdfbase import pdfdoc
from reportlab.platypus import Flowable

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class PngData:
    """The parts of a PNG a PDF image needs."""

    width: int
    height: int
    idat: bytes


def png_data(png: bytes) -> PngData | None:
    """Width, height and the joined ``IDAT`` data of an 8-bit RGB non-interlaced PNG, else None.

    Every chunk's CRC is checked: a damaged file is not copied into a PDF.
    """
    if not png.startswith(_SIGNATURE):
        return None
    pos, size = len(_SIGNATURE), len(png)
    header: tuple[int, ...] | None = None
    idat: list[bytes] = []
    while pos + 12 <= size:
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        body = png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length] or b"\0\0\0\0")
        if len(body) != length or zlib.crc32(kind + body) != crc:
            return None
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None or not idat:
        return None
    width, height, depth, colour, compression, filtering, interlace = header
    if (depth, colour, compression, filtering, interlace) != (8, 2, 0, 0, 0):
        return None
    return PngData(width=width, height=height, idat=b"".join(idat))


class _PngXObject(pdfdoc.PDFImageXObject):  # type: ignore[misc]
    """An image XObject whose stream is a PNG's ``IDAT`` data, decoded by the PDF reader."""

    def __init__(self, name: str, data: PngData) -> None:
        super().__init__(name)
        self.width, self.height = data.width, data.height
        self.bitsPerComponent = 8
        self.colorSpace = "DeviceRGB"
        self._filters = ("FlateDecode",)
        self.streamContent = data.idat
        self.mask = None

    def format(self, document: Any) -> bytes:
        stream = pdfdoc.PDFStream(content=self.streamContent)
        d = stream.dictionary
        d["Type"] = pdfdoc.PDFName("XObject")
        d["Subtype"] = pdfdoc.PDFName("Image")
        d["Width"] = self.width
        d["Height"] = self.height
        d["BitsPerComponent"] = 8
        d["ColorSpace"] = pdfdoc.PDFName("DeviceRGB")
        d["Filter"] = pdfdoc.PDFName("FlateDecode")
        d["DecodeParms"] = pdfdoc.PDFDictionary(
            {"Predictor": 15, "Colors": 3, "BitsPerComponent": 8, "Columns": self.width}
        )
        d["Length"] = len(self.streamContent)
        # the data is already compressed: the stream must not be compressed again
        stream.filters = ()
        return stream.format(document)  # type: ignore[no-any-return]


class PngImage(Flowable):  # type: ignore[misc]
    """A flowable drawing a PNG (see :func:`png_data`) at ``drawWidth`` x ``drawHeight`` points
    (its size in pixels unless set, as reportlab's ``Image``)."""

    def __init__(self, data: PngData) -> None:
        super().__init__()
        self.data = data
        self.imageWidth, self.imageHeight = data.width, data.height
        self.drawWidth, self.drawHeight = float(data.width), float(data.height)
        self._name = "png" + hashlib.sha1(data.idat, usedforsecurity=False).hexdigest()

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.drawWidth, self.drawHeight

    def draw(self) -> None:
        canv = self.canv
        doc = canv._doc
        reg = doc.getXObjectName(self._name)
        if doc.idToObject.get(reg) is None:  # once per file, however often it is drawn
            obj = _PngXObject(self._name, self.data)
            canv._setXObjects(obj)
            doc.Reference(obj, reg)
            doc.addForm(self._name, obj)
        canv._currentPageHasImages = 1
        canv.saveState()
        canv.scale(self.drawWidth, self.drawHeight)
        canv._code.append(f"/{reg} Do")
        canv.restoreState()
        canv._formsinuse.append(self._name)  # the page's resources name it


__all__ = ["PngData", "PngImage", "png_data"]
