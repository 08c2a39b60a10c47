"""Custom events that may start workflows (SPEC WF-2, ST-3)."""

import json

from wit_world.imports import events as _events

__all__ = ["emit"]


def emit(kind: str, payload) -> None:
    """Emits `kind` with `payload` (serialized to a JSON object) into the run's workspace.
    Raises `HostError` when the host refuses it, `Failed` when the payload is not JSON (the
    step's own doing, not the host's)."""
    from . import Failed, _argument, _encode, _host_call

    kind = _argument(str, kind, "events.emit: kind")
    try:
        text = json.dumps(_encode(payload), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise Failed(f"event payload: {e}") from None
    _host_call(_events.emit, kind, text)
