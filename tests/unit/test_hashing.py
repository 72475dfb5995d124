"""RFC 8785 canonicalisation, salting and digests (anchoring.hashing, anchoring.keccak)."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import struct
import subprocess

import pytest
import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from anchoring.scheme.digest import HashedCredential, credential_digest, hash_credential, new_salt
from anchoring.scheme.encoding import from_hex, to_hex
from anchoring.scheme.jcs import MAX_DEPTH, CanonicalizationError, canonicalize
from anchoring.scheme.keccak import keccak256

# RFC 8785 Appendix B: IEEE 754 bit patterns and their required serialisation.
RFC8785_NUMBERS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),  # minus zero
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize("bits,expected", RFC8785_NUMBERS)
def test_rfc8785_number_serialisation(bits, expected):
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert rfc8785.dumps(value) == expected.encode()  # the serialiser we build on
    if _integer_beyond_safe_range(value):
        # Valid JCS, but it reads back as an integer beyond I-JSON's range: canonicalize() refuses it
        # so that every credential it accepts survives a JSON round trip (see docs/scheme.md).
        with pytest.raises(CanonicalizationError, match="I-JSON"):
            canonicalize({"n": value})
    else:
        assert canonicalize({"n": value}) == b'{"n":' + expected.encode() + b"}"


def _integer_beyond_safe_range(v: float) -> bool:
    return v.is_integer() and 2**53 - 1 < abs(v) < 1e21


def test_rfc8785_section_3_2_2_example():
    text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonicalize(json.loads(text)) == expected.encode("utf-8")


def test_rfc8785_key_ordering_by_utf16_code_units():
    # RFC 8785 section 3.2.3: sorted by UTF-16 code units, so the emoji (surrogates D83D DE00) sorts
    # *before* U+FB33 although its code point is larger.
    obj = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    out = canonicalize(obj).decode("utf-8")
    keys = list(json.loads(out, object_pairs_hook=lambda p: [k for k, _ in p]))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert sorted(obj) != keys  # code point order would differ: this test can tell the two apart


def test_nested_sorting_whitespace_and_utf8():
    out = canonicalize({"b": [3, {"z": 1, "a": "é"}], "a": {}, "c": []})
    assert out == '{"a":{},"b":[3,{"a":"é","z":1}],"c":[]}'.encode()


def test_escapes():
    assert canonicalize({"s": '\u0000\u001f\t\b\f\n\r"\\/\u007f\u2028'}) == (
        b'{"s":"\\u0000\\u001f\\t\\b\\f\\n\\r\\"\\\\/\x7f' + "\u2028".encode() + b'"}'
    )


def test_integers_and_floats():
    assert canonicalize({"a": 1.0, "b": -0.0, "c": 2**53 - 1, "d": -(2**53 - 1), "e": 1e21, "f": 4.5e15}) == (
        b'{"a":1,"b":0,"c":9007199254740991,"d":-9007199254740991,"e":1e+21,"f":4500000000000000}'
    )
    with pytest.raises(CanonicalizationError, match="I-JSON"):
        canonicalize({"f": 1e20})  # would serialise as 100000000000000000000, an out-of-range integer


@pytest.mark.parametrize(
    "credential,path",
    [
        ({"credentialSubject": {"score": float("nan")}}, "credentialSubject.score"),
        ({"credentialSubject": {"score": float("inf")}}, "credentialSubject.score"),
        ({"credentialSubject": {"score": -float("inf")}}, "credentialSubject.score"),
        ({"credentialSubject": {"score": 2**53}}, "credentialSubject.score"),
        ({"credentialSubject": {"score": -(2**53)}}, "credentialSubject.score"),
        ({"credentialSubject": {"score": float(2**53)}}, "credentialSubject.score"),
        ({"credentialSubject": {"score": -9.99e20}}, "credentialSubject.score"),
        ({"evidence": [{"id": 1}, {"weight": 10**30}]}, "evidence[1].weight"),
        ({"credentialSubject": {1: "x"}}, "credentialSubject"),
        ({"credentialSubject": {"name": "\ud800"}}, "credentialSubject.name"),
        ({"a b": {"c": object()}}, '["a b"].c'),
        ({"when": {"at": __import__("datetime").date(2024, 1, 1)}}, "when.at"),
    ],
)
def test_errors_name_the_field(credential, path):
    with pytest.raises(CanonicalizationError) as info:
        canonicalize(credential)
    assert info.value.path == path
    assert str(info.value).startswith(path + ":")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("value", [[1, 2], "x", 3, None, b"{}"])
def test_top_level_must_be_object(value):
    with pytest.raises(CanonicalizationError, match="JSON object"):
        canonicalize(value)


def test_depth_limit():
    deep: dict = {}
    cur = deep
    for _ in range(MAX_DEPTH + 1):
        cur["x"] = {}
        cur = cur["x"]
    with pytest.raises(CanonicalizationError, match="nesting"):
        canonicalize(deep)


def test_digest_is_keccak_of_salt_and_canonical():
    salt = bytes(range(32))
    canonical = canonicalize({"b": 2, "a": 1})
    assert canonical == b'{"a":1,"b":2}'
    assert credential_digest(salt, canonical) == keccak256(salt + b'{"a":1,"b":2}')
    # keccak256, not NIST SHA3: a fixed value computed independently (eth keccak of the 45 bytes)
    assert keccak256(b"") == bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
    with pytest.raises(ValueError):
        credential_digest(salt[:31], canonical)


def test_hash_credential():
    c = {"name": "Micro-credential in Data Science", "credits": 5}
    h1 = hash_credential(c)
    h2 = hash_credential(c)
    assert isinstance(h1, HashedCredential)
    assert h1.canonical == h2.canonical
    assert len(h1.salt) == 32 and h1.salt != h2.salt  # fresh salt each time
    assert h1.digest != h2.digest
    h3 = hash_credential(c, salt=h1.salt)
    assert h3 == h1
    with pytest.raises(AttributeError):
        h1.digest = b""  # type: ignore[misc]
    # key order and whitespace of the input do not matter
    assert hash_credential({"credits": 5, "name": c["name"]}, salt=h1.salt).digest == h1.digest
    assert hash_credential({"credits": 6, "name": c["name"]}, salt=h1.salt).digest != h1.digest


def test_new_salt():
    salts = {new_salt() for _ in range(100)}
    assert len(salts) == 100 and all(len(s) == 32 for s in salts)


def test_hex_helpers():
    b = bytes(range(32))
    assert to_hex(b) == "0x" + b.hex()
    assert from_hex(to_hex(b)) == b
    assert from_hex("0x" + b.hex().upper()) == b
    assert from_hex("0x1234", length=2) == b"\x12\x34"
    assert from_hex("0x", length=None) == b""
    for bad in [
        b.hex(),
        "0x" + b.hex()[:-2],
        "0x" + b.hex() + "00",
        "0x" + "g" * 64,
        "0x123",
        " 0x" + b.hex(),
        5,
    ]:
        with pytest.raises(ValueError):
            from_hex(bad)  # type: ignore[arg-type]


def _node_or_skip():
    if shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is required in CI for the ECMAScript number cross-check")
        pytest.skip("node not on PATH: ECMAScript number cross-check skipped")


def test_numbers_match_ecmascript_for_random_doubles():
    """JCS numbers are ECMAScript's Number serialisation: compare with node on random bit patterns."""
    _node_or_skip()
    rnd = random.Random(8785)
    values = []
    while len(values) < 3000:
        v = struct.unpack(">d", rnd.randbytes(8))[0]
        if math.isfinite(v):
            values.append(v)
    values += [rnd.uniform(-1e6, 1e6) for _ in range(500)]
    values += [float(rnd.randint(-(10**22), 10**22)) for _ in range(500)]
    values += [rnd.randint(1, 10**6) / 10 ** rnd.randint(1, 12) for _ in range(500)]
    bits = [struct.pack(">d", v).hex() for v in values]
    script = (
        "const b=JSON.parse(require('fs').readFileSync(0,'utf8'));"
        "process.stdout.write(JSON.stringify(b.map(h=>JSON.stringify(Buffer.from(h,'hex').readDoubleBE(0)))))"
    )
    proc = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(bits),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    theirs = json.loads(proc.stdout)
    ours = [rfc8785.dumps(v).decode() for v in values]
    mismatches = [(b, o, t) for b, o, t in zip(bits, ours, theirs, strict=False) if o != t]
    assert not mismatches, mismatches[:5]
    for v, text in zip(values, ours, strict=False):
        if not _integer_beyond_safe_range(v):
            assert canonicalize({"v": v}) == b'{"v":' + text.encode() + b"}"


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**53 - 1), 2**53 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
        max_leaves=20,
    )
)
def test_property_canonical_is_stable_json(value):
    obj = {"v": value}
    try:
        out = canonicalize(obj)
    except CanonicalizationError as exc:
        assert exc.path.startswith("v")
        assume(False)
    again = canonicalize(json.loads(out))
    assert again == out  # idempotent: parsing and re-canonicalising gives the same bytes
    assert json.loads(out) == obj  # lossless: the parsed canonical form equals the input
    assert (
        not out.startswith(b"{ ") and b"\n" not in out
    )  # no insignificant whitespace (newlines are escaped)
