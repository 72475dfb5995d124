"""node.deployment_file: the deployment file parsed once per change on disk, its errors named."""

from __future__ import annotations

import json
import os

import pytest

from anchoring.chain.deployment import Deployment, DeploymentFileError
from node.deployment_file import DeploymentFile

REGISTRY, ANCHOR = "0x" + "11" * 20, "0x" + "22" * 20


def _write(path, chain_id: int) -> None:
    path.write_text(json.dumps(Deployment(chain_id, REGISTRY, ANCHOR, 1).to_dict()))


def test_the_same_object_until_the_file_changes(tmp_path):
    path = tmp_path / "deployment.json"
    _write(path, 31337)
    reader = DeploymentFile(path)
    first = reader.load()
    assert first.chain_id == 31337 and reader.load() is first
    stamp = reader.stamp()
    _write(path, 1337_0001)  # a redeploy rewrites the file (another size; and a later mtime below)
    os.utime(path, ns=(stamp[0] + 10**9, stamp[0] + 10**9))
    second = reader.load()
    assert second is not first and second.chain_id == 1337_0001
    assert reader.stamp() != stamp


def test_missing_broken_and_unconfigured_files_are_named(tmp_path):
    path = tmp_path / "deployment.json"
    with pytest.raises(DeploymentFileError, match="not found"):
        DeploymentFile(path).load()
    path.write_text("{not json")
    with pytest.raises(DeploymentFileError, match="not JSON"):
        DeploymentFile(path).load()
    with pytest.raises(DeploymentFileError, match="no deployment file is configured"):
        DeploymentFile(None).load()
    assert DeploymentFile(None).stamp() is None and DeploymentFile(tmp_path / "absent.json").stamp() is None


def test_a_file_that_breaks_after_a_good_read_is_reported_not_served_stale(tmp_path):
    path = tmp_path / "deployment.json"
    _write(path, 31337)
    reader = DeploymentFile(path)
    reader.load()
    path.write_text('{"chain_id": "x"}')
    with pytest.raises(DeploymentFileError, match="chain_id"):
        reader.load()
