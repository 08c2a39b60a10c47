"""Access questions a step may ask about the run's workspace."""

from wit_world.imports import access as _access
from wit_world.imports.types import Decision

__all__ = ["Decision", "has_scope", "check_flow_access"]


def has_scope(scope: str) -> Decision:
    """Does the run's principal hold `scope` in the run's workspace? (SPEC RB-3)"""
    return _access.has_scope(scope)


def check_flow_access(flow: str, email: str) -> Decision:
    """May `email` access and answer the Interaction Flow `flow`? Raises `HostError`."""
    from . import _host_call

    return _host_call(_access.check_flow_access, flow, email)
