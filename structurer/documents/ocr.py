"""Text of scanned pages (a PDF without a text layer, or a page image) by OCR, ruled tables
kept as tab-separated rows with their blank cells.

Plain OCR of a table page loses what a reader needs most: tesseract reads the ruling lines
as characters, drops isolated digits, and prints a row's numbers with the blank cells gone,
so no column is known. Here the page is first turned straight (a scan is rarely; half a
degree already breaks the grid), then its ruling lines are found in the image (morphological
opening), which gives each table's grid and its merged cells (a border not drawn). The lines
are erased and each cell is read on its own, six times: with `chi_sim` and with tesseract's
English model restricted to digits (at two scales), each from the grey and from the
binarised image; a number is what most readings agree on. (chi_sim alone drops a lone "1" or
reads it as "工"; one reading alone misreads about one number in twenty on the converter
corpus.) One tesseract process per reading and page reads all the cells (a list file: the
model loads once). The rest of the page is read as text. The result has the shape of
`pdf_tables`' output, so the table reader treats a scan like a born-digital PDF, told that
its text came from OCR (`core.types.OCR_FORMATS`).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from structurer.documents.errors import DocumentError

Image = npt.NDArray[Any]  # cv2 returns loosely typed arrays

OCR_DPI = 300
INK = 160  # grey level below which a pixel is ink
TESSERACT_TIMEOUT_S = 300
MAX_PIXELS = 150_000_000  # an A3 page at 600 dpi is 70 million
_A4_WIDTH = 2480  # pixels of an A4 page's width at OCR_DPI
_PAGE_WIDTH = (1600, 3600)  # image widths read as they are; others are scaled to _A4_WIDTH
_H_KERNEL, _V_KERNEL = 80, 60  # shortest ruling line kept, in pixels at OCR_DPI
_MIN_TABLE = (300, 100)  # a ruled box smaller than this (w, h) is a frame, not a table
_BORDER = 0.5  # share of a cell side that must be inked for a border to be drawn
_INSET = 5  # pixels kept off a cell's borders when it is cut out
_MIN_INK = 30  # inked pixels below which a cell is blank
_MAX_SKEW = 5.0  # degrees a scanned page is searched for skew
_DIGITS = "0123456789.-"
# (model, binarised, scale) of each reading. Grey (lightly blurred) keeps the strokes'
# anti-aliasing; binarised drops the grey halo a re-scanned or re-rendered page leaves around
# erased ruling lines (read as strokes). Neither wins everywhere, so both vote.
_LABEL_READINGS = (("chi_sim", False, 1.0), ("chi_sim", True, 1.0))
_DIGIT_READINGS = (("eng", False, 2.0), ("eng", False, 1.5), ("eng", True, 2.0), ("eng", True, 1.5))
_MIN_CONF = 50  # confidence for a reading to count alone (Chinese text, or a lone number)
UNREAD = "?"  # an inked cell no reading makes out
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")
_ASCII_END = re.compile(r"[0-9A-Za-z.%]$")
_ASCII_START = re.compile(r"^[0-9A-Za-z.]")


@dataclass
class _Word:
    x: int
    y: int
    w: int
    h: int
    text: str
    conf: float
    line: tuple[int, int, int, int] = (0, 0, 0, 0)  # page, block, paragraph, line

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def tesseract_ready() -> str | None:
    """None when tesseract with the chi_sim model is installed, else what is missing."""
    exe = shutil.which("tesseract")
    if exe is None:
        return "tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-chi-sim)"
    try:
        langs = subprocess.run(
            [exe, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.split()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"tesseract does not run ({exc})"
    missing = [lang for lang in ("chi_sim", "eng") if lang not in langs]
    if missing:
        return f"tesseract lacks the {', '.join(missing)} model (Debian: tesseract-ocr-chi-sim)"
    return None


def ocr_pdf(data: bytes, path: Path) -> str:
    """The text of every page of a PDF read by OCR, pages split by \\f."""
    import pypdfium2 as pdfium

    _require_tesseract(path)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise DocumentError(f"{path}: not a readable PDF ({exc})") from None
    try:
        pages = []
        for index in range(len(pdf)):
            bitmap = pdf[index].render(scale=OCR_DPI / 72, grayscale=True)
            pages.append(page_text(np.asarray(bitmap.to_pil().convert("L")), path))
    finally:
        pdf.close()
    return _checked("\f".join(pages), path)


def ocr_image(data: bytes, path: Path) -> str:
    """The text of one scanned page given as an image file (PNG, JPEG, TIFF, BMP), scaled
    to a page at OCR_DPI (the line and cell sizes assume it)."""
    from PIL import Image as PILImage

    _require_tesseract(path)
    try:  # the header only: a small file can declare a huge image (a decompression bomb)
        with PILImage.open(io.BytesIO(data)) as probe:
            pixels = probe.size[0] * probe.size[1]
    except PILImage.DecompressionBombError:
        pixels = MAX_PIXELS + 1
    except (OSError, ValueError):
        raise DocumentError(f"{path}: not a readable image") from None
    if pixels > MAX_PIXELS:
        raise DocumentError(
            f"{path}: image has over {MAX_PIXELS // 10**6} million pixels, more than a page "
            "scan needs; refused"
        )
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise DocumentError(f"{path}: not a readable image")
    if not _PAGE_WIDTH[0] <= img.shape[1] <= _PAGE_WIDTH[1]:
        scale = _A4_WIDTH / img.shape[1]
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return _checked(page_text(img, path), path)


def page_text(img: Image, path: Path) -> str:
    """One page: text outside tables in reading order, each ruled table as its grid's rows."""
    img = deskewed(img)
    ink = (img < INK).astype(np.uint8)
    horizontal: Image = cv2.morphologyEx(
        ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (_H_KERNEL, 1))
    )
    vertical: Image = cv2.morphologyEx(
        ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, _V_KERNEL))
    )
    rules: Image = horizontal | vertical
    grids = _grids(horizontal, vertical, rules)
    clean = img.copy()
    rules = cv2.dilate(rules, np.ones((5, 5), np.uint8))
    clean[rules > 0] = 255
    outside = clean.copy()
    for grid in grids:
        x0, y0, x1, y1 = grid.box
        outside[y0 : y1 + 1, x0 : x1 + 1] = 255

    labels = [_Batch(*spec) for spec in _LABEL_READINGS]
    digits = [_Batch(*spec) for spec in _DIGIT_READINGS]
    cells = [grid.cut(clean, [*labels, *digits]) for grid in grids]
    words = _Batch.one(outside, path)
    for batch in labels:
        batch.run(path, "6")
    for batch in digits:
        batch.run(path, "7", "-c", f"tessedit_char_whitelist={_DIGITS}")

    parts: list[tuple[int, str]] = []
    for grid, cut in zip(grids, cells, strict=True):
        parts.append((grid.box[1], grid.render(cut, labels, digits)))
    lines: dict[tuple[int, int, int, int], list[_Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    for line in lines.values():
        parts.append((min(w.y for w in line), join_words(line)))
    parts.sort(key=lambda p: p[0])
    return "\n".join(text for _, text in parts if text)


def skew_angle(img: Image) -> float:
    """The rotation, in degrees as cv2 turns (counter-clockwise positive), that straightens
    the page: the one that makes the ink's row profile sharpest (text lines and ruling lines
    horizontal). Searched on a quarter-size image, coarse then fine, within ±_MAX_SKEW."""
    small = cv2.resize((img < INK).astype(np.float32), None, fx=0.25, fy=0.25)
    h, w = small.shape
    centre = (w / 2, h / 2)

    def sharpness(angle: float) -> float:
        turn = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rows = cv2.warpAffine(small, turn, (w, h)).sum(axis=1)
        return float((rows**2).sum())

    coarse: list[float] = np.arange(-_MAX_SKEW, _MAX_SKEW + 0.01, 0.5).tolist()
    best = max(coarse, key=sharpness)
    fine: list[float] = np.arange(best - 0.5, best + 0.51, 0.05).tolist()
    return round(float(max(fine, key=sharpness)), 2)


def deskewed(img: Image) -> Image:
    """The page turned straight (a scan is rarely: half a degree already breaks the grid)."""
    angle = skew_angle(img)
    if abs(angle) < 0.05:
        return img
    h, w = img.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    straight: Image = cv2.warpAffine(img, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    return straight


@dataclass
class Grid:
    """A ruled table: its line positions and, per slot, the slot heading its merged cell."""

    box: tuple[int, int, int, int]
    ys: list[int]
    xs: list[int]
    root: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.ys) - 1

    @property
    def cols(self) -> int:
        return len(self.xs) - 1

    def merge(self, horizontal: Image, vertical: Image) -> None:
        """A border drawn along less than half of a slot's side joins the slot to its
        neighbour; each merged cell is headed by its first (top-left) slot."""
        joined: list[tuple[int, int]] = []
        for r in range(self.rows):
            for c in range(self.cols):
                slot = r * self.cols + c
                top, bottom = self.ys[r] + _INSET, self.ys[r + 1] - _INSET
                left, right = self.xs[c] + _INSET, self.xs[c + 1] - _INSET
                if c + 1 < self.cols:
                    x = self.xs[c + 1]
                    if _drawn(vertical[top:bottom, x - 3 : x + 4], axis=1) < _BORDER:
                        joined.append((slot, slot + 1))
                if r + 1 < self.rows:
                    y = self.ys[r + 1]
                    if _drawn(horizontal[y - 3 : y + 4, left:right], axis=0) < _BORDER:
                        joined.append((slot, slot + self.cols))
        n = self.rows * self.cols
        pairs = np.array(joined, dtype=np.intp).reshape(-1, 2)
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        _, component = connected_components(graph, directed=False)
        head: dict[int, int] = {}
        self.root = [head.setdefault(int(label), slot) for slot, label in enumerate(component)]

    def cut(self, clean: Image, batches: list[_Batch]) -> dict[int, int]:
        """Queue every inked cell for every reading; slot -> index in the batches."""
        queued: dict[int, int] = {}
        for slot in range(self.rows * self.cols):
            if self.root[slot] != slot:
                continue
            members = [i for i, root in enumerate(self.root) if root == slot]
            rows = [i // self.cols for i in members]
            cols = [i % self.cols for i in members]
            top, bottom = self.ys[min(rows)] + _INSET, self.ys[max(rows) + 1] - _INSET + 1
            left, right = self.xs[min(cols)] + _INSET, self.xs[max(cols) + 1] - _INSET + 1
            crop = clean[top:bottom, left:right]
            if crop.size == 0 or int((crop < INK).sum()) < _MIN_INK:
                continue
            for batch in batches:
                queued[slot] = batch.add(crop)
        return queued

    def render(self, queued: dict[int, int], labels: list[_Batch], digits: list[_Batch]) -> str:
        lines = []
        for r in range(self.rows):
            cells = []
            for c in range(self.cols):
                n = queued.get(r * self.cols + c)
                if n is None:
                    cells.append("")
                else:
                    cells.append(
                        cell_text([b.words(n) for b in labels], [b.words(n) for b in digits])
                    )
            lines.append("\t".join(cells))
        return "\n".join(lines)


def cell_text(labels: list[list[_Word]], digits: list[list[_Word]]) -> str:
    """A cell's reading. Chinese a label reading is sure of: that text, unless it is one
    character where two digit readings agree on a number (noise makes chi_sim read a lone
    digit as a character). Otherwise the number
    most readings agree on (at least two; a tie goes to the more confident side); failing
    that, a label reading's number, or the one confident digit reading (chi_sim reads a lone
    "1" as "工", "]" or nothing). An inked cell nothing reads is UNREAD, never blank: blank
    means 0 in this genre."""
    texts = [join_words(words) for words in labels]
    numbers = [join_words(words) for words in digits]
    votes: Counter[str] = Counter()
    weight: dict[str, float] = {}
    for words, read in zip([*labels, *digits], [*texts, *numbers], strict=True):
        if words and _NUMERIC.match(read):
            votes[read] += 1
            weight[read] = weight.get(read, 0.0) + min(w.conf for w in words)
    digits_agree = any(votes[n] >= 2 for words, n in zip(digits, numbers, strict=True) if words)
    for label, text in zip(labels, texts, strict=True):
        sure = any(_CJK.search(w.text) and w.conf >= _MIN_CONF for w in label)
        if sure and not (len(text) == 1 and digits_agree):  # a lone "3" read as "或"
            return text
    if votes:
        best = max(votes, key=lambda n: (votes[n], weight[n]))
        if votes[best] >= 2:
            return best
    numeric = [t for t in texts if _NUMERIC.match(t)]
    if numeric:
        return numeric[0]
    for words, number in zip(digits, numbers, strict=True):
        if words and min(w.conf for w in words) >= _MIN_CONF and _NUMERIC.match(number):
            return number
    return next((t for t in texts if t), UNREAD)


def join_words(words: list[_Word]) -> str:
    """Tesseract's lines top to bottom, words in x order; no space beside Chinese."""
    lines: dict[tuple[int, int, int, int], list[_Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    out = ""
    for line in sorted(lines.values(), key=lambda ws: sum(w.cy for w in ws) / len(ws)):
        for word in sorted(line, key=lambda w: w.x):
            if out and _ASCII_END.search(out) and _ASCII_START.match(word.text):
                out += " "
            out += word.text
    return out


def _grids(horizontal: Image, vertical: Image, rules: Image) -> list[Grid]:
    count, _, stats, _ = cv2.connectedComponentsWithStats(rules)
    grids = []
    for n in range(1, count):
        x, y, w, h = (int(v) for v in stats[n][:4])
        if w < _MIN_TABLE[0] or h < _MIN_TABLE[1]:
            continue
        ys = _centres(np.where(horizontal[y : y + h, x : x + w].sum(axis=1) > w * 0.05)[0] + y)
        xs = _centres(np.where(vertical[y : y + h, x : x + w].sum(axis=0) > 20)[0] + x)
        if len(ys) < 3 or len(xs) < 3:
            continue
        grid = Grid(box=(x, y, x + w - 1, y + h - 1), ys=ys, xs=xs)
        grid.merge(horizontal, vertical)
        grids.append(grid)
    return sorted(grids, key=lambda g: g.box[1])


def _centres(positions: npt.NDArray[np.intp]) -> list[int]:
    """Runs of adjacent pixel rows (or columns) as one line each, at the run's centre."""
    runs: list[list[int]] = []
    for p in positions.tolist():
        if runs and p - runs[-1][-1] <= 3:
            runs[-1].append(p)
        else:
            runs.append([p])
    return [round((run[0] + run[-1]) / 2) for run in runs]


def _drawn(strip: Image, axis: int) -> float:
    if strip.size == 0:
        return 1.0
    return float(strip.any(axis=axis).mean())


class _Batch:
    """Cell images read by one tesseract process (a list file: the model loads once)."""

    def __init__(self, lang: str = "chi_sim", binarised: bool = False, scale: float = 1.0) -> None:
        self.lang, self.binarised, self.scale = lang, binarised, scale
        self.crops: list[Image] = []
        self.read: dict[int, list[_Word]] = {}

    def add(self, crop: Image) -> int:
        if self.binarised:
            crop = np.where(crop < INK, 0, 255).astype(np.uint8)
        else:  # smooths a scan's speckle and JPEG ringing (and a render's jagged edges)
            crop = cv2.GaussianBlur(crop, (3, 3), 0)
        if self.scale != 1.0:
            crop = cv2.resize(
                crop, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_CUBIC
            )
        pad = cv2.copyMakeBorder(crop, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255)
        self.crops.append(pad)
        return len(self.crops) - 1

    def words(self, n: int) -> list[_Word]:
        return self.read.get(n, [])

    def run(self, path: Path, psm: str, *options: str) -> None:
        if not self.crops:
            return
        with tempfile.TemporaryDirectory(prefix="structurer-ocr-") as tmp:
            names = []
            for n, crop in enumerate(self.crops):
                name = f"{tmp}/{n:05d}.png"
                cv2.imwrite(name, crop)
                names.append(name)
            Path(tmp, "list.txt").write_text("\n".join(names) + "\n")
            tsv = _tesseract(
                path, [f"{tmp}/list.txt", "stdout", "-l", self.lang, "--psm", psm, *options]
            )
        for word in _words(tsv):
            self.read.setdefault(word.line[0], []).append(word)

    @staticmethod
    def one(img: Image, path: Path) -> list[_Word]:
        ok, png = cv2.imencode(".png", img)
        if not ok:
            raise DocumentError(f"{path}: page image could not be encoded for OCR")
        args = ["stdin", "stdout", "-l", "chi_sim", "--psm", "3"]
        return _words(_tesseract(path, args, png.tobytes()))


def _tesseract(path: Path, args: list[str], stdin: bytes | None = None) -> str:
    try:
        done = subprocess.run(
            ["tesseract", *args, "tsv"],
            input=stdin,
            capture_output=True,
            timeout=TESSERACT_TIMEOUT_S,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},  # threads on tiny images: 5x slower
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DocumentError(f"{path}: OCR timed out after {TESSERACT_TIMEOUT_S} s") from None
    except OSError as exc:
        raise DocumentError(f"{path}: OCR could not start ({exc.strerror or exc})") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DocumentError(f"{path}: OCR failed ({reason[-1] if reason else done.returncode})")
    return done.stdout.decode("utf-8", "replace")


def _words(tsv: str) -> list[_Word]:
    out = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        out.append(
            _Word(
                x=int(row["left"]),
                y=int(row["top"]),
                w=int(row["width"]),
                h=int(row["height"]),
                text=text,
                conf=float(row["conf"]),
                line=(
                    int(row["page_num"]) - 1,
                    int(row["block_num"]),
                    int(row["par_num"]),
                    int(row["line_num"]),
                ),
            )
        )
    return out


def _require_tesseract(path: Path) -> None:
    missing = tesseract_ready()
    if missing:
        raise DocumentError(f"{path}: scanned pages need OCR, but {missing}")


def _checked(text: str, path: Path) -> str:
    if not text.strip():
        raise DocumentError(f"{path}: OCR found no text on the scanned pages")
    return text
