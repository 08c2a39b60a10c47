"""A deliberately hostile Python step: each `attack` tries to escape or exhaust the sandbox
(SPEC ST-2). The host must fail the step, name the cause, and carry on. `hints` checks the
SDK's type hints: resolved at build time, or at run time for a name defined later."""

import json
import os
import socket
import sys
import time
import typing
import datetime
from dataclasses import dataclass
from enum import Enum

import flowhost_step
from flowhost_step import events, run_json, step

_calls = []


def _deep(n):
    return _deep(n + 1) + 1


def attack(input: dict) -> dict:
    what = input.get("attack")
    if what == "loop":
        while True:
            pass
    if what == "sleep":
        time.sleep(3600)
        return {"slept": True}
    if what == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(1 << 20))
    if what == "recursion":
        sys.setrecursionlimit(1_000_000)
        return {"depth": _deep(0)}
    if what == "raise":
        raise ValueError("hostile python step raised on purpose")
    if what == "emit_then_raise":
        events.emit("hostile.emitted", {"n": 1})
        raise RuntimeError("after emitting")
    if what == "read_file":
        try:
            with open(input.get("path", "/etc/passwd")) as f:
                return {"read": f.read()}
        except OSError as e:
            return {"denied": f"cannot read: {e}"}
    if what == "env":
        return {"env": dict(os.environ)}
    if what == "socket":
        try:
            s = socket.create_connection(("127.0.0.1", int(input.get("port", 9))), timeout=1)
            s.close()
            return {"connected": True}
        except Exception as e:  # noqa: BLE001 - any refusal is the expected outcome
            return {"refused": f"{type(e).__name__}: {e}"}
    if what == "hints":
        before = {"attack": attack in flowhost_step._HINTS, "late": late in flowhost_step._HINTS}
        return {"before": before, "late": json.loads(run_json('{"n": 2}', late))}
    if what == "typed":
        # Input types the SDK decodes as Rust's serde would: an enum, a fixed-size tuple.
        from componentize_py_types import Err

        good = json.loads(run_json('{"sev": "high", "pair": [1, 2]}', typed))
        try:
            run_json('{"sev": "urgent", "pair": [1, 2]}', typed)
            bad = "accepted"
        except Err as e:
            bad = str(getattr(e.value, "value", e.value))
        # The same value back: a step's own enum is written as its input is read (it failed
        # every run: `json.dumps` could not write it, naming no place).
        back = json.loads(run_json('{"sev": "high", "pair": [1, 2]}', typed_back))
        return {"good": good, "bad": bad, "back": back}
    if what == "collections":
        # Annotations the SDK passed through raw: a set, a sequence of records, a NewType; and
        # one it cannot decode, refused naming it (round 17 steps review).
        from componentize_py_types import Err

        def outcome(text, f):
            try:
                return json.loads(run_json(text, f))
            except Err as e:
                return str(getattr(e.value, "value", e.value))

        good = outcome('{"groups": ["admin"], "seq": [{"n": 1}], "who": "ann"}', grouped)
        text = outcome('{"groups": "nonadmin", "seq": [], "who": "ann"}', grouped)
        number = outcome('{"groups": [], "seq": [], "who": 42}', grouped)
        when = outcome('{"at": "2026-12-06"}', dated)
        return {"good": good, "text": text, "number": number, "when": when}
    if what == "defaults":
        # Missing optional fields read as None, the host's own records take the host's
        # defaults, `fields` left out is no fields (as the host reads the same JSON; `null`
        # is refused, `null_given` below).
        from componentize_py_types import Err

        made = json.loads(run_json('{"title": "t", "severity": "high"}', new_case))
        maybe = json.loads(run_json("{}", maybe_note))
        # Only what the host defaults: a query without sort or size, not a record the host
        # writes whole (round 15: `collaborators` read as `[]`, `sort` was refused).
        query = json.loads(run_json("{}", query_of))
        try:
            run_json('{"access_mode": "full_access"}', restrictions_of)
            partial = "accepted"
        except Err as e:
            partial = str(getattr(e.value, "value", e.value))
        return {"case": made, "maybe": maybe, "query": query, "partial": partial}
    if what == "null_given":
        # A host record's field the host reads only as given, given as `null` (a reference
        # that found nothing): refused naming it, as the host, the built-in steps and the JS
        # SDK refuse it, not read as left out (round 27 hostile-input review: a query for
        # every case, every collaborator left, a case made full access). Left out, or `null`
        # where the host reads it as left out, it is read as before.
        from componentize_py_types import Err

        def outcome(text, f):
            try:
                return json.loads(run_json(text, f))
            except Err as e:
                return str(getattr(e.value, "value", e.value))

        return {
            "filter": outcome('{"filter": {"assignee": null}}', query_of),
            "filter_mode": outcome('{"filter": {"access_mode": null}}', query_of),
            "set_collaborators": outcome('{"set_collaborators": null}', update_of),
            "update_mode": outcome('{"access_mode": null}', update_of),
            "case_mode": outcome(
                '{"title": "t", "severity": "high", "access_mode": null}', case_mode_of),
            "filter_left_out": outcome('{"filter": {}, "cursor": null}', query_of),
            "update_left_out": outcome('{"set_collaborators": []}', update_of),
            "case_state": outcome(
                '{"title": "t", "severity": "high", "state": null}', case_mode_of),
            "case_assignee": outcome(
                '{"title": "t", "severity": "high", "assignee": null}', case_mode_of),
            "case_fields": outcome(
                '{"title": "t", "severity": "high", "fields": null}', case_mode_of),
            "case_left_out": outcome('{"title": "t", "severity": "high"}', case_mode_of),
        }
    if what == "set_out":
        # No JSON value: the step fails naming where, as for NaN.
        return {"tags": {"a", "b"}}
    if what == "big_int":
        # An IPv6 address as an integer: past 2**64 the host would read a float.
        return {"ip": 0x20010DB8000000000000000000000001}
    if what == "swallowed_payload":
        # A payload that is not JSON is the step's own bug: not a host refusal a best-effort
        # `except HostError` would swallow.
        try:
            events.emit("hostile.set", {"s": {1, 2}})
        except flowhost_step.HostError:
            return {"swallowed": True}
        return {"emitted": True}
    if what == "nan_payload":
        # NaN is no JSON number: refused as the step's own bug, not swallowed as a host's.
        try:
            events.emit("hostile.nan", {"score": float("nan")})
        except flowhost_step.HostError:
            return {"swallowed": True}
        return {"emitted": True}
    if what == "infinite":
        return {"ratio": float("inf")}
    if what == "enum_out":
        # A host enum in the output is written as the host's JSON spells it.
        from wit_world.imports.types import AccessMode, Severity

        return {"mode": AccessMode.FULL_ACCESS, "severity": Severity.HIGH}
    if what == "case_out":
        # A host case record in the output: its custom fields as the host's case JSON has them.
        from wit_world.imports.types import AccessMode, CaseRecord, Severity

        return {"case": CaseRecord(
            id="C-1", title="t", description="", severity=Severity.HIGH, state="open",
            reporter=None, assignee=None, reviewers=[], access_mode=AccessMode.RESTRICTED,
            collaborators=["a@x.test"], fields_json='{"priority": "p1"}',
            created_at="2026-12-05T00:00:00Z", updated_at="2026-12-05T00:00:00Z")}
    if what == "lone_surrogate":
        # Text cut in the middle of a pair, as `surrogateescape` decoding leaves it.
        return {"title": b"caf\xe9".decode("utf-8", "surrogateescape")}
    if what == "lone_surrogate_key":
        return {"by_title": {b"caf\xe9".decode("utf-8", "surrogateescape"): 1}}
    if what == "int_keys":
        # Written as one key twice, the host kept the last.
        return {"by_port": {1: "first", "1": "second"}}
    if what == "remember":
        _calls.append(1)
        return {"calls_before": len(_calls) - 1}
    if what == "decision_truth":
        # A Decision used as a yes or no: refused, not always true (round 16 review).
        from flowhost_step import access

        try:
            used = bool(access.has_scope("case.wrte"))
        except TypeError as e:
            used = f"TypeError: {e}"
        try:
            typo = access.allows("case.wrte")
        except flowhost_step.Failed as e:
            typo = str(e)
        return {"used": used, "allows_typo": typo, "allows_read": access.allows("case.read")}
    if what == "host_error_kind":
        # `not_found` reads as the WIT case; a kind that is none is refused by name.
        alias = flowhost_step.HostError("not_found", "x").kind
        try:
            flowhost_step.HostError("nope", "x")
            unknown = "accepted"
        except ValueError as e:
            unknown = str(e)
        return {"alias": alias, "unknown": unknown}
    if what == "raise_exception":
        # A step's own error given an exception, not text (round 19: it trapped the step).
        try:
            {}["ip"]
        except KeyError as e:
            raise flowhost_step.InvalidInput(e)
    if what == "sys_exit":
        raise SystemExit(3)
    if what == "cancelled":
        # A `BaseException` past `Exception`, as `asyncio.CancelledError` and
        # `KeyboardInterrupt` are (round 20: it trapped the step).
        class Cancelled(BaseException):
            pass

        raise Cancelled("the feed's task was cancelled")
    if what == "unprintable":
        # An exception whose `__str__` raises: the handler's own text raised again.
        class Unprintable(Exception):
            def __str__(self):
                raise RuntimeError("no text")

        raise Unprintable()
    if what == "subclass_without_init":
        # Its own `__init__` and `__str__`, no `super().__init__`: no `message` attribute
        # (round 21: the handler raised again and trapped the step).
        class FeedDown(flowhost_step.Failed):
            def __init__(self, url):
                self.url = url

            def __str__(self):
                return f"feed {self.url} is down"

        raise FeedDown("https://feeds.example/ioc")
    if what == "host_error_subclass":
        class Refused(flowhost_step.HostError):
            def __init__(self):
                pass

            def __str__(self):
                return "the feed refused us"

        raise Refused()
    if what == "message_not_text":
        e = flowhost_step.Failed("first")
        e.message = 42
        raise e
    if what == "enum_text":
        # A host enum as text is its host spelling (round 20: `Severity.CRITICAL`).
        from wit_world.imports.types import AccessMode, Severity

        return {"s": f"[{Severity.CRITICAL}]", "m": str(AccessMode.FULL_ACCESS),
                "w": f"{Severity.LOW:>5}"}
    if what == "call_arguments":
        # Values the bindings cannot lower: refused by name, as the step's own error it may
        # catch (each trapped, past the `except`); the host's spelling of an enum is read.
        from flowhost_step import cases

        def attempt(call):
            try:
                call()
                return "accepted"
            except flowhost_step.Failed as e:
                return str(e)
            except flowhost_step.HostError as e:
                return f"host: {e.kind}"

        def compared(call):
            try:
                return call()
            except TypeError as e:
                return str(e)

        update = lambda mode: cases.RestrictionUpdate(  # noqa: E731
            access_mode=mode, set_collaborators=None, add_collaborators=[], remove_collaborators=[])
        query = lambda size: cases.CaseQuery(  # noqa: E731
            filter=cases.CaseFilter(access_mode=None, state=None, severity=None, assignee=None, text=None),
            sort=cases.CaseSort.CREATED_DESC, page_size=size, cursor=None)
        return {
            "str_enum": attempt(lambda: cases.update_case_restrictions("C-1", update("fully"))),
            "host_spelling": attempt(
                lambda: cases.update_case_restrictions(input["case_id"], update("full_access"))),
            "page_size": attempt(lambda: cases.query_cases(query(-1))),
            "title": attempt(lambda: cases.create_case(cases.NewCase(
                title=42, description="", severity=cases.Severity.LOW, state=None, assignee=None,
                reviewers=[], access_mode=None, collaborators=[], fields_json=None))),
            "scope": attempt(lambda: flowhost_step.access.has_scope(7)),
            "kind": attempt(lambda: events.emit(None, {})),
            # `log` too, and text the bindings cannot lower (round 18: each trapped).
            "level": attempt(lambda: flowhost_step.log.at("warning", "x")),
            "level_by_name": attempt(lambda: flowhost_step.log.at("warn", "x")),
            "surrogate": attempt(lambda: flowhost_step.log.info(json.loads('"caf\\ud83d"'))),
            # A host enum compared with text says so (round 18: always False, silently).
            "enum_text": compared(lambda: flowhost_step.Severity.CRITICAL == "critical"),
            "enum_member": compared(lambda: flowhost_step.Severity.CRITICAL == flowhost_step.Severity.CRITICAL),
            # Looked up among text too (round 19: missed by hash, silently False).
            "enum_in_set": compared(lambda: flowhost_step.Severity.CRITICAL in {"critical"}),
            "members_apart": compared(
                lambda: len({flowhost_step.Severity.LOW, flowhost_step.Severity.HIGH,
                             flowhost_step.Severity.LOW})),
            # A host error's kind in this SDK's spelling (round 19: always False).
            "kind_alias": compared(lambda: flowhost_step.HostError("not_found", "x").kind == "not_found"),
            "kind_wit": compared(lambda: flowhost_step.HostError("not_found", "x").kind == "not-found"),
            "kind_other": compared(lambda: flowhost_step.HostError("denied", "x").kind != "not_found"),
        }
    return {"ok": True}


WitWorld = step(attack)


def late(input: "Later") -> "Later":
    return Later(n=input.n + 1)


# `Later` is defined after `step(late)`: its hints cannot be resolved at build time.
_late = step(late)


@dataclass
class Later:
    n: int


class Sev(Enum):
    LOW = "low"
    HIGH = "high"


@dataclass
class Typed:
    sev: Sev
    pair: tuple[int, int]


UserName = typing.NewType("UserName", str)


@dataclass
class Grouped:
    groups: typing.Set[str]
    seq: typing.Sequence[Later]
    who: UserName


def grouped(input: Grouped) -> dict:
    return {"admin": "admin" in input.groups, "seq": [x.n + 1 for x in input.seq],
            "who": input.who}


@dataclass
class Dated:
    at: datetime.date


def dated(input: Dated) -> dict:
    return {"at": str(input.at)}


def typed(input: Typed) -> dict:
    return {"sev": input.sev.value, "pair": list(input.pair)}


def typed_back(input: Typed) -> Typed:
    return input


def new_case(input: "flowhost_step.cases.NewCase") -> dict:
    return {"description": input.description, "reviewers": input.reviewers,
            "state": input.state, "fields_json": input.fields_json}


def query_of(input: "flowhost_step.cases.CaseQuery") -> dict:
    return {"sort": str(input.sort.name).lower(), "page_size": input.page_size,
            "text": input.filter.text, "cursor": input.cursor}


def update_of(input: "flowhost_step.cases.RestrictionUpdate") -> dict:
    return {"access_mode": input.access_mode, "set_collaborators": input.set_collaborators}


def case_mode_of(input: "flowhost_step.cases.NewCase") -> dict:
    return {"access_mode": input.access_mode, "assignee": input.assignee}


def restrictions_of(input: "flowhost_step.cases.Restrictions") -> dict:
    return {"collaborators": input.collaborators}


@dataclass
class Maybe:
    note: "str | None"


def maybe_note(input: Maybe) -> dict:
    return {"note": input.note}
