"""Who may use the endpoints other systems use (OAI-PMH, SRU): on or off, listed networks,
a per-client request budget — from `offer:` in config.yaml.

All of them are read-only by construction (they only answer GET/POST reads of the store
and the index); this module decides only whether a request is answered at all.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from aiohttp import web

from core.config import Endpoint
from portal.auth import client_address
from portal.rate_limit import PerClientRate


@dataclass(frozen=True)
class Refusal:
    status: int  # 404 off, 403 not a listed network, 429/503 over the budget
    message: str
    retry_after: int = 0


class Gate:
    """One endpoint's access rules and its per-client budget."""

    def __init__(self, name: str, key: str, endpoint: Endpoint) -> None:
        self.name, self.key = name, key
        self.endpoint = endpoint
        self.networks = [ipaddress.ip_network(n) for n in endpoint.networks]
        self.rate = PerClientRate()

    def check(self, request: web.Request) -> Refusal | None:
        """None when `request` may be answered; else why not."""
        if not self.endpoint.enabled:
            return Refusal(404, f"{self.name} is turned off on this server "
                           f"(offer.{self.name.lower()}.enabled in config.yaml)")
        client = client_address(request)
        if self.networks:
            try:
                ip = ipaddress.ip_address(client)
            except ValueError:
                ip = None
            if ip is None or not any(ip in net for net in self.networks):
                return Refusal(403, f"{self.name} is open to listed networks only; "
                               f"{client} is not one of them — ask the consortium to add "
                               "your network")
        wait = self.rate.wait(client, self.endpoint.per_minute)
        if wait:
            return Refusal(429, f"too many requests: at most {self.endpoint.per_minute} a "
                           "minute per client", max(1, math.ceil(wait)))
        return None
