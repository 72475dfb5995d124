"""The write-ahead transaction core shared by the anchorer, the revoker and the status-list publisher."""

from __future__ import annotations

from collections.abc import Iterator

from anchoring.scheme.encoding import to_hex

REORG_WINDOW_BLOCKS = 64  # confirmed batches younger than this are re-checked against the canonical chain


DROP_GRACE_SECONDS = 5.0


MAX_IN_FLIGHT = 16  # submitted, unconfirmed anchor transactions per key  # a tx unknown to the node this long after submission is treated as dropped


def orphaned(w3, confirmed_newest_first, head: int) -> Iterator:
    """The rows (anything with block_number and block_hash, newest block first) whose block has left the
    canonical chain. Blocks form a hash chain: once one row's block is canonical, every older one is too,
    so the walk stops there; one block lookup per pass when nothing moved."""
    checked: dict[int, str | None] = {}
    for row in confirmed_newest_first:
        number, recorded = row.block_number, row.block_hash
        if number not in checked:
            checked[number] = to_hex(bytes(w3.eth.get_block(number)["hash"])) if number <= head else None
        if checked[number] == recorded:
            return
        yield row
