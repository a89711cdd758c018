"""Per-client token buckets: ``rate`` requests per second on average, bursts up to ``burst``.

In-process: with several worker processes each keeps its own buckets (the limit is then per
worker); put a shared limiter in the proxy in front of Nexo when running many workers.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.default = (rate, float(burst))
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def configure(self, key: str, rate: float, burst: int) -> None:
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                self._buckets[key] = _Bucket(rate, float(burst), float(burst), self.clock())
            elif (b.rate, b.burst) != (rate, float(burst)):
                b.rate, b.burst, b.tokens = rate, float(burst), min(b.tokens, float(burst))

    def check(self, key: str) -> int | None:
        """Take one token; None if allowed, else the whole seconds to wait (Retry-After)."""
        now = self.clock()
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                rate, burst = self.default
                b = self._buckets[key] = _Bucket(rate, burst, burst, now)
            b.tokens = min(b.burst, b.tokens + (now - b.stamp) * b.rate)
            b.stamp = now
            if b.tokens >= 1:
                b.tokens -= 1
                return None
            return max(1, math.ceil((1 - b.tokens) / b.rate))
