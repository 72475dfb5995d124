"""Into the learner's wallet: OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow.

* :mod:`.offers`   a credential offer per issued credential (URI and QR code), created by the issuer;
* :mod:`.oauth`    the token endpoint's side (single-use pre-authorized codes, optional transaction code,
                   access tokens) and ``c_nonce`` values (fresh, single use);
* :mod:`.issuance` the credential issuer: metadata, the JWT proof of possession, the credential formats
                   (``dc+sd-jwt`` with the EU micro-credential elements selectively disclosable; the W3C VC as
                   ``ldp_vc`` when the node stores it signed, else as ``jwt_vc_json`` signed on delivery) and
                   deferred issuance until the credential is anchored.

Codes, tokens, nonces and transaction ids are 256-bit random values stored only as SHA-256 hashes
(``node.storage.wallet_tables``). Protocol errors are :class:`node.errors.OAuthError` with the registered codes.
HTTP lives in ``api/routers/oid4vci.py``.
"""
