"""Uncertainty studies: sampled scenarios and policy levers, run on a Dask cluster.

``load_study_file`` reads a study (docs/sweeps.md), ``run_sweep`` runs it into a folder,
``write_summary`` adds the statistics; ``critmin sweep`` is the command line of the three.
"""

from critmin.scenarios.sweep.design import Design, make_design
from critmin.scenarios.sweep.driver import SweepRun, run_sweep
from critmin.scenarios.sweep.study import (
    LoadedStudy,
    Study,
    load_study_file,
    load_study_text,
    prepare_study,
)
from critmin.scenarios.sweep.summary import sample_scenario_yaml, summarize, write_summary

__all__ = [
    "Design",
    "LoadedStudy",
    "Study",
    "SweepRun",
    "load_study_file",
    "load_study_text",
    "make_design",
    "prepare_study",
    "run_sweep",
    "sample_scenario_yaml",
    "summarize",
    "write_summary",
]
