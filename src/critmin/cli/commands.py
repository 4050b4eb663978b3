"""Imports every command-group module so that each registers on :data:`critmin.cli.app`."""

from critmin.cli import (  # noqa: F401
    contract,
    data,
    exposure,
    risk,
    run,
    scenarios,
    serve,
    stockpile,
    stockpile_policy,
    sweep,
    trace,
)
