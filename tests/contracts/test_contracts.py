"""IssuerRegistry 2 and CredentialAnchor 2 on real chains (Anvil and Ganache), through the typed wrappers:
accreditation rules and history, anchors bound to their issuer, the verifier view, multiproof status changes,
status-list versions, the gas bound, and reading a version-1 deployment.

Who may do what (the forbidden-action matrix, front-running, accreditors that lost their standing, the last
RootTAO, recovery, verification keys) is in tests/test_trust_matrix.py.
"""

from __future__ import annotations

import os
import random

import pytest
from web3 import Web3

from anchoring.chain.contracts import (
    CredentialAnchor,
    CredentialAnchorV1,
    CredentialStatus,
    IssuerKind,
    IssuerRegistry,
    IssuerRegistryV1,
    IssuerStatus,
    anchor_reader,
    deploy_contracts,
    registry_reader,
)
from anchoring.scheme.keccak import keccak256
from anchoring.scheme.merkle import MerkleTree
from node.dev.network import DEV_DIDS
from tests.helpers.chain import advance, chain_time, read, read_refuses, refuses, send, sender

pytestmark = pytest.mark.chain

ANCHOR_GAS_BOUND = 55_000
ZERO = b"\0" * 32
ZERO_ADDRESS = "0x" + "00" * 20


@pytest.fixture()
def university(any_network, any_funder):
    """A freshly accredited TI (accredited by the dev TAO), so each test may change its status freely."""
    account = any_funder.account()
    registry = any_network.registry(any_funder.w3)
    send(
        any_funder.w3,
        any_network.tao,
        registry.accredit(
            account.address,
            IssuerKind.TI,
            "did:example:uni-" + account.address[2:10],
            keccak256(b"doc"),
            "eqf:6",
        ),
    )
    return account


def multi(tree: MerkleTree, digests):
    """(digests in proof order, proof, flags) for CredentialAnchor.revoke / suspend / reinstate."""
    m = tree.multiproof(digests)
    return list(m.leaves), list(m.proof), list(m.proof_flags)


# ----------------------------------------------------------------------------------------------- registry
def test_dev_accreditation_chain_is_in_place(any_network):
    w3 = any_network.chain.web3()
    registry, anchor = any_network.registry(w3), any_network.anchor(w3)
    root = registry.get_issuer(any_network.root_tao.address)
    tao = registry.get_issuer(any_network.tao.address)
    ti = registry.get_issuer(any_network.issuer.address)
    assert (root.kind, tao.kind, ti.kind) == (IssuerKind.ROOT_TAO, IssuerKind.TAO, IssuerKind.TI)
    assert root.accreditor is None
    assert tao.accreditor == any_network.root_tao.address
    assert ti.accreditor == any_network.tao.address
    assert ti.did == DEV_DIDS["issuer"]
    assert (ti.status.label, ti.kind.title, ti.valid_until) == ("active", "TI", 0)
    assert registry.is_active_ti(any_network.issuer.address)
    assert not registry.is_active_ti(any_network.tao.address)
    assert read(registry.contract.functions.isRegisteredTI(any_network.issuer.address))
    assert not read(registry.contract.functions.isRegisteredTI(any_network.tao.address))
    assert registry.active_root_tao_count() >= 1
    assert registry.accounts()[:3] == [
        any_network.root_tao.address,
        any_network.tao.address,
        any_network.issuer.address,
    ]
    assert registry.version() == anchor.version() == "2.0.0"
    assert anchor.registry_address() == registry.address
    assert read(anchor.contract.functions.MAX_STATUS_BATCH()) == 512


def test_accreditation_refusals(any_network, any_funder):
    w3 = any_funder.w3
    registry = any_network.registry(w3)
    root, tao = any_network.root_tao, any_network.tao
    outsider, ti, target = any_funder.account(), any_funder.account(), any_funder.account()
    send(w3, tao, registry.accredit(ti.address, IssuerKind.TI, "did:x:ti", ZERO, ""))
    # who may accredit which kind: a TAO only TIs, a TI nobody, an outsider nothing
    for who, kind, caller_kind in [
        (tao, IssuerKind.TAO, IssuerKind.TAO),
        (tao, IssuerKind.ROOT_TAO, IssuerKind.TAO),
        (ti, IssuerKind.TI, IssuerKind.TI),
        (outsider, IssuerKind.TI, IssuerKind.NONE),
    ]:
        refuses(
            w3,
            who,
            registry.accredit(target.address, kind, "did:x", ZERO, ""),
            "NotAccreditor",
            caller=who.address,
            callerKind=caller_kind,
            requestedKind=kind,
        )
    # input checks come first, whoever the caller
    refuses(
        w3, root, registry.accredit(target.address, IssuerKind.NONE, "did:x", ZERO, ""), "InvalidKind", kind=0
    )
    refuses(w3, root, registry.accredit(ZERO_ADDRESS, IssuerKind.TI, "did:x", ZERO, ""), "ZeroAccount")
    refuses(
        w3,
        tao,
        registry.accredit(
            target.address, IssuerKind.TI, "did:x", ZERO, "", valid_from=2000, valid_until=2000
        ),
        "InvalidValidityWindow",
        validFrom=2000,
        validUntil=2000,
    )
    now = chain_time(w3)
    # a RootTAO is open-ended and valid from now, so every counted RootTAO can act at once
    refuses(
        w3,
        root,
        registry.accredit(target.address, IssuerKind.ROOT_TAO, "did:x", ZERO, "", valid_until=now + 10**6),
        "InvalidRootTAOValidity",
    )
    refuses(
        w3,
        root,
        registry.accredit(target.address, IssuerKind.ROOT_TAO, "did:x", ZERO, "", valid_from=now + 10**6),
        "InvalidRootTAOValidity",
    )
    refuses(
        w3,
        root,
        registry.accredit(ti.address, IssuerKind.TI, "did:x", ZERO, ""),
        "AlreadyRegistered",
        account=ti.address,
    )
    # an entry has no power over its own status; unknown accounts have no status
    refuses(
        w3, ti, registry.suspend(ti.address, "self"), "NotAuthorized", caller=ti.address, account=ti.address
    )
    refuses(
        w3,
        outsider,
        registry.suspend(ti.address),
        "NotAuthorized",
        caller=outsider.address,
        account=ti.address,
    )
    refuses(w3, root, registry.suspend(target.address), "UnknownIssuer", account=target.address)
    read_refuses(
        registry.contract.functions.getIssuer(target.address), "UnknownIssuer", account=target.address
    )
    assert registry.find_issuer(target.address) is None
    count = read(registry.contract.functions.issuerCount())
    read_refuses(registry.contract.functions.issuerAt(count), "IndexOutOfRange", index=count, length=count)
    read_refuses(registry.contract.functions.historyAt(ti.address, 1), "IndexOutOfRange", index=1, length=1)
    assert registry.get_issuer(ti.address).status == IssuerStatus.ACTIVE


def test_status_transitions_history_and_reason_texts(any_network, any_funder, university):
    w3 = any_funder.w3
    registry = any_network.registry(w3)
    tao, root = any_network.tao, any_network.root_tao
    account = university.address
    t_accredited = chain_time(w3)
    advance(w3, 100)
    suspended = send(w3, tao, registry.suspend(account, "audit pending – Prüfung läuft"))
    t_suspended = chain_time(w3)
    event = registry.contract.events.IssuerStatusChanged().process_receipt(suspended.receipt)[0]["args"]
    assert (event["account"], event["by"]) == (account, tao.address)
    assert (event["previousStatus"], event["newStatus"]) == (IssuerStatus.ACTIVE, IssuerStatus.SUSPENDED)
    assert event["reason"] == "audit pending – Prüfung läuft"
    assert event["reasonHash"] == keccak256("audit pending – Prüfung läuft".encode())
    refuses(
        w3,
        tao,
        registry.suspend(account, "again"),
        "InvalidStatusTransition",
        account=account,
        current=IssuerStatus.SUSPENDED,
        requested=IssuerStatus.SUSPENDED,
    )
    advance(w3, 100)
    send(w3, tao, registry.reinstate(account, "audit passed"))
    t_reinstated = chain_time(w3)
    refuses(
        w3,
        tao,
        registry.reinstate(account),
        "InvalidStatusTransition",
        account=account,
        current=IssuerStatus.ACTIVE,
        requested=IssuerStatus.ACTIVE,
    )
    advance(w3, 100)
    revoked = send(w3, root, registry.revoke(account, ""))  # an empty reason is allowed
    t_revoked = chain_time(w3)
    event = registry.contract.events.IssuerStatusChanged().process_receipt(revoked.receipt)[0]["args"]
    assert (event["reason"], event["reasonHash"], event["by"]) == ("", keccak256(b""), root.address)
    refuses(
        w3,
        root,
        registry.reinstate(account),
        "InvalidStatusTransition",
        account=account,
        current=IssuerStatus.REVOKED,
        requested=IssuerStatus.ACTIVE,
    )
    refuses(
        w3,
        root,
        registry.revoke(account),
        "InvalidStatusTransition",
        account=account,
        current=IssuerStatus.REVOKED,
        requested=IssuerStatus.REVOKED,
    )

    history = registry.history(account)
    assert [h.status for h in history] == [
        IssuerStatus.ACTIVE,
        IssuerStatus.SUSPENDED,
        IssuerStatus.ACTIVE,
        IssuerStatus.REVOKED,
    ]
    assert [h.by for h in history] == [tao.address, tao.address, tao.address, root.address]
    assert (
        history[1].block_number == suspended.block_number and history[3].block_number == revoked.block_number
    )
    assert [h.timestamp for h in history] == sorted(h.timestamp for h in history)
    assert registry.get_issuer(account).history_length == 4
    # reads pinned to a block see the registry as it was then
    assert registry.get_issuer(account, block=suspended.block_number - 1).status == IssuerStatus.ACTIVE
    assert registry.get_issuer(account, block=suspended.block_number).status == IssuerStatus.SUSPENDED
    assert len(registry.history(account, block=suspended.block_number)) == 2
    assert registry.is_active_ti(account, block=suspended.block_number - 1)
    assert registry.status_at(account, t_accredited - 1000) == IssuerStatus.NONE
    assert registry.status_at(account, t_accredited + 50) == IssuerStatus.ACTIVE
    assert registry.status_at(account, t_suspended + 50) == IssuerStatus.SUSPENDED
    assert registry.status_at(account, t_reinstated + 50) == IssuerStatus.ACTIVE
    assert registry.status_at(account, t_revoked) == IssuerStatus.REVOKED
    assert registry.was_active_ti_at(account, t_accredited + 50)
    assert not registry.was_active_ti_at(account, t_suspended + 50)
    assert registry.was_active_ti_at(account, t_reinstated + 50)
    assert not registry.was_active_ti_at(account, t_revoked + 1)
    assert not registry.is_active_ti(account)
    # revoked entries are never reused
    refuses(
        w3,
        root,
        registry.accredit(account, IssuerKind.TI, "did:x", ZERO, ""),
        "AlreadyRegistered",
        account=account,
    )


def test_validity_window(any_network, any_funder):
    w3 = any_funder.w3
    registry = any_network.registry(w3)
    ti = any_funder.account()
    now = chain_time(w3)
    send(
        w3,
        any_network.tao,
        registry.accredit(
            ti.address, IssuerKind.TI, "did:x", ZERO, "", valid_from=now + 1000, valid_until=now + 2000
        ),
    )
    entry = registry.get_issuer(ti.address)
    assert (entry.valid_from, entry.valid_until) == (now + 1000, now + 2000)
    assert entry.status == IssuerStatus.ACTIVE and not entry.within_validity(now)
    assert not registry.is_active_ti(ti.address)
    assert registry.was_active_ti_at(ti.address, now + 1500)
    assert not registry.was_active_ti_at(ti.address, now + 2000)
    # not yet valid: it cannot anchor
    refuses(w3, ti, any_network.anchor(w3).anchor(os.urandom(32), 1), "NotActiveIssuer", caller=ti.address)


def test_a_suspended_taos_tis_stay_trusted(any_network, any_funder):
    """Each entry carries its own status: suspending a TAO does not cascade to the TIs it accredited."""
    w3 = any_funder.w3
    registry = any_network.registry(w3)
    tao, ti = any_funder.account(), any_funder.account()
    send(w3, any_network.root_tao, registry.accredit(tao.address, IssuerKind.TAO, "did:x:tao", ZERO, "*"))
    send(w3, tao, registry.accredit(ti.address, IssuerKind.TI, "did:x:ti", ZERO, ""))
    send(w3, any_network.root_tao, registry.suspend(tao.address, "under review"))
    assert registry.is_active_ti(ti.address)
    send(w3, ti, any_network.anchor(w3).anchor(os.urandom(32), 3))


# ----------------------------------------------------------------------------------------------- anchors
def test_anchor_and_verifier_view(any_network, any_funder, university):
    w3 = any_funder.w3
    anchor = any_network.anchor(w3)
    other = any_network.issuer.address
    digests = [os.urandom(32) for _ in range(37)]
    tree = MerkleTree.build(digests)
    confirmation = send(w3, university, anchor.anchor(tree.root, len(digests)))
    record = anchor.anchor_of(university.address, tree.root)
    assert record.issuer == university.address
    assert record.block_number == confirmation.block_number
    assert record.anchored_at == w3.eth.get_block(confirmation.block_number)["timestamp"]
    assert record.leaf_count == len(digests)
    assert anchor.anchor_of(other, tree.root) is None  # the record is the anchoring issuer's alone
    assert anchor.anchor_of(university.address, tree.root, block=confirmation.block_number - 1) is None
    for digest in random.sample(digests, 5):
        view = anchor.verify(university.address, digest, tree.root, tree.proof(digest))
        assert view.included and view.anchored and view.leaf_count == len(digests)
        assert (view.anchored_at, view.anchored_block) == (record.anchored_at, record.block_number)
        assert (view.status, view.reason, view.status_block) == (CredentialStatus.VALID, 0, 0)
        assert anchor.leaf_hash(digest) == tree.nodes[tree.tree_index(tree.index_of(digest))]
    # a proof for one credential does not prove another; an unanchored root is reported as such
    assert not anchor.verify(university.address, digests[0], tree.root, tree.proof(digests[1])).included
    view = anchor.verify(university.address, digests[0], os.urandom(32), tree.proof(digests[0]))
    assert not view.included and not view.anchored and view.leaf_count == 0
    # the same proof under another issuer: included in the tree, but that issuer never anchored it
    view = anchor.verify(other, digests[0], tree.root, tree.proof(digests[0]))
    assert view.included and not view.anchored
    # Anchored(issuer indexed, root indexed, leafCount): issuer first in the topics
    log = anchor.contract.events.Anchored().process_receipt(confirmation.receipt)[0]
    assert (log["args"]["issuer"], log["args"]["root"], log["args"]["leafCount"]) == (
        university.address,
        tree.root,
        len(digests),
    )
    raw = next(lg for lg in confirmation.receipt["logs"] if lg["address"].lower() == anchor.address.lower())
    assert bytes(raw["topics"][1])[12:] == bytes.fromhex(university.address[2:])
    assert bytes(raw["topics"][2]) == tree.root
    assert anchor.anchors_in(bytes(confirmation.receipt["transactionHash"])) == [
        (university.address, tree.root, len(digests))
    ]
    found = anchor.anchored_event(university.address, tree.root, confirmation.block_number)
    assert found is not None and found["args"]["leafCount"] == len(digests)
    assert anchor.anchored_event(other, tree.root, confirmation.block_number) is None


def test_anchor_refusals(any_network, any_funder, university):
    w3 = any_funder.w3
    anchor = any_network.anchor(w3)
    me = university.address
    root = os.urandom(32)
    send(w3, university, anchor.anchor(root, 3))
    refuses(w3, university, anchor.anchor(root, 3), "RootAlreadyAnchored", issuer=me, root=root)
    refuses(w3, university, anchor.anchor(ZERO, 3), "InvalidAnchor", root=ZERO, leafCount=3)
    fresh = os.urandom(32)
    refuses(w3, university, anchor.anchor(fresh, 0), "InvalidAnchor", root=fresh, leafCount=0)
    refuses(w3, university, anchor.anchor(fresh, 2**64), "InvalidAnchor", root=fresh, leafCount=2**64)
    refuses(
        w3,
        any_network.tao,
        anchor.anchor(os.urandom(32), 3),
        "NotActiveIssuer",
        caller=any_network.tao.address,
    )
    send(w3, any_network.tao, any_network.registry(w3).suspend(me, "audit"))
    refuses(w3, university, anchor.anchor(os.urandom(32), 3), "NotActiveIssuer", caller=me)


def test_the_largest_leaf_count_fits_the_record(any_network, any_funder):
    # On a deployment of its own: the node's registry index keeps leaf counts in a signed 64-bit column (see
    # the report of this branch), and the node tests index the shared dev deployment.
    w3 = any_funder.w3
    root, ti = any_funder.account(), any_funder.account()
    deployment = deploy_contracts(sender(w3, root), "did:example:big-root")
    registry = IssuerRegistry(w3, deployment.issuer_registry)
    anchor = CredentialAnchor(w3, deployment.credential_anchor)
    send(w3, root, registry.accredit(ti.address, IssuerKind.TI, "did:example:big", ZERO, ""))
    largest = os.urandom(32)
    send(w3, ti, anchor.anchor(largest, 2**64 - 1))
    assert anchor.anchor_of(ti.address, largest).leaf_count == 2**64 - 1
    too_large = os.urandom(32)
    refuses(w3, ti, anchor.anchor(too_large, 2**64), "InvalidAnchor", root=too_large, leafCount=2**64)


@pytest.mark.parametrize("leaf_count", [1, 1_000, 1_000_000])
def test_anchor_gas_is_bounded_and_independent_of_batch_size(any_network, leaf_count):
    w3 = any_network.chain.web3()
    anchor = any_network.anchor(w3)
    confirmation = send(w3, any_network.issuer, anchor.anchor(os.urandom(32), leaf_count))
    assert confirmation.gas_used <= ANCHOR_GAS_BOUND
    # the only size-dependent part is the calldata of one uint256 (and zero bytes of the random root)
    reference = send(w3, any_network.issuer, anchor.anchor(os.urandom(32), 1)).gas_used
    assert abs(confirmation.gas_used - reference) <= 12 * 8


# ----------------------------------------------------------------------------------------------- statuses
def test_multiproof_status_changes_are_bound_to_the_anchoring_issuer(any_network, any_funder, university):
    w3 = any_funder.w3
    anchor = any_network.anchor(w3)
    me, other = university.address, any_network.issuer
    digests = [os.urandom(32) for _ in range(20)]
    tree = MerkleTree.build(digests)
    start = send(w3, university, anchor.anchor(tree.root, len(digests))).block_number
    chosen = digests[3:8]
    leaves, proof, flags = multi(tree, chosen)
    # another trusted issuer finds no such root in its own namespace
    refuses(
        w3,
        other,
        anchor.revoke(tree.root, leaves, proof, flags, 1),
        "UnknownRoot",
        issuer=other.address,
        root=tree.root,
    )
    refuses(
        w3,
        other,
        anchor.suspend(tree.root, leaves, proof, flags, 1),
        "UnknownRoot",
        issuer=other.address,
        root=tree.root,
    )
    unknown = os.urandom(32)
    refuses(
        w3,
        university,
        anchor.revoke(unknown, leaves, proof, flags, 1),
        "UnknownRoot",
        issuer=me,
        root=unknown,
    )
    # a digest outside the batch cannot be slipped in; malformed proofs and batch sizes are refused
    bad_leaves = [os.urandom(32), *leaves[1:]]
    refuses(
        w3,
        university,
        anchor.revoke(tree.root, bad_leaves, proof, flags, 1),
        "InvalidProof",
        issuer=me,
        root=tree.root,
    )
    refuses(
        w3,
        university,
        anchor.revoke(tree.root, leaves[:1], [], [True, True], 1),
        "MerkleProofInvalidMultiproof",
    )
    refuses(
        w3, university, anchor.revoke(tree.root, [], [tree.root], [], 1), "InvalidBatchSize", size=0, max=512
    )
    refuses(
        w3,
        university,
        anchor.revoke(tree.root, [digests[0]] * 513, [], [], 1),
        "InvalidBatchSize",
        size=513,
        max=512,
    )

    suspended = send(w3, university, anchor.suspend(tree.root, leaves, proof, flags, 9))
    for digest in chosen:
        view = anchor.verify(me, digest, tree.root, tree.proof(digest))
        assert (view.status, view.reason, view.status_block) == (
            CredentialStatus.SUSPENDED,
            9,
            suspended.block_number,
        )
    refuses(
        w3,
        university,
        anchor.suspend(tree.root, leaves, proof, flags, 9),
        "InvalidCredentialStatus",
        digest=leaves[0],
        current=CredentialStatus.SUSPENDED,
        requested=CredentialStatus.SUSPENDED,
    )
    send(w3, university, anchor.reinstate(tree.root, leaves, proof, flags))
    assert anchor.status_of(me, tree.root, chosen[0]).status == CredentialStatus.VALID
    refuses(
        w3,
        university,
        anchor.reinstate(tree.root, leaves, proof, flags),
        "InvalidCredentialStatus",
        digest=leaves[0],
        current=CredentialStatus.VALID,
        requested=CredentialStatus.VALID,
    )
    revoked = send(w3, university, anchor.revoke(tree.root, leaves, proof, flags, 4))
    # a suspended credential may be revoked directly
    hold = digests[10:12]
    send(w3, university, anchor.suspend(tree.root, *multi(tree, hold), 2))
    send(w3, university, anchor.revoke(tree.root, *multi(tree, hold), 5))
    for digest in digests:
        expected = CredentialStatus.REVOKED if digest in chosen or digest in hold else CredentialStatus.VALID
        assert anchor.verify(me, digest, tree.root, tree.proof(digest)).status == expected
    record = anchor.status_of(me, tree.root, chosen[0])
    assert (record.status, record.reason, record.block_number) == (
        CredentialStatus.REVOKED,
        4,
        revoked.block_number,
    )
    assert record.changed_at == w3.eth.get_block(revoked.block_number)["timestamp"]
    before = anchor.status_of(me, tree.root, chosen[0], block=revoked.block_number - 1)
    assert before.status == CredentialStatus.VALID
    # the other issuer's namespace saw nothing
    assert anchor.status_of(other.address, tree.root, chosen[0]).status == CredentialStatus.VALID
    # revocation is final
    for fn, requested in [
        (lambda: anchor.reinstate(tree.root, leaves, proof, flags), CredentialStatus.VALID),
        (lambda: anchor.suspend(tree.root, leaves, proof, flags, 1), CredentialStatus.SUSPENDED),
        (lambda: anchor.revoke(tree.root, leaves, proof, flags, 1), CredentialStatus.REVOKED),
    ]:
        refuses(
            w3,
            university,
            fn(),
            "InvalidCredentialStatus",
            digest=leaves[0],
            current=CredentialStatus.REVOKED,
            requested=requested,
        )
    # the event log tells the same story, oldest first, per (issuer, root)
    changes = anchor.status_changes([(me, tree.root)], start)
    assert [c.status for c in changes] == (
        [CredentialStatus.SUSPENDED] * 5
        + [CredentialStatus.VALID] * 5
        + [CredentialStatus.REVOKED] * 5
        + [CredentialStatus.SUSPENDED] * 2
        + [CredentialStatus.REVOKED] * 2
    )
    assert {c.digest for c in changes} == set(chosen) | set(hold)
    assert {(c.issuer, c.root) for c in changes} == {(me, tree.root)}
    assert [c.reason for c in changes if c.block_number == revoked.block_number] == [4] * 5
    assert anchor.status_changes([(other.address, tree.root)], start) == []


def test_status_list_hashes_are_versioned_per_issuer(any_network, any_funder, university):
    w3 = any_funder.w3
    anchor = any_network.anchor(w3)
    list_id = keccak256(b"https://node.example/status/1")
    assert anchor.status_list_of(university.address, list_id) is None
    first, second = keccak256(b"list v1"), keccak256(b"list v2")
    confirmation = send(w3, university, anchor.publish_status_list(list_id, first))
    record = anchor.status_list_of(university.address, list_id)
    assert (record.list_hash, record.version, record.block_number) == (first, 1, confirmation.block_number)
    event = anchor.contract.events.StatusListPublished().process_receipt(confirmation.receipt)[0]["args"]
    assert (event["issuer"], event["listId"], event["listHash"], event["version"]) == (
        university.address,
        list_id,
        first,
        1,
    )
    second_block = send(w3, university, anchor.publish_status_list(list_id, second)).block_number
    record = anchor.status_list_of(university.address, list_id)
    assert (record.list_hash, record.version, record.block_number) == (second, 2, second_block)
    assert anchor.status_list_of(university.address, list_id, block=second_block - 1).version == 1
    # another issuer publishing under the same id does not touch this issuer's list
    send(w3, any_network.issuer, anchor.publish_status_list(list_id, keccak256(b"other")))
    assert anchor.status_list_of(university.address, list_id).list_hash == second
    refuses(w3, university, anchor.publish_status_list(list_id, ZERO), "EmptyListHash", listId=list_id)
    # only accounts with a TI entry publish (a TAO has none)
    refuses(
        w3,
        any_network.tao,
        anchor.publish_status_list(list_id, first),
        "NotRegisteredIssuer",
        caller=any_network.tao.address,
    )


# ----------------------------------------------------------------------------------------------- version 1
def test_version_1_deployments_are_still_read(any_network, any_funder):
    """The frozen v1 contracts (anchors keyed by root alone) answer the v2 read questions through the v1
    readers."""
    w3 = any_funder.w3
    root, tao, ti, other = (any_funder.account() for _ in range(4))
    deployment = deploy_contracts(sender(w3, root), "did:example:v1-root", major=1)
    assert deployment.version == "1" and deployment.current.major == 1
    registry = registry_reader(w3, deployment.current)
    anchor = anchor_reader(w3, deployment.current)
    assert isinstance(registry, IssuerRegistryV1) and isinstance(anchor, CredentialAnchorV1)
    assert registry.version() == anchor.version() == "1"
    v1 = registry.contract.functions  # v1 writes: suspend etc. take a bytes32 reason hash
    send(w3, root, v1.accredit(tao.address, int(IssuerKind.TAO), "did:x:v1-tao", 0, 0, ZERO, "*"))
    send(w3, tao, v1.accredit(ti.address, int(IssuerKind.TI), "did:x:v1-ti", 0, 0, ZERO, ""))
    send(w3, tao, v1.accredit(other.address, int(IssuerKind.TI), "did:x:v1-other", 0, 0, ZERO, ""))
    digests = [os.urandom(32) for _ in range(9)]
    tree = MerkleTree.build(digests)
    anchored = send(w3, ti, anchor.contract.functions.anchor(tree.root, len(digests)))
    revoked = send(w3, ti, anchor.contract.functions.revoke(tree.root, *multi(tree, digests[:2]), 3))

    record = anchor.anchor_of(ti.address, tree.root)
    assert (record.issuer, record.block_number, record.leaf_count) == (
        ti.address,
        anchored.block_number,
        None,
    )
    assert anchor.anchor_of(other.address, tree.root) is None  # v1 has one anchor per root: not other's
    assert anchor.anchored_by(tree.root) == ti.address
    assert anchor.anchor_of(ti.address, os.urandom(32)) is None
    status = anchor.status_of(ti.address, tree.root, digests[0])
    assert (status.status, status.reason, status.block_number) == (
        CredentialStatus.REVOKED,
        3,
        revoked.block_number,
    )
    assert anchor.status_of(ti.address, tree.root, digests[5]).status == CredentialStatus.VALID
    changes = anchor.status_changes([(ti.address, tree.root)], deployment.deployment_block)
    assert {c.digest for c in changes} == set(digests[:2])
    assert {(c.issuer, c.root, c.status, c.reason, c.block_number) for c in changes} == {
        (ti.address, tree.root, CredentialStatus.REVOKED, 3, revoked.block_number)
    }
    assert anchor.status_changes([(other.address, tree.root)], deployment.deployment_block) == []
    entry = registry.get_issuer(ti.address)
    assert (entry.kind, entry.status, entry.accreditor) == (IssuerKind.TI, IssuerStatus.ACTIVE, tao.address)
    assert (
        registry.is_active_ti(ti.address)
        and registry.find_issuer(Web3.to_checksum_address("0x" + "11" * 20)) is None
    )
    assert registry.verification_key(ti.address, keccak256(b"key")) is None
    # the v2 readers of the same chain are separate contracts
    v2 = any_network.deployment.current
    assert isinstance(anchor_reader(w3, v2), CredentialAnchor)
    assert isinstance(registry_reader(w3, v2), IssuerRegistry)
