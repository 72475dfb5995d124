"""Reading a PDF back as a person would: render it with poppler's ``pdftoppm`` (Debian poppler-utils), read its
text with ``pdftotext`` and its QR code with ``zbarimg`` (Debian zbar-tools)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.helpers.paths import require


def require_tools() -> None:
    for tool, package in (
        ("pdftoppm", "poppler-utils"),
        ("pdftotext", "poppler-utils"),
        ("zbarimg", "zbar-tools"),
    ):
        require(shutil.which(tool) is not None, f"{tool} not found (Debian: apt-get install {package})")


def render_png(pdf: Path, out_prefix: Path, dpi: int = 150) -> Path:
    """The first page as PNG (``<out_prefix>.png``)."""
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(out_prefix)],
        check=True,
        timeout=60,
    )
    return out_prefix.with_suffix(".png")


def pdf_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout


def qr_codes(png: Path) -> list[str]:
    """Every QR code zbarimg finds in the image (its decoded text)."""
    proc = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode in (0, 4), proc.stderr  # 4: nothing found
    return [line for line in proc.stdout.splitlines() if line]
