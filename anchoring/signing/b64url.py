"""base64url without padding (RFC 7515 §2), as JWS, VC-JWT and SD-JWT use it; decoding refuses padding and the
standard alphabet instead of accepting them silently."""

from __future__ import annotations

import base64
import binascii

from anchoring.errors import FormatError

__all__ = ["b64url_decode", "b64url_encode"]


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str) -> bytes:
    """The bytes of `text`; FormatError (field ``credential``) naming `what` ("JWS header", "disclosure")."""
    if not text or any(c in text for c in "+/="):
        raise FormatError("credential", f"the {what} is not base64url without padding")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        raise FormatError("credential", f"the {what} is not base64url") from None
