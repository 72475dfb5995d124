"""tenants: each issuer may name its own chain key (a keystore) on this node

* ``issuer.keystore``: path of the issuer's encrypted chain keystore (Web3 Secret Storage). None: the node's
  configured key (``CREDREG_ISSUER_KEYSTORE`` / ``CREDREG_ISSUER_PRIVATE_KEY``) is the issuer's, when the
  addresses match.
* ``issuer.keystore_password_file``: the file holding that keystore's password (never the password itself). None:
  the node's configured password.

Revision ID: 0011_tenants
Revises: 0010_speed
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_tenants"
down_revision = "0010_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("issuer", sa.Column("keystore", sa.String(1000), nullable=True))
    op.add_column("issuer", sa.Column("keystore_password_file", sa.String(1000), nullable=True))


def downgrade() -> None:
    # the keystore files stay where they are; only the node forgets which issuer uses which. SQLite runs DDL
    # outside the transaction: a later migration's refusal leaves these columns dropped and the revision at 0009,
    # so the next downgrade attempt must not ask for them again.
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("issuer")}
    for column in ("keystore_password_file", "keystore"):
        if column in present:
            op.drop_column("issuer", column)
