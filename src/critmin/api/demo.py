"""The demonstration registry of ``critmin serve --demo``.

Seeds, through the same code paths as the API (every change audited):

* the members of the catalog's ``forge`` bloc on 2026-02-04 (its founding date in the
  catalog) with a dated membership each, plus the stockpile operators (EXIM's Project Vault,
  the DLA's National Defense Stockpile) and the contract parties;
* the DoD-MP and Lynas-Japan contracts from ``examples/contracts``;
* the Project Vault and NDS accounts from ``examples/stockpile`` with their funding;
* an operator, a price publisher, an auditor and, for the USA and Japan, an initiator and an
  approver each;
* the lots of ``examples/trace/magnet_chain.jsonld`` registered by Japan.

Returns the operator's token (printed by ``critmin serve``) and the others' (tests use them).
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import critmin
from critmin.api import engine as domain
from critmin.api.auth import (
    APPROVER,
    AUDITOR,
    INITIATOR,
    OPERATOR,
    PUBLISHER,
    Principal,
    issue_token,
)
from critmin.api.deps import record
from critmin.store.audit import now_iso
from critmin.store.db import write_tx
from critmin.store.origins import store_origins
from critmin.store.schema import (
    contracts,
    lots,
    members,
    memberships,
    networks,
    rulesets,
    stockpiles,
    users,
)
from critmin.yamlio import load_yaml

FORGE_FOUNDED = dt.date(2026, 2, 4)
DEMO_CONTRACTS = ("dod_mp_ndpr_floor.yaml", "lynas_japan_ndpr.yaml")
DEMO_STOCKPILES = ("project_vault.yaml", "dla_nds_2025.yaml")
DEMO_NETWORK = "magnet_chain.jsonld"
DEMO_RULES = "rules.yaml"
DEMO_RULES = "rules.yaml"


def examples_dir() -> Path:
    """The shipped examples (repository checkout, else the package copy)."""
    repo = Path(__file__).resolve().parents[3] / "examples"
    if repo.is_dir():
        return repo
    return Path(str(resources.files("critmin") / "examples"))


def _yaml(path: Path) -> dict[str, Any]:
    doc = load_yaml(path, unique_keys=True)
    data: dict[str, Any] = json.loads(json.dumps(doc.data, default=str))
    return data


def _member(
    conn: sa.Connection, who: Principal, mid: str, name: str, kind: str, iso: str | None
) -> None:
    if conn.execute(sa.select(members.c.id).where(members.c.id == mid)).first():
        return
    row = {
        "id": mid,
        "name": name,
        "kind": kind,
        "country_iso3": iso,
        "version": 1,
        "created_at": now_iso(),
    }
    conn.execute(members.insert().values(**row))
    record(conn, who, "create", "member", mid, member_id=mid, after=row)


def _user(
    conn: sa.Connection, who: Principal | None, name: str, member: str | None, roles: list[str]
) -> tuple[int, str]:
    res = conn.execute(
        users.insert().values(name=name, member_id=member, roles=roles, created_at=now_iso())
    )
    pk = res.inserted_primary_key
    assert pk is not None
    uid = int(pk[0])
    actor = who or Principal(uid, name, member, frozenset(roles))
    record(
        conn, actor, "create", "user", uid, member_id=member, after={"name": name, "roles": roles}
    )
    token = issue_token(conn, uid)
    return uid, str(token["token"])


# long: the demonstration registry's records written out as data, one block per record kind
def seed_demo(engine: sa.Engine) -> dict[str, str]:
    """Seed the demonstration registry once; return ``{user name: token}``."""
    ex = examples_dir()
    out: dict[str, str] = {}
    with write_tx(engine) as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.name == "operator")).first():
            raise RuntimeError("the demonstration registry is already seeded in this database")
        op_id, out["operator"] = _user(conn, None, "operator", None, [OPERATOR])
        op = Principal(op_id, "operator", None, frozenset([OPERATOR]))
        bloc = critmin.get_bloc("forge")
        for d in bloc.delegations(FORGE_FOUNDED.isoformat()):
            iso = d.member_iso3
            name = (
                "European Union (Commission delegation)" if iso == "ZZ_EU" else _country_name(iso)
            )
            _member(conn, op, iso, name, "state", None if iso == "ZZ_EU" else iso)
            conn.execute(
                memberships.insert().values(
                    member_id=iso,
                    bloc="forge",
                    start_date=FORGE_FOUNDED.isoformat(),
                    end_date=None,
                    recorded_at=now_iso(),
                )
            )
        for mid, name, kind, iso in (
            ("project_vault", "Project Vault (EXIM)", "stockpile_operator", "USA"),
            (
                "dla_nds",
                "National Defense Stockpile (DLA Strategic Materials)",
                "stockpile_operator",
                "USA",
            ),
            ("mp_materials", "MP Materials", "company", "USA"),
            ("lynas", "Lynas Rare Earths", "company", "AUS"),
        ):
            _member(conn, op, mid, name, kind, iso)
        for name, member, roles in (
            ("publisher", None, [PUBLISHER]),
            ("auditor", None, [AUDITOR]),
            ("usa_initiator", "USA", [INITIATOR]),
            ("usa_approver", "USA", [APPROVER]),
            ("jpn_initiator", "JPN", [INITIATOR]),
            ("jpn_approver", "JPN", [APPROVER]),
            ("vault_initiator", "project_vault", [INITIATOR]),
            ("vault_approver", "project_vault", [APPROVER]),
        ):
            out[name] = _user(conn, op, name, member, roles)[1]
        owners = {"dod_mp_ndpr_floor.yaml": "mp_materials", "lynas_japan_ndpr.yaml": "JPN"}
        for fname in DEMO_CONTRACTS:
            fields = domain.validate_contract(_yaml(ex / "contracts" / fname))
            res = conn.execute(
                contracts.insert().values(
                    member_id=owners[fname],
                    name=fields["name"],
                    spec=fields,
                    version=1,
                    created_at=now_iso(),
                )
            )
            pk = res.inserted_primary_key
            assert pk is not None
            record(conn, op, "register", "contract", pk[0], member_id=owners[fname], after=fields)
        for fname in DEMO_STOCKPILES:
            spec = _yaml(ex / "stockpile" / fname)
            holder = spec["holder"]["id"]
            member = "project_vault" if holder == "project_vault" else "dla_nds"
            row = {
                "id": holder,
                "member_id": member,
                "name": spec["holder"].get("name", holder),
                "spec": spec,
                "version": 1,
                "created_at": now_iso(),
            }
            conn.execute(stockpiles.insert().values(**row))
            record(
                conn,
                op,
                "open",
                "stockpile",
                holder,
                member_id=member,
                after={"id": holder, "member_id": member},
            )
            _fund(conn, op, holder, member, spec)
        doc = json.loads((ex / "trace" / DEMO_NETWORK).read_text(encoding="utf-8"))
        found, recipes = domain.registered_lots(doc, source=DEMO_NETWORK)
        res = conn.execute(
            networks.insert().values(member_id="JPN", document=doc, created_at=now_iso())
        )
        pk = res.inserted_primary_key
        assert pk is not None
        for x in found:
            conn.execute(lots.insert().values(member_id="JPN", document_id=int(pk[0]), **x))
        store_origins(conn, recipes, now_iso())
        record(
            conn,
            op,
            "register",
            "epcis_document",
            pk[0],
            member_id="JPN",
            after={"lots": [x["id"] for x in found]},
        )
        rules = domain.validate_ruleset(_yaml(ex / "trace" / DEMO_RULES))
        res = conn.execute(
            rulesets.insert().values(
                name=str(rules.get("id", "rules")),
                spec=rules,
                created_by=op_id,
                created_at=now_iso(),
            )
        )
        pk = res.inserted_primary_key
        assert pk is not None
        record(conn, op, "register", "ruleset", pk[0], after={"name": rules.get("id")})
    return out


def _fund(
    conn: sa.Connection, op: Principal, holder: str, member: str, spec: dict[str, Any]
) -> None:
    """Book the non-loan funding of a stockpile file as fund_in entries in its start month."""
    from critmin.store.schema import ledger_entries

    rows: list[dict[str, Any]] = []
    for f in spec.get("funding", []):
        if f.get("kind") == "loan":
            continue  # a loan is drawn on demand, not booked at opening
        movement = {
            "kind": "fund_in",
            "month": str(spec["start"])[:7],
            "holder": holder,
            "amount_usd": float(f["amount_usd"]),
            "counterparty": f.get("counterparty", f["id"]),
            "reason": f"{f['kind']} {f['id']}",
        }
        (entry,) = domain.book_entry(rows, movement)
        conn.execute(ledger_entries.insert().values(**entry, created_at=now_iso()))
        rows.append(entry)
        record(
            conn,
            op,
            "book",
            "ledger_entry",
            f"{holder}:{entry['seq']}",
            member_id=member,
            after=entry,
        )


def _country_name(iso3: str) -> str:
    import pycountry

    c = pycountry.countries.get(alpha_3=iso3)
    return str(getattr(c, "name", iso3)) if c is not None else iso3
