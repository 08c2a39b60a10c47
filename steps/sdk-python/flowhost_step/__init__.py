"""The Flowhost step SDK for Python: the typed surface of the Rust SDK (`steps/sdk`).

A step is a function from a JSON input to a JSON output. Write it over your own dataclasses
and export it as the component's `WitWorld`::

    from dataclasses import dataclass
    from flowhost_step import step, log

    @dataclass
    class Input:
        name: str

    def greet(input: Input) -> dict:
        log.info(f"greeting {input.name}")
        return {"greeting": f"hello, {input.name}"}

    WitWorld = step(greet)

The input is decoded into the type the function's first parameter is annotated with (a
dataclass, nested dataclasses and lists of them; unknown or missing fields are an
`invalid-input` error, as is `null` for a field of the host's own records that the host
reads only as given, such as a `cases.CaseQuery` filter), the output encoded to JSON
(dataclasses as objects). Host calls act as
the run's principal, within the step's grants; a failed call raises `HostError`, which fails the
step as `host(...)` when not caught. `InvalidInput` and `Failed` fail it with that case; any other
exception fails it as `failed` with its message and traceback.

Build with componentize-py against the `flowhost:step` WIT (`flowhost step build` does it).
"""

import dataclasses
import enum
import json
import math
import re
import traceback
import types
import typing

import wit_world
from componentize_py_types import Err
from wit_world.imports import types as _types

from . import cases, access, events, log  # noqa: F401  (the public modules)

AccessMode = _types.AccessMode
Severity = _types.Severity
CaseRecord = _types.CaseRecord
Restrictions = _types.Restrictions
Decision = _types.Decision


def _not_equal_to_text(self, other):
    """A host enum is not its spelling: `case.severity == "critical"` was always False
    (the member's name is `CRITICAL`, its value a number), and the step took the wrong
    branch without a word (round 18 steps review). Compared with text, it says so."""
    if isinstance(other, str):
        cls = type(self).__name__
        raise TypeError(
            f"{cls}.{self.name} compared with the text {other!r}: compare with a member "
            f"({cls}.{self.name}), or the text with `.name.lower()`"
        )
    if isinstance(other, type(self)):
        return self is other
    # Another kind of value (`mock.ANY`): its own equality decides, as for any Enum.
    return NotImplemented


def _hashed_as_its_spelling(self):
    """A member hashes as the host spells it (`"critical"`), so that looking it up among
    text (`case.severity in {"critical"}`) meets `__eq__` and says so, where the lookup
    missed by hash and was silently False (round 19 steps review). Members stay apart."""
    return hash(self.name.lower())


def _spelled(self):
    """A member as text is its host spelling (`critical`, `full_access`), as the step's JSON
    writes it: `f"[{case.severity}]"` gave `Severity.CRITICAL`, into titles, payloads and
    logs (round 20 steps review). Its `.value` is the WIT's number: use `str()`."""
    return self.name.lower()


def _formatted(self, spec):
    return format(self.name.lower(), spec)


for _enum in (AccessMode, Severity, cases.CaseSort, log.Level):
    _enum.__eq__ = _not_equal_to_text
    _enum.__hash__ = _hashed_as_its_spelling
    _enum.__str__ = _spelled
    _enum.__format__ = _formatted

__all__ = [
    "step", "run_json", "StepError", "InvalidInput", "Failed", "HostError",
    "AccessMode", "Severity", "CaseRecord", "Restrictions", "Decision",
    "cases", "access", "events", "log",
]


def _text_of(value, show) -> str:
    """`show(value)`, or, where it raises or gives no text (an exception whose `__str__`
    raises), its type's name: the step's failure is told whatever it holds (round 20 review:
    the handler's own f-string raised again, and trapped the step)."""
    try:
        text = show(value)
        if isinstance(text, str):
            return text
    except BaseException:  # noqa: BLE001 - any failure to show it is the same
        pass
    return f"<{type(value).__name__} that cannot be shown>"


def _shown(message) -> str:
    """`message` as text the host takes: `str()` of what is not text (`raise
    InvalidInput(e)` with an exception), half a surrogate pair written out. Either trapped
    the whole step in the bindings, its message and kind lost (round 19 SDK review)."""
    return _text_of(message, str).encode("utf-8", "backslashreplace").decode("utf-8")


class StepError(Exception):
    """Base of the errors a step raises on purpose; the message is what the run shows."""

    def __init__(self, message: str):
        message = _shown(message)
        super().__init__(message)
        self.message = message


class InvalidInput(StepError):
    """The input JSON did not have the shape the step needs (`invalid-input`)."""


class Failed(StepError):
    """Any other failure, described for the person reading the run (`failed`)."""


# WIT host-error case name → the generated class, both ways.
_HOST_CASES = {
    "denied": _types.HostError_Denied,
    "not-found": _types.HostError_NotFound,
    "invalid": _types.HostError_Invalid,
    "conflict": _types.HostError_Conflict,
    "internal": _types.HostError_Internal,
}


class _Kind(str):
    """A host error's kind, `not-found` as the WIT spells it, equal to `not_found` as this
    SDK spells other host names too: `e.kind == "not_found"` was always False, and the step
    took the wrong branch without a word (round 19 steps review). Hashed as `not-found`."""

    def __eq__(self, other):
        if isinstance(other, str):
            return str.__eq__(self, other.replace("_", "-"))
        return NotImplemented

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__


class HostError(Exception):
    """A host call did not succeed. `kind` is the WIT case a step branches on:
    `denied`, `not-found`, `invalid`, `conflict` or `internal`; `not_found`, as this SDK
    spells other host names, reads and compares as `not-found`. Any other kind is refused,
    where it became `internal` without a word (round 16 review)."""

    def __init__(self, kind: str, message: str):
        kind = kind.replace("_", "-")
        if kind not in _HOST_CASES:
            raise ValueError(
                f"HostError kind {kind!r} is none of: {', '.join(_HOST_CASES)}"
            )
        message = _shown(message)
        super().__init__(f"{kind}: {message}")
        self.kind = _Kind(kind)
        self.message = message

    @staticmethod
    def _from_wit(value: object) -> "HostError":
        for kind, cls in _HOST_CASES.items():
            if isinstance(value, cls):
                return HostError(kind, value.value)
        return HostError("internal", repr(value))

    def _to_wit(self):
        return _HOST_CASES.get(self.kind, _types.HostError_Internal)(self.message)


def _message_of(error) -> str:
    """A step error's `message` as the host takes it (`str()` of one set to another value),
    or the error's own `str()` when it has none; never raises (see `run_json`)."""
    try:
        message = error.message
    except BaseException:  # noqa: BLE001 - a missing or raising attribute is no message
        return _shown(_text_of(error, str))
    return _shown(message)


def _host_failure(error: "HostError"):
    """A `HostError` raised by the step as the WIT carries it: its kind's case, or the step's
    own failure when it holds no kind of the host's (a subclass that skipped
    `super().__init__`); never raises."""
    try:
        kind = error.kind
        case = _HOST_CASES.get(kind.replace("_", "-")) if isinstance(kind, str) else None
    except BaseException:  # noqa: BLE001 - a missing or raising kind is none of the host's
        case = None
    if case is None:
        return wit_world.StepError_Failed(_message_of(error))
    return wit_world.StepError_Host(case(_message_of(error)))


def _host_call(f, *args):
    """Calls a generated import, turning its `Err` into `HostError`."""
    try:
        return f(*args)
    except Err as e:
        raise HostError._from_wit(e.value) from None


_NO_DEFAULT = object()


# The host's defaults for its own input records, as serde reads them (`#[serde(default)]` in
# the host's `services/cases.rs`), as JSON: nothing else of a host record defaults (its
# outputs, `CaseRecord`, `Restrictions`…, have every field; round 15 review: a missing
# `collaborators` read as `[]`, and a `CaseQuery` without `sort` was refused).
_HOST_DEFAULTS = {
    "NewCase": {"description": "", "reviewers": [], "collaborators": []},
    "CaseQuery": {"filter": {}, "sort": "created_desc", "page_size": 0},
    "RestrictionUpdate": {"add_collaborators": [], "remove_collaborators": []},
}

# The fields of the host's input records that may be left out but not given as `null`
# (`json_limits::given` in the host's `services/cases.rs`). A `null` there is a reference
# that found nothing: read as left out, it asked for every case the run sees, left every
# collaborator in place, or made a case full access, where the built-in steps, the API and
# the JS SDK refuse it (round 27 hostile-input review; SPEC CS-2, CS-4). Refused in
# `_decode`, while the JSON is at hand: a built record cannot tell the two apart.
_HOST_GIVEN = {
    # `state`, `assignee` and `fields` too since the host refuses them so (round 30
    # regression review: a null state was stored as `open` through this SDK).
    "NewCase": frozenset({"access_mode", "state", "assignee", "fields_json"}),
    "CaseFilter": frozenset({"access_mode", "state", "severity", "assignee", "text"}),
    "RestrictionUpdate": frozenset({"access_mode", "set_collaborators"}),
}


def _absent(record, name: str, tp):
    """What a missing field `name` (of annotation `tp`) of dataclass `record` reads as, as
    serde reads it: `None` for an optional one; for the host's own input records also the
    host's defaults (`_HOST_DEFAULTS`, JSON to decode). `_NO_DEFAULT` when it must be given."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp):
        return None
    if record.__module__.startswith("wit_world"):
        defaults = _HOST_DEFAULTS.get(record.__name__, {})
        if name in defaults:
            return _decode(tp, defaults[name], f"the host's default `{name}`")
    return _NO_DEFAULT


import collections.abc as _abc

# The abstract collections a JSON list or object decodes into as the concrete ones do.
_SEQUENCES = (_abc.Sequence, _abc.MutableSequence, _abc.Iterable, _abc.Collection, typing.Sequence)
_SETS = (set, frozenset, _abc.Set, _abc.MutableSet, typing.AbstractSet)
_MAPPINGS = (_abc.Mapping, _abc.MutableMapping, typing.Mapping)


def _decode(tp, value, at: str):
    """Decodes JSON `value` into annotation `tp`; errors name the path `at`."""
    if tp is typing.Any or tp is None or isinstance(tp, typing.TypeVar):
        return value
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise InvalidInput(f"{at}: expected an object")
        hints = _hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
        if tp.__module__.startswith("wit_world") and "fields_json" in fields and "fields" in value:
            # A case as the host's JSON has it (`fields`, an object), as the SDK writes one:
            # read back into the record's `fields_json` (review).
            value = dict(value)
            fields_value = value.pop("fields")
            if fields_value is None and "fields_json" in _HOST_GIVEN.get(tp.__name__, ()):
                # Refused as the host refuses it (it was the text "null", then no fields).
                raise InvalidInput(f"`{at}.fields` is null; leave it out when it is not given")
            value["fields_json"] = (
                None if fields_value is None else json.dumps(fields_value, ensure_ascii=False)
            )
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise InvalidInput(f"{at}: unknown field `{unknown[0]}`")
        given = _HOST_GIVEN.get(tp.__name__, ()) if tp.__module__.startswith("wit_world") else ()
        args = {}
        for name, f in fields.items():
            if name in given and name in value and value[name] is None:
                # In the JS SDK's words (`_HOST_GIVEN`).
                raise InvalidInput(f"`{at}.{name}` is null; leave it out when it is not given")
            if name in value:
                args[name] = _decode(hints.get(name, typing.Any), value[name], f"{at}.{name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                missing = _absent(tp, name, hints.get(name, typing.Any))
                if missing is _NO_DEFAULT:
                    raise InvalidInput(f"{at}: missing field `{name}`")
                args[name] = missing
        return tp(**args)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _decode(option, value, at)
            except InvalidInput as e:
                errors.append(e.message)
        raise InvalidInput(errors[0] if len(errors) == 1 else f"{at}: matches none of {tp}")
    # A NewType reads as what it stands for (round 17 steps review: `UserId` took `42`).
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:
        return _decode(supertype, value, at)
    if origin in (list, typing.List) or origin in _SEQUENCES:
        (item,) = typing.get_args(tp) or (typing.Any,)
        if not isinstance(value, list):
            raise InvalidInput(f"{at}: expected a list")
        return [_decode(item, v, f"{at}[{i}]") for i, v in enumerate(value)]
    if origin in _SETS or tp in (set, frozenset):
        # A JSON list as a set: `"nonadmin"` for a `Set[str]` made `"admin" in groups` hold
        # (round 17 steps review).
        (item,) = typing.get_args(tp) or (typing.Any,)
        if not isinstance(value, list):
            raise InvalidInput(f"{at}: expected a list")
        items = [_decode(item, v, f"{at}[{i}]") for i, v in enumerate(value)]
        return frozenset(items) if origin is frozenset or tp is frozenset else set(items)
    if origin in _MAPPINGS:
        if not isinstance(value, dict):
            raise InvalidInput(f"{at}: expected an object")
        args = typing.get_args(tp)
        if len(args) == 2:
            return {k: _decode(args[1], v, f"{at}.{k}") for k, v in value.items()}
        return value
    if origin in (dict, typing.Dict) or tp is dict:
        if not isinstance(value, dict):
            raise InvalidInput(f"{at}: expected an object")
        args = typing.get_args(tp)
        if len(args) == 2:
            # Its values as annotated: `dict[str, D]` kept them raw dicts (review).
            return {k: _decode(args[1], v, f"{at}.{k}") for k, v in value.items()}
        return value
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list):
            raise InvalidInput(f"{at}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{at}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise InvalidInput(f"{at}: expected a list of {len(args)} items, found {len(value)}")
        return tuple(_decode(a, v, f"{at}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if not any(value == a and type(value) is type(a) for a in allowed):
            raise InvalidInput(
                f"{at}: expected one of {', '.join(json.dumps(a) for a in allowed)}, "
                f"found {json.dumps(value)}"
            )
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        # By the name the host's JSON spells (`full_access`); a step's own enum by value too.
        # One outside it is refused as Rust's serde refuses it, not passed on as a plain
        # string (review).
        wit = tp.__module__.startswith("wit_world")
        for member in tp:
            if value == member.name.lower() or (
                not wit and type(value) is type(member.value) and value == member.value
            ):
                return member
        names = ", ".join(m.name.lower() for m in tp)
        raise InvalidInput(f"{at}: expected one of {names}, found {json.dumps(value)}")
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(tp, type) and tp in (str, int, float, bool, list):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise InvalidInput(f"{at}: expected {tp.__name__}, found {json.dumps(value)}")
        return value
    if typing.is_typeddict(tp):
        # Its keys as annotated, the required ones required.
        if not isinstance(value, dict):
            raise InvalidInput(f"{at}: expected an object")
        hints = _hints(tp)
        unknown = sorted(set(value) - set(hints))
        if unknown:
            raise InvalidInput(f"{at}: unknown field `{unknown[0]}`")
        for name in getattr(tp, "__required_keys__", ()):
            if name not in value:
                raise InvalidInput(f"{at}: missing field `{name}`")
        return {k: _decode(hints[k], v, f"{at}.{k}") for k, v in value.items()}
    if tp is object:
        return value
    if tp is tuple:
        if not isinstance(value, list):
            raise InvalidInput(f"{at}: expected a list")
        return tuple(value)
    if tp is type(None):
        if value is not None:
            raise InvalidInput(f"{at}: expected null, found {json.dumps(value)}")
        return None
    # Any other annotation (a plain class, `datetime`, `Decimal`…) was passed through as the
    # raw JSON, unchecked: a step then read a dict as its object. Said where, for the author.
    raise Failed(
        f"{at}: this SDK does not decode into `{getattr(tp, '__name__', tp)}`; annotate it "
        "with a dataclass, an enum, a list, a dict or a JSON scalar"
    )


def _argument(tp, value, at: str):
    """`value`, an argument of a host call annotated `tp`, as the bindings can lower it: a
    record's fields each as annotated, an enum given by its name (`"full_access"`, as the
    host's JSON spells it, or `"full-access"`) read as its member. Anything else raises
    `Failed` naming `at`: the bindings aborted the whole step on it, past any `except`, naming
    neither the call nor the field (round 17 steps review)."""
    if tp is typing.Any or tp is None:
        return value
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, tp):
            # A record of the step's own with the same fields is read as this one, as the
            # bindings read it by its attributes.
            names = [f.name for f in dataclasses.fields(tp)]
            if not all(hasattr(value, n) for n in names):
                raise Failed(f"{at}: expected a {tp.__name__}, found {type(value).__name__}")
            value = tp(**{n: getattr(value, n) for n in names})
        hints = _hints(tp)
        changed = {}
        for f in dataclasses.fields(tp):
            given = getattr(value, f.name)
            checked = _argument(hints.get(f.name, typing.Any), given, f"{at}.{f.name}")
            if checked is not given:
                changed[f.name] = checked
        return dataclasses.replace(value, **changed) if changed else value
    if origin in (typing.Union, types.UnionType):
        options = [o for o in typing.get_args(tp) if o is not type(None)]
        if value is None and len(options) < len(typing.get_args(tp)):
            return None
        return _argument(options[0], value, at) if len(options) == 1 else value
    if origin in (list, typing.List):
        (item,) = typing.get_args(tp) or (typing.Any,)
        if not isinstance(value, list):
            raise Failed(f"{at}: expected a list, found {type(value).__name__}")
        return [_argument(item, v, f"{at}[{i}]") for i, v in enumerate(value)]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if isinstance(value, tp):
            return value
        if isinstance(value, enum.Enum):
            # A step's own enum: by its member's name, as the host's JSON names it.
            value = value.name.lower()
        if isinstance(value, str):
            # Text as the host and the JS SDK take it: `full_access` or `full-access`, not
            # `HIGH` (round 22 steps review: only this SDK folded case).
            name = value.replace("-", "_")
            for member in tp:
                if member.name.lower() == name:
                    return member
        names = ", ".join(m.name.lower() for m in tp)
        raise Failed(f"{at}: expected one of {names}, found {value!r}")
    if tp is int:
        # The host's records hold no signed or wider integer than a u32 (`page_size`).
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFF_FFFF:
            raise Failed(f"{at}: expected a whole number from 0 to 4294967295, found {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise Failed(f"{at}: expected text, found {type(value).__name__}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # The bindings cannot lower it and abort the step past any `except` (round 18
            # steps review): refused by name, as in an output.
            raise Failed(
                f"{at}: the text holds a lone UTF-16 surrogate, which the host may not be sent"
            ) from None
    return value


# The integers the host reads exactly: past them a JSON number is read as a float, its digits
# lost without a word (an IPv6 address or a UUID as an integer).
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


class _Unwritable(ValueError):
    """A value JSON would not carry as it is, and where: the path is built as the error
    unwinds, so a value that writes costs nothing for it."""

    def __init__(self, why: str, path: str = ""):
        super().__init__(why)
        self.why = why
        self.path = path

    def under(self, step: str) -> "_Unwritable":
        return _Unwritable(self.why, step + self.path)

    def __str__(self) -> str:
        return f"${self.path}: {self.why}"


def _json_key(k) -> str:
    """The text `json.dumps` writes for dict key `k`; a key it would refuse is a TypeError."""
    if isinstance(k, str):
        try:
            k.encode("utf-8")
        except UnicodeEncodeError:
            # As for a value: written `\udXXX`, the host refused it naming nothing (review).
            raise _Unwritable(
                "a key holds a lone UTF-16 surrogate, which JSON text may not carry"
            ) from None
        return k
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    # As `json.dumps` writes them: an int or float subclass (an `IntEnum`) by its number.
    if isinstance(k, int):
        return int.__repr__(k)
    if isinstance(k, float):
        if not math.isfinite(k):
            raise _Unwritable(f"the key {k!r} is not a number JSON carries")
        return float.__repr__(k)
    raise _Unwritable(f"the key {k!r} is not text; JSON keys are strings")


def _encode(value):
    """JSON-ready form of an output: dataclasses as objects, plain enums by name (an `IntEnum`
    or `StrEnum` by value), keys as the text
    `json.dumps` writes for them. What JSON would not carry as it is raises `_Unwritable`
    naming where: an integer the host would not read exactly, a float that is not a number
    (NaN, infinities: `json.dumps` wrote them, and the host refused the text), two keys
    written alike (`{1: a, "1": b}` was written with one key twice)."""
    if isinstance(value, int) and not isinstance(value, bool) and not _INT_MIN <= value <= _INT_MAX:
        raise _Unwritable(
            f"the integer {value} is outside what JSON carries exactly here "
            f"(-2**63 to 2**64-1); pass it as a string"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise _Unwritable(f"{value} is not a number JSON carries; pass it as a string or null")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (`surrogateescape` text): `json.dumps` writes it as `\udXXX`,
            # which the host refuses, naming neither the field nor the cause (review).
            raise _Unwritable(
                "a string holds a lone UTF-16 surrogate, which JSON text may not carry"
            ) from None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        wit = type(value).__module__.startswith("wit_world")
        # One level at a time, so a nested host record is still known as one below.
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        if wit and "fields_json" in value:
            # A case's custom fields as the host's case JSON spells them: `fields`, an object
            # (SPEC CS-1), so that `$.steps.x.output.case.fields.priority` meets them as it
            # meets a built-in step's case (steps and projects review).
            text = value.pop("fields_json")
            try:
                value["fields"] = None if text is None else json.loads(text)
            except ValueError:
                raise _Unwritable("`fields_json` is not JSON") from None
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = _json_key(k)
            if key in out:
                raise _Unwritable(f"two keys are written as {key!r}")
            try:
                out[key] = _encode(v)
            except _Unwritable as e:
                raise e.under(f".{key}") from None
        return out
    if isinstance(value, (list, tuple)):
        out = []
        for i, v in enumerate(value):
            try:
                out.append(_encode(v))
            except _Unwritable as e:
                raise e.under(f"[{i}]") from None
        return out
    if hasattr(value, "name") and hasattr(value, "value") and type(value).__module__.startswith("wit_world"):
        # As the host's JSON spells it (`full_access`, SPEC CS-1), so that a condition or a
        # built-in step reading the output meets the host's own words (polyglot review).
        return value.name.lower()
    if isinstance(value, enum.Enum) and not isinstance(value, (int, float, str)):
        # A step's own plain enum by the name its input is read by: returning its input
        # failed every run, `json.dumps` naming no place (steps and projects review). An
        # `IntEnum`, a `StrEnum`, an `IntFlag` are numbers or text, written as such below.
        return value.name.lower()
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    # A set, a Decimal, a datetime, bytes: JSON has no such value; said here, with where.
    raise _Unwritable(f"a {type(value).__name__} is not a JSON value; convert it first")


# Type hints already resolved, by type or function. Filled by `step()` while the module is
# imported, which componentize-py does at build time: the filled dictionary is part of the
# component's memory image, so a fresh instance (one per run) does not resolve them again.
_HINTS: dict = {}


def _hints(tp) -> dict:
    """`typing.get_type_hints(tp)`, resolved once."""
    hints = _HINTS.get(tp)
    if hints is None:
        hints = _HINTS[tp] = typing.get_type_hints(tp)
    return hints


def _input_type(f):
    """The annotation of `f`'s first parameter (`typing.Any` when it has none)."""
    params = [(n, t) for n, t in _hints(f).items() if n != "return"]
    return params[0][1] if params else typing.Any


def _resolve_ahead(tp, seen: set) -> None:
    """Resolves the hints of every dataclass reachable from annotation `tp` into `_HINTS`."""
    if id(tp) in seen:
        return
    seen.add(id(tp))
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        for inner in _hints(tp).values():
            _resolve_ahead(inner, seen)
    for inner in typing.get_args(tp):
        _resolve_ahead(inner, seen)


def run_json(input_json: str, f) -> str:
    """Decodes `input_json` into `f`'s input type, runs `f`, encodes its output: the body of
    every exported step. Raises `componentize_py_types.Err(StepError...)` on failure."""
    try:
        try:
            raw = json.loads(input_json)
        except ValueError as e:
            raise InvalidInput(f"input is not JSON: {e}") from None
        output = f(_decode(_input_type(f), raw, "input"))
        try:
            # Written as UTF-8, not `\uXXXX`: the host's caps count the text sent, and a
            # non-ASCII output reached them at a third of a Rust step's (round 19 review).
            return json.dumps(_encode(output), allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as e:
            raise Failed(f"output: {e}") from None
    # Read so that no handler can raise: an error subclass that skips `super().__init__`
    # (its own `__init__` and `__str__`, a common pattern) or a `message` set to another value
    # after raised again inside its handler, past the catch-all below, and trapped the step
    # (round 21 review).
    except InvalidInput as e:
        raise Err(wit_world.StepError_InvalidInput(_message_of(e)))
    except Failed as e:
        raise Err(wit_world.StepError_Failed(_message_of(e)))
    except HostError as e:
        raise Err(_host_failure(e))
    except SystemExit as e:
        # Past `Exception`, it panicked the bindings: a trap naming nothing (round 19 review).
        code = _text_of(e.code, repr)
        raise Err(wit_world.StepError_Failed(_shown(f"the step called sys.exit({code})")))
    # Every other exception, `BaseException`s too (`asyncio.CancelledError`,
    # `KeyboardInterrupt`): past these handlers it trapped the step (round 20 review).
    except BaseException as e:  # noqa: BLE001 - every other exception is the step's failure
        # componentize-py mounts each source directory as `/0/`, `/1/`...: show project paths.
        try:
            trace = "".join(traceback.format_exception(e))
        except BaseException:  # noqa: BLE001 - a trace that cannot be made is left out
            trace = ""
        trace = re.sub(r'File "/\d+/', 'File "', trace)
        text = f"{type(e).__name__}: {_text_of(e, str)}\n{trace}"
        raise Err(wit_world.StepError_Failed(_shown(text)))


def step(f):
    """Exports `f(input) -> output` as the component's `run`: assign the result to
    `WitWorld` in the module componentize-py builds."""
    # Resolved now, while componentize-py imports the module at build time, rather than in
    # every run (a fresh instance each): see benches/README.md for what that saves. Hints that
    # cannot be resolved yet (a name defined later in the module) are resolved, or fail the
    # step with their error, at run time as before.
    try:
        _resolve_ahead(_input_type(f), set())
    except Exception:  # noqa: BLE001 - deferred to run time, where it is reported
        pass

    class WitWorld(wit_world.WitWorld):
        def run(self, input_json: str) -> str:
            return run_json(input_json, f)

    return WitWorld
