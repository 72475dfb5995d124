"""One loop per issuer key: the anchorer, the revoker and the status-list publisher take turns, so nonces never collide."""

from __future__ import annotations

from dataclasses import dataclass

from node.pipeline.revoker import Revoker


class SignerPasses:
    """The anchorer and the revoker as one pass for ``AnchorerLoop``: same key, same lock, same thread,
    one after the other (nonces never collide). Quacks like an Anchorer (``address``, ``run_pass``)."""

    def __init__(self, anchorer, revoker: Revoker):
        self.anchorer = anchorer
        self.revoker = revoker

    @property
    def address(self) -> str:
        return self.anchorer.address

    def run_pass(self):
        first = self.anchorer.run_pass()
        second = self.revoker.run_pass()
        return _Both(first.progressed or second.progressed)


@dataclass
class _Both:
    progressed: bool
