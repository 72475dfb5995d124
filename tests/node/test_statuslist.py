"""W3C Bitstring Status List: encoding against the spec's rules and fixed vectors, minimum size, herd privacy
(random, distinct indexes), the served credential (Cache-Control, ETag) and bits following confirmed status."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import pytest
from sqlmodel import select

from anchoring.scheme.keccak import keccak256
from anchoring.statuslist import (
    MIN_LIST_BITS,
    bitstring,
    decode_list,
    encode_bits,
    get_bit,
    list_hash,
    list_id,
)
from node.revocation.changes import open_changes, record_tx_confirmed, record_tx_submission
from node.revocation.statuslists import StatusListConfig, apply_status
from tests.helpers.nodes import issue_anchored

# The spec's example encodedList (an all-zero list of the minimum size, 16 KiB).
SPEC_EMPTY = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def test_spec_example_decodes_to_minimum_empty_list():
    bits = decode_list(SPEC_EMPTY)
    assert len(bits) == 16 * 1024 and len(bits) * 8 == MIN_LIST_BITS and not any(bits)


def test_vector_bits_0_and_131071():
    # expected bitstring computed independently: index 0 is the MSB of byte 0, 131071 the LSB of the last byte
    expected = bytes([0x80]) + bytes(16 * 1024 - 2) + bytes([0x01])
    encoded = encode_bits(bitstring(MIN_LIST_BITS, [0, 131071]))
    assert encoded[0] == "u" and "=" not in encoded and "+" not in encoded and "/" not in encoded
    # decode with nothing but the standard library, following the spec text
    raw = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
    assert raw[:2] == b"\x1f\x8b"  # a GZIP member (RFC 1952), not zlib/raw deflate
    assert gzip.decompress(raw) == expected
    assert decode_list(encoded) == expected
    assert get_bit(expected, 0) and get_bit(expected, 131071) and not get_bit(expected, 1)
    assert not get_bit(expected, 131070) and not get_bit(expected, 7)
    # deterministic: the same bits give the same encodedList (and so the same on-chain hash)
    assert encode_bits(bitstring(MIN_LIST_BITS, [131071, 0])) == encoded
    assert list_hash(encoded) == keccak256(encoded.encode())


@pytest.mark.parametrize("indexes", [[], [5], [1, 2, 3, 100_000], list(range(0, MIN_LIST_BITS, 97))])
def test_round_trip(indexes):
    bits = decode_list(encode_bits(bitstring(MIN_LIST_BITS, indexes)))
    assert [i for i in range(MIN_LIST_BITS) if get_bit(bits, i)] == sorted(indexes)


def test_minimum_size_and_malformed():
    with pytest.raises(ValueError):
        encode_bits(bytes(1024))
    short = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(1024))).rstrip(b"=").decode()
    with pytest.raises(ValueError, match="fewer than"):
        decode_list(short)
    with pytest.raises(ValueError, match="Multibase"):
        decode_list(SPEC_EMPTY[1:])
    with pytest.raises(ValueError):
        decode_list("u" + base64.urlsafe_b64encode(zlib.compress(bytes(16384))).rstrip(b"=").decode())
    with pytest.raises(ValueError, match="padding"):
        decode_list(SPEC_EMPTY + "==")
    with pytest.raises(IndexError):
        get_bit(bytes(16384), MIN_LIST_BITS)


def _allocate(client, issuer, purposes=None):
    r = client.post(
        "/v1/status/allocate", headers=issuer.headers, json={"purposes": purposes} if purposes else None
    )
    assert r.status_code == 201, r.text
    return r.json()["credentialStatus"]


def test_allocation_is_random_and_unique(client, issuer):
    entries = [_allocate(client, issuer, ["revocation"])[0] for _ in range(200)]
    indexes = [int(e["statusListIndex"]) for e in entries]
    assert len(set(indexes)) == 200  # unique per list
    assert all(0 <= i < MIN_LIST_BITS for i in indexes)
    # spread over the whole list (herd privacy): not sequential, both halves used
    assert indexes != sorted(indexes)
    assert min(indexes) < MIN_LIST_BITS // 4 and max(indexes) > 3 * MIN_LIST_BITS // 4
    e = entries[0]
    assert e["type"] == "BitstringStatusListEntry" and e["statusPurpose"] == "revocation"
    assert e["statusListCredential"].endswith(f"/v1/status/{issuer.address}/revocation")
    assert e["id"] == f"{e['statusListCredential']}#{e['statusListIndex']}"
    both = _allocate(client, issuer)
    assert [x["statusPurpose"] for x in both] == ["revocation", "suspension"]
    r = client.post("/v1/status/allocate", headers=issuer.headers, json={"purposes": ["nope"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "purposes"
    r = client.post("/v1/status/allocate", headers={"Authorization": f"Bearer {issuer.reader_token}"})
    assert r.status_code == 403


def test_disabled_for_issuer(client, issuer, app):
    app.state.status_list_config = StatusListConfig(issuers="someone-else")
    r = client.post("/v1/status/allocate", headers=issuer.headers)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")


def test_served_list_follows_confirmed_status(client, issuer, session_factory, settings):
    entries = _allocate(client, issuer)
    revocation, suspension = entries
    url = revocation["statusListCredential"].removeprefix("http://testserver")
    empty = client.get(url)
    assert empty.status_code == 200
    assert empty.headers["cache-control"].startswith("public, max-age=") and empty.headers["etag"]
    doc = empty.json()
    assert doc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert doc["id"] == revocation["statusListCredential"]
    subject = doc["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == "revocation"
    assert not any(decode_list(subject["encodedList"]))
    assert client.get(url, headers={"If-None-Match": empty.headers["etag"]}).status_code == 304
    assert client.get(url.replace("/revocation", "/nope")).status_code == 404

    # the credential carries its entries, then gets revoked and the revocation confirmed
    r = client.post(
        "/v1/credentials",
        headers=issuer.headers,
        json={
            "id": "urn:test:sl:1",
            "type": ["VerifiableCredential"],
            "credentialStatus": entries,
            "credentialSubject": {"name": "L"},
        },
    )
    assert r.status_code == 202
    digest = r.json()["digest"]
    issue_anchored(client, issuer, session_factory, settings, 0)
    assert client.post(f"/v1/credentials/{digest}/revoke", headers=issuer.headers).status_code == 202
    before = client.get(url)
    assert not any(decode_list(before.json()["credentialSubject"]["encodedList"]))  # not confirmed yet
    with session_factory() as s:
        tx = record_tx_submission(
            s,
            open_changes(s, issuer.id),
            nonce=1,
            tx_hash="0x" + "aa" * 32,
            chain_id=1,
            contract_address=None,
        )
        record_tx_confirmed(s, tx, block_number=1, block_hash="0x" + "bb" * 32, gas_used=1)
    after = client.get(url)
    bits = decode_list(after.json()["credentialSubject"]["encodedList"])
    index = int(revocation["statusListIndex"])
    assert get_bit(bits, index) and sum(b.bit_count() for b in bits) == 1
    assert after.headers["etag"] != before.headers["etag"]
    sbits = decode_list(
        client.get(suspension["statusListCredential"].removeprefix("http://testserver")).json()[
            "credentialSubject"
        ]["encodedList"]
    )
    assert not any(sbits)
    assert list_id(revocation["statusListCredential"]) == keccak256(
        revocation["statusListCredential"].encode()
    )


def test_a_taken_index_is_drawn_again(client, issuer, monkeypatch):
    from node.revocation import statuslists as statuslist

    draws = iter([5, 5, 5, 9])
    monkeypatch.setattr(statuslist.secrets, "randbelow", lambda n: next(draws))
    first = _allocate(client, issuer, ["revocation"])[0]
    second = _allocate(client, issuer, ["revocation"])[0]
    assert (first["statusListIndex"], second["statusListIndex"]) == ("5", "9")


def test_served_published_hash_follows_the_confirmed_publications(client, issuer, session_factory):
    from node.pipeline.publisher import (
        record_publication,
        record_publication_confirmed,
        record_publication_reorg,
    )
    from node.storage.revocation_tables import StatusList

    revocation = _allocate(client, issuer, ["revocation"])[0]
    url = revocation["statusListCredential"].removeprefix("http://testserver")
    assert "x-credreg-published-hash" not in client.get(url).headers  # never published
    first, second = "0x" + "a1" * 32, "0x" + "b2" * 32
    with session_factory() as s:
        lst = s.exec(select(StatusList)).one()
        pub = record_publication(s, lst, revision=0, list_hash=first, nonce=1, tx_hash="0x" + "01" * 32)
        assert "x-credreg-published-hash" not in client.get(url).headers  # in flight is not published
        record_publication_confirmed(s, pub, block_number=5, block_hash="0x" + "05" * 32, version=1)
        assert client.get(url).headers["x-credreg-published-hash"] == first
        newer = record_publication(s, lst, revision=1, list_hash=second, nonce=2, tx_hash="0x" + "02" * 32)
        record_publication_confirmed(s, newer, block_number=6, block_hash="0x" + "06" * 32, version=2)
        assert client.get(url).headers["x-credreg-published-hash"] == second
        record_publication_reorg(s, newer, "block 6 re-orged away")
        assert client.get(url).headers["x-credreg-published-hash"] == first  # back to the previous one
        lst = s.get(StatusList, lst.id)
        assert (lst.published_revision, lst.published_version) == (0, 1)


def test_malformed_status_entries_of_a_credential_are_skipped(issuer, session_factory):
    # the canonical credential is the issuer's JSON: a list URL that is no string must not break confirmation
    canonical = json.dumps(
        {
            "credentialStatus": [
                {"type": "BitstringStatusListEntry", "statusListCredential": ["x"], "statusListIndex": "1"},
                {"type": "BitstringStatusListEntry", "statusListCredential": {"x": 1}},
                {"type": "BitstringStatusListEntry"},
            ]
        }
    ).encode()
    with session_factory() as session:
        assert apply_status(session, issuer.id, "0x" + "ab" * 32, canonical, "revoked") == 0
