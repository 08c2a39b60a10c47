"""Scores an alert's normalized indicators: public IPs, domains and hashes weigh in, private
addresses do not. A score of 50 or more is `high` and asks for escalation with an
`alert.high-risk` event."""

import ipaddress
from dataclasses import dataclass, field
from typing import List

from flowhost_step import InvalidInput, events, log, step

WEIGHTS = {"ips": 20, "domains": 15, "hashes": 25, "emails": 10}


@dataclass
class Input:
    ips: List[str] = field(default_factory=list)
    domains: List[str] = field(default_factory=list)
    hashes: List[str] = field(default_factory=list)
    emails: List[str] = field(default_factory=list)
    case_id: str = ""


@dataclass
class Score:
    score: int
    level: str
    reasons: List[str]


def score(input: Input) -> Score:
    reasons = []
    total = 0
    for ip in input.ips:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidInput(f"`ips`: {ip!r} is not an IP address") from None
        if address.is_global:
            total += WEIGHTS["ips"]
            reasons.append(f"public ip {ip}")
    for kind, noun in (("domains", "domain"), ("hashes", "hash"), ("emails", "email")):
        for value in getattr(input, kind):
            total += WEIGHTS[kind]
            reasons.append(f"{noun} {value}")
    total = min(total, 100)
    level = "high" if total >= 50 else "medium" if total >= 20 else "low"
    log.info(f"risk {total} ({level}) from {len(reasons)} indicator(s)")
    if level == "high":
        events.emit("alert.high-risk", {"score": total, "case_id": input.case_id or None})
    return Score(score=total, level=level, reasons=reasons)


WitWorld = step(score)
