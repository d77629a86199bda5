"""ReconnectPolicy, the request rate limiter and the HTTP 429 Retry-After reading."""

from __future__ import annotations

import dataclasses

import pytest
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response as HTTPResponse

from maicoin.ws._io.connect import retry_after
from maicoin.ws.ratelimit import RequestRateLimiter
from maicoin.ws.reconnect import ReconnectPolicy


def test_policy_defaults_match_the_documented_signature() -> None:
    policy = ReconnectPolicy()
    assert (
        policy.enabled,
        policy.max_retries,
        policy.base_delay,
        policy.max_delay,
        policy.jitter,
    ) == (
        True,
        None,
        1.0,
        30.0,
        1.0,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.base_delay = 2.0  # type: ignore[misc]


def test_delay_doubles_up_to_max_plus_jitter() -> None:
    policy = ReconnectPolicy(base_delay=1, max_delay=30, jitter=0)
    assert [policy.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert policy.delay(10_000) == 30  # no overflow on absurd attempt counts
    jittered = ReconnectPolicy(base_delay=1, max_delay=30, jitter=0.5)
    samples = {jittered.delay(2) for _ in range(50)}
    assert all(2.0 <= s <= 2.5 for s in samples) and len(samples) > 1


def test_retries_exhausted_after_max_retries() -> None:
    policy = ReconnectPolicy(max_retries=2)
    assert not policy.exhausted(1) and not policy.exhausted(2) and policy.exhausted(3)
    assert not ReconnectPolicy().exhausted(10**9)


@pytest.mark.parametrize("field", ["base_delay", "max_delay", "jitter", "healthy_after"])
def test_negative_delays_rejected_by_name(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ReconnectPolicy(**{field: -1})


def test_attempt_is_one_based() -> None:
    with pytest.raises(ValueError, match="1-based"):
        ReconnectPolicy().delay(0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_enforces_both_windows() -> None:
    clock = FakeClock()
    limiter = RequestRateLimiter(clock=clock)
    for _ in range(20):
        assert limiter.wait_time() == 0
        limiter.record()
    # 21st request in the same second must wait for the first to leave the 1 s window.
    assert limiter.wait_time() == pytest.approx(1.0)
    sent = 20
    while sent < 200:
        clock.now += limiter.wait_time()
        limiter.record()
        sent += 1
    # 200 sent in ~9 s: the 201st must wait until the first is a minute old.
    assert limiter.wait_time() == pytest.approx(1000.0 + 60.0 - clock.now)


async def test_rate_limiter_acquire_sleeps_until_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    monkeypatch.setattr("maicoin.ws.ratelimit.asyncio.sleep", fake_sleep)
    limiter = RequestRateLimiter(((2, 0.5),), clock=clock)
    for _ in range(5):
        await limiter.acquire()
    assert slept == [pytest.approx(0.5), pytest.approx(0.5)]
    assert clock.now == pytest.approx(1001.0)


def test_rate_limiter_rejects_bad_limits() -> None:
    with pytest.raises(ValueError, match="limits"):
        RequestRateLimiter(((0, 1.0),))


def _status(code: int, headers: dict[str, str]) -> InvalidStatus:
    return InvalidStatus(HTTPResponse(code, "Too Many Requests", Headers(headers), b""))


def test_retry_after_reads_unix_timestamp_delay_and_http_date() -> None:
    now = 1_800_000_000.0
    assert retry_after(_status(429, {"Retry-After": "1800000060"}), now=now) == 1_800_000_060
    assert retry_after(_status(429, {"Retry-After": "15"}), now=now) == now + 15
    date = "Fri, 15 Jan 2027 08:01:00 GMT"
    assert retry_after(_status(429, {"Retry-After": date}), now=now) == 1_800_000_060
    assert retry_after(_status(429, {}), now=now) is None
    assert retry_after(_status(429, {"Retry-After": "soon"}), now=now) is None
    assert retry_after(_status(503, {"Retry-After": "15"}), now=now) is None
    assert retry_after(ConnectionResetError(), now=now) is None
