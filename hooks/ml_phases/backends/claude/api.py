"""Calls to the Messages API, with the retries done here rather than by the SDK.

The SDK's own retries obey any retry-after (an hour, if the server says so), so it is built with
max_retries=0 and this module decides: 401/403 and spend limits stop at once with a message that
says what to do; 408, 409, 429, 5xx (529 overloaded too), timeouts, dropped connections and
malformed replies are retried a bounded number of times, with exponential backoff and any
retry-after capped. Running out of attempts leaves the phase incomplete, to resume later.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..base import BackendError, PhaseIncomplete
from .limits import Limits
from .sandbox import redact

RETRIED_STATUSES = frozenset({408, 409, 429})  # and every 5xx
SPEND_LIMIT_CODES = frozenset({"enforced_spend_limit_reached"})
SPEND_LIMIT_WORDS = ("usage limits", "credit balance", "spend limit")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # one call and five retries
    backoff_s: float = 1.0  # the first wait; doubles each time, with jitter
    cap_s: float = 60.0  # the longest wait, whatever retry-after says
    request_timeout_s: float = 600.0


def client() -> Any:
    """An SDK client from the environment (ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN, and
    ANTHROPIC_BASE_URL for gateways); BackendError when the SDK or a key is missing."""
    try:
        import anthropic
    except ImportError:
        raise BackendError(
            "the claude backend needs the anthropic SDK: .venv/bin/python -m pip install"
            " 'anthropic>=2.10' (or use --backend offline)"
        ) from None
    if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        raise BackendError(
            "the claude backend needs ANTHROPIC_API_KEY in the environment (or use --backend"
            " offline)"
        )
    return anthropic.Anthropic(max_retries=0)


def wait_seconds(attempt: int, headers: Any, policy: RetryPolicy, rng: random.Random) -> float:
    """How long to wait before retry number `attempt` (1-based): retry-after if the server
    gave one, else exponential backoff with jitter; never longer than the cap."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name) if headers is not None else None
        try:
            if value is not None:
                return max(0.0, min(float(value) * scale, policy.cap_s))
        except ValueError:
            continue  # an HTTP date or junk: fall back to backoff
    backoff = policy.backoff_s * 2 ** (attempt - 1)
    return min(backoff * (0.5 + rng.random() / 2), policy.cap_s)


def _describe(exc: Any) -> str:
    kind = getattr(exc, "type", None) or type(exc).__name__
    message = getattr(exc, "api_message", None) or getattr(exc, "message", None) or str(exc)
    return redact(f"HTTP {exc.status_code} {kind}: {message}")


def _spend_limit(exc: Any) -> bool:
    if getattr(exc, "error_code", None) in SPEND_LIMIT_CODES or exc.status_code == 402:
        return True
    message = (getattr(exc, "api_message", None) or "").lower()
    return exc.status_code in (400, 429) and any(words in message for words in SPEND_LIMIT_WORDS)


@dataclass
class Messages:
    """`create` with this module's retry rules, bounded by the phase's limits."""

    client: Any
    limits: Limits
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    on_retry: Callable[[str, float], None] = lambda failure, wait: None
    rng: random.Random = field(default_factory=random.Random)

    def create(self, **request: Any) -> Any:
        import anthropic

        for attempt in range(1, self.policy.attempts + 1):
            self.limits.check()
            timeout = max(1.0, min(self.policy.request_timeout_s, self.limits.remaining()))
            headers = None
            try:
                return self.client.messages.create(**request, timeout=timeout)
            except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
                raise BackendError(
                    f"the Anthropic API refused the credentials ({_describe(exc)}); check"
                    " ANTHROPIC_API_KEY and the key's permissions"
                ) from None
            except anthropic.APIStatusError as exc:
                if _spend_limit(exc):
                    raise BackendError(
                        f"the account's spend limit is reached ({_describe(exc)}); not retried."
                        " Raise the limit in the Claude Console, then `ml-phases run` resumes"
                    ) from None
                if exc.status_code not in RETRIED_STATUSES and exc.status_code < 500:
                    raise BackendError(
                        f"the Anthropic API refused a request ({_describe(exc)})"
                    ) from None
                failure, headers = _describe(exc), exc.response.headers
            except anthropic.APITimeoutError:
                failure = f"no reply within {timeout:.0f} s"
            except anthropic.APIConnectionError as exc:
                failure = f"connection failed ({exc.message})"
            except (json.JSONDecodeError, anthropic.APIResponseValidationError):
                failure = "a malformed reply"
            if attempt == self.policy.attempts:
                break
            wait = min(
                wait_seconds(attempt, headers, self.policy, self.rng), self.limits.remaining()
            )
            self.on_retry(failure, wait)
            self.sleep(max(wait, 0.0))
        raise PhaseIncomplete(
            f"the Anthropic API failed {self.policy.attempts} times (last: {failure})"
        )
