"""The case steps (SPEC CS-4). Every call acts as the run's principal, within the step's
grants, and raises `HostError` when the host refuses it; a restricted case the principal cannot
view is `not-found` (SPEC CS-2)."""

from wit_world.imports import cases as _cases
from wit_world.imports.cases import (
    CaseFilter,
    CasePage,
    CaseQuery,
    CaseSort,
    NewCase,
    RestrictionUpdate,
)
from wit_world.imports.types import AccessMode, CaseRecord, Restrictions, Severity

__all__ = [
    "CaseFilter", "CasePage", "CaseQuery", "CaseSort", "NewCase", "RestrictionUpdate",
    "AccessMode", "CaseRecord", "Restrictions", "Severity",
    "create_case", "create_case_from_json", "query_cases", "get_case_restrictions",
    "update_case_restrictions",
]


def _call(f, *args):
    """Calls import `f` with `args`, each `(name, annotation, value)` checked first: a value
    the bindings cannot lower is the step's `Failed`, naming the call and the field."""
    from . import _argument, _host_call

    what = f"cases.{f.__name__}"
    return _host_call(f, *(_argument(tp, v, f"{what}: {name}") for name, tp, v in args))


def create_case(input: NewCase) -> CaseRecord:
    """*Create a case*."""
    return _call(_cases.create_case, ("input", NewCase, input))


def create_case_from_json(case_json: str) -> CaseRecord:
    """*Create a case from JSON*: snake_case keys; errors name the offending field."""
    return _call(_cases.create_case_from_json, ("case_json", str, case_json))


def query_cases(query: CaseQuery) -> CasePage:
    """*Query cases*: one page of the cases the principal can see."""
    return _call(_cases.query_cases, ("query", CaseQuery, query))


def get_case_restrictions(case_id: str) -> Restrictions:
    """*Get case restrictions*."""
    return _call(_cases.get_case_restrictions, ("case_id", str, case_id))


def update_case_restrictions(case_id: str, update: RestrictionUpdate) -> Restrictions:
    """*Update case restrictions*; returns the restrictions after the update."""
    return _call(
        _cases.update_case_restrictions,
        ("case_id", str, case_id),
        ("update", RestrictionUpdate, update),
    )
