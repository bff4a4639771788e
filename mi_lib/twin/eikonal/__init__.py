"""Anisotropic Eikonal activation times on a tetrahedral mesh, with an optional conducting
sheet of zero thickness (cardiac electrophysiology).

``sqrt(grad T^T D grad T) = 1`` with ``T(root_k) = t_k``: :class:`EikonalSolver`
precomputes the mesh once and solves many tensors and roots ("fim": the factored local
solver of the Fast Iterative Method; "graph": shortest paths along the edges);
:func:`reference_error` measures its accuracy. Units: mm, ms, mm/ms.

:mod:`~mi_lib.twin.eikonal.tensors`       conduction tensors, local numbering, edge graph
:mod:`~mi_lib.twin.eikonal.metric`        compiled metric geometry and its rescaling
:mod:`~mi_lib.twin.eikonal.local_solver`  the compiled local solver and Dijkstra
:mod:`~mi_lib.twin.eikonal.solver`        :class:`EikonalSolver`, :func:`activation_times`
:mod:`~mi_lib.twin.eikonal.accuracy`      :func:`reference_error`, :func:`refine_sheet`

The method, its sources and its measured accuracy: ``docs/twin/eikonal.md``.
"""

from .accuracy import reference_error, refine_sheet
from .solver import EikonalSolver, activation_times
from .tensors import METHODS, conduction_tensors, edge_graph, element_tensors

__all__ = [
    "METHODS",
    "EikonalSolver",
    "activation_times",
    "conduction_tensors",
    "edge_graph",
    "element_tensors",
    "reference_error",
    "refine_sheet",
]
