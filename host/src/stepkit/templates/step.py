"""{{name}}: a Flowhost step in Python. `flowhost step build` builds it, `flowhost step test`
runs the cases in step.test.json."""

import ipaddress
from dataclasses import dataclass

from flowhost_step import InvalidInput, events, log, step


@dataclass
class Input:
    ip: str


# "Private" as every language's template means it: RFC 1918's ranges or loopback, IPv4 only.
# Not `ipaddress`'s `is_private`, which also holds for 203.0.113.9 (documentation), link-local
# and 0.0.0.0, where the Rust and TypeScript templates answer false, and the templates share
# one step.test.json (round 26 steps review).
_PRIVATE = tuple(
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8")
)


def run(input: Input) -> dict:
    try:
        address = ipaddress.IPv4Address(input.ip)
    except ValueError:
        raise InvalidInput(f"`ip`: {input.ip!r} is not an IPv4 address") from None
    result = {"ip": input.ip, "private": any(address in network for network in _PRIVATE)}
    log.info(f"checked {input.ip}")
    events.emit("ip.checked", result)
    return result


# The component's export: what componentize-py looks for in this module.
WitWorld = step(run)
