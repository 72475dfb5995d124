"""One loop per issuer key: the anchorer, the revoker and the status-list publisher take turns in one thread,
under the key's lease (``node.pipeline.lease``), so their nonces never collide. Without the lease the loop is a
standby: it polls to take the lease over and sends nothing."""

from __future__ import annotations

import sqlalchemy as sa

from node.pipeline.lease import Lease
from node.pipeline.outbox import FenceLost, InvalidTransition, Outbox, PassResult
from node.pipeline.retry import RetryLoop


class SignerPasses:
    """The outbox kinds of one key as one pass: same key, same lease, same thread, one after the other.
    Quacks like one of them (``address``, ``run_pass``). With a ``lease``, each kind runs only while it is held."""

    def __init__(self, *outboxes: Outbox, lease: Lease | None = None):
        if not outboxes:
            raise ValueError("SignerPasses needs at least one outbox")
        addresses = {o.address for o in outboxes}
        if len(addresses) != 1:
            raise ValueError(f"one key per loop, got {sorted(addresses)}")
        self.outboxes = outboxes
        self.lease = lease

    @property
    def address(self) -> str:
        return self.outboxes[0].address

    def run_pass(self) -> PassResult:
        total = PassResult()
        for outbox in self.outboxes:
            if self.lease is not None and not self.lease.held:
                raise FenceLost(f"lease {self.lease.name} lost during a pass")
            total.add(outbox.run_pass())
        return total


class SignerLoop(RetryLoop):
    """Runs ``passes.run_pass`` until stopped while holding ``lease`` (taking it over when it is free or expired;
    polling every ``interval`` while another process holds it). The outboxes of ``passes`` use ``lease`` as their
    fence."""

    def __init__(self, passes: SignerPasses, lease: Lease, interval: float = 0.25, max_backoff: float = 10.0):
        super().__init__(
            "signer",
            self._step,
            interval,
            min(max_backoff, max(interval, lease.ttl / 4)),  # a standby must not back off past its takeover
            expected=(InvalidTransition, FenceLost, sa.exc.OperationalError),
        )
        self.passes = passes
        self.lease = lease
        passes.lease = lease
        for outbox in passes.outboxes:
            outbox.fence = lease

    @property
    def holding(self) -> bool:
        return self.lease.held

    def _step(self) -> bool:
        if not self.lease.held and not self.lease.try_acquire():
            return False  # standby
        return self.passes.run_pass().progressed

    def run(self) -> None:
        try:
            super().run()
        finally:
            try:
                self.lease.release()
            except sa.exc.SQLAlchemyError:
                self.log.warning("could not release lease %s (it expires by itself)", self.lease.name)
