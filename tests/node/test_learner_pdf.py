"""The credential's PDF, read back like a person would: rendered to PNG with pdftoppm, its QR code decoded with
zbarimg, its text extracted with pdftotext (names with non-Latin-1 letters print: the font is embedded)."""

from __future__ import annotations

from datetime import datetime

from node.learners.human import human_view
from node.learners.offer import Offer
from node.learners.pdf import render_pdf
from tests.helpers.pdf import pdf_text, qr_codes, render_png, require_tools
from tests.helpers.samples import EC_ANNEX1, load


def _offer(cred: dict, status: str = "valid", reason: str | None = None) -> Offer:
    return Offer(
        digest="0x" + "ab" * 32,
        credential=cred,
        human=human_view(cred),
        issuer_name="Universiteit van Zed",
        issuer_address="0x" + "11" * 20,
        issuer_did="did:example:zed",
        state="anchored",
        status=status,
        status_reason=None,
        status_reason_text=reason,
        status_changed_at=None,
        anchored_at=datetime(2026, 11, 30, 12, 0, 0),
        expires_at=None,
    )


def test_the_pdf_carries_the_human_content_and_a_qr_code_of_the_share_link(tmp_path):
    require_tools()
    cred = load(EC_ANNEX1)
    cred["credentialSubject"]["fullName"] = {"en": "Ana Łukasiewicz-Ἀνδρομέδα"}
    url = "https://node.example/s/" + "Q" * 43
    pdf = tmp_path / "credential.pdf"
    pdf.write_bytes(render_pdf(_offer(cred), url))
    assert qr_codes(render_png(pdf, tmp_path / "page")) == [url]
    text = " ".join(pdf_text(pdf).split())
    for expected in (
        "Digital micro-credential creation",
        "awarded to Ana Łukasiewicz-Ἀνδρομέδα",
        "Universiteit van Zed",
        "2 ECTS",
        "EQF level 6",
        "Status: valid",
        "develop digital content",
        "Digital artefact assessment, grade: Pass",
    ):
        assert expected in text, expected


def test_a_revoked_credential_says_why_in_words(tmp_path):
    require_tools()
    pdf = tmp_path / "revoked.pdf"
    offer = _offer(
        load(EC_ANNEX1), "revoked", "academic misconduct found after the award (academicMisconduct)"
    )
    pdf.write_bytes(render_pdf(offer, "http://127.0.0.1:8000/s/" + "z" * 43))
    assert "revoked: academic misconduct found after the award" in " ".join(pdf_text(pdf).split())
