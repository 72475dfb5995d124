"""Node configuration: one pydantic-settings class, environment prefix ``CREDREG_``.

Values come from (highest first): constructor arguments, ``CREDREG_*`` environment variables, an
optional env file (``CREDREG_ENV_FILE``, default ``.env`` if it exists), then the defaults below.
Secrets are ``SecretStr``: they print as ``**********`` and are never logged.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
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
    #: run alembic upgrade once at app start-up (never per request); handy for `credreg dev`.
    auto_migrate: bool = False

    # chain
    rpc_url: str | None = None
    deployment_file: Path | None = Field(default=None, description="default <data_dir>/deployment.json")
    confirmations: int = Field(default=1, ge=0)
    chain_probe_timeout_seconds: float = Field(default=2.0, gt=0)

    # web
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
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
    default_profile: str | None = None
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
    def resolved_deployment_file(self) -> Path:
        assert self.deployment_file is not None, "derived by _derive_paths"
        return self.deployment_file

    def keystore_password(self) -> str | None:
        """The keystore password from the env/secret or the password file (stripped of one trailing newline)."""
        if self.issuer_keystore_password is not None:
            return self.issuer_keystore_password.get_secret_value()
        if self.issuer_keystore_password_file is not None:
            return self.issuer_keystore_password_file.read_text(encoding="utf-8").rstrip("\r\n")
        return None

    def credential_password(self) -> str | None:
        """The credential key files' password: its own setting, else the issuer keystore's."""
        if self.credential_key_password is not None:
            return self.credential_key_password.get_secret_value()
        if self.credential_key_password_file is not None:
            return self.credential_key_password_file.read_text(encoding="utf-8").rstrip("\r\n")
        return self.keystore_password()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (cached). Tests and `credreg dev` may build their own ``Settings(...)``."""
    return Settings()
