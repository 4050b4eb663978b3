"""critmin: the managed critical-minerals market, modelled and operated.

Layers (see docs/architecture.md): catalog -> policy -> engines (market, contracts,
stockpile, trace) -> scenarios -> reports -> cli.
"""

__version__ = "0.1.0"
