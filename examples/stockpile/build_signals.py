"""Rebuild ``signals_ban_2027.csv``: 36 months (2026-01..2028-12), 6 minerals, with a
12-month export-ban episode (2027-01..2027-12) on antimony, NdPr oxide and gallium and a
declared emergency 2027-04..2027-09. Run: ``.venv/bin/python examples/stockpile/build_signals.py``.

Baselines (per month = annual / 12); sources in ``docs/stockpile.md``:

| mineral | price usd/t | protected demand t/yr | supply t/month | source |
|---|---|---|---|---|
| cobalt | 37,479 (17 usd/lb, 2024 US spot) | 8,000 (2024 US consumption) | 1,100 | USGS MCS 2025 |
| antimony | 20,944 (9.50 usd/lb, 2024) | 24,000 (2024 apparent consumption) | 2,050 | USGS MCS 2025 |
| tantalum (Ta2O5) | 170,000 (170 usd/kg Ta2O5, 2024) | 940 (770 t Ta / 0.81897) | 130 | USGS MCS 2025 |
| scandium (oxide) | 1,000,000 (1 usd/g oxide, 2024) | 20 (estimate) | 3 | USGS MCS 2025; estimate |
| ndpr_oxide | 69,000 (69 usd/kg, 2025e Argus) | 1,650 (estimate: ~25 % of 6,600 t REO) | 180 | USGS MCS 2026 sheet; estimate |
| gallium | 500,000 (500 usd/kg high purity, 2024) | 19 (2024 consumption 19,000 kg) | 2 | USGS MCS 2025 |

During the ban the members' available supply falls (antimony to 70 %, NdPr to 45 %, gallium
to 30 % of normal), the shortage is protected demand minus available supply, and the price
rises (x2.5, x2, x3). Outside the ban prices wave +-3 % (deterministic, no randomness).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

BASE = {
    # mineral: (price usd/t, protected demand t/yr, supply t/month)
    "cobalt": (37479.0, 8000.0, 1100.0),
    "antimony": (20944.0, 24000.0, 2050.0),
    "tantalum": (170000.0, 940.0, 130.0),
    "scandium": (1000000.0, 20.0, 3.0),
    "ndpr_oxide": (69000.0, 1650.0, 180.0),
    "gallium": (500000.0, 19.0, 2.0),
}
BAN = {"antimony": (0.70, 2.5), "ndpr_oxide": (0.45, 2.0), "gallium": (0.30, 3.0)}
BAN_MONTHS = {f"2027-{m:02d}" for m in range(1, 13)}
EMERGENCY_MONTHS = {f"2027-{m:02d}" for m in range(4, 10)}


def months() -> list[str]:
    return [f"{y}-{m:02d}" for y in (2026, 2027, 2028) for m in range(1, 13)]


def main() -> None:
    out = Path(__file__).with_name("signals_ban_2027.csv")
    with out.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            [
                "month",
                "mineral",
                "price_usd_per_t",
                "available_supply_t",
                "protected_demand_t",
                "shortage_t",
                "export_ban",
                "emergency",
            ]
        )
        for i, month in enumerate(months()):
            for mineral, (price, demand_yr, supply) in BASE.items():
                demand = demand_yr / 12
                wave = 1 + 0.03 * math.sin(2 * math.pi * i / 12)
                p, s, ban = price * wave, supply, 0
                if mineral in BAN and month in BAN_MONTHS:
                    cut, mult = BAN[mineral]
                    p, s, ban = price * mult, supply * cut, 1
                shortage = max(0.0, demand - s)
                emergency = 1 if month in EMERGENCY_MONTHS else 0
                w.writerow(
                    [
                        month,
                        mineral,
                        f"{p:.0f}",
                        f"{s:.3f}",
                        f"{demand:.3f}",
                        f"{shortage:.3f}",
                        ban,
                        emergency,
                    ]
                )


if __name__ == "__main__":
    main()
