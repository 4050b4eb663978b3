"""The registry's tables (SQLAlchemy Core), one per record kind.

Every table that records a fact is append-only in use: reference prices get a new row per
version, ledger entries are never updated, the audit trail is hash-chained. The few rows that
do change (members, contracts, pending movements, tokens) carry an integer ``version`` that
is the ETag of the HTTP API, and every change to them is in the audit trail with its before
and after.

Timestamps are ISO-8601 UTC text (``2026-12-03T09:30:00.123456+00:00``) so that the audit
hash is computed over the same bytes on SQLite and PostgreSQL. Money in the ledger is
integer cents and quantities integer kilograms, as in :mod:`critmin.stockpile.ledger`.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

TS = sa.String(40)  # ISO-8601 UTC timestamp text

members = sa.Table(
    "members",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # state | company | stockpile_operator
    sa.Column("country_iso3", sa.String(8), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("bloc", sa.String(32), nullable=False),
    sa.Column("start_date", sa.String(10), nullable=False),
    sa.Column("end_date", sa.String(10), nullable=True),
    # when the registry recorded it (UTC ISO-8601); NULL = before revision 0005, unknown
    sa.Column("recorded_at", sa.String(40), nullable=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.id"), nullable=True),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("revoked_at", TS, nullable=True),
)

prices = sa.Table(
    "reference_prices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # preliminary | final | corrected
    sa.Column("price_usd_per_t", sa.Float, nullable=False),
    sa.Column("methodology_version", sa.String(64), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("published_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("published_at", TS, nullable=False),
    sa.UniqueConstraint("product", "month", "version", name="uq_price_version"),
)

declarations = sa.Table(
    "declarations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("quantity_t", sa.Float, nullable=False),
    sa.Column("customs_value_usd", sa.Float, nullable=False),
    sa.Column("declared_on", sa.String(10), nullable=False),
    sa.Column("origin_iso3", sa.String(8), nullable=True),
    sa.Column("lot_id", sa.String(200), nullable=True),
    sa.Column("levy_usd", sa.Float, nullable=False),
    sa.Column("assessment", sa.JSON, nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),  # the contract file's fields
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

statements = sa.Table(
    "statements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("contract_id", sa.Integer, sa.ForeignKey("contracts.id"), nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

stockpiles = sa.Table(
    "stockpile_accounts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the ledger's holder id
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),  # the stockpile file's fields
    sa.Column("version", sa.Integer, nullable=False),  # bumped by every entry: the row lock
    sa.Column("created_at", TS, nullable=False),
)

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("holder", sa.String(64), sa.ForeignKey("stockpile_accounts.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("qty_kg", sa.BigInteger, nullable=False),
    sa.Column("cash_cents", sa.BigInteger, nullable=False),
    sa.Column("cost_cents", sa.BigInteger, nullable=False),
    sa.Column("debt_cents", sa.BigInteger, nullable=False),
    sa.Column("counterparty", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("price_usd_per_t", sa.Float, nullable=True),
    sa.Column("corrects", sa.Integer, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("holder", "seq", name="uq_ledger_seq"),
)

movements = sa.Table(
    "pending_movements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("holder", sa.String(64), sa.ForeignKey("stockpile_accounts.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # release | draw
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | approved | rejected
    sa.Column("initiated_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("decided_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("entry_seq", sa.Integer, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

networks = sa.Table(
    "epcis_documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

lots = sa.Table(
    "lots",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("epcis_documents.id"), nullable=False),
    sa.Column("product", sa.String(64), nullable=True),
    sa.Column("stage", sa.String(32), nullable=True),
    sa.Column("quantity_t", sa.Float, nullable=True),
)

idempotency = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

audit = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("member_id", sa.String(64), nullable=True),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
    sa.Column("prev_sha256", sa.String(64), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
)

# 0002: the lookups every request makes (a member's rows, a product-month's newest price)
sa.Index("ix_prices_product_month_version", prices.c.product, prices.c.month, prices.c.version)
sa.Index("ix_declarations_member_id", declarations.c.member_id, declarations.c.id)
sa.Index("ix_contracts_member_id", contracts.c.member_id)
sa.Index("ix_lots_member_id", lots.c.member_id)
sa.Index("ix_movements_holder", movements.c.holder, movements.c.id)
sa.Index("ix_statements_contract_id", statements.c.contract_id)

# 0003: origin rule sets and the origin certificates issued under them
rulesets = sa.Table(
    "rulesets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),  # the fields of a critmin rules file
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

certificates = sa.Table(
    "certificates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("lot_id", sa.String(200), sa.ForeignKey("lots.id"), nullable=False),
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("ruleset_id", sa.Integer, sa.ForeignKey("rulesets.id"), nullable=False),
    sa.Column("content", sa.JSON, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("issued_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("issued_at", TS, nullable=False),
)
sa.Index("ix_certificates_lot_id", certificates.c.lot_id)

# 0004: each lot's origin, stored when the lot is registered and composed from its inputs'
# stored origins (critmin.trace.origin's incremental entry point), with how the lot was made
# (its recipe) so that it can be composed again when an input is registered late
lot_origins = sa.Table(
    "lot_origins",
    metadata,
    sa.Column("lot_id", sa.String(200), sa.ForeignKey("lots.id"), primary_key=True),
    sa.Column("origin", sa.JSON, nullable=False),  # LotOrigin.to_json()
    sa.Column("recipe", sa.JSON, nullable=False),  # Recipe.to_json()
    sa.Column("updated_at", TS, nullable=False),
)

# every (lot, input lot) pair, the input registered or not: "which stored lots use this lot"
# is one indexed lookup when a document registers a lot that others were waiting for
lot_inputs = sa.Table(
    "lot_inputs",
    metadata,
    sa.Column("lot_id", sa.String(200), sa.ForeignKey("lots.id"), primary_key=True),
    sa.Column("input_lot_id", sa.String(200), primary_key=True),
    sa.Column("qty_t", sa.Float, nullable=False),
)
sa.Index("ix_lot_inputs_input_lot_id", lot_inputs.c.input_lot_id)
