"""Dev chains keep their keys off the command line: random keys funded through the chain's RPC."""

from __future__ import annotations

import subprocess

import pytest

from node.dev.chains import DEV_BALANCE_WEI, start_local_chain


@pytest.mark.parametrize("kind", ["anvil", "ganache"])
def test_no_mnemonic_or_key_on_the_command_line_and_keys_are_funded(kind):
    chain = start_local_chain(kind, accounts=3)
    try:
        args = subprocess.run(
            ["ps", "-ww", "-o", "args=", "-p", str(chain.pid)], capture_output=True, text=True, check=True
        ).stdout
        assert kind in args  # the process we mean
        assert "mnemonic" not in args.lower() and "private" not in args.lower()
        for account in chain.accounts:
            assert account.key.hex().removeprefix("0x") not in args
        w3 = chain.web3()
        balances = [w3.eth.get_balance(a.address) for a in chain.accounts]
        assert balances == [DEV_BALANCE_WEI] * 3
        assert len({a.address for a in chain.accounts}) == 3
        # the keys sign: a transfer from the first dev key is mined
        a, b = chain.accounts[:2]
        tx = a.sign_transaction(
            {
                "to": b.address,
                "value": 1,
                "gas": 21_000,
                "gasPrice": w3.eth.gas_price * 2,
                "nonce": 0,
                "chainId": w3.eth.chain_id,
            }
        )
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(tx.raw_transaction), timeout=30
        )
        assert receipt.status == 1
    finally:
        chain.stop()
    # a second chain has other keys: nothing is derived from a fixed seed
    other = start_local_chain(kind, accounts=1)
    try:
        assert other.accounts[0].address not in {a.address for a in chain.accounts}
    finally:
        other.stop()
