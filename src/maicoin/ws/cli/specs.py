"""Subscriptions and auth filters as the command line spells them: ``book:btcusdt:5``.

A spec is ``CHANNEL[:ARG[:OPTION]]``; the accepted depths and resolutions are the ones
``validate_subscription`` enforces, so the command line never keeps its own copy of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

from .._client.registry import BOOK_DEPTHS, validate_subscription
from ..channel import Channel, auth_filter_for
from ..errors import SubscriptionError
from ..filter import Filter
from ..subscription import Subscription

__all__ = [
    "SPEC_FORMS",
    "SpecError",
    "accepted_filters",
    "is_private",
    "parse_filters",
    "parse_subscription",
]


class SpecError(ValueError):
    """A subscription spec or filter list the command line cannot accept."""


class _Form(NamedTuple):
    argument: str | None
    """``market``, ``currency`` or None for a channel that takes nothing."""
    option: str | None
    """``depth`` or ``resolution`` when the channel takes one."""
    example: str


_FORMS: Final[dict[Channel, _Form]] = {
    Channel.BOOK: _Form("market", "depth", "book:btcusdt:5"),
    Channel.TRADE: _Form("market", None, "trade:btcusdt"),
    Channel.TICKER: _Form("market", None, "ticker:btcusdt"),
    Channel.KLINE: _Form("market", "resolution", "kline:ethusdt:1m"),
    Channel.MARKET_STATUS: _Form(None, None, "market_status"),
    Channel.POOL_QUOTA: _Form("currency", None, "pool_quota:usdt"),
    Channel.ORDER: _Form(None, None, "order"),
    Channel.TRADE_UPDATE: _Form(None, None, "trade_update"),
    Channel.BALANCE_UPDATE: _Form(None, None, "balance_update"),
}


def _syntax(channel: Channel, form: _Form) -> str:
    parts = [str(channel)]
    if form.argument:
        parts.append(form.argument.upper())
    text = ":".join(parts)
    return f"{text}[:{form.option.upper()}]" if form.option else text


SPEC_FORMS: Final[tuple[str, ...]] = tuple(_syntax(c, f) for c, f in _FORMS.items())
"""Every accepted spec form, for help texts: ``book:MARKET[:DEPTH]``, ..."""

_DEPTHS: Final = ", ".join(map(str, BOOK_DEPTHS))


def parse_subscription(spec: str) -> Subscription:
    """The Subscription a spec names; ``SpecError`` lists the accepted forms or values."""
    channel_name, *args = spec.strip().split(":")
    channel = next((c for c in _FORMS if c.value == channel_name.lower()), None)
    if channel is None:
        raise SpecError(
            f"unknown channel {channel_name!r} in {spec!r}; accepted: {', '.join(SPEC_FORMS)}"
        )
    form = _FORMS[channel]
    allowed = (form.argument is not None) + (form.option is not None)
    if form.argument and (not args or not args[0]):
        raise SpecError(
            f"{channel} needs a {form.argument}: {_syntax(channel, form)}, e.g. {form.example}"
        )
    if len(args) > allowed or any(not arg for arg in args):
        raise SpecError(f"{spec!r} does not match {_syntax(channel, form)}, e.g. {form.example}")
    # MAX market and currency ids are lower case.
    argument = args[0].lower() if args else None
    option = args[1] if len(args) == 2 else None
    subscription = Subscription(
        channel=channel,
        market=argument if form.argument == "market" else None,
        currency=argument if form.argument == "currency" else None,
        depth=_depth(spec, option) if form.option == "depth" else None,
        resolution=option if form.option == "resolution" else None,
    )
    try:
        validate_subscription(subscription)
    except SubscriptionError as exc:
        raise SpecError(f"{spec!r}: {exc}") from None
    return subscription


def _depth(spec: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise SpecError(f"{spec!r}: book depth must be one of {_DEPTHS}, got {text!r}") from None


def parse_filters(text: str) -> list[Filter]:
    """Comma-separated auth filters (``order,account``); ``SpecError`` lists the accepted ones."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    if not names:
        raise SpecError(f"no filter named; accepted: {accepted_filters()}")
    known = {f.value for f in Filter}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SpecError(
            f"unknown filter {', '.join(map(repr, unknown))}; accepted: {accepted_filters()}"
        )
    return [Filter(name) for name in dict.fromkeys(names)]


def accepted_filters() -> str:
    """The auth filter names, comma-separated."""
    return ", ".join(f.value for f in Filter)


def is_private(subscriptions: Sequence[Subscription]) -> bool:
    """True when any of them is a private channel (chosen through auth filters)."""
    return any(auth_filter_for(sub.channel) is not None for sub in subscriptions)
