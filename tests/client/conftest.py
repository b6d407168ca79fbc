"""Helpers for the client's unit tests: a scripted fake PISTE behind `httpx.MockTransport`."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from chorus_pro.client import ChorusProClient
from chorus_pro.config import ChorusProConfig
from chorus_pro.retry import RetryPolicy

OAUTH_URL = "https://oauth.test/api/oauth/token"
API_URL = "https://api.test"
CLIENT_SECRET = "s3cr3t-client-value"
PASSWORD = "pässwörd-très-secret"
LOGIN = "TECH_1_test@cpro.fr"

Handler = Callable[[httpx.Request], httpx.Response]


def envelope(**fields: Any) -> dict[str, Any]:
    return {"codeRetour": 0, "libelle": "TRA_MSG_00.000", **fields}


@dataclass
class FakePiste:
    """Answers the token endpoint itself and hands API requests to a scripted handler."""

    handler: Handler
    token_status: int = 200
    token_body: dict[str, Any] = field(
        default_factory=lambda: {"token_type": "Bearer", "expires_in": 3600}
    )
    token_failures: list[Exception] = field(default_factory=list)
    tokens_issued: int = 0
    token_requests: list[httpx.Request] = field(default_factory=list)
    api_requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == OAUTH_URL:
            self.token_requests.append(request)
            if self.token_failures:
                raise self.token_failures.pop(0)
            if self.token_status != 200:
                return httpx.Response(self.token_status, json=self.token_body)
            self.tokens_issued += 1
            return httpx.Response(
                200, json={**self.token_body, "access_token": f"token-{self.tokens_issued}"}
            )
        self.api_requests.append(request)
        return self.handler(request)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.api_requests]


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Sleeps:
    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_config(**overrides: Any) -> ChorusProConfig:
    values: dict[str, Any] = {
        "api_url": API_URL,
        "oauth_url": OAUTH_URL,
        "client_id": "client-id",
        "client_secret": CLIENT_SECRET,
        "login": LOGIN,
        "password": PASSWORD,
        "max_retries": 3,
        "backoff_base": 0.5,
        "backoff_max": 4.0,
    }
    values.update(overrides)
    return ChorusProConfig(**values)


@dataclass
class Harness:
    piste: FakePiste
    client: ChorusProClient
    sleeps: Sleeps
    clock: Clock


@pytest.fixture
def harness_factory() -> Iterator[Callable[..., Harness]]:
    clients: list[ChorusProClient] = []

    def build(handler: Handler, **config: Any) -> Harness:
        piste = FakePiste(handler)
        sleeps, clock = Sleeps(), Clock()
        cfg = make_config(**config)
        retry = RetryPolicy(
            max_retries=cfg.max_retries,
            base=cfg.backoff_base,
            cap=cfg.backoff_max,
            retry_after_max=cfg.retry_after_max,
            rng=random.Random(42),
        )
        client = ChorusProClient(
            cfg, transport=httpx.MockTransport(piste), sleep=sleeps, clock=clock, retry=retry
        )
        clients.append(client)
        return Harness(piste, client, sleeps, clock)

    yield build
    for client in clients:
        client.close()
