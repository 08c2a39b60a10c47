"""{{name}}: a Flowhost step in Python. `flowhost step build` builds it, `flowhost step test`
runs the cases in step.test.json."""

import ipaddress
from dataclasses import dataclass

from flowhost_step import InvalidInput, events, log, step


@dataclass
class Input:
    ip: str


def run(input: Input) -> dict:
    try:
        address = ipaddress.ip_address(input.ip)
    except ValueError:
        raise InvalidInput(f"`ip`: {input.ip!r} is not an IP address") from None
    result = {"ip": input.ip, "private": address.is_private}
    log.info(f"checked {input.ip}")
    events.emit("ip.checked", result)
    return result


# The component's export: what componentize-py looks for in this module.
WitWorld = step(run)
