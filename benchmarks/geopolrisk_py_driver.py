"""Run geopolrisk-py 2.0.1's own ``gprs_calc`` and print its results as JSON.

Runs under the separate ``.venv-gpr`` interpreter (``make gpr``: geopolrisk-py pins
pandas <= 2.3.3, critmin uses pandas 3), called by ``benchmarks/compare_geopolrisk_py.py``.
geopolrisk-py writes logs and an output database under ``$HOME/Documents/geopolrisk``: the
caller points ``HOME`` at a temporary directory. Nothing of geopolrisk-py (GPL-3.0) is copied
into critmin; this script only calls its public function.

Usage: python geopolrisk_py_driver.py YEAR MATERIAL,... COUNTRY,... [REGION=ISO,ISO,...]
(countries as geopolrisk-py names them, e.g. "Japan", "USA"; region members as UN M49 codes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    year = int(sys.argv[1])
    materials = sys.argv[2].split(",")
    countries = sys.argv[3].split(",")
    regions: dict[str, list[int]] = {}
    for arg in sys.argv[4:]:
        name, _, codes = arg.partition("=")
        regions[name] = [int(c) for c in codes.split(",")]
    import geopolrisk  # type: ignore[import-not-found]
    from geopolrisk.assessment.main import gprs_calc  # type: ignore[import-not-found]

    result = gprs_calc([year], countries + list(regions), materials, region_dict=regions)
    rows = [
        {
            "importer": str(r["Country [Economic Entity]"]),
            "material": str(r["Raw Material"]),
            "year": int(r["Year"]),
            "score": float(r["GeoPolRisk Score"]),
            "hhi": float(r["HHI"]),
            "import_risk": float(r["Import Risk"]),
        }
        for r in result.to_dict("records")
    ]
    lib = Path(geopolrisk.__file__).parent / "lib"
    print(json.dumps({"lib": str(lib), "version": "2.0.1", "rows": rows}))


if __name__ == "__main__":
    main()
