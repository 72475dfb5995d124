"""The verifier's hand-written ABI codec (anchoring.chain.abi_codec) against eth-abi and eth-utils, the libraries it
stands in for: the same call data, the same decoded values, the same selectors and EIP-55 addresses, and the
same refusals of malformed data."""

from __future__ import annotations

import eth_abi
import pytest
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from eth_utils import is_address as eth_is_address
from hypothesis import given, settings
from hypothesis import strategies as st

from anchoring.chain.abi_codec import (
    AbiDecodeError,
    checksum_address,
    decode,
    encode_call,
    is_address,
    selector,
)
from anchoring.chain.artifacts import CONTRACT_NAMES, abi
from anchoring.chain.reader import _abi

addresses = st.binary(min_size=20, max_size=20).map(lambda b: to_checksum_address(b))
uint = {bits: st.integers(0, 2**bits - 1) for bits in (8, 40, 48, 64, 256)}
words = st.binary(min_size=32, max_size=32)
texts = st.text(max_size=80)

# every output shape of the contracts' view functions and their events' data, with values to fill them
SHAPES: dict[str, st.SearchStrategy] = {
    "(address,uint8,uint8,address,uint40,uint40,bytes32,string,string,uint256)": st.tuples(
        addresses, uint[8], uint[8], addresses, uint[40], uint[40], words, texts, texts, uint[256]
    ),
    "(uint40,uint48,uint8,address)[]": st.lists(
        st.tuples(uint[40], uint[48], uint[8], addresses).map(tuple), max_size=6
    ),
    "(uint48,uint48,uint48,uint48)": st.tuples(uint[48], uint[48], uint[48], uint[48]),
    "(uint48,uint48,uint64)": st.tuples(uint[48], uint[48], uint[64]),
    "(bytes32,uint48,uint48,uint64)": st.tuples(words, uint[48], uint[48], uint[64]),
    "(address,uint48,uint48)": st.tuples(addresses, uint[48], uint[48]),
    "string": texts,
    "bytes": st.binary(max_size=100),
    "bool": st.booleans(),
    "bytes32[]": st.lists(words, max_size=5),
    "int256": st.integers(-(2**255), 2**255 - 1),
}


def _as_web3_returns(value):
    """eth-abi decodes addresses lower-case; web3 (and the light reader) hand them on in EIP-55."""
    if isinstance(value, tuple | list):
        return type(value)(_as_web3_returns(v) for v in value)
    if isinstance(value, str) and len(value) == 42 and eth_is_address(value) and value == value.lower():
        return to_checksum_address(value)
    return value


@pytest.mark.parametrize("kind", sorted(SHAPES))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_decoding_matches_eth_abi(kind, data):
    value = data.draw(SHAPES[kind])
    encoded = eth_abi.encode([kind, "uint8"], [value, 7])
    assert decode([kind, "uint8"], encoded) == _as_web3_returns(eth_abi.decode([kind, "uint8"], encoded))


@settings(max_examples=100, deadline=None)
@given(args=st.tuples(addresses, words, uint[256], st.booleans(), uint[8]))
def test_call_data_matches_eth_abi(args):
    types = ["address", "bytes32", "uint256", "bool", "uint8"]
    sel = selector("f(address,bytes32,uint256,bool,uint8)")
    assert sel == function_signature_to_4byte_selector("f(address,bytes32,uint256,bool,uint8)")
    assert encode_call(sel, types, list(args)) == sel + eth_abi.encode(types, list(args))


def test_every_function_and_event_of_the_shipped_abis_has_eth_utils_selectors():
    from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector

    for name in CONTRACT_NAMES:
        for major in (1, 2):
            table = _abi(name, major)
            for item in abi(name, major):
                if item["type"] == "function":
                    assert table.functions[item["name"]].selector == function_abi_to_4byte_selector(item)
                elif item["type"] == "event":
                    assert table.events[item["name"]].topic == event_abi_to_log_topic(item)


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(min_size=20, max_size=20))
def test_eip55_matches_eth_utils(raw):
    expected = to_checksum_address(raw)
    assert checksum_address(raw) == expected
    assert checksum_address("0x" + raw.hex()) == expected
    for spelling in (expected, expected.lower(), expected[:2] + expected[2:].swapcase()):
        assert is_address(spelling) and eth_is_address(spelling)


@pytest.mark.parametrize(
    "value", ["0x12", "12" * 20, "0x" + "zz" * 20, None, 5, "0x" + "aB" * 20 + "00"], ids=repr
)
def test_what_is_not_an_address(value):
    assert not is_address(value)


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


@pytest.mark.parametrize(
    "types, data",
    [
        (["uint8"], _word(256)),  # does not fit
        (["bool"], _word(2)),
        (["address"], b"\x01" + bytes(31)),  # dirty high bytes
        (["bytes4"], b"\xaa" * 5 + bytes(27)),  # dirty low bytes
        (["uint256"], bytes(31)),  # short
        (["string"], _word(32) + _word(5)),  # the string runs past the end
        (["string"], _word(32) + _word(1) + b"a" + b"\x01" + bytes(30)),  # dirty padding
        (["uint256[]"], _word(32) + _word(2**64)),  # an absurd length
        (["bytes"], _word(2**200)),  # an offset far past the end
    ],
    ids=repr,
)
def test_malformed_data_is_refused_as_eth_abi_refuses_it(types, data):  # and a string not UTF-8, below
    with pytest.raises(DecodingError):
        eth_abi.decode(types, data)
    with pytest.raises(AbiDecodeError):
        decode(types, data)


@pytest.mark.parametrize(
    "types, values",
    [
        (["address"], ["0x12"]),
        (["uint8"], [256]),
        (["uint256"], [-1]),
        (["bytes32"], [b"x"]),
        (["string"], ["s"]),
    ],
    ids=repr,
)
def test_arguments_that_are_not_their_type_are_refused(types, values):
    with pytest.raises(ValueError):
        encode_call(b"\0" * 4, types, values)


def test_a_string_that_is_not_utf8_is_refused():
    data = _word(32) + _word(2) + b"\xff\xfe" + bytes(30)
    with pytest.raises(UnicodeDecodeError):  # what eth-abi raises for it
        eth_abi.decode(["string"], data)
    with pytest.raises(AbiDecodeError, match="UTF-8"):
        decode(["string"], data)
