"""Registry life cycles on the dev chain, for the indexer, registry API and page tests."""

from __future__ import annotations

from eth_account import Account

from anchoring.chain.contracts import IssuerKind
from anchoring.scheme.keccak import keccak256
from tests.helpers.chain import advance, block_time, send

SCOPE = '{"credentialTypes":["MicroCredential","OpenBadgeCredential"],"eqfLevels":[6],"jurisdiction":"nl"}'


def accredit_ti(w3, dev_network, address: str, scope: str = SCOPE, did: str = "did:example:ti"):
    registry = dev_network.registry(w3)
    return send(
        w3,
        dev_network.tao,
        registry.accredit(address, IssuerKind.TI, did, keccak256(b"doc " + address.encode()), scope),
    )


def lifecycle(w3, dev_network) -> dict:
    """Accredit a fresh TI, then suspend, reinstate and revoke it, 100 s apart. Returns times and blocks."""
    registry = dev_network.registry(w3)
    ti = Account.create().address
    out = {"address": ti}
    c = accredit_ti(w3, dev_network, ti)
    out["accredited"] = (block_time(w3, c), c.block_number)
    for action in ("suspend", "reinstate", "revoke"):
        advance(w3, 100)
        c = send(w3, dev_network.tao, getattr(registry, action)(ti, action))
        out[action] = (block_time(w3, c), c.block_number)
    return out
