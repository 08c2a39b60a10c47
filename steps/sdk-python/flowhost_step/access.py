"""Access questions a step may ask about the run's workspace.

`has_scope` and `check_flow_access` answer a `Decision` (`allowed` and `reason`), which is no
yes or no: used as one (`if access.has_scope(...)`) it raises `TypeError`, since a dataclass
is always true and the guard never denied (round 16 review). `allows` and `may_answer_flow`
answer the yes or no.
"""

from wit_world.imports import access as _access
from wit_world.imports.types import Decision

__all__ = ["Decision", "has_scope", "allows", "check_flow_access", "may_answer_flow"]


def _not_a_yes_or_no(self) -> bool:
    raise TypeError(
        "a Decision is not a yes or no: read its `.allowed` (and `.reason`), or ask "
        "`access.allows(scope)` / `access.may_answer_flow(flow, email)`"
    )


Decision.__bool__ = _not_a_yes_or_no


def has_scope(scope: str) -> Decision:
    """Does the run's principal hold `scope` in the run's workspace, and why? (SPEC RB-3)"""
    from . import _argument

    return _access.has_scope(_argument(str, scope, "access.has_scope: scope"))


# Every scope a role may hold (SPEC RB-2): `allows` of any other name is the step's bug.
_SCOPES = frozenset((
    "playbook.get", "playbook.list", "event.read", "integration.read", "case.read",
    "interaction.submit", "playbook.execute", "apikey.read", "apikey.write", "case.write",
    "playbook.write", "integration.write", "user.read", "secret.write", "interaction.write",
    "playbook.publish", "user.write", "support.write", "audit.read",
    "bypass.case.access.restriction", "resource.share",
))


def allows(scope: str) -> bool:
    """Whether the run's principal holds `scope` in the run's workspace (SPEC RB-3). A name
    that is no scope (`"cases:write"`, a grant's spelling), or a step its workflow does not
    grant `access:check`, raises `Failed`: each answered False, silently, where
    `may_answer_flow` raised (round 19 SDK review)."""
    from . import Failed, _argument

    scope = _argument(str, scope, "access.allows: scope")
    if scope not in _SCOPES:
        raise Failed(f"access.allows: scope: {scope!r} is no scope (such as 'case.read')")
    decision = has_scope(scope)
    if not decision.allowed and "does not grant this step `access:check`" in decision.reason:
        raise Failed(f"access.allows: {decision.reason}")
    return decision.allowed


def check_flow_access(flow: str, email: str) -> Decision:
    """May `email` access and answer the Interaction Flow `flow`, and why? Raises `HostError`."""
    from . import _argument, _host_call

    what = "access.check_flow_access"
    return _host_call(
        _access.check_flow_access,
        _argument(str, flow, f"{what}: flow"),
        _argument(str, email, f"{what}: email"),
    )


def may_answer_flow(flow: str, email: str) -> bool:
    """Whether `email` may access and answer the Interaction Flow `flow`. Raises `HostError`."""
    return check_flow_access(flow, email).allowed
