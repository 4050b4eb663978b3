"""Regenerate the trace examples: ``.venv/bin/python examples/trace/make_examples.py``.

Writes the magnet chain (pure and with 30 % Chinese-separated oxide) as EPCIS 2.0 JSON-LD and
CMRT/EMRT/AMRT workbooks made by critmin's own generator in the official layout of each
revision (title, revision cell, tabs, labels, cells: docs/trace.md "Supplier templates"); they
are not RMI's files, and hold no real person's details.
"""

from __future__ import annotations

from pathlib import Path

from critmin.trace.epcis import write_epcis
from critmin.trace.examples import magnet_chain
from critmin.trace.templates import write_template

HERE = Path(__file__).parent

SMELTERS = [
    {
        "metal": "Tin",
        "name": "Example Tin Smelter",
        "country": "Malaysia",
        "cid": "CID001234",
        "mine_name": "Example Tin Mine",
        "mine_country": "Indonesia",
    },
    {
        "metal": "Tantalum",
        "name": "Example Tantalum Refinery",
        "country": "Japan",
        "cid": "CID002345",
    },
]
MINES = [
    {
        "metal": "Rare Earth Elements",
        "smelter_name": "Example RE Separation",
        "name": "Example RE Mine",
        "mine_id": "MINE-AU-0001",
        "country": "Australia",
    },
]


def main() -> None:
    write_epcis(magnet_chain(0.0), HERE / "magnet_chain.jsonld")
    write_epcis(magnet_chain(9.0), HERE / "magnet_chain_blend.jsonld")
    decl = {
        "company_name": "Example Supplier Co.",
        "declaration_scope": "A. Company",
        "contact_email": "compliance@example.com",
        "completion_date": "2026-03-31",
    }
    write_template(
        HERE / "cmrt_6.4_example.xlsx", "CMRT", "6.4", declaration=decl, smelters=SMELTERS
    )
    write_template(
        HERE / "emrt_2.0_example.xlsx",
        "EMRT",
        "2.0",
        declaration=decl,
        smelters=[
            {
                "metal": "Cobalt",
                "name": "Example Cobalt Refinery",
                "country": "Finland",
                "cid": "CID003456",
            }
        ],
        mines=[
            {
                "metal": "Cobalt",
                "smelter_name": "Example Cobalt Refinery",
                "name": "Example Co Mine",
                "mine_id": "MINE-CD-0001",
                "country": "COD",
            }
        ],
        minerals=("cobalt",),
    )
    write_template(
        HERE / "amrt_1.3_example.xlsx",
        "AMRT",
        "1.3",
        declaration=decl,
        smelters=[
            {
                "metal": "Rare Earth Elements",
                "name": "Example RE Separation",
                "country": "Malaysia",
                "cid": "CID009876",
            }
        ],
        mines=MINES,
        minerals=("rare earth elements",),
    )


if __name__ == "__main__":
    main()
