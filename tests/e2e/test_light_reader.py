"""The verifier's light chain reader (anchoring.chain.reader over anchoring.chain.jsonrpc, no web3) gives what the
web3 wrappers give, read for read, on a live Anvil with anchors, revocations, suspensions, a status list and a
verification key (version 2) and on the frozen version-1 contracts; and an endpoint that answers nonsense is a
ChainError naming it, never a crash."""

from __future__ import annotations

import json
import os
import threading
from http.server import ThreadingHTTPServer

import pytest

from anchoring.chain.contracts import anchor_reader, registry_reader
from anchoring.chain.deployment import ContractSet
from anchoring.chain.jsonrpc import JsonRpc
from anchoring.chain.reader import ContractReads
from anchoring.errors import ChainRequestFailed, ChainUnreachable, ContractRevert
from anchoring.scheme.keccak import keccak256
from node.dev.chains import free_port
from tests.e2e.test_v1_migration import v1_bundles
from tests.helpers.bundles import CountingProvider, fresh_ti, make_batch, send_as
from tests.helpers.credentials import credential
from tests.helpers.servers import QuietHandler

pytestmark = pytest.mark.chain


def _both(network, contracts: ContractSet, w3):
    light = ContractReads(JsonRpc(network.chain.rpc_url), contracts)
    return light, anchor_reader(w3, contracts), registry_reader(w3, contracts)


def test_every_read_equals_the_web3_wrappers_on_version_2(dev_network, funder):
    w3 = funder.w3
    account, _ = fresh_ti(dev_network, funder)
    batch = make_batch(dev_network, [credential(i) for i in range(6)], account=account)
    batch.revoke(dev_network, account, [1], reason=4)
    batch.revoke(dev_network, account, [2], reason=9, suspend=True)
    key = keccak256(os.urandom(8))
    send_as(dev_network, dev_network.tao, dev_network.registry(w3).add_verification_key(account.address, key))
    list_id = keccak256(b"https://example.org/status/1")
    send_as(dev_network, account, dev_network.anchor(w3).publish_status_list(list_id, keccak256(b"list")))
    head = w3.eth.block_number
    light, anchor, registry = _both(dev_network, dev_network.deployment.current, w3)
    root, me, nobody = batch.tree.root, account.address, "0x" + "00" * 19 + "01"

    assert light.version("CredentialAnchor", head) == anchor.version(head)
    assert light.version("IssuerRegistry", head) == registry.version(head)
    assert light.anchor_of(me, root, head) == anchor.anchor_of(me, root, head) is not None
    assert light.anchor_of(nobody, root, head) is None is anchor.anchor_of(nobody, root, head)
    for digest in batch.digests[:3]:
        assert light.status_of(me, root, digest, head) == anchor.status_of(me, root, digest, head)
    changes = light.status_changes([(me, root)], dev_network.deployment.deployment_block, head)
    assert changes == anchor.status_changes([(me, root)], dev_network.deployment.deployment_block, head)
    assert [c.reason for c in changes] == [4, 9]
    assert light.status_list_of(me, list_id, head) == anchor.status_list_of(me, list_id, head) is not None
    assert light.status_list_of(me, keccak256(b"none"), head) is None
    for who in (me, dev_network.tao.address, dev_network.root_tao.address):
        assert light.find_issuer(who, head) == registry.find_issuer(who, head) is not None
        assert light.history(who, head) == registry.history(who, head)
    assert light.find_issuer(nobody, head) is None is registry.find_issuer(nobody, head)
    assert light.verification_key(me, key, head) == registry.verification_key(me, key, head) is not None
    assert light.verification_key(me, keccak256(b"other"), head) is None


def test_every_read_equals_the_web3_wrappers_on_version_1(dev_network, funder):
    w3 = funder.w3
    v1, bundles = v1_bundles(dev_network, funder)
    head = w3.eth.block_number
    light, anchor, registry = _both(dev_network, v1.current, w3)
    issuer = bundles[0]["anchor"]["issuer"]
    root = bytes.fromhex(bundles[0]["root"][2:])
    assert light.version("CredentialAnchor", head) == anchor.version(head) == "1"
    assert light.version("IssuerRegistry", head) == registry.version(head) == "1"
    assert light.anchor_of(issuer, root, head) == anchor.anchor_of(issuer, root, head) is not None
    assert light.find_issuer(issuer, head) == registry.find_issuer(issuer, head) is not None
    assert light.history(issuer, head) == registry.history(issuer, head)
    assert light.verification_key(issuer, keccak256(b"k"), head) is None
    assert light.status_changes([(issuer, root)], v1.current.deployment_block, head) == anchor.status_changes(
        [(issuer, root)], v1.current.deployment_block, head
    )


def test_a_provider_carries_the_requests_when_given(dev_network):
    provider = CountingProvider(dev_network.chain.rpc_url)
    rpc = JsonRpc(dev_network.chain.rpc_url, provider=provider)
    assert int(rpc.request("eth_chainId", []), 16) == dev_network.deployment.chain_id
    assert provider.calls == ["eth_chainId"]


def test_a_revert_is_decoded_from_the_contracts_errors(dev_network):
    light = ContractReads(JsonRpc(dev_network.chain.rpc_url), dev_network.deployment.current)
    with pytest.raises(ContractRevert) as exc:
        light._call(light._registry, light.registry_address, "getIssuer", ["0x" + "00" * 19 + "02"], "latest")
    assert exc.value.error == "UnknownIssuer"


class _Answers(QuietHandler):
    """An endpoint answering every request with the (status, body) of the server's `answer`."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.reply(*self.server.answer)  # type: ignore[attr-defined]


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _result(value) -> tuple[int, bytes]:
    return 200, json.dumps({"jsonrpc": "2.0", "id": 1, "result": value}).encode()


@pytest.mark.parametrize(
    "answer, error, words",
    [
        ((200, b"<html>"), ChainRequestFailed, "not JSON"),
        ((502, b"bad gateway"), ChainRequestFailed, "HTTP 502"),
        ((200, b"[1, 2]"), ChainRequestFailed, "not JSON-RPC"),
        ((200, b'{"jsonrpc": "2.0", "id": 1}'), ChainRequestFailed, "neither a result nor an error"),
        (_result("0xzz"), ChainRequestFailed, "not hex data"),
        (_result(5), ChainRequestFailed, "not hex data"),
        (_result("0x"), ChainRequestFailed, "no contract at that address"),
        (_result("0x" + "00" * 31), ChainRequestFailed, "malformed data"),
        (_result("0x" + "ff" * 32 * 3), ChainRequestFailed, "malformed data"),
        (
            (200, b'{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found"}}'),
            ChainRequestFailed,
            "header not found",
        ),
        (
            (
                200,
                b'{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted","data":"0xzz"}}',
            ),
            ContractRevert,
            "UnknownError",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_an_endpoint_answering_nonsense_is_a_chain_error(endpoint, dev_network, answer, error, words):
    endpoint.answer = answer
    url = f"http://127.0.0.1:{endpoint.server_address[1]}/v3/secret-key"
    light = ContractReads(JsonRpc(url), dev_network.deployment.current)
    with pytest.raises(error) as exc:
        light.anchor_of(dev_network.issuer.address, b"\1" * 32, "latest")
    assert words in str(exc.value)
    assert "secret-key" not in str(exc.value)


def test_nobody_listening_is_unreachable(dev_network):
    rpc = JsonRpc(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(ChainUnreachable):
        rpc.request("eth_chainId", [])


class _ForwardProxy(QuietHandler):
    """An HTTP forward proxy for POSTs: takes the absolute URL a client sends to a proxy, passes the request on."""

    def do_POST(self):
        import urllib.request

        assert self.path.startswith("http://"), self.path  # what a client talking to a proxy sends
        self.server.seen.append((self.path, self.headers.get("Proxy-Authorization")))  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        upstream = urllib.request.Request(self.path, body, {"Content-Type": "application/json"})  # noqa: S310
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # not through itself
        with direct.open(upstream, timeout=10) as answer:
            self.reply(200, answer.read())


def test_the_environment_s_proxy_carries_the_requests_as_requests_did(dev_network, monkeypatch):
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardProxy)
    proxy.seen = []
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for name in ("no_proxy", "NO_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://user:pa%3Ass@127.0.0.1:{proxy.server_address[1]}")
        reads = ContractReads(JsonRpc(dev_network.chain.rpc_url), dev_network.deployment.current)
        assert reads.version("CredentialAnchor", "latest") == dev_network.deployment.current.version
        assert proxy.seen and proxy.seen[0][0].startswith(dev_network.chain.rpc_url.rstrip("/"))
        assert proxy.seen[0][1] == "Basic dXNlcjpwYTpzcw=="  # user:pa:ss
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        before = len(proxy.seen)
        reads = ContractReads(JsonRpc(dev_network.chain.rpc_url), dev_network.deployment.current)
        reads.version("CredentialAnchor", "latest")
        assert len(proxy.seen) == before  # bypassed
    finally:
        proxy.shutdown()
