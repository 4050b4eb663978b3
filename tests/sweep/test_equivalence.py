"""A sample equals the deterministic run of its scenario, bit for bit.

``critmin sweep --export-sample N`` writes sample N's scenario (the base with the sampled
values written in) as a scenario file; ``critmin run`` of that file and the public runner
(``load_scenario`` + ``run_scenario``) must give exactly the sample's outcomes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from critmin.scenarios.loader import load_scenario
from critmin.scenarios.runner import run_scenario
from critmin.scenarios.sweep import load_study_file, run_sweep
from critmin.scenarios.sweep.evaluate import read_outcomes

from .conftest import SMALL, critmin


def test_samples_equal_their_deterministic_runs(tmp_path: Path) -> None:
    loaded = load_study_file(SMALL)
    run = run_sweep(loaded, tmp_path / "sweep", workers=1)
    table = pd.read_parquet(tmp_path / "sweep" / "samples.parquet")
    pd.testing.assert_frame_equal(table, run.table)
    assert (table["status"] == "ok").all()
    assert set(table["extra"]) == {"none", "mmr_outage"}  # both shock sets drawn
    for sample_id in (7, len(table) - 1):
        res = critmin("sweep", str(SMALL), "--export-sample", str(sample_id))
        assert res.returncode == 0, res.stderr
        scenario_file = tmp_path / f"sample_{sample_id}.yaml"
        scenario_file.write_text(res.stdout, encoding="utf-8")
        row = table.iloc[sample_id]
        # the public runner on the written file
        result = run_scenario(load_scenario(str(scenario_file)))
        again = read_outcomes(loaded.study.outcomes, result.runs)
        for name, value in again.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(np.asarray(row[name]), value)
            else:
                assert row[name] == value, name  # bit for bit
        # and what a user runs: critmin run on the same file
        out = tmp_path / f"run_{sample_id}"
        res = critmin("run", str(scenario_file), "--out", str(out))
        assert res.returncode == 0, res.stderr
        metrics = json.loads((out / "summary.json").read_text())["scenarios"][0]["metrics"]
        assert metrics["unserved_t"] == row["unserved_t"]
        assert metrics["shortage_months"] == row["shortage_months"]
