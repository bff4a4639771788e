"""The forward model's options as frozen, validated settings with one source of defaults.

:class:`ModelSettings` holds what a :class:`~mi_lib.twin.forward.TwinModel` is built with
(velocities, upstroke, sampling, handedness, the scar's reading, root sites); its
:meth:`~ModelSettings.to_json` is what a simulation product stores and compares
(:func:`mi_lib.twin.virtual_cohort.canonical_options`). Method: ``docs/twin/forward.md``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields

#: Readings of what the scar contributes to the pseudo-ECG (docs/twin/forward.md, "Signal").
SCAR_SOURCES = ("silent", "slow")


def check_scar_source(value) -> str:
    """``value`` if it is one of :data:`SCAR_SOURCES`, else a ValueError saying which are."""
    if value not in SCAR_SOURCES:
        raise ValueError(f"scar_source {value!r} is not one of {SCAR_SOURCES}: 'silent' "
                         "(scar carries no current, the default) or 'slow' (the paper's: "
                         "scar keeps its upstroke at its slow activation time)")
    return str(value)


def _positive(owner: str, name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}.{name} = {value!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{owner}.{name} = {value!r}: must be a finite number > 0")
    return value


@dataclass(frozen=True)
class ConductionVelocities:
    """Conduction velocities (m/s = mm/ms): myocardium along the fibre, the sheet and the
    sheet normal; the endocardial conducting sheet along (dense) and across (sparse) its
    long direction. Every field is a finite number > 0."""

    fibre: float = 0.65
    sheet: float = 0.48
    normal: float = 0.51
    endo_dense: float = 1.5
    endo_sparse: float = 1.0

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, _positive("cv", f.name, getattr(self, f.name)))

    def __getitem__(self, name: str) -> float:
        """``cv["fibre"]``: the velocity by name (the mapping view of the settings)."""
        if name not in self.names():
            raise KeyError(f"no conduction velocity {name!r}; known: {', '.join(self.names())}")
        return getattr(self, name)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The velocities' names, in field order."""
        return tuple(f.name for f in fields(cls))

    def values(self) -> tuple[float, ...]:
        """The velocities, in field order."""
        return tuple(getattr(self, n) for n in self.names())

    def to_dict(self) -> dict:
        """``{name: m/s}`` in field order."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict | None) -> ConductionVelocities:
        """The defaults overridden by ``values`` (a partial ``{name: m/s}``); an unknown
        name raises a ValueError listing the known ones."""
        values = dict(values or {})
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise ValueError(f"unknown conduction velocities {unknown}; known: "
                             f"{', '.join(cls.names())}")
        return cls(**values)


def _roots(value):
    """Root sites as a hashable ``((name, (class, ab, rt, t0 ms)), ...)``, or ``None``."""
    if value is None:
        return None
    items = value.items() if isinstance(value, dict) else value
    return tuple((str(k), tuple(float(x) if i else int(x) for i, x in enumerate(v)))
                 for k, v in items)


@dataclass(frozen=True)
class ModelSettings:
    """Everything a :class:`~mi_lib.twin.forward.TwinModel` is built with, validated.

    Attributes
    ----------
    cv : ConductionVelocities
        Conduction velocities (m/s).
    upstroke_ms : float
        Width of the transmembrane upstroke (ms), > 0.
    dt : float
        Sampling interval of the QRS (ms), > 0.
    n_samples : int
        Samples of the QRS from the earliest root, >= 2.
    flip_handedness : bool
        The mesh is mirrored: swap the anterior and inferior junctions.
    scar_source : str
        What the scar contributes to the pseudo-ECG, one of :data:`SCAR_SOURCES`.
    roots : tuple or None
        Root sites ``((name, (class, ab, rt, t0 ms)), ...)`` replacing
        :data:`~mi_lib.twin.forward.ROOTS`; ``None`` for those.
    """

    cv: ConductionVelocities = field(default_factory=ConductionVelocities)
    upstroke_ms: float = 2.0
    dt: float = 0.5
    n_samples: int = 512
    flip_handedness: bool = False
    scar_source: str = "silent"
    roots: tuple | None = None

    def __post_init__(self):
        if isinstance(self.cv, dict):
            object.__setattr__(self, "cv", ConductionVelocities.from_dict(self.cv))
        elif not isinstance(self.cv, ConductionVelocities):
            raise ValueError(f"cv = {self.cv!r}: a ConductionVelocities or a dict of them")
        object.__setattr__(self, "upstroke_ms", _positive("settings", "upstroke_ms",
                                                          self.upstroke_ms))
        object.__setattr__(self, "dt", _positive("settings", "dt", self.dt))
        n = self.n_samples
        if isinstance(n, bool) or not float(n).is_integer() or int(n) < 2:
            raise ValueError(f"settings.n_samples = {n!r}: must be an integer >= 2")
        object.__setattr__(self, "n_samples", int(n))
        if not isinstance(self.flip_handedness, bool):
            raise ValueError(f"settings.flip_handedness = {self.flip_handedness!r}: True or False")
        check_scar_source(self.scar_source)
        object.__setattr__(self, "roots", _roots(self.roots))

    def replace(self, **changes) -> ModelSettings:
        """A copy with ``changes`` (validated like the constructor)."""
        return self.from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict:
        """The settings as plain data: ``cv`` a dict; ``roots`` a dict, present only when
        set (the form products store)."""
        out = {"cv": self.cv.to_dict(), "upstroke_ms": self.upstroke_ms,
               "flip_handedness": self.flip_handedness, "dt": self.dt,
               "n_samples": self.n_samples, "scar_source": self.scar_source}
        if self.roots is not None:
            out["roots"] = {k: list(v) for k, v in self.roots}
        return out

    @classmethod
    def from_dict(cls, options: dict | None) -> ModelSettings:
        """Settings from plain data, defaults filling what is missing (``cv`` may be a
        partial dict); an unknown option raises a ValueError listing the known ones."""
        opts = dict(options or {})
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(opts) - set(known))
        if unknown:
            raise ValueError(f"unknown model options {unknown}; known: {', '.join(known)}")
        cv = opts.pop("cv", None)
        if not isinstance(cv, ConductionVelocities):
            cv = ConductionVelocities.from_dict(cv)
        return cls(cv=cv, **opts)

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON (the product's settings guard)."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> ModelSettings:
        """The inverse of :meth:`to_json`: ``from_json(s.to_json()) == s``."""
        return cls.from_dict(json.loads(text))


#: the defaults, in one place
DEFAULTS = ModelSettings()
