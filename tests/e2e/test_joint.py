"""Joint credentials: three co-issuers sign one credential (a Data Integrity proof set) and each anchors the same
digest under its own key; the merged bundle verifies as "issued jointly by A, B, C" with each one's trust. A
co-issuer missing below the threshold is a named fail; k of n passes with k."""

from __future__ import annotations

import pytest

from anchoring.bundle.v1 import BundleFormatError
from anchoring.bundle.v2 import merge
from anchoring.signing import add_proof
from anchoring.verify import ChainContext, WebContext, verify_bundle
from tests.helpers.signed import anchor_signed, credential_for, new_issuer

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def co_issuers(dev_network):
    from tests.helpers.chain import Funder

    funder = Funder(dev_network)
    return [new_issuer(dev_network, funder) for _ in range(3)]


def joint_credential(issuers, n: int, **extra):
    credential = credential_for(issuers[0].did, n, jointIssuers=[i.did for i in issuers], **extra)
    for issuer in issuers:  # a proof set: every co-issuer signs before anyone anchors
        credential = add_proof(credential, issuer.signer, cryptosuite="eddsa-jcs-2022")
    return credential


def verify(bundle, dev_network):
    report = verify_bundle(
        bundle, ChainContext(dev_network.chain.rpc_url, dev_network.deployment), web=WebContext.offline()
    )
    return report, {c.name: c for c in report.checks}


def test_issued_jointly_by_three(dev_network, co_issuers):
    held = joint_credential(co_issuers, 1)
    assert len(held["proof"]) == 3
    parts = [anchor_signed(dev_network, issuer, [held]).bundles[0] for issuer in co_issuers]
    joint = merge(parts)
    assert len(joint["anchors"]) == 3
    report, checks = verify(joint, dev_network)
    assert report.verdict == "valid", report.to_json()
    reason = checks["joint"].reason
    assert reason.startswith("issued jointly by " + ", ".join(i.did for i in co_issuers))
    rows = checks["joint"].details["co_issuers"]
    assert [r["address"] for r in rows] == [i.account.address for i in co_issuers]
    assert all(r["trusted_at_anchoring"] and r["current_status"] == "active" for r in rows)

    # one co-issuer's bundle alone: the other two are named as missing
    report, checks = verify(parts[0], dev_network)
    assert report.verdict == "invalid" and checks["joint"].status == "fail"
    assert [n for n, c in checks.items() if c.status != "pass"] == ["joint"]
    assert set(checks["joint"].details["missing"]) == {co_issuers[1].did, co_issuers[2].did}
    assert "missing co-issuer" in checks["joint"].reason and co_issuers[2].did in checks["joint"].reason


def test_k_of_n(dev_network, co_issuers):
    held = joint_credential(co_issuers, 2, jointThreshold=2)
    parts = [anchor_signed(dev_network, issuer, [held]).bundles[0] for issuer in co_issuers[:2]]
    report, checks = verify(merge(parts), dev_network)
    assert report.verdict == "valid", report.to_json()
    assert "(2 of 3 needed)" in checks["joint"].reason
    assert checks["joint"].details["missing"] == [co_issuers[2].did]


def test_merge_refuses_another_credential(dev_network, co_issuers):
    one = anchor_signed(dev_network, co_issuers[0], [joint_credential(co_issuers, 3)]).bundles[0]
    other = anchor_signed(dev_network, co_issuers[1], [joint_credential(co_issuers, 4)]).bundles[0]
    with pytest.raises(BundleFormatError, match=r"bundles\[1\].digest"):
        merge([one, other])


def test_a_plain_credential_is_not_joint(dev_network, co_issuers):
    single = add_proof(
        credential_for(co_issuers[0].did, 5), co_issuers[0].signer, cryptosuite="eddsa-jcs-2022"
    )
    report, checks = verify(anchor_signed(dev_network, co_issuers[0], [single]).bundles[0], dev_network)
    assert report.verdict == "valid" and checks["joint"].details == {"applicable": False}
