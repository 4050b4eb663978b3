"""Production stages of a mineral chain."""

from __future__ import annotations

from enum import StrEnum

from critmin.errors import UnknownNameError


class Stage(StrEnum):
    """A stage of a mineral's chain, upstream to downstream."""

    MINE = "mine"
    """Mine (or brine, or by-product recovery at the mine) output, contained basis."""
    REFINING = "refining"
    """Refining, separation and chemical processing (oxides, salts, refined metal cathode)."""
    METAL = "metal"
    """Metal and alloy making (smelting, sponge, silicon metal, NdPr metal)."""
    COMPONENT = "component"
    """Components made from the material (e.g. sintered NdFeB magnets)."""
    RECYCLING = "recycling"
    """Secondary production from scrap."""


_ALIASES: dict[str, Stage] = {
    "mining": Stage.MINE,
    "mined": Stage.MINE,
    "extraction": Stage.MINE,
    "refinery": Stage.REFINING,
    "refined": Stage.REFINING,
    "separation": Stage.REFINING,
    "processing": Stage.REFINING,
    "chemical": Stage.REFINING,
    "smelting": Stage.METAL,
    "smelter": Stage.METAL,
    "metals": Stage.METAL,
    "magnet": Stage.COMPONENT,
    "magnets": Stage.COMPONENT,
    "components": Stage.COMPONENT,
    "secondary": Stage.RECYCLING,
    "scrap": Stage.RECYCLING,
}


def parse_stage(text: str | Stage) -> Stage:
    """A :class:`Stage` from user text ("mine", "Refining ", "separation")."""
    if isinstance(text, Stage):
        return text
    key = str(text).strip().lower()
    try:
        return Stage(key)
    except ValueError:
        pass
    if key in _ALIASES:
        return _ALIASES[key]
    raise UnknownNameError("stage", str(text).strip(), [s.value for s in Stage])
