"""The public API's docstrings say what the code does.

Every function, class and public method that ``mi_lib.core``, ``mi_lib.population``,
``mi_lib.twin``, ``mi_lib.inverse`` and ``mi_lib.bridge`` (and their public submodules)
export is checked for:

* stated defaults: a default the docstring names for a parameter is the signature's
  default. Both forms of the library's docstrings are read: numpydoc ``Parameters``
  sections (``name : float, default 0.1``, ``default=0.1``, ``optional``, "(default
  0.1)" or "None (default)" in the description) and prose next to a parameter in double
  backticks (````name```` (default 0.1), ````name```` defaults to 0.1, ````name````,
  default: 0.1), plus "the ````field```` of ````param```` (0.1)", the value a default
  object such as :data:`mi_lib.twin.qrs.DEFAULTS` carries;
* documented names: each parameter a ``Parameters`` section documents is in the signature;
* a few cheap numpydoc validation codes (:data:`NUMPYDOC_CODES`); not the full style.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import math
import pkgutil
import re
import sys
import warnings
from dataclasses import dataclass

import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc
from numpydoc.validate import validate

PACKAGES = ("mi_lib.core", "mi_lib.population", "mi_lib.twin", "mi_lib.inverse", "mi_lib.bridge")

#: numpydoc codes enforced across the API: a docstring on every public object (GL08), a
#: one-line summary (SS01), no unknown parameters (PR02), parameters in signature order
#: (PR03), ``name : type`` with a space before the colon (PR10, else the entry is misread).
NUMPYDOC_CODES = ("GL08", "SS01", "PR02", "PR03", "PR10")

# A value as docstrings write it: a Sphinx reference, a double-backtick literal, a quoted
# string, a number (``1/3`` included) or a constant.
_VALUE = (r"(?::(?:data|const|attr|obj):`~?[\w.]+`|``[^`]+``|\"[^\"]*\"|'[^']*'"
          r"|[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?(?:/\d+)?|None\b|True\b|False\b)")
_IN_TYPE = re.compile(rf"\bdefault(?:\s*[=:]\s*|\s+)(?P<value>{_VALUE})")
_IN_DESC = re.compile(rf"\bdefaults?(?:\s+to)?(?:\s*[=:]\s*|\s+)(?P<value>{_VALUE})"
                      rf"|(?P<before>{_VALUE})\s*\(default\)")
_PROSE = re.compile(rf"``(?P<name>\w+)``\s*(?:\(default(?:\s*[=:]\s*|\s+)|,?\s*defaults?\s+to\s+"
                    rf"|,?\s*default\s*[=:]\s*)(?P<value>{_VALUE})")
_FIELD_OF = re.compile(r"\bthe\s+(?P<fields>``\w+``(?:(?:,\s*|,?\s+and\s+)``\w+``)*)\s+of\s+"
                       r"``(?P<param>\w+)``\s*\((?P<values>[^()]*)\)")
_LEADING_VALUE = re.compile(rf"\s*(?P<value>{_VALUE})")


# --- the checker ----------------------------------------------------------------------


def _parse(text: str, namespace: dict):
    """The value ``text`` (a :data:`_VALUE` match) stands for; ``(False, None)`` when it
    names nothing checkable (prose in backticks, a name not in ``namespace``)."""
    role = re.fullmatch(r":\w+:`~?([\w.]+)`", text)
    if text.startswith("``"):
        text = text[2:-2].strip()
    elif role:
        text = role.group(1)
    if "/" in text and re.fullmatch(r"[-+]?\d+/\d+", text):
        a, b = text.split("/")
        return True, int(a) / int(b)
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    if re.fullmatch(r"[A-Za-z_][\w.]*", text):
        head, *rest = text.split(".")
        if head in namespace:
            value = namespace[head]
            try:
                for part in rest:
                    value = getattr(value, part)
            except AttributeError:
                return False, None
            return True, value
        if rest:  # a full dotted path: mi_lib.twin.qrs.DEFAULTS
            module, _, attr = text.rpartition(".")
            try:
                return True, getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError):
                return False, None
    return False, None


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _same(stated, actual) -> bool:
    """Numerically when both are numbers, else by identity, equality or as strings."""
    if _is_number(stated) and _is_number(actual):
        return math.isclose(stated, actual, rel_tol=1e-9, abs_tol=1e-12)
    if stated is actual:
        return True
    if isinstance(stated, bool) or isinstance(actual, bool) or stated is None or actual is None:
        return False
    try:
        if bool(stated == actual):
            return True
    except (ValueError, TypeError):  # arrays
        pass
    return str(stated) == str(actual)


def _signature(obj) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def _numpydoc(obj):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown section names are the library's prose
        if inspect.isclass(obj):
            return ClassDoc(obj, config={"show_class_members": False})
        return FunctionDoc(obj)


def _entries(doc, section: str):
    """(parameter name, type, description) of a numpydoc section, ``a, b : t`` split."""
    for entry in doc[section]:
        for name in entry.name.split(","):
            name = name.strip().lstrip("*")
            if name:
                yield name, entry.type, " ".join(entry.desc)


def _namespace(obj) -> dict:
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    return dict(vars(module)) if module else {}


def stated_defaults(obj) -> list[tuple[str, str, str]]:
    """(parameter, stated default, where it is stated) for every default ``obj``'s
    docstring states; the stated default is ``"optional"`` for "optional" in a type."""
    found = []
    doc = _numpydoc(obj)
    sections = ["Parameters"]
    if dataclasses.is_dataclass(obj):  # a dataclass's attributes are its parameters
        sections.append("Attributes")
    for section in sections:
        for name, type_, desc in _entries(doc, section):
            where = f"{section}: {name} : {type_}"
            for m in _IN_TYPE.finditer(type_):
                found.append((name, m.group("value"), where))
            if re.search(r"\boptional\b", type_):
                found.append((name, "optional", where))
            for m in _IN_DESC.finditer(desc):
                found.append((name, m.group("value") or m.group("before"), f"{where}: {desc}"))
    text = " ".join((inspect.getdoc(obj) or "").split())
    for m in _PROSE.finditer(text):
        found.append((m.group("name"), m.group("value"), m.group(0)))
    return found


def default_mismatches(obj) -> list[str]:
    """Where ``obj``'s docstring states a default the signature does not have."""
    sig = _signature(obj)
    if sig is None:
        return []
    params, namespace, problems = sig.parameters, _namespace(obj), []
    for name, stated, where in stated_defaults(obj):
        if name not in params:
            continue  # not a parameter of this callable (stale names: documented_unknowns)
        actual = params[name].default
        if actual is inspect.Parameter.empty:
            problems.append(f"{name}: the docstring states a default ({stated}) but the "
                            f"signature has none [{where}]")
            continue
        if stated == "optional":
            continue
        ok, value = _parse(stated, namespace)
        if ok and not _same(value, actual):
            problems.append(f"{name}: the docstring says default {stated}, the signature "
                            f"has {actual!r} [{where}]")
    text = " ".join((inspect.getdoc(obj) or "").split())
    for m in _FIELD_OF.finditer(text):
        param = m.group("param")
        holder = params[param].default if param in params else inspect.Parameter.empty
        fields = re.findall(r"``(\w+)``", m.group("fields"))
        values = [_LEADING_VALUE.match(v) for v in m.group("values").split(",")]
        if (holder is inspect.Parameter.empty or len(values) != len(fields)
                or not all(values) or not all(hasattr(holder, f) for f in fields)):
            continue
        for field, value in zip(fields, values, strict=True):
            ok, stated = _parse(value.group("value"), namespace)
            actual = getattr(holder, field)
            if ok and not _same(stated, actual):
                problems.append(f"{param}.{field}: the docstring says {value.group('value')}, "
                                f"the default {param} has {actual!r} [{m.group(0)}]")
    return problems


def documented_unknowns(obj) -> list[str]:
    """Parameters a ``Parameters`` section documents that the signature does not have."""
    sig = _signature(obj)
    if sig is None:
        return []
    return [f"{name}: documented, not in the signature {sig}"
            for name, _, _ in _entries(_numpydoc(obj), "Parameters")
            if name not in sig.parameters]


# --- the public API -------------------------------------------------------------------


def _modules():
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                yield importlib.import_module(info.name)


def public_api() -> dict[str, object]:
    """Dotted path where it is defined -> public function, class or method of mi_lib."""
    found = {}
    for module in _modules():
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith("mi_lib."):
                continue  # imported from elsewhere
            path = f"{obj.__module__}.{obj.__qualname__}"
            found[path] = obj
            if inspect.isclass(obj):
                for attr_name, attr in vars(obj).items():
                    func = getattr(attr, "__func__", attr)  # classmethod, staticmethod
                    if inspect.isfunction(func) and (not attr_name.startswith("_")
                                                     or attr_name == "__init__" and func.__doc__):
                        found[f"{path}.{attr_name}"] = func
    return dict(sorted(found.items()))


API = public_api()


def test_the_walk_finds_the_public_api():
    assert len(API) > 250, len(API)
    for path in ("mi_lib.twin.qrs.criteria.q_wave", "mi_lib.twin.forward.TwinModel",
                 "mi_lib.twin.forward.TwinModel.simulate", "mi_lib.core.store.write_zarr",
                 "mi_lib.population.manifold.MultiScaleKernelRegression",
                 "mi_lib.inverse.soft_dtw.soft_dtw_divergence"):
        assert path in API, path
    assert not any(".models._kernels." in p for p in API)


def test_stated_defaults_match_the_signatures():
    problems = [f"{path}: {p}" for path, obj in API.items() for p in default_mismatches(obj)]
    assert not problems, "\n".join(problems)


def test_documented_parameters_are_in_the_signature():
    problems = [f"{path}: {p}" for path, obj in API.items() for p in documented_unknowns(obj)]
    assert not problems, "\n".join(problems)


def _inherits_a_docstring(obj) -> bool:
    """A method without a docstring of its own that overrides a documented one."""
    return inspect.isfunction(obj) and obj.__doc__ is None and bool(inspect.getdoc(obj))


def test_numpydoc_validation_subset():
    problems = []
    for path, obj in API.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            errors = validate(path)["errors"]
        for code, message in errors:
            if code not in NUMPYDOC_CODES:
                continue
            if code == "GL08" and _inherits_a_docstring(obj):
                continue
            problems.append(f"{path}: {code} {message}")
    assert not problems, "\n".join(problems)


# --- the checker on planted docstrings ------------------------------------------------


@dataclass(frozen=True)
class _Limits:
    tolerance: float = 0.08
    width_ms: float = 40.0


_LIMITS = _Limits()


def _wrong_numpydoc(x, tolerance=0.08, mode="or"):
    """Scale ``x``.

    Parameters
    ----------
    x : float
    tolerance : float, default 0.1
        Tolerance.
    mode : str, default="and"
        Mode.
    """


def _wrong_numpydoc_description(x, tolerance=0.08, flag=True):
    """Scale ``x``.

    Parameters
    ----------
    x : float
    tolerance : float
        Tolerance (default 0.1).
    flag : bool
        If False (default), nothing.
    """


def _wrong_prose(x, tolerance=0.08, width=4):
    """Scale ``x`` by ``tolerance`` (default 0.1); ``width`` defaults to 5."""


def _wrong_field(x, limits=_LIMITS):
    """Scale ``x``; the ``tolerance`` and ``width_ms`` of ``limits`` (0.1, 40 ms)."""


def _optional_without_default(x, tolerance):
    """Scale ``x``.

    Parameters
    ----------
    x : float
    tolerance : float, optional
    """


def _stale_name(x, tolerance=0.08):
    """Scale ``x``.

    Parameters
    ----------
    x : float
    tol : float
        Renamed since.
    """


def _right(x, tolerance=0.08, mode="or", limits=_LIMITS, bounds=None, third=1 / 3):
    """Scale ``x``; ``tolerance`` (default 0.08), ``mode`` defaults to ``"or"``; the
    ``tolerance`` and ``width_ms`` of ``limits`` (0.08, 40 ms). ``third`` (default 1/3).

    Parameters
    ----------
    x : float
    tolerance : float, default 0.08
        Tolerance (default 0.08).
    mode : {"or", "and"}, default="or"
        Mode.
    limits : _Limits
        Limits (default :data:`_LIMITS`).
    bounds : (float, float), optional
        None (default): detected.
    third : float, default: 0.333333333333333333
    """


@pytest.mark.parametrize("func, wrong", [
    (_wrong_numpydoc, ["tolerance", "mode"]),
    (_wrong_numpydoc_description, ["tolerance", "flag"]),
    (_wrong_prose, ["tolerance", "width"]),
    (_wrong_field, ["limits.tolerance"]),
    (_optional_without_default, ["tolerance"]),
])
def test_the_checker_catches_a_wrong_default(func, wrong):
    problems = default_mismatches(func)
    assert sorted(p.split(":")[0] for p in problems) == sorted(wrong), problems


def test_the_checker_catches_a_stale_parameter_name():
    assert [p.split(":")[0] for p in documented_unknowns(_stale_name)] == ["tol"]


def test_the_checker_passes_a_right_docstring():
    assert len(stated_defaults(_right)) >= 8
    assert default_mismatches(_right) == []
    assert documented_unknowns(_right) == []
