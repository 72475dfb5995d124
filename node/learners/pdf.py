"""The credential as a PDF: its human content and a QR code that opens the share link.

fpdf2 lays it out, in Roboto (the TTF files of the ``font-roboto`` package, embedded as a subset, so any Latin,
Greek or Cyrillic name prints); ``segno`` draws the QR code (error correction M, at least 30 mm wide, so a phone
reads it from paper).
"""

from __future__ import annotations

import io
from datetime import datetime

import segno
from fpdf import FPDF

from node.learners.offer import Offer

__all__ = ["render_pdf"]


def _fonts() -> tuple[str, str]:
    import font_roboto  # type: ignore[import-untyped]

    files = font_roboto.font_files
    return files["Roboto"], files["RobotoBold"]


class _Doc(FPDF):
    def footer(self) -> None:  # fpdf2 hook: every page
        self.set_y(-14)
        self.set_font("Roboto", size=7.5)
        self.set_text_color(110, 119, 129)
        self.cell(
            0, 5, "credreg · this PDF is a copy for reading; the proof is the QR code's link", align="C"
        )


def render_pdf(offer: Offer, share_url: str, *, now: datetime | None = None) -> bytes:
    """A one- or two-page A4 PDF of ``offer`` with a QR code of ``share_url``."""
    h = offer.human
    regular, bold = _fonts()
    pdf = _Doc(format="A4")
    pdf.set_title(h.title or "Credential")
    pdf.set_author(offer.issuer_name)
    pdf.set_creator("credreg")
    pdf.add_font("Roboto", "", regular)
    pdf.add_font("Roboto", "B", bold)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_margins(20, 20, 20)
    pdf.set_xy(20, 20)
    width = pdf.w - 40

    pdf.set_font("Roboto", size=9)
    pdf.set_text_color(110, 119, 129)
    pdf.cell(width, 6, "MICRO-CREDENTIAL" if h.ects or h.eqf else "CREDENTIAL", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(31, 35, 40)
    pdf.set_font("Roboto", "B", 20)
    pdf.multi_cell(width - 45, 9, h.title or "Untitled credential", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Roboto", size=11)
    pdf.multi_cell(width - 45, 6, f"awarded to {h.holder or 'the holder'}", new_x="LMARGIN", new_y="NEXT")

    qr = segno.make(share_url, error="m")
    png = io.BytesIO()
    qr.save(png, kind="png", scale=10, border=4)
    png.seek(0)
    pdf.image(png, x=pdf.w - 20 - 40, y=20, w=40, h=40)
    pdf.set_xy(pdf.w - 20 - 40, 61)
    pdf.set_font("Roboto", size=7)
    pdf.multi_cell(40, 3.2, "Scan to see and verify this credential", align="C")

    pdf.set_xy(20, max(pdf.get_y(), 72))
    status = offer.status_words
    pdf.set_font("Roboto", "B", 11)
    colour = {"valid": (26, 127, 55), "revoked": (198, 40, 40), "suspended": (154, 103, 0)}[offer.status]
    pdf.set_text_color(*colour)
    pdf.multi_cell(width, 6, f"Status: {status}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(31, 35, 40)
    pdf.ln(3)

    rows = [
        ("Issuer", offer.issuer_name + (f"  ({offer.issuer_did})" if offer.issuer_did else "")),
        ("Awarded by", h.issuer_name if h.issuer_name and h.issuer_name != offer.issuer_name else None),
        ("Credits", f"{h.ects} ECTS" if h.ects else None),
        ("Level", f"EQF level {h.eqf}" if h.eqf else None),
        ("Assessment", h.assessment),
        ("Issued", h.issued),
        ("Valid until", h.valid_until),
        ("Anchored", offer.anchored_at.strftime("%Y-%m-%d %H:%M:%S UTC") if offer.anchored_at else None),
        ("Digest", offer.digest),
    ]
    for label, value in rows:
        if not value:
            continue
        pdf.set_font("Roboto", "B", 10)
        y = pdf.get_y()
        pdf.cell(32, 6, label)
        pdf.set_xy(52, y)
        pdf.set_font("Roboto", size=10)
        pdf.multi_cell(width - 32, 6, value, new_x="LMARGIN", new_y="NEXT")
    if h.description:
        pdf.ln(3)
        pdf.set_font("Roboto", size=10)
        pdf.multi_cell(width, 5.5, h.description, new_x="LMARGIN", new_y="NEXT")
    if h.outcomes:
        pdf.ln(3)
        pdf.set_font("Roboto", "B", 11)
        pdf.cell(width, 7, "Learning outcomes", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Roboto", size=10)
        for item in h.outcomes:
            pdf.multi_cell(width, 5.5, f"•  {item}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Roboto", size=8)
    pdf.set_text_color(110, 119, 129)
    pdf.multi_cell(width, 4, f"Link: {share_url}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
