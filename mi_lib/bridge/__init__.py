"""Pipeline A -> B (notebook 08): population-model infarcts carried onto the twin's anatomies.

:mod:`~mi_lib.bridge.mapping`  the map between the reference LV's (r, c, l) and the twin's
                               (tm, ab, rt), and the undoing of the territory alignment
"""

from .mapping import reference_to_twin, territory_shifts, twin_to_reference, unrotate

__all__ = ["reference_to_twin", "territory_shifts", "twin_to_reference", "unrotate"]
