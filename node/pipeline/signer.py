"""One loop per issuer key: the anchorer, the revoker and the status-list publisher take turns in one thread,
under the key's single-signer lock, so their nonces never collide."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from node.pipeline.locks import anchorer_lock
from node.pipeline.outbox import FenceLost, InvalidTransition, Outbox, PassResult
from node.pipeline.retry import RetryLoop


class SignerPasses:
    """The outbox kinds of one key as one pass: same key, same lock, same thread, one after the other.
    Quacks like one of them (``address``, ``run_pass``)."""

    def __init__(self, *outboxes: Outbox):
        if not outboxes:
            raise ValueError("SignerPasses needs at least one outbox")
        addresses = {o.address for o in outboxes}
        if len(addresses) != 1:
            raise ValueError(f"one key per loop, got {sorted(addresses)}")
        self.outboxes = outboxes

    @property
    def address(self) -> str:
        return self.outboxes[0].address

    def run_pass(self) -> PassResult:
        total = PassResult()
        for outbox in self.outboxes:
            total.add(outbox.run_pass())
        return total


class SignerLoop(RetryLoop):
    """Runs ``passes.run_pass`` until stopped, holding the single-signer lock of its key throughout."""

    def __init__(
        self, passes: SignerPasses | Outbox, engine: Engine, interval: float = 0.25, max_backoff: float = 10.0
    ):
        super().__init__(
            "signer",
            lambda: passes.run_pass().progressed,
            interval,
            max_backoff,
            expected=(InvalidTransition, FenceLost, sa.exc.OperationalError),
        )
        self.passes = passes
        self.engine = engine

    def run(self) -> None:
        with anchorer_lock(self.engine, self.passes.address):
            super().run()
