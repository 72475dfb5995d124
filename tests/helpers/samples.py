"""Real European and Open Badges credentials (tests/samples, sources in tests/samples/README.md), variants derived from them,
credreg's own examples, an offline JSON-LD loader and a test e-seal that makes JAdES envelopes like the EDC's."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from tests.helpers.paths import REPO

DATA = REPO / "tests" / "samples"
EXAMPLES = REPO / "scripts" / "examples"

# the real samples (tests/samples/README.md names source, commit and licence of each)
EC_ANNEX1 = DATA / "ec-elm" / "Sample-MC-Annex1-unsigned.jsonld"
EC_ANNEX1_SEALED = DATA / "ec-elm" / "Sample-MC-Annex1-signed.jsonld"
EC_CERT_OF_PARTICIPATION_SEALED = DATA / "ec-elm" / "Sample-CertOfPart-signed.jsonld"
MYNEXTID_EDC = DATA / "mynextid" / "edc-mc-example.json"
MYNEXTID_EDC_SEALED = DATA / "mynextid" / "edc-mc-signed.jsonld"
MYNEXTID_OB3 = DATA / "mynextid" / "open-badge-mc-example.json"
OB3_SPEC_FULL = DATA / "openbadges" / "fullOpenBadge.json"
OB3_SPEC_BASIC = DATA / "openbadges" / "basicOpenBadgeCredential.json"

#: JSON-LD context URL -> bundled copy
CONTEXTS = {
    "https://www.w3.org/2018/credentials/v1": DATA / "contexts" / "credentials-v1.jsonld",
    "https://www.w3.org/ns/credentials/v2": DATA / "contexts" / "credentials-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": DATA
    / "contexts"
    / "ob-v3p0-context-3.0.3.json",
    "http://data.europa.eu/snb/model/context/edc-ap": DATA / "contexts" / "elm-edc-ap-context.jsonld",
}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def example(name: str) -> dict:
    """credreg's own example credential ``scripts/examples/<name>``."""
    return load(EXAMPLES / name)


def payload_of(envelope: dict) -> dict:
    return json.loads(envelope["payload"])


def ec_annex1_accredited() -> dict:
    """The Commission's Annex I sample plus the one element it lacks: an ELM Accreditation of its issuer.

    The accreditation is the one of credreg's ELM example (scripts/examples/elm-microcredential.json), shaped as the
    EDC application profile defines elm:Accreditation (Organisation.accreditation).
    """
    doc = load(EC_ANNEX1)
    doc["issuer"]["accreditation"] = copy.deepcopy(
        example("elm-microcredential.json")["issuer"]["accreditation"]
    )
    return doc


def drop(doc: Any, path: str) -> int:
    """Delete the member at the dotted ``path`` everywhere it occurs (arrays walked); the number deleted."""
    keys = path.split(".")
    removed = 0

    def walk(node: Any, rest: list[str]) -> None:
        nonlocal removed
        if isinstance(node, list):
            for item in node:
                walk(item, rest)
            return
        if not isinstance(node, dict) or rest[0] not in node:
            return
        if len(rest) == 1:
            del node[rest[0]]
            removed += 1
        else:
            walk(node[rest[0]], rest[1:])

    walk(doc, keys)
    return removed


# every location of each Annex I element in the passing samples (the EC Annex I sample + accreditation, credreg's two
# examples): removing them all leaves exactly that element missing
_C = "credentialSubject.hasClaim"
_S = f"{_C}.specifiedBy"
_ELM_REMOVALS = {
    "learnerIdentification": [
        "credentialSubject.fullName",
        "credentialSubject.givenName",
        "credentialSubject.familyName",
        "credentialSubject.nationalID",
    ],
    "title": [f"{_C}.title", f"{_S}.title"],
    "issuerCountry": ["issuer.location", f"{_C}.awardedBy.awardingBody.location"],
    "awardingBody": ["issuer.legalName", f"{_C}.awardedBy.awardingBody.legalName"],
    "dateOfIssuing": ["issuanceDate", "issued", "validFrom", f"{_C}.awardedBy.awardingDate"],
    "learningOutcomes": [f"{_S}.learningOutcome"],
    "workload": [f"{_S}.volumeOfLearning", f"{_S}.creditPoint"],
    "level": [f"{_S}.eqfLevel", f"{_S}.nqfLevel"],
    "assessment": [f"{_C}.provenBy"],
    "participation": [f"{_S}.mode", f"{_C}.influencedBy"],
    "qualityAssurance": ["issuer.accreditation"],
}
_A = "credentialSubject.achievement"
_OB3_REMOVALS = {
    "learnerIdentification": ["credentialSubject.id", "credentialSubject.identifier"],
    "title": [f"{_A}.name"],
    "issuerCountry": ["issuer.address"],
    "awardingBody": ["issuer.name"],
    "dateOfIssuing": ["validFrom", "awardedDate"],
    "learningOutcomes": [f"{_A}.alignment.0", f"{_A}.alignment.0"],  # the two ESCO alignments (index shifts)
    "workload": [f"{_A}.creditsAvailable", "credentialSubject.creditsEarned"],
    "level": [f"{_A}.alignment.2"],
    "assessment": [f"{_A}.resultDescription", "credentialSubject.result"],
    "participation": [f"{_A}.mode"],
    "qualityAssurance": [f"{_A}.endorsement"],
}


def _remove(doc: dict, path: str) -> int:
    """Delete ``path`` (an array item when it ends in a number) wherever it is; the number of members deleted."""
    head, _, last = path.rpartition(".")
    if last.isdigit():
        node = doc
        for k in head.split("."):
            node = node[k]
        del node[int(last)]
        return 1
    return drop(doc, path)


def remove_element(doc: dict, element: str, vocabulary: str) -> int:
    """Delete every location of Annex I ``element`` from ``doc`` (an ELM or OB 3.0 credential); members deleted."""
    paths = (_ELM_REMOVALS if vocabulary == "elm" else _OB3_REMOVALS)[element]
    return sum(_remove(doc, path) for path in paths)  # not every sample has every location


def document_loader(url: str, options: Any = None) -> dict:
    """A pyld document loader over the bundled contexts; anything else is an error (tests stay offline)."""
    if url not in CONTEXTS:
        raise KeyError(f"context {url} is not bundled in tests/samples/contexts")
    return {"contextUrl": None, "documentUrl": url, "document": load(CONTEXTS[url])}


# ------------------------------------------------------------------------------------------- a test e-seal
def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "credreg tests"),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "VATBE-0000000000"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _cert(
    subject: str, issuer: str, key: Any, signer: Any, not_before: datetime, not_after: datetime
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(signer, hashes.SHA256())
    )


@dataclass
class TestSeal:
    """An RSA e-seal key with a leaf certificate issued by a test CA: seals credentials as JAdES JWS JSON."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    ca: x509.Certificate

    __test__ = False  # not a pytest test class

    @classmethod
    def create(cls, *, valid_from: datetime | None = None, valid_to: datetime | None = None) -> TestSeal:
        now = datetime.now(UTC)
        valid_from = valid_from or now - timedelta(days=30)
        valid_to = valid_to or now + timedelta(days=365)
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca = _cert("credreg test CA", "credreg test CA", ca_key, ca_key, valid_from, valid_to)
        leaf = _cert("credreg TEST SEAL", "credreg test CA", key, ca_key, valid_from, valid_to)
        return cls(key, leaf, ca)

    def x5c(self, *, chain: bool = True) -> list[str]:
        certs = [self.certificate, self.ca] if chain else [self.certificate]
        return [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in certs]

    def thumbprint(self) -> str:
        digest = hashlib.sha256(self.certificate.public_bytes(Encoding.DER)).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def seal(
        self,
        credential: dict | str,
        *,
        b64: bool = False,
        signing_time: str | None = None,
        header: dict | None = None,
        flattened: bool = False,
    ) -> dict:
        """``credential`` sealed the way the EDC issuer does it (RS256, ``b64: false``, ``sigT``, ``x5c``).

        ``header`` replaces/extends the protected header (e.g. ``{"x5c": None}`` drops the certificate).
        """
        payload = credential if isinstance(credential, str) else json.dumps(credential, separators=(",", ":"))
        protected: dict[str, Any] = {
            "alg": "RS256",
            "typ": "jose+json",
            "cty": "json",
            "sigT": signing_time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x5t#S256": self.thumbprint(),
            "x5c": self.x5c(),
            "crit": ["sigT"],
        }
        if not b64:
            protected["b64"] = False
            protected["crit"] = ["b64", "sigT"]
        for k, v in (header or {}).items():
            if v is None:
                protected.pop(k, None)
            else:
                protected[k] = v
        # RFC 7515 section 5.1 / RFC 7797 section 3, by hand with cryptography (the node verifies with joserfc)
        segment = _b64url(json.dumps(protected, separators=(",", ":")).encode())
        body = payload if not b64 else _b64url(payload.encode())
        signature = self.key.sign(f"{segment}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        member = {"protected": segment, "signature": _b64url(signature)}
        if flattened:
            return {"payload": body, **member}
        return {"payload": body, "signatures": [member]}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
