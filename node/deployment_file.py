"""The node's deployment file (chain id and contract addresses), parsed again only when it changes on disk.

One reader for the API's routes, its public verifier (:mod:`node.verifier_chain`) and the contract probe of
``/readyz``: ``credreg chain deploy`` may rewrite the file while the node runs, and every part sees the new
contracts at its next read, without parsing the file on every request.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from anchoring.chain.deployment import Deployment, DeploymentFileError

__all__ = ["DeploymentFile"]

#: what identifies one version of the file: (modification time in ns, size)
Stamp = tuple[int, int]


class DeploymentFile:
    """The deployment file at ``path`` (None: the node has none); thread-safe."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cached: tuple[Stamp, Deployment] | None = None

    def stamp(self) -> Stamp | None:
        """The file's (mtime_ns, size); None when there is no file (none configured, or missing)."""
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def load(self) -> Deployment:
        """The deployment as the file says now: the same object until the file changes. Raises
        DeploymentFileError when no file is configured, or it is missing or broken (named in the message)."""
        if self.path is None:
            raise DeploymentFileError("no deployment file is configured (deployment_file)")
        stamp = self.stamp()
        cached = self._cached
        if cached is not None and stamp is not None and cached[0] == stamp:
            return cached[1]
        with self._lock:  # one parse per change, however many requests arrive meanwhile
            cached = self._cached
            if cached is not None and stamp is not None and cached[0] == stamp:
                return cached[1]
            deployment = Deployment.load(self.path)
            if stamp is not None:
                self._cached = (stamp, deployment)
            return deployment
