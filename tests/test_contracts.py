"""IssuerRegistry and CredentialAnchor against real chains (Anvil and Ganache): roles, history, anchoring,
the verifier view, issuer-bound status changes, and the gas bound."""

from __future__ import annotations

import os
import random

import pytest

from anchoring.chain.contracts import CredentialStatus, IssuerKind, IssuerRegistry, IssuerStatus
from anchoring.chain.transactions import TransactionSender
from anchoring.errors import ContractRevert
from anchoring.scheme.keccak import keccak256
from anchoring.scheme.merkle import MerkleTree

pytestmark = pytest.mark.chain

ANCHOR_GAS_BOUND = 55_000


def send(network, account, call):
    return TransactionSender(network.chain.web3(), account).transact(call)


def reverts_with(name, fn):
    with pytest.raises(ContractRevert) as info:
        fn()
    assert info.value.error == name, str(info.value)
    return info.value


def chain_time(w3) -> int:
    return w3.eth.get_block("latest")["timestamp"]


def advance(w3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


@pytest.fixture()
def university(any_network, any_funder):
    """A freshly accredited TI (accredited by the dev TAO), so each test may change its status freely."""
    account = any_funder.account()
    registry = any_network.registry(any_funder.w3)
    send(any_network, any_network.tao, registry.accredit(
        account.address, IssuerKind.TI, "did:example:uni-" + account.address[2:10], keccak256(b"doc"), "eqf:6"))
    return account


def test_dev_accreditation_chain_is_in_place(any_network):
    w3 = any_network.chain.web3()
    registry = any_network.registry(w3)
    root = registry.get_issuer(any_network.root_tao.address)
    tao = registry.get_issuer(any_network.tao.address)
    ti = registry.get_issuer(any_network.issuer.address)
    assert (root.kind, tao.kind, ti.kind) == (IssuerKind.ROOT_TAO, IssuerKind.TAO, IssuerKind.TI)
    assert tao.accreditor == any_network.root_tao.address
    assert ti.accreditor == any_network.tao.address
    assert ti.did == "did:example:dev-university"
    assert registry.is_active_ti(any_network.issuer.address)
    assert not registry.is_active_ti(any_network.tao.address)
    assert any_network.anchor(w3).registry_address() == registry.address


def test_role_rules(any_network, any_funder):
    w3 = any_funder.w3
    registry = any_network.registry(w3)
    outsider, ti, target = any_funder.account(), any_funder.account(), any_funder.account()
    send(any_network, any_network.tao, registry.accredit(ti.address, IssuerKind.TI, "did:x:ti", b"\0" * 32, ""))
    # a TAO may not create TAOs or RootTAOs; a TI accredits nobody; an outsider nothing
    reverts_with("NotAccreditor", lambda: send(any_network, any_network.tao, registry.accredit(
        target.address, IssuerKind.TAO, "did:x", b"\0" * 32, "")))
    reverts_with("NotAccreditor", lambda: send(any_network, ti, registry.accredit(
        target.address, IssuerKind.TI, "did:x", b"\0" * 32, "")))
    reverts_with("NotAccreditor", lambda: send(any_network, outsider, registry.accredit(
        target.address, IssuerKind.TI, "did:x", b"\0" * 32, "")))
    reverts_with("InvalidKind", lambda: send(any_network, any_network.root_tao, registry.accredit(
        target.address, IssuerKind.NONE, "did:x", b"\0" * 32, "")))
    reverts_with("AlreadyRegistered", lambda: send(any_network, any_network.root_tao, registry.accredit(
        ti.address, IssuerKind.TI, "did:x", b"\0" * 32, "")))
    reverts_with("InvalidAccreditation", lambda: send(any_network, any_network.root_tao, registry.accredit(
        target.address, IssuerKind.TI, "did:x", b"\0" * 32, "", valid_from=2000, valid_until=1000)))
    # only the accreditor or a RootTAO changes a status
    reverts_with("NotAuthorized", lambda: send(any_network, outsider, registry.suspend(ti.address)))
    reverts_with("UnknownIssuer", lambda: send(any_network, any_network.root_tao, registry.suspend(target.address)))
    send(any_network, any_network.root_tao, registry.suspend(ti.address))
    assert registry.get_issuer(ti.address).status == IssuerStatus.SUSPENDED


def test_suspended_tao_cannot_accredit(any_network, any_funder):
    registry = any_network.registry(any_funder.w3)
    tao, ti = any_funder.account(), any_funder.account()
    send(any_network, any_network.root_tao, registry.accredit(tao.address, IssuerKind.TAO, "did:x:tao", b"\0" * 32, "*"))
    send(any_network, any_network.root_tao, registry.suspend(tao.address))
    reverts_with("NotAccreditor", lambda: send(any_network, tao, registry.accredit(
        ti.address, IssuerKind.TI, "did:x:ti", b"\0" * 32, "")))


def test_status_transitions_and_history(any_network, any_funder, university):
    w3 = any_funder.w3
    registry = any_network.registry(w3)
    tao = any_network.tao
    t_accredited = chain_time(w3)
    advance(w3, 100)
    send(any_network, tao, registry.suspend(university.address, keccak256(b"audit pending")))
    t_suspended = chain_time(w3)
    reverts_with("InvalidStatusTransition", lambda: send(any_network, tao, registry.suspend(university.address)))
    advance(w3, 100)
    send(any_network, tao, registry.reinstate(university.address))
    t_reinstated = chain_time(w3)
    advance(w3, 100)
    send(any_network, any_network.root_tao, registry.revoke(university.address))
    t_revoked = chain_time(w3)
    reverts_with("InvalidStatusTransition", lambda: send(any_network, tao, registry.reinstate(university.address)))
    reverts_with("InvalidStatusTransition", lambda: send(any_network, tao, registry.revoke(university.address)))

    history = registry.history(university.address)
    assert [h.status for h in history] == [IssuerStatus.ACTIVE, IssuerStatus.SUSPENDED, IssuerStatus.ACTIVE,
                                           IssuerStatus.REVOKED]
    assert [h.by for h in history] == [tao.address, tao.address, tao.address, any_network.root_tao.address]
    assert registry.status_at(university.address, t_accredited - 1000) == IssuerStatus.NONE
    assert registry.status_at(university.address, t_accredited + 50) == IssuerStatus.ACTIVE
    assert registry.status_at(university.address, t_suspended + 50) == IssuerStatus.SUSPENDED
    assert registry.status_at(university.address, t_reinstated + 50) == IssuerStatus.ACTIVE
    assert registry.status_at(university.address, t_revoked) == IssuerStatus.REVOKED
    assert registry.was_active_ti_at(university.address, t_accredited + 50)
    assert not registry.was_active_ti_at(university.address, t_suspended + 50)
    assert registry.was_active_ti_at(university.address, t_reinstated + 50)
    assert not registry.was_active_ti_at(university.address, t_revoked + 1)
    assert not registry.is_active_ti(university.address)


def test_validity_window(any_network, any_funder):
    w3 = any_funder.w3
    registry = any_network.registry(w3)
    ti = any_funder.account()
    now = chain_time(w3)
    send(any_network, any_network.tao, registry.accredit(ti.address, IssuerKind.TI, "did:x", b"\0" * 32, "",
                                                         valid_from=now + 1000, valid_until=now + 2000))
    assert not registry.is_active_ti(ti.address)
    assert registry.was_active_ti_at(ti.address, now + 1500)
    assert not registry.was_active_ti_at(ti.address, now + 2000)


def test_anchor_and_verifier_view(any_network, any_funder, university):
    w3 = any_funder.w3
    anchor = any_network.anchor(w3)
    digests = [os.urandom(32) for _ in range(37)]
    tree = MerkleTree.build(digests)
    confirmation = send(any_network, university, anchor.anchor(tree.root, len(digests)))
    record = anchor.anchor_of(tree.root)
    assert record.issuer == university.address
    assert record.block_number == confirmation.block_number
    assert record.anchored_at == w3.eth.get_block(confirmation.block_number)["timestamp"]
    for digest in random.sample(digests, 5):
        view = anchor.verify(digest, tree.root, tree.proof(digest))
        assert view.included and view.anchored and view.issuer == university.address
        assert view.status == CredentialStatus.VALID
        assert anchor.leaf_hash(digest) == tree.nodes[tree.tree_index(tree.index_of(digest))]
    # a proof for one credential does not prove another; an unanchored root is reported as such
    other = digests[0] if digests[0] != digests[1] else digests[2]
    assert not anchor.verify(other, tree.root, tree.proof(digests[1])).included
    view = anchor.verify(digests[0], os.urandom(32), tree.proof(digests[0]))
    assert not view.included and not view.anchored and view.issuer is None
    # the Anchored event carries the leaf count for audits
    logs = anchor.contract.events.Anchored().process_receipt(confirmation.receipt)
    assert logs[0]["args"]["leafCount"] == len(digests)
    assert logs[0]["args"]["root"] == tree.root


def test_anchor_refusals(any_network, any_funder, university):
    w3 = any_funder.w3
    anchor = any_network.anchor(w3)
    root = os.urandom(32)
    send(any_network, university, anchor.anchor(root, 3))
    reverts_with("RootAlreadyAnchored", lambda: send(any_network, university, anchor.anchor(root, 3)))
    reverts_with("EmptyBatch", lambda: send(any_network, university, anchor.anchor(b"\0" * 32, 3)))
    reverts_with("EmptyBatch", lambda: send(any_network, university, anchor.anchor(os.urandom(32), 0)))
    reverts_with("NotActiveIssuer", lambda: send(any_network, any_network.tao, anchor.anchor(os.urandom(32), 3)))
    send(any_network, any_network.tao, any_network.registry(w3).suspend(university.address))
    reverts_with("NotActiveIssuer", lambda: send(any_network, university, anchor.anchor(os.urandom(32), 3)))


@pytest.mark.parametrize("leaf_count", [1, 1_000, 1_000_000])
def test_anchor_gas_is_bounded_and_independent_of_batch_size(dev_network, funder, leaf_count):
    w3 = funder.w3
    anchor = dev_network.anchor(w3)
    confirmation = send(dev_network, dev_network.issuer, anchor.anchor(os.urandom(32), leaf_count))
    assert confirmation.gas_used <= ANCHOR_GAS_BOUND
    # the only size-dependent part is the calldata of one uint256: a handful of gas at most
    reference = send(dev_network, dev_network.issuer, anchor.anchor(os.urandom(32), 1)).gas_used
    assert abs(confirmation.gas_used - reference) <= 16 * 4


def test_status_changes_are_bound_to_the_anchoring_issuer(any_network, any_funder, university):
    w3 = any_funder.w3
    anchor = any_network.anchor(w3)
    digests = [os.urandom(32) for _ in range(20)]
    tree = MerkleTree.build(digests)
    send(any_network, university, anchor.anchor(tree.root, len(digests)))
    chosen = digests[3:8]
    multi = tree.multiproof(chosen)
    # another trusted issuer cannot touch this batch
    reverts_with("NotAnchoringIssuer", lambda: send(any_network, any_network.issuer, anchor.revoke(
        tree.root, multi.leaves, multi.proof, multi.proof_flags, 1)))
    # a digest outside the batch cannot be slipped in
    bad_leaves = (os.urandom(32),) + tuple(multi.leaves[1:])
    reverts_with("InvalidProof", lambda: send(any_network, university, anchor.revoke(
        tree.root, bad_leaves, multi.proof, multi.proof_flags, 1)))
    reverts_with("UnknownRoot", lambda: send(any_network, university, anchor.revoke(
        os.urandom(32), multi.leaves, multi.proof, multi.proof_flags, 1)))
    send(any_network, university, anchor.suspend(tree.root, multi.leaves, multi.proof, multi.proof_flags, 9))
    for digest in chosen:
        assert anchor.verify(digest, tree.root, tree.proof(digest)).status == CredentialStatus.SUSPENDED
    send(any_network, university, anchor.reinstate(tree.root, multi.leaves, multi.proof, multi.proof_flags))
    send(any_network, university, anchor.revoke(tree.root, multi.leaves, multi.proof, multi.proof_flags, 4))
    for digest in digests:
        view = anchor.verify(digest, tree.root, tree.proof(digest))
        expected = CredentialStatus.REVOKED if digest in chosen else CredentialStatus.VALID
        assert view.status == expected
    assert anchor.verify(chosen[0], tree.root, tree.proof(chosen[0])).reason == 4
    # revocation is final
    reverts_with("InvalidCredentialStatus", lambda: send(any_network, university, anchor.reinstate(
        tree.root, multi.leaves, multi.proof, multi.proof_flags)))


def test_registry_enumeration(dev_network, w3):
    registry: IssuerRegistry = dev_network.registry(w3)
    accounts = registry.accounts()
    assert accounts[:3] == [dev_network.root_tao.address, dev_network.tao.address, dev_network.issuer.address]


def test_status_list_hashes_are_versioned_per_issuer(any_network, any_funder, university):
    w3 = any_funder.w3
    anchor = any_network.anchor(w3)
    list_id = keccak256(b"https://node.example/status/1")
    assert anchor.status_list_of(university.address, list_id) is None
    first, second = keccak256(b"list v1"), keccak256(b"list v2")
    confirmation = send(any_network, university, anchor.publish_status_list(list_id, first))
    record = anchor.status_list_of(university.address, list_id)
    assert (record.list_hash, record.version, record.block_number) == (first, 1, confirmation.block_number)
    send(any_network, university, anchor.publish_status_list(list_id, second))
    assert anchor.status_list_of(university.address, list_id).version == 2
    assert anchor.status_list_of(university.address, list_id).list_hash == second
    # another account publishing under the same id does not touch this issuer's list
    send(any_network, any_network.issuer, anchor.publish_status_list(list_id, keccak256(b"other")))
    assert anchor.status_list_of(university.address, list_id).list_hash == second
    reverts_with("EmptyBatch", lambda: send(any_network, university, anchor.publish_status_list(list_id, b"\0" * 32)))
