"""Who may do what under IssuerRegistry 2 / CredentialAnchor 2, on Anvil and Ganache (issue 11).

``test_forbidden`` runs every cell of the forbidden-action matrix (actor x action) as its own test: an allowed
cell must succeed and have its effect, a forbidden one must revert with the custom error and parameters in
``MATRIX``, both on the gas estimate and as a mined transaction (status 0). The scenarios then replay the attacks
of issue 11 (front-running a root, a revoked accreditor reinstating its TI, the last RootTAO locking everyone out),
the recovery path, what a revoked or suspended TI may still do, and verification keys.

One deployment per chain serves the whole module (``world``); every cell and scenario acts on entries of its
own, so each test passes alone and in any order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction

from anchoring.chain.contracts import (
    CredentialAnchor,
    CredentialStatus,
    IssuerKind,
    IssuerRegistry,
    IssuerStatus,
    deploy_contracts,
)
from anchoring.scheme.keccak import keccak256
from anchoring.scheme.merkle import MerkleTree
from tests.helpers.chain import Funder, advance, chain_time, read, read_refuses, refuses, send, sender

pytestmark = pytest.mark.chain

#: the forbidden-action matrix: the custom error each actor (column) gets for each action (row); "ok" = allowed
MATRIX = """
action              outsider             ti             tao                  revoked_tao          suspended_tao        expired_tao
accredit            NotAccreditor        NotAccreditor  ok                   InactiveCaller       InactiveCaller       CallerOutsideValidity
suspend             NotAuthorized        NotAuthorized  ok                   InactiveCaller       InactiveCaller       CallerOutsideValidity
reinstate           NotAuthorized        NotAuthorized  ok                   InactiveCaller       InactiveCaller       CallerOutsideValidity
revoke              NotAuthorized        NotAuthorized  ok                   InactiveCaller       InactiveCaller       CallerOutsideValidity
anchor              NotActiveIssuer      ok             NotActiveIssuer      NotActiveIssuer      NotActiveIssuer      NotActiveIssuer
revoke-under-root   UnknownRoot          ok             UnknownRoot          UnknownRoot          UnknownRoot          UnknownRoot
suspend-under-root  NotActiveIssuer      ok             NotActiveIssuer      NotActiveIssuer      NotActiveIssuer      NotActiveIssuer
publish             NotRegisteredIssuer  ok             NotRegisteredIssuer  NotRegisteredIssuer  NotRegisteredIssuer  NotRegisteredIssuer
add-key             NotAuthorized        ok             ok                   InactiveCaller       InactiveCaller       CallerOutsideValidity
revoke-key          NotAuthorized        ok             ok                   InactiveCaller       InactiveCaller       CallerOutsideValidity
"""


def _parse(text: str) -> dict[tuple[str, str], str]:
    header, *rows = [line.split() for line in text.strip().splitlines()]
    return {(actor, row[0]): cell for row in rows for actor, cell in zip(header[1:], row[1:], strict=True)}


EXPECTED = _parse(MATRIX)
ACTORS = ("outsider", "ti", "tao", "revoked_tao", "suspended_tao", "expired_tao")
ACTIONS = tuple(line.split()[0] for line in MATRIX.strip().splitlines()[1:])
#: the TAOs that lost their standing, by matrix column
BAD_TAOS = {"revoked_tao": "taoRev", "suspended_tao": "taoSus", "expired_tao": "taoExp"}
ACCOUNT_OF = {"outsider": "outsider", "ti": "ti", "tao": "tao", **BAD_TAOS}
ZERO = b"\0" * 32
#: the validity window of the expired TAO, in chain seconds (the module's set-up must fit in it)
EXPIRY_WINDOW = 300


def multi(tree: MerkleTree, digests) -> tuple[list[bytes], list[bytes], list[bool]]:
    m = tree.multiproof(digests)
    return list(m.leaves), list(m.proof), list(m.proof_flags)


def key_of(name: str) -> bytes:
    """keccak256 of a publicKeyMultibase string, as the registry stores it."""
    return keccak256(f"z6Mk{name}".encode())


@dataclass
class World:
    """A deployment with one RootTAO, TAOs in every standing, their TIs, a root anchored by the TI, keys."""

    network: Any
    funder: Funder
    w3: Web3
    registry: IssuerRegistry
    anchor: CredentialAnchor
    accounts: dict[str, LocalAccount] = field(default_factory=dict)
    keys: dict[str, bytes] = field(default_factory=dict)
    tree: MerkleTree = field(default_factory=lambda: MerkleTree.build([os.urandom(32) for _ in range(16)]))

    def __getitem__(self, name: str) -> LocalAccount:
        return self.accounts[name]

    def add(self, name: str, funded: bool = True) -> LocalAccount:
        """A fresh account (funded when it will send transactions itself)."""
        account = self.funder.account() if funded else Account.create()
        self.accounts[name] = account
        return account

    def accredit(
        self, by: str, name: str, kind: IssuerKind, funded: bool = True, **window: int
    ) -> LocalAccount:
        account = self.add(name, funded)
        send(
            self.w3,
            self[by],
            self.registry.accredit(
                account.address, kind, f"did:example:{name}", keccak256(name.encode()), "*", **window
            ),
        )
        return account

    def add_key(self, by: str, owner: str, key: str) -> bytes:
        self.keys[key] = key_of(key)
        send(self.w3, self[by], self.registry.add_verification_key(self[owner].address, self.keys[key]))
        return self.keys[key]

    def status(self, name: str) -> IssuerStatus:
        return self.registry.get_issuer(self[name].address).status


@pytest.fixture(scope="module")
def world(any_network) -> World:
    funder = Funder(any_network)
    w3 = funder.w3
    root = funder.account()
    deployment = deploy_contracts(sender(w3, root), "did:example:matrix-root", keccak256(b"charter"))
    world = World(
        any_network,
        funder,
        w3,
        IssuerRegistry(w3, deployment.issuer_registry),
        CredentialAnchor(w3, deployment.credential_anchor),
    )
    world.accounts["root"] = root
    world.add("outsider")
    expires = chain_time(w3) + EXPIRY_WINDOW
    for name in ("tao", "taoRev", "taoSus"):
        world.accredit("root", name, IssuerKind.TAO)
    world.accredit("root", "taoExp", IssuerKind.TAO, valid_until=expires)
    # the TAO's TIs: two that act, and one target per status change it may make
    for name, funded in (
        ("ti", True),
        ("tiB", True),
        ("tiSus", False),
        ("tao_suspend", False),
        ("tao_reinstate", False),
        ("tao_revoke", False),
    ):
        world.accredit("tao", name, IssuerKind.TI, funded)
    # each TAO that will lose its standing accredits an active TI (with a key) and a to-be-suspended TI
    for bad in BAD_TAOS.values():
        world.accredit(bad, f"{bad}_tiA", IssuerKind.TI, funded=False)
        world.accredit(bad, f"{bad}_tiS", IssuerKind.TI, funded=False)
        world.add_key(bad, f"{bad}_tiA", f"{bad}_tiA")
        world.add_key(bad, bad, f"{bad}_self")
    world.add_key("ti", "ti", "ti_own")
    world.add_key("ti", "ti", "ti_kept")
    world.add_key("tao", "ti", "ti_by_tao")
    send(w3, world["ti"], world.anchor.anchor(world.tree.root, len(world.tree)))
    # now the TAOs lose their standing, after the TIs they accredited were suspended
    send(w3, world["tao"], world.registry.suspend(world["tao_reinstate"].address, "set-up"))
    send(w3, root, world.registry.suspend(world["tiSus"].address, "set-up"))
    for bad in BAD_TAOS.values():
        send(w3, root, world.registry.suspend(world[f"{bad}_tiS"].address, "audit"))
    send(w3, root, world.registry.revoke(world["taoRev"].address, "accreditation withdrawn"))
    send(w3, root, world.registry.suspend(world["taoSus"].address, "under review"))
    now = chain_time(w3)
    assert now < expires, "the set-up took longer than the expired TAO's validity window"
    advance(w3, expires - now + 1)
    assert world.status("taoExp") == IssuerStatus.ACTIVE and not world.registry.get_issuer(
        world["taoExp"].address
    ).within_validity(chain_time(w3))
    return world


# ----------------------------------------------------------------------------------------------- the matrix
def cell_call(world: World, actor: str, action: str) -> tuple[ContractFunction, Any]:
    """The transaction of one matrix cell and what it acts on. The TAO columns act on TIs that the acting TAO
    accredited itself, so a refusal is about the caller's standing, not about ownership."""
    registry, anchor, tree = world.registry, world.anchor, world.tree
    bad = BAD_TAOS.get(actor)
    if action == "accredit":
        target = Account.create().address
        return registry.accredit(target, IssuerKind.TI, "did:example:new", keccak256(b"doc"), "*"), target
    if action in ("suspend", "reinstate", "revoke"):
        if actor in ("outsider", "ti"):  # an entry someone else accredited
            target = world["tiSus" if action == "reinstate" else "tiB"].address
        elif actor == "tao":
            target = world[f"tao_{action}"].address
        else:  # reinstate targets are suspended
            target = world[f"{bad}_tiS" if action == "reinstate" else f"{bad}_tiA"].address
        return getattr(registry, action)(target, f"{action} by {actor}"), target
    if action == "anchor":
        root = os.urandom(32)
        return anchor.anchor(root, 10), root
    if action == "revoke-under-root":
        return anchor.revoke(tree.root, *multi(tree, tree.digests[:1]), 1), tree.digests[0]
    if action == "suspend-under-root":
        return anchor.suspend(tree.root, *multi(tree, tree.digests[1:2]), 2), tree.digests[1]
    if action == "publish":
        list_id = keccak256(f"list-{actor}".encode())
        return anchor.publish_status_list(list_id, keccak256(b"v1")), list_id
    if action == "add-key":
        owner = world["ti" if bad is None else f"{bad}_tiA"].address
        key = key_of(f"added-by-{actor}")
        return registry.add_verification_key(owner, key), (owner, key)
    if action == "revoke-key":
        owner, key = (
            ("ti", {"outsider": "ti_kept", "ti": "ti_own", "tao": "ti_by_tao"}[actor])
            if bad is None
            else (f"{bad}_tiA", f"{bad}_tiA")
        )
        return registry.revoke_verification_key(world[owner].address, world.keys[key]), (
            world[owner].address,
            world.keys[key],
        )
    raise AssertionError(action)


def expected_params(world: World, actor: str, action: str, error: str, target: Any) -> dict[str, Any]:
    caller = world[ACCOUNT_OF[actor]].address
    if error == "NotAccreditor":
        kind = IssuerKind.TI if actor == "ti" else IssuerKind.NONE
        return {"caller": caller, "callerKind": kind, "requestedKind": IssuerKind.TI}
    if error == "NotAuthorized":
        return {"caller": caller, "account": target[0] if isinstance(target, tuple) else target}
    if error == "InactiveCaller":
        status = IssuerStatus.REVOKED if actor == "revoked_tao" else IssuerStatus.SUSPENDED
        return {"caller": caller, "status": status}
    if error == "CallerOutsideValidity":
        entry = world.registry.get_issuer(caller)
        return {"caller": caller, "validFrom": entry.valid_from, "validUntil": entry.valid_until}
    if error == "UnknownRoot":
        return {"issuer": caller, "root": world.tree.root}
    return {"caller": caller}  # NotActiveIssuer, NotRegisteredIssuer


def check_effect(world: World, action: str, target: Any, by: str) -> None:
    registry, anchor, ti = world.registry, world.anchor, world["ti"].address
    if action == "accredit":
        entry = registry.get_issuer(target)
        assert (entry.kind, entry.status, entry.accreditor) == (IssuerKind.TI, IssuerStatus.ACTIVE, by)
    elif action in ("suspend", "reinstate", "revoke"):
        wanted = {
            "suspend": IssuerStatus.SUSPENDED,
            "reinstate": IssuerStatus.ACTIVE,
            "revoke": IssuerStatus.REVOKED,
        }[action]
        assert registry.get_issuer(target).status == wanted
        assert registry.history(target)[-1].by == by
    elif action == "anchor":
        assert anchor.anchor_of(ti, target).leaf_count == 10
    elif action in ("revoke-under-root", "suspend-under-root"):
        wanted = CredentialStatus.REVOKED if action == "revoke-under-root" else CredentialStatus.SUSPENDED
        assert anchor.status_of(ti, world.tree.root, target).status == wanted
    elif action == "publish":
        assert anchor.status_list_of(ti, target).list_hash == keccak256(b"v1")
    elif action == "add-key":
        record = registry.verification_key(*target)
        assert record is not None and record.revoked_block == 0
    elif action == "revoke-key":
        assert registry.verification_key(*target).revoked_block != 0


CELLS = [pytest.param(actor, action, id=f"{actor}-{action}") for actor in ACTORS for action in ACTIONS]


@pytest.mark.parametrize(("actor", "action"), CELLS)
def test_forbidden(world, actor, action):
    call, target = cell_call(world, actor, action)
    account = world[ACCOUNT_OF[actor]]
    error = EXPECTED[(actor, action)]
    if error == "ok":
        send(world.w3, account, call)
        check_effect(world, action, target, account.address)
    else:
        refuses(world.w3, account, call, error, **expected_params(world, actor, action, error, target))


def test_matrix_is_complete():
    assert set(EXPECTED) == {(actor, action) for actor in ACTORS for action in ACTIONS}
    assert len(ACTIONS) == 10


# ----------------------------------------------------------------------------------------------- scenarios
def test_front_running_lands_in_the_front_runners_namespace(world):
    """TI B anchors A's root first: A's anchor still succeeds, B cannot touch A's credentials."""
    w3, anchor = world.w3, world.anchor
    a, b = world["ti"], world["tiB"]
    tree = MerkleTree.build([os.urandom(32) for _ in range(8)])
    first = send(w3, b, anchor.anchor(tree.root, 8))
    second = send(w3, a, anchor.anchor(tree.root, 8))
    refuses(w3, a, anchor.anchor(tree.root, 8), "RootAlreadyAnchored", issuer=a.address, root=tree.root)
    refuses(w3, b, anchor.anchor(tree.root, 8), "RootAlreadyAnchored", issuer=b.address, root=tree.root)
    record_a, record_b = anchor.anchor_of(a.address, tree.root), anchor.anchor_of(b.address, tree.root)
    assert (record_a.issuer, record_a.block_number) == (a.address, second.block_number)
    assert (record_b.issuer, record_b.block_number) == (b.address, first.block_number)
    d0 = tree.digests[0]
    # B "revokes" A's credential: only in B's own namespace
    send(w3, b, anchor.revoke(tree.root, *multi(tree, [d0]), 9))
    assert anchor.status_of(b.address, tree.root, d0).status == CredentialStatus.REVOKED
    assert anchor.status_of(a.address, tree.root, d0).status == CredentialStatus.VALID
    view = anchor.verify(a.address, d0, tree.root, tree.proof(d0))
    assert view.included and view.anchored and view.status == CredentialStatus.VALID
    assert (view.anchored_block, view.leaf_count) == (second.block_number, 8)
    # under a root of A's that B never anchored, B finds nothing to change
    t = world.tree
    proof = multi(t, t.digests[5:6])
    refuses(w3, b, anchor.revoke(t.root, *proof, 1), "UnknownRoot", issuer=b.address, root=t.root)
    refuses(w3, b, anchor.suspend(t.root, *proof, 1), "UnknownRoot", issuer=b.address, root=t.root)
    assert anchor.status_of(a.address, t.root, t.digests[5]).status == CredentialStatus.VALID
    # A still governs its own credentials
    send(w3, a, anchor.revoke(tree.root, *multi(tree, [d0]), 3))
    view = anchor.verify(a.address, d0, tree.root, tree.proof(d0))
    assert (view.status, view.reason) == (CredentialStatus.REVOKED, 3)
    assert [
        (c.issuer, c.reason) for c in anchor.status_changes([(a.address, tree.root)], first.block_number)
    ] == [(a.address, 3)]


def test_revoked_accreditor_cannot_reinstate_its_ti(world):
    """The RootTAO suspends a TI and revokes its TAO; the TAO's reinstate reverts InactiveCaller."""
    w3, registry, root = world.w3, world.registry, world["root"]
    tao_y = world.accredit("root", "taoY", IssuerKind.TAO)
    ti_y = world.accredit("taoY", "tiY", IssuerKind.TI, funded=False)
    send(w3, root, registry.suspend(ti_y.address, "investigation"))
    send(w3, root, registry.revoke(tao_y.address, "agency closed"))
    for call in (
        registry.reinstate(ti_y.address, "back"),
        registry.revoke(ti_y.address, "x"),
        registry.accredit(Account.create().address, IssuerKind.TI, "did:x", ZERO, ""),
    ):
        refuses(w3, tao_y, call, "InactiveCaller", caller=tao_y.address, status=IssuerStatus.REVOKED)
    assert not registry.is_active_ti(ti_y.address)
    # the RootTAO still can
    send(w3, root, registry.reinstate(ti_y.address, "cleared"))
    assert registry.is_active_ti(ti_y.address)
    # and a TAO's standing does not cascade: the active TIs of revoked and suspended TAOs stay trusted
    assert registry.is_active_ti(world["taoRev_tiA"].address)
    assert registry.is_active_ti(world["taoSus_tiA"].address)


def test_the_last_root_tao_cannot_leave(world):
    registry, root = world.registry, world["root"]
    assert registry.active_root_tao_count() == 1
    refuses(world.w3, root, registry.suspend(root.address, "oops"), "LastRootTAO", account=root.address)
    refuses(world.w3, root, registry.revoke(root.address, "oops"), "LastRootTAO", account=root.address)
    assert registry.get_issuer(root.address).status == IssuerStatus.ACTIVE
    assert registry.active_root_tao_count() == 1


def test_root_tao_acts_on_any_entry(world):
    w3, registry, root = world.w3, world.registry, world["root"]
    target = world.accredit("tao", "tiForRoot", IssuerKind.TI, funded=False).address
    send(w3, root, registry.suspend(target, "check"))
    send(w3, root, registry.reinstate(target, "ok again"))
    direct = world.accredit("root", "rootTI", IssuerKind.TI, funded=False).address
    assert registry.get_issuer(direct).accreditor == root.address
    # the TAO that accredited them lost its standing; the RootTAO takes over
    send(w3, root, registry.reinstate(world["taoSus_tiS"].address, "taken over"))
    send(w3, root, registry.revoke(world["taoRev_tiS"].address, "taken over"))
    assert (
        world.status("taoSus_tiS") == IssuerStatus.ACTIVE
        and world.status("taoRev_tiS") == IssuerStatus.REVOKED
    )
    # another TAO has no say over a TI it did not accredit
    other_tao = world.accredit("root", "otherTAO", IssuerKind.TAO)
    refuses(
        w3,
        other_tao,
        registry.suspend(target, "x"),
        "NotAuthorized",
        caller=other_tao.address,
        account=target,
    )


def test_recovery_from_a_compromised_root_tao(world):
    """RootTAO A accredits RootTAO B; B revokes the compromised A; A can then do nothing."""
    w3 = world.w3
    r_a, r_b = world.funder.account(), world.funder.account()
    deployment = deploy_contracts(sender(w3, r_a), "did:example:rA")
    registry = IssuerRegistry(w3, deployment.issuer_registry)
    anchor = CredentialAnchor(w3, deployment.credential_anchor)
    tao_z, ti_z, r_c, nobody = (Account.create().address for _ in range(4))
    send(w3, r_a, registry.accredit(r_b.address, IssuerKind.ROOT_TAO, "did:example:rB", ZERO, "*"))
    assert registry.active_root_tao_count() == 2
    send(w3, r_a, registry.accredit(tao_z, IssuerKind.TAO, "did:example:taoZ", ZERO, "*"))
    send(w3, r_b, registry.accredit(ti_z, IssuerKind.TI, "did:example:tiZ", ZERO, "*"))
    # B suspends A: A cannot act, B cannot leave
    send(w3, r_b, registry.suspend(r_a.address, "suspicious activity"))
    assert registry.active_root_tao_count() == 1
    refuses(
        w3,
        r_a,
        registry.accredit(nobody, IssuerKind.TI, "did:x", ZERO, ""),
        "InactiveCaller",
        caller=r_a.address,
        status=IssuerStatus.SUSPENDED,
    )
    refuses(w3, r_b, registry.suspend(r_b.address, "x"), "LastRootTAO", account=r_b.address)
    send(w3, r_b, registry.reinstate(r_a.address, "false alarm"))
    assert registry.active_root_tao_count() == 2
    # then A's key is compromised for real
    send(w3, r_b, registry.revoke(r_a.address, "key compromised"))
    assert registry.active_root_tao_count() == 1
    revoked = {"caller": r_a.address, "status": IssuerStatus.REVOKED}
    for call in (
        registry.accredit(nobody, IssuerKind.TAO, "did:x", ZERO, ""),
        registry.accredit(nobody, IssuerKind.ROOT_TAO, "did:x", ZERO, ""),
        registry.suspend(tao_z, "x"),  # entries A accredited itself
        registry.revoke(r_b.address, "x"),
        registry.add_verification_key(tao_z, key_of("z")),
        registry.add_verification_key(r_a.address, key_of("a")),
    ):
        refuses(w3, r_a, call, "InactiveCaller", **revoked)
    refuses(w3, r_a, registry.suspend(ti_z, "x"), "NotAuthorized", caller=r_a.address, account=ti_z)
    refuses(
        w3,
        r_a,
        registry.reinstate(r_a.address, "x"),
        "NotAuthorized",
        caller=r_a.address,
        account=r_a.address,
    )
    refuses(w3, r_a, anchor.anchor(os.urandom(32), 1), "NotActiveIssuer", caller=r_a.address)
    refuses(
        w3,
        r_a,
        anchor.publish_status_list(keccak256(b"l"), keccak256(b"h")),
        "NotRegisteredIssuer",
        caller=r_a.address,
    )
    # B, now the last RootTAO, stays; A's revocation is final
    refuses(w3, r_b, registry.suspend(r_b.address, "x"), "LastRootTAO", account=r_b.address)
    refuses(w3, r_b, registry.revoke(r_b.address, "x"), "LastRootTAO", account=r_b.address)
    refuses(
        w3,
        r_b,
        registry.reinstate(r_a.address, "x"),
        "InvalidStatusTransition",
        account=r_a.address,
        current=IssuerStatus.REVOKED,
        requested=IssuerStatus.ACTIVE,
    )
    # B takes over A's TAO, and may resign once another RootTAO exists
    send(w3, r_b, registry.suspend(tao_z, "re-audit"))
    send(w3, r_b, registry.accredit(r_c, IssuerKind.ROOT_TAO, "did:example:rC", ZERO, "*"))
    send(w3, r_b, registry.revoke(r_b.address, "resigned"))
    assert registry.active_root_tao_count() == 1
    assert [h.status for h in registry.history(r_a.address)] == [
        IssuerStatus.ACTIVE,
        IssuerStatus.SUSPENDED,
        IssuerStatus.ACTIVE,
        IssuerStatus.REVOKED,
    ]


@pytest.mark.parametrize("standing", [IssuerStatus.REVOKED, IssuerStatus.SUSPENDED], ids=lambda s: s.label)
def test_a_ti_that_lost_its_standing_may_only_withdraw(world, standing):
    """A revoked or suspended TI may still revoke credentials under its own roots (and publish its lists, and
    revoke its own keys), but not suspend, reinstate, anchor or add keys."""
    w3, registry, anchor = world.w3, world.registry, world.anchor
    name = f"ti_{standing.label}"
    ti = world.accredit("tao", name, IssuerKind.TI)
    tree = MerkleTree.build([os.urandom(32) for _ in range(5)])
    send(w3, ti, anchor.anchor(tree.root, 5))
    send(w3, ti, anchor.suspend(tree.root, *multi(tree, tree.digests[4:]), 1))
    key = world.add_key(name, name, f"{name}_own")
    change = registry.revoke if standing == IssuerStatus.REVOKED else registry.suspend
    send(w3, world["root"], change(ti.address, "lost accreditation"))

    send(w3, ti, anchor.revoke(tree.root, *multi(tree, tree.digests[:2]), 4))
    assert [anchor.status_of(ti.address, tree.root, d).status for d in tree.digests[:3]] == [
        CredentialStatus.REVOKED,
        CredentialStatus.REVOKED,
        CredentialStatus.VALID,
    ]
    not_active = {"caller": ti.address}
    refuses(
        w3, ti, anchor.suspend(tree.root, *multi(tree, tree.digests[2:3]), 1), "NotActiveIssuer", **not_active
    )
    refuses(
        w3, ti, anchor.reinstate(tree.root, *multi(tree, tree.digests[4:])), "NotActiveIssuer", **not_active
    )
    refuses(w3, ti, anchor.anchor(os.urandom(32), 1), "NotActiveIssuer", **not_active)
    t = world.tree  # still only its own namespace
    refuses(
        w3,
        ti,
        anchor.revoke(t.root, *multi(t, t.digests[9:10]), 1),
        "UnknownRoot",
        issuer=ti.address,
        root=t.root,
    )
    send(w3, ti, anchor.publish_status_list(keccak256(b"list"), keccak256(b"final")))
    assert read(registry.contract.functions.isRegisteredTI(ti.address))
    refuses(
        w3,
        ti,
        registry.add_verification_key(ti.address, key_of("new")),
        "InactiveCaller",
        caller=ti.address,
        status=standing,
    )
    send(w3, ti, registry.revoke_verification_key(ti.address, key))
    assert registry.verification_key(ti.address, key).revoked_block != 0


def test_verification_keys(world):
    w3, registry = world.w3, world.registry
    owner = world.accredit("tao", "keyTI", IssuerKind.TI)
    account = owner.address
    other_tao = world.accredit("root", "keyOtherTAO", IssuerKind.TAO)
    assert (
        registry.verification_keys(account) == [] and registry.verification_key(account, key_of("x")) is None
    )
    # added by the account itself, by its accreditor, by a RootTAO; not by anyone else
    k_self = world.add_key("keyTI", "keyTI", "self")
    k_accreditor = world.add_key("tao", "keyTI", "accreditor")
    by_root = send(w3, world["root"], registry.add_verification_key(account, key_of("root")))
    event = registry.contract.events.VerificationKeyAdded().process_receipt(by_root.receipt)[0]["args"]
    assert (event["account"], event["keyHash"], event["by"]) == (
        account,
        key_of("root"),
        world["root"].address,
    )
    for stranger in (world["outsider"], other_tao, world["ti"]):
        refuses(
            w3,
            stranger,
            registry.add_verification_key(account, key_of("stranger")),
            "NotAuthorized",
            caller=stranger.address,
            account=account,
        )
        refuses(
            w3,
            stranger,
            registry.revoke_verification_key(account, k_self),
            "NotAuthorized",
            caller=stranger.address,
            account=account,
        )
    assert registry.verification_keys(account) == [k_self, k_accreditor, key_of("root")]
    # validity by block: from the block that added it, up to (excluding) the block that revoked it
    added = registry.verification_key(account, k_self).added_block
    revoked = send(w3, owner, registry.revoke_verification_key(account, k_self)).block_number
    record = registry.verification_key(account, k_self)
    assert (record.added_block, record.revoked_block) == (added, revoked) and record.revoked_at > 0
    blocks = [added - 1, added, revoked - 1, revoked, revoked + 5]
    on_chain = [read(registry.contract.functions.wasKeyValidAt(account, k_self, b)) for b in blocks]
    assert on_chain == [record.valid_at_block(b) for b in blocks] == [False, True, True, False, False]
    assert not read(registry.contract.functions.wasKeyValidAt(account, key_of("never"), revoked))
    # a key is added once and revoked once
    refuses(
        w3,
        owner,
        registry.add_verification_key(account, k_self),
        "KeyAlreadyAdded",
        account=account,
        keyHash=k_self,
    )
    refuses(
        w3,
        owner,
        registry.add_verification_key(account, k_accreditor),
        "KeyAlreadyAdded",
        account=account,
        keyHash=k_accreditor,
    )
    refuses(
        w3,
        owner,
        registry.revoke_verification_key(account, k_self),
        "KeyAlreadyRevoked",
        account=account,
        keyHash=k_self,
    )
    refuses(
        w3,
        owner,
        registry.revoke_verification_key(account, key_of("nope")),
        "UnknownKey",
        account=account,
        keyHash=key_of("nope"),
    )
    refuses(w3, owner, registry.add_verification_key(account, ZERO), "InvalidKeyHash")
    stranger = Account.create().address
    refuses(
        w3,
        world["root"],
        registry.add_verification_key(stranger, key_of("x")),
        "UnknownIssuer",
        account=stranger,
    )
    read_refuses(
        registry.contract.functions.verificationKeyAt(account, 3), "IndexOutOfRange", index=3, length=3
    )
    # the accreditor and a RootTAO revoke too; the owner revokes its own key in any standing
    send(w3, world["tao"], registry.revoke_verification_key(account, k_accreditor))
    send(w3, world["root"], registry.revoke_verification_key(account, key_of("root")))
    for bad in BAD_TAOS.values():
        send(w3, world[bad], registry.revoke_verification_key(world[bad].address, world.keys[f"{bad}_self"]))
        assert registry.verification_key(world[bad].address, world.keys[f"{bad}_self"]).revoked_block != 0
    exp = registry.get_issuer(world["taoExp"].address)
    refuses(
        w3,
        world["taoExp"],
        registry.add_verification_key(exp.account, key_of("late")),
        "CallerOutsideValidity",
        caller=exp.account,
        validFrom=exp.valid_from,
        validUntil=exp.valid_until,
    )
    # the hash is keccak256 of the publicKeyMultibase's UTF-8 bytes
    multibase = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    assert keccak256(multibase.encode()) == bytes(Web3.keccak(text=multibase))
