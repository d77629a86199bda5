"""Client requests (``sub``, ``unsub``, ``auth``) and the exact JSON sent for them."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Iterable

import msgspec

from ._model import Int64, Lenient, WireEnum, WireModel
from .errors import ValidationError
from .filter import Filter
from .subscription import Subscription

__all__ = ["Action", "Filter", "Request"]


class Action(WireEnum):
    """The ``action`` of a request: subscribe, authorize, unsubscribe or the application ping."""

    Subscribe = "sub"
    Authorize = "auth"
    Unsubscribe = "unsub"
    # Undocumented but answered by the exchange with a ``pong`` frame carrying the same id.
    PING = "ping"
    Ping = "ping"


def _signature(api_secret: str, nonce: int) -> str:
    return hmac.new(api_secret.encode(), str(nonce).encode(), hashlib.sha256).hexdigest()


class Request(WireModel, omit_defaults=True, kw_only=True, wire_keys="serialization_alias"):
    """A request; build it with :meth:`auth`, :meth:`subscribe` or :meth:`unsubscribe`.

    As in the original, ``apiKey`` is only the wire's spelling (``message()``,
    ``model_dump(by_alias=True)``): input, ``model_validate`` included, names the field
    ``api_key``. The API secret is never stored: only the signature made with it is.
    ``repr``, ``str`` and rich's pretty printer show the key and the signature masked (their
    first four characters); ``model_dump()`` and ``message()`` carry them whole.
    """

    _secret_fields = frozenset({"api_key", "signature"})

    action: Lenient[Action]
    id: str
    api_key: str | None = msgspec.field(default=None, name="apiKey")
    nonce: Int64 | None = None
    signature: str | None = None
    filters: list[Lenient[Filter]] | None = None
    subscriptions: list[Subscription] | None = None
    subscription: list[Subscription] | None = None

    @classmethod
    def auth(
        cls,
        api_key: str,
        api_secret: str,
        *,
        filters: Iterable[Filter | str] | None = None,
        nonce: int | None = None,
    ) -> Request:
        """Sign ``nonce`` (default: now, in Unix ms) with the secret; ``filters`` pick events."""
        if not isinstance(api_key, str) or not api_key:
            raise ValidationError("api_key must be a non-empty string", field="api_key")
        if not isinstance(api_secret, str) or not api_secret:
            raise ValidationError("api_secret must be a non-empty string", field="api_secret")
        if nonce is None:
            nonce = time.time_ns() // 1_000_000
        # Validated leniently, unlike keyword construction: a filter family this version does
        # not know (the exchange adds them) is sent as given instead of refused.
        return cls.model_validate(
            {
                "action": Action.Authorize,
                "id": str(uuid.uuid4()),
                "api_key": api_key,
                "nonce": nonce,
                "signature": _signature(api_secret, nonce),
                "filters": None if filters is None else list(filters),
            }
        )

    @classmethod
    def subscribe(cls, subscriptions: Iterable[Subscription]) -> Request:
        """A ``sub`` request for ``subscriptions`` with a fresh uuid4 ``id``."""
        return cls(action=Action.Subscribe, id=str(uuid.uuid4()), subscriptions=list(subscriptions))

    @classmethod
    def unsubscribe(cls, subscriptions: Iterable[Subscription]) -> Request:
        """An ``unsub`` request for ``subscriptions`` with a fresh uuid4 ``id``."""
        # The protocol spells the key of an unsub request in the singular.
        return cls(
            action=Action.Unsubscribe, id=str(uuid.uuid4()), subscription=list(subscriptions)
        )

    @classmethod
    def ping(cls) -> Request:
        """The application ping, answered with a ``pong`` frame of the same ``id``."""
        return cls(action=Action.PING, id=str(uuid.uuid4()))

    def message(self) -> str:
        """The JSON text sent on the wire: wire keys, None fields left out."""
        return msgspec.json.encode(self).decode()
