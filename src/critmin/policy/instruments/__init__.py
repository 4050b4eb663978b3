"""Policy-level market instruments, one module each, registered by ``kind``.

* ``forge_levy`` (:mod:`.forge_levy`): FORGE variable border levy on non-member imports.
* ``topup_floor`` and ``purchase_floor`` (:mod:`.floors`): the two price-floor designs.

Importing this package registers them: each spec class registers its ``kind`` when it is
defined (:class:`critmin.policy.instrument.InstrumentSpec`).
"""

from critmin.policy.instruments._common import parameter_set
from critmin.policy.instruments.floors import (
    PurchaseFloor,
    PurchaseFloorSpec,
    TopUpFloor,
    TopUpFloorSpec,
)
from critmin.policy.instruments.forge_levy import (
    ForgeLevy,
    ForgeLevySpec,
    bloc_membership,
    member_regions,
    variable_levy,
)

__all__ = [
    "ForgeLevy",
    "ForgeLevySpec",
    "PurchaseFloor",
    "PurchaseFloorSpec",
    "TopUpFloor",
    "TopUpFloorSpec",
    "bloc_membership",
    "member_regions",
    "parameter_set",
    "variable_levy",
]
