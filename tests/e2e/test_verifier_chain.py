"""node.verifier_chain: verify requests share the chain reads of one block, see a new block within the poll
interval, and never read a stale deployment file; anchoring.verify.blocking: inside cache_only an uncached read
raises WouldBlock instead of leaving the process (and is not reported as a chain error)."""

from __future__ import annotations

import os
import time

import pytest

from anchoring.signing.fetch import Fetched
from anchoring.verify import WebContext, verify_bundle
from anchoring.verify.blocking import WouldBlock, cache_only
from node.errors import Unavailable
from node.settings import Settings
from node.verifier_chain import VerifierChain
from tests.helpers.bundles import CountingProvider, counting_context, make_batch
from tests.helpers.credentials import credential

pytestmark = pytest.mark.chain


def _chain(network, tmp_path, poll: float) -> tuple[VerifierChain, CountingProvider]:
    network.deployment.save(tmp_path / "deployment.json")
    settings = Settings(
        data_dir=tmp_path,
        rpc_url=network.chain.rpc_url,
        deployment_file=tmp_path / "deployment.json",
        verify_head_poll_seconds=poll,
        _env_file=None,
    )
    provider = CountingProvider(network.chain.rpc_url, request_kwargs={"timeout": 30})
    return VerifierChain(settings, provider=provider), provider


def test_verifications_under_one_head_share_its_reads(dev_network, tmp_path):
    batch = make_batch(dev_network, [credential(i) for i in range(6)])
    chain, provider = _chain(dev_network, tmp_path, poll=60)
    context = chain.current()
    assert verify_bundle(batch.bundles[0], context).verdict == "valid"
    asked = len(provider.calls)
    assert asked >= 5  # chain id, head, versions, anchor, issuer, history, status logs
    for bundle in batch.bundles[1:]:
        assert chain.current() is context
        assert verify_bundle(bundle, chain.current()).verdict == "valid"
    assert len(provider.calls) == asked  # five more verifications, not one more RPC call


def test_a_new_block_is_seen_within_the_poll_interval(dev_network, tmp_path, monkeypatch):
    clock = [1000.0]  # the poll interval on a clock of the test's own: a slow transaction cannot outlast it
    monkeypatch.setattr("node.verifier_chain.time.monotonic", lambda: clock[0])
    batch = make_batch(dev_network, [credential(100 + i) for i in range(4)])
    chain, provider = _chain(dev_network, tmp_path, poll=0.05)
    first = chain.current()
    assert verify_bundle(batch.bundles[1], first).verdict == "valid"
    clock[0] += 0.06
    before = len(provider.calls)
    assert chain.current() is first  # same head: one eth_blockNumber, same context
    assert provider.calls[before:] == ["eth_blockNumber"]
    batch.revoke(dev_network, dev_network.issuer, [1])
    clock[0] += 0.01
    assert chain.current() is first  # within the interval: not asked again
    assert provider.calls[before:] == ["eth_blockNumber"]
    clock[0] += 0.05
    second = chain.current()
    assert second is not first
    report = verify_bundle(batch.bundles[1], second)
    assert report.verdict == "invalid" and report.summary["status"] == "revoked"
    assert verify_bundle(batch.bundles[1], first).summary["status"] == "valid"  # the old block, as it was


def test_poll_zero_reads_afresh_for_every_request(dev_network, tmp_path):
    chain, _ = _chain(dev_network, tmp_path, poll=0)
    assert chain.current() is not chain.current()


def test_a_rewritten_deployment_file_starts_a_new_context(dev_network, tmp_path):
    chain, _ = _chain(dev_network, tmp_path, poll=0.01)
    first = chain.current()
    time.sleep(0.02)
    assert chain.current() is first
    path = tmp_path / "deployment.json"
    path.write_text(path.read_text() + "\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10_000_000))
    time.sleep(0.02)
    assert chain.current() is not first


def test_no_chain_configured_is_unavailable(tmp_path):
    chain = VerifierChain(Settings(data_dir=tmp_path, rpc_url=None, _env_file=None))
    with pytest.raises(Unavailable, match="no chain configured"):
        chain.current()
    assert chain.peek() is None


def test_cache_only_raises_would_block_on_an_uncached_read_and_not_after(dev_network):
    batch = make_batch(dev_network, [credential(200 + i) for i in range(2)])
    context, provider = counting_context(dev_network)
    with cache_only(), pytest.raises(WouldBlock):
        verify_bundle(batch.bundles[0], context)
    assert provider.calls == []  # nothing left the process
    expected = verify_bundle(batch.bundles[0], context).to_dict()
    asked = len(provider.calls)
    with cache_only():
        again = verify_bundle(batch.bundles[1], context)  # same root, issuer and head: all cached
    assert again.verdict == "valid" and len(provider.calls) == asked
    assert [c["status"] for c in again.to_dict()["checks"]] == [c["status"] for c in expected["checks"]]


def test_cache_only_stops_web_fetches_before_they_start():
    fetched: list[str] = []

    def fetch(url: str) -> Fetched:
        fetched.append(url)
        return Fetched(url=url, body=b"{}", content_type="application/json")

    web = WebContext(fetch=fetch)
    with cache_only(), pytest.raises(WouldBlock):
        web.status_list("https://example.org/status/1")
    with cache_only(), pytest.raises(WouldBlock):
        web.resolver.resolve_document_method("did:web:example.org#key-1")
    assert fetched == []
    assert web.status_list("https://example.org/status/1") == {}
    with cache_only():
        assert web.status_list("https://example.org/status/1") == {}  # cached now
