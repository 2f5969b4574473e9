"""Turn the corpus (corpus.py) back into text with the converters people really use.

    .venv/bin/python bench/tables/convert.py --corpus /tmp/corpus --out /tmp/converted
writes <out>/<converter>/<report>.txt. Converters:

- pdftotext_layout, pdftotext_raw: poppler's `pdftotext -layout` / `-raw`;
- pdfplumber, pypdfium2: the Python libraries' plain text extraction;
- ocr: `pdftoppm -r 300` page images read by tesseract (`-l chi_sim`, Debian);
- markitdown_pdf, markitdown_docx, markitdown_html: Microsoft's markitdown (PyPI) to markdown;
- structurer_pdf, structurer_html: this project's own reader (`structurer.documents.reader`);
- structurer_ocr: the PDF's pages rendered at 300 dpi, read by this project's OCR
  (`structurer.documents.ocr`);
- structurer_scan: the same pages made to look scanned (skew, speckle, JPEG) in an image-only
  PDF, read by this project's reader (which OCRs it).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

OCR_DPI = 300


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def pdftotext_layout(path: Path) -> str:
    return _run("pdftotext", "-layout", str(path), "-")


def pdftotext_raw(path: Path) -> str:
    return _run("pdftotext", "-raw", str(path), "-")


def pdfplumber_text(path: Path) -> str:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def pypdfium2_text(path: Path) -> str:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def ocr_text(path: Path) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        _run("pdftoppm", "-r", str(OCR_DPI), "-png", str(path), f"{tmp}/p")
        pages = sorted(Path(tmp).glob("p-*.png"))
        return "\f".join(_run("tesseract", str(p), "-", "-l", "chi_sim") for p in pages)


def structurer_ocr_text(path: Path) -> str:
    """The PDF read as a scan: its pages rendered to images and read by this project's OCR."""
    from structurer.documents.ocr import ocr_pdf

    return ocr_pdf(path.read_bytes(), path)


def structurer_scan_text(path: Path) -> str:
    """The PDF as a scanner gives it, read by this project's reader: pages rendered at
    OCR_DPI, turned by a skew in [-1.5, 1.5] degrees drawn from the file name, speckled,
    saved as JPEG (quality 70) in an image-only PDF."""
    import hashlib

    import cv2
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    from structurer.documents.reader import read_document

    seed = int(hashlib.sha256(path.name.encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    angle = float(rng.uniform(-1.5, 1.5))
    pdf = pdfium.PdfDocument(str(path))
    pages = []
    for i in range(len(pdf)):
        img = np.asarray(pdf[i].render(scale=OCR_DPI / 72, grayscale=True).to_pil().convert("L"))
        h, w = img.shape
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        img = cv2.warpAffine(img, turn, (w, h), borderValue=255).astype(np.int16)
        img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
        pages.append(Image.fromarray(img))
    pdf.close()
    with tempfile.TemporaryDirectory() as tmp:
        scan = Path(tmp) / path.name
        pages[0].save(scan, save_all=True, append_images=pages[1:], resolution=OCR_DPI, quality=70)
        return read_document(scan).text


def markitdown_text(path: Path) -> str:
    from markitdown import MarkItDown

    return MarkItDown(enable_plugins=False).convert(str(path)).text_content


def structurer_text(path: Path) -> str:
    from structurer.documents.reader import read_document

    return read_document(path).text


CONVERTERS: dict[str, tuple[str, Callable[[Path], str]]] = {
    "pdftotext_layout": (".pdf", pdftotext_layout),
    "pdftotext_raw": (".pdf", pdftotext_raw),
    "pdfplumber": (".pdf", pdfplumber_text),
    "pypdfium2": (".pdf", pypdfium2_text),
    "ocr": (".pdf", ocr_text),
    "structurer_ocr": (".pdf", structurer_ocr_text),
    "structurer_scan": (".pdf", structurer_scan_text),
    "markitdown_pdf": (".pdf", markitdown_text),
    "markitdown_docx": (".docx", markitdown_text),
    "markitdown_html": (".html", markitdown_text),
    "structurer_pdf": (".pdf", structurer_text),
    "structurer_html": (".html", structurer_text),
}


def convert_all(corpus: Path, out: Path, only: list[str] | None = None) -> None:
    for name, (suffix, fn) in CONVERTERS.items():
        if only and name not in only:
            continue
        (out / name).mkdir(parents=True, exist_ok=True)
        done, started = 0, time.perf_counter()
        for src in sorted(corpus.glob(f"*{suffix}")):
            target = out / name / f"{src.stem}.txt"
            if not target.exists():
                target.write_text(fn(src), encoding="utf-8")
                done += 1
        if done:
            took = time.perf_counter() - started
            print(f"{name}: {done} documents, {took:.1f} s ({took / done:.1f} s per document)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--only", nargs="*", help="converter names (default: all)")
    args = ap.parse_args()
    convert_all(args.corpus, args.out, args.only)


if __name__ == "__main__":
    main()
