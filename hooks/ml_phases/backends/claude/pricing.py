"""What Claude costs: the one price table, token usage per agent, and the dollars it comes to.

Prices are US dollars per million tokens, from Anthropic's pricing page as of 2026-10
(https://platform.claude.com/docs/en/about-claude/pricing). Cache writes are priced at the
5-minute TTL (1.25x input), the TTL this backend asks for. A model missing here is refused
rather than guessed at: a budget cannot be kept without a price. Update this table, and only
this table, when prices change. Haiku 5.5 bills a request whose prompt (input plus cache reads
and writes) exceeds 100,000 tokens at a higher tier; each reply is priced on its own, so the
tier applies per request as it does on the bill.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..base import TOKEN_KINDS


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_write: float
    cache_read: float
    long: Price | None = None  # the rates for a prompt over LONG_PROMPT tokens, if different


LONG_PROMPT = 100_000


PRICES: dict[str, Price] = {
    "claude-opus-5-5": Price(input=4.00, output=20.00, cache_write=5.00, cache_read=0.20),
    "claude-sonnet-5-5": Price(input=2.00, output=10.00, cache_write=2.50, cache_read=0.10),
    "claude-haiku-5-5": Price(
        input=0.10,
        output=0.50,
        cache_write=0.125,
        cache_read=0.01,
        long=Price(input=0.50, output=2.50, cache_write=0.625, cache_read=0.05),
    ),
    "claude-opus-5": Price(input=5.00, output=25.00, cache_write=6.25, cache_read=0.50),
    "claude-sonnet-5": Price(input=2.00, output=10.00, cache_write=2.50, cache_read=0.20),
}


class UnknownModel(ValueError):
    """A model without a price: its spending could not be counted against the budget."""


def price(model: str) -> Price:
    try:
        return PRICES[model]
    except KeyError:
        known = ", ".join(PRICES)
        raise UnknownModel(
            f"model '{model}' has no price in ml_phases/backends/claude/pricing.py, so a budget"
            f" cannot be kept; use one of {known}, or add its price there"
        ) from None


@dataclass
class Usage:
    """Tokens an agent used, by kind (cache writes and reads are counted apart from input)."""

    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0

    @classmethod
    def from_api(cls, usage: Any) -> Usage:
        """From the `usage` of a Messages API response (missing counts are zero)."""
        return cls(
            input=usage.input_tokens or 0,
            output=usage.output_tokens or 0,
            cache_write=getattr(usage, "cache_creation_input_tokens", None) or 0,
            cache_read=getattr(usage, "cache_read_input_tokens", None) or 0,
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, kind) + getattr(other, kind) for kind in TOKEN_KINDS))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def cost(self, model: str) -> float:
        """US dollars, at the model's prices (for one request: its prompt size picks the tier)."""
        rates = price(model)
        if rates.long and self.input + self.cache_write + self.cache_read > LONG_PROMPT:
            rates = rates.long
        return sum(getattr(self, kind) * getattr(rates, kind) for kind in TOKEN_KINDS) / 1e6
