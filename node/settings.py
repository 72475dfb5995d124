"""Node configuration: one pydantic-settings class, environment prefix ``CREDREG_``.

Values come from (highest first): constructor arguments, ``CREDREG_*`` environment variables, an
optional env file (``CREDREG_ENV_FILE``, default ``.env`` if it exists), then the defaults below.
Secrets are ``SecretStr``: they print as ``**********`` and are never logged.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CREDREG_",
        env_file=os.environ.get("CREDREG_ENV_FILE", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # storage
    data_dir: Path = Path("./data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/credreg.db"
    )
    #: SQLite ``PRAGMA synchronous`` (WAL mode): FULL syncs every commit, so what the API acknowledged survives power
    #: loss; NORMAL is faster but may lose the newest commits on power loss (never on a crash). See docs/security.md.
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    #: bytes of the SQLite file each connection reads through a memory map (``PRAGMA mmap_size``; 0 = off): reads
    #: come from the operating system's page cache, shared by every connection and API worker, instead of a
    #: ``read()`` into each connection's own 2 MB cache (a proof read 116 -> 91 us). Writes still go through
    #: ``write()``; SQLite caps the value at its build's maximum (2 GiB by default).
    sqlite_mmap_size: int = Field(default=1 << 30, ge=0)
    #: run alembic upgrade once at app start-up (never per request); handy for `credreg dev`.
    auto_migrate: bool = False

    # chain
    rpc_url: str | None = None
    deployment_file: Path | None = Field(default=None, description="default <data_dir>/deployment.json")
    confirmations: int = Field(default=1, ge=0)
    chain_probe_timeout_seconds: float = Field(default=2.0, gt=0)
    #: HTTP timeout of each of the pipeline's chain requests (a hung endpoint costs a pass this long, not forever)
    rpc_timeout_seconds: float = Field(default=5.0, gt=0)

    # web
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    #: one log line per request from each API worker (uvicorn's access log); off where a load balancer or reverse
    #: proxy in front logs the requests already (it costs ~20 % of a proof request's CPU)
    access_log: bool = True
    #: base for statusUrl links; empty = relative URLs
    public_base_url: str = ""

    # pipeline
    batch_max_size: int = Field(default=1000, ge=1)
    batch_max_age_seconds: float = Field(default=2.0, ge=0)
    #: canonical bytes of one credential (and the body of a single POST); 2 MiB fits real Europass EDC credentials
    #: (a 494 KB EDC micro-credential, 513 KB sealed) with their embedded images
    max_credential_bytes: int = Field(default=2 * 1024 * 1024, ge=64)
    max_bulk_items: int = Field(default=10_000, ge=1)
    max_request_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    #: JSON values (array items + object members) in one bulk JSON body; a list of tiny values costs far more memory
    #: than its bytes (64 MiB of ``[0,0,...]`` is 32 million Python objects). NDJSON lines count per credential.
    max_json_values: int = Field(default=4_000_000, ge=1000)
    default_profile: str | None = None
    #: the pipeline lease (one per issuer chain key): a standby takes over at most about this long after its
    #: holder died or lost the database; the holder renews every third of it (see docs/security.md, Fail-over)
    lease_ttl_seconds: float = Field(default=10.0, ge=0.5)

    # OpenID4VCI issuance to wallets (node.wallet; README "Send a credential to a wallet")
    oid4vci_offer_ttl_seconds: int = Field(
        default=86_400, ge=60, description="a credential offer's pre-authorized code expires after this"
    )
    oid4vci_token_ttl_seconds: int = Field(
        default=3_600, ge=60, description="access tokens of redeemed offers"
    )
    oid4vci_nonce_ttl_seconds: int = Field(default=300, ge=10, description="a c_nonce is fresh this long")
    oid4vci_tx_code_attempts: int = Field(
        default=5, ge=1, description="wrong transaction codes before an offer dies"
    )
    oid4vci_deferred_interval_seconds: int = Field(
        default=5, ge=1, description="the wallet's deferred poll interval"
    )

    # public endpoints, small and bounded (docs/security.md, "Limits and their settings")
    #: body of POST /v1/verify: one bundle (a 2 MiB credential and its proof fit) or the multi-bundle form
    max_verify_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    #: bundles in one multi-bundle POST /v1/verify
    max_verify_bundles: int = Field(default=1000, ge=1)
    #: verify requests worked on at once per process (CPU-bound); more wait up to verify_queue_seconds, then 503
    verify_concurrency: int = Field(default=4, ge=1)
    verify_queue_seconds: float = Field(default=2.0, ge=0)
    #: verifications share the chain reads of one block: the head is asked at most this often (node.verifier_chain);
    #: 0 reads the chain afresh for every request
    verify_head_poll_seconds: float = Field(default=0.05, ge=0, le=60)
    #: rate limits (``limits`` notation, several joined by ";"): per client IP on every route except the probes,
    #: per bearer token, and for failed authentications per client IP (then 429 + Retry-After)
    rate_limit_enabled: bool = True
    rate_limit_per_ip: str = "100/second;3000/minute"
    rate_limit_per_token: str = "200/second;10000/minute"  # noqa: S105  (a rate, not a password)
    rate_limit_auth_failures: str = "30/minute"
    #: where counters live: memory:// (per process) or e.g. redis://host:6379 (shared by every worker)
    rate_limit_storage: str = "memory://"
    #: strict: every credential the API accepts must meet the W3C VC data model and name the token's issuer
    #: (node/issuance/validation.py); off: any JSON object, as before (registries anchoring non-VC documents)
    vc_validation: str = Field(default="strict", pattern="^(strict|off)$")

    # W3C Bitstring Status List (see docs/revocation.md)
    status_list_size: int = Field(
        default=131_072,
        ge=131_072,
        multiple_of=8,
        description="bits per list; the spec's minimum is 131,072 (herd privacy)",
    )
    status_list_max_age_seconds: int = Field(
        default=60, ge=0, description="Cache-Control max-age of served lists"
    )
    status_list_publish_interval_seconds: float = Field(
        default=30.0, ge=0, description="at most one on-chain hash publication per list per interval"
    )
    status_list_issuers: str = Field(
        default="",
        description="issuers allowed to allocate status entries (names or addresses, comma-separated); "
        "empty = every issuer",
    )

    # e-mail to learners (node/learners/mail.py): the share link, through this SMTP server; no host = no e-mail
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (port 587), tls (implicit, port 465) or none (a local relay)",
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)
    mail_from: str = "credreg <noreply@localhost>"
    mail_max_attempts: int = Field(default=8, ge=1, description="then the delivery is failed")
    mail_retry_seconds: float = Field(
        default=30.0, ge=0, description="first retry delay; doubles per attempt"
    )
    mail_poll_seconds: float = Field(
        default=5.0, gt=0, description="how often `credreg serve` looks at the queue"
    )

    # issuer key (never logged)
    issuer_keystore: Path | None = None
    issuer_keystore_password: SecretStr | None = None
    issuer_keystore_password_file: Path | None = None
    issuer_private_key: SecretStr | None = None

    # issuer credential-signing keys (node/auth/credential_keys.py; never logged). An issuer row stores its key
    # reference; these settings give the node's own issuer one on start when its row has none.
    #: encrypted PKCS#8 PEM files (default <data_dir>/keys/credential-ed25519.pem / credential-p256.pem, used
    #: when they exist)
    credential_key_file: Path | None = None
    credential_key_p256_file: Path | None = None
    #: their password (default: the issuer keystore's password)
    credential_key_password: SecretStr | None = None
    credential_key_password_file: Path | None = None
    #: an Ed25519 secretKeyMultibase in the environment (CREDREG_CREDENTIAL_KEY), for throwaway setups
    credential_key: SecretStr | None = None
    #: the proof an issuer without its own default gets: eddsa-jcs-2022 | eddsa-rdfc-2022 | vc-jwt
    default_proof: str = Field(default="eddsa-jcs-2022", pattern="^(eddsa-jcs-2022|eddsa-rdfc-2022|vc-jwt)$")
    # keys in an HSM (PKCS#11; docs/security.md, "Key custody"). The PIN comes from the environment or a file,
    # never a command line; nothing secret leaves the token.
    pkcs11_module: Path | None = Field(
        default=None, description="the vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so"
    )
    pkcs11_token_label: str | None = None
    pkcs11_pin: SecretStr | None = None
    pkcs11_pin_file: Path | None = None
    #: label of the issuer's secp256k1 chain key in the token; set, it replaces the keystore/env key
    pkcs11_chain_key_label: str | None = None
    #: label of the node's issuer's Ed25519 credential-signing key in the token (its row then stores pkcs11:<label>)
    pkcs11_credential_key_label: str | None = None
    #: label of its optional P-256 key (ES256 VC-JWT) in the token
    pkcs11_credential_key_p256_label: str | None = None

    @field_validator("rate_limit_per_ip", "rate_limit_per_token", "rate_limit_auth_failures")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit such as '50/second;1200/minute': {exc}") from None
        return value

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'credreg.db').as_posix()}"
        if self.deployment_file is None:
            self.deployment_file = self.data_dir / "deployment.json"
        if self.credential_key_file is None:
            self.credential_key_file = self.data_dir / "keys" / "credential-ed25519.pem"
        if self.credential_key_p256_file is None:
            self.credential_key_p256_file = self.data_dir / "keys" / "credential-p256.pem"
        if self.default_profile in ("", "none"):
            self.default_profile = None
        return self

    # ``_derive_paths`` fills these two in: read them through the properties below, typed without None
    @property
    def resolved_database_url(self) -> str:
        assert self.database_url is not None, "derived by _derive_paths"
        return self.database_url

    @property
    def absolute_base_url(self) -> str:
        """Where the node is reached, for links that must be absolute (status list URLs): ``public_base_url``, else
        ``http://host:port`` from these settings. Never from a request's Host header."""
        return self.public_base_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def resolved_deployment_file(self) -> Path:
        assert self.deployment_file is not None, "derived by _derive_paths"
        return self.deployment_file

    def keystore_password(self) -> str | None:
        """The keystore password: the password file when one is named (stripped of one trailing newline), else the
        password value. A named file wins over ``CREDREG_ISSUER_KEYSTORE_PASSWORD``, as ``--password-file`` wins
        over ``CREDREG_KEYSTORE_PASSWORD`` in the CLI: the file is the explicit choice, an inherited environment
        variable may be a left-over."""
        if self.issuer_keystore_password_file is not None:
            return self.issuer_keystore_password_file.read_text(encoding="utf-8").rstrip("\r\n")
        if self.issuer_keystore_password is not None:
            return self.issuer_keystore_password.get_secret_value()
        return None

    def credential_password(self) -> str | None:
        """The credential key files' password: its own setting, else the issuer keystore's."""
        if self.credential_key_password is not None:
            return self.credential_key_password.get_secret_value()
        if self.credential_key_password_file is not None:
            return self.credential_key_password_file.read_text(encoding="utf-8").rstrip("\r\n")
        return self.keystore_password()

    def pkcs11_pin_value(self) -> str | None:
        """The token's user PIN from CREDREG_PKCS11_PIN or CREDREG_PKCS11_PIN_FILE (one trailing newline dropped)."""
        if self.pkcs11_pin is not None:
            return self.pkcs11_pin.get_secret_value()
        if self.pkcs11_pin_file is not None:
            return self.pkcs11_pin_file.read_text(encoding="utf-8").rstrip("\r\n")
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (cached). Tests and `credreg dev` may build their own ``Settings(...)``."""
    return Settings()
