"""Child processes (API workers, `credreg pipeline`) rebuild the parent's settings from CREDREG_* variables; API
workers get no chain-key material (they sign credentials at acceptance, so credential-key settings do pass)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr

from node.cli.roles import child_env, settings_env
from node.settings import Settings


def test_settings_round_trip_through_the_environment(monkeypatch, tmp_path):
    original = Settings(
        data_dir=tmp_path,
        rpc_url="http://127.0.0.1:1",
        issuer_private_key=SecretStr("0x" + "11" * 32),
        lease_ttl_seconds=3.5,
        auto_migrate=True,
        _env_file=None,
    )
    env = child_env(original, keys=True)
    for name in list(os.environ):
        if name.startswith("CREDREG_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    rebuilt = Settings()
    assert rebuilt.model_dump(exclude={"issuer_private_key"}) == original.model_dump(
        exclude={"issuer_private_key"}
    )
    assert rebuilt.issuer_private_key is not None
    assert rebuilt.issuer_private_key.get_secret_value() == "0x" + "11" * 32


def test_api_workers_get_no_key_material(tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        issuer_private_key=SecretStr("0x" + "22" * 32),
        issuer_keystore=Path("/etc/credreg/issuer.json"),
        _env_file=None,
    )
    env = settings_env(settings, keys=False)
    chain_key_settings = {k for k in env if ("KEY" in k or "KEYSTORE" in k) and "CREDENTIAL_KEY" not in k}
    assert not chain_key_settings
    assert "22" * 32 not in "".join(env.values())
    assert env["CREDREG_DATABASE_URL"] == settings.database_url
