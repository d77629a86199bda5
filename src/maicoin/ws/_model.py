"""The one base every wire model shares: msgspec speed behind a pydantic-shaped surface.

Models are msgspec Structs that only declare fields, types and wire keys. This module gives
them what users of the pydantic original call (``model_validate``, ``model_dump``, ...) and
the three decoding rules of the wire:

- enum fields decode natively, and a value outside the enum stays a plain ``str``
  (:class:`WireEnum`, annotated ``Lenient[Side]``);
- timestamps stay Unix-ms ``int`` in the struct and become a UTC ``datetime`` when the
  attribute is read (:data:`Timestamp`), so decoding never builds a ``datetime``; as in
  pydantic, an int up to 2e10 is read as seconds. A ``datetime`` (or ISO 8601 text) given
  instead is kept as is, and equality compares the instants;
- any bad input raises :class:`~maicoin.ws.errors.ValidationError` naming the field.

``model_dump(by_alias=True)`` uses the wire keys (``"e"``, ``"T"``, ...); values follow
``mode`` as without aliases, so ``model_dump_json(by_alias=True)`` decodes back to an equal
model (the decoders accept ISO 8601 strings as well as Unix ms for timestamps).

``exclude_unset`` is an approximation: the wire decoder cannot tell which keys a frame
carried without slowing every frame down, so a field counts as *set* when it is required or
its value differs from its default (``None``). It differs from pydantic only for a key given
explicitly with its default value (``"ci": null``, ``market=None``).
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Literal,
    TypeAlias,
    TypeVar,
)

import msgspec

from .errors import ValidationError

__all__ = [
    "Int64",
    "Lenient",
    "ModelFieldInfo",
    "Timestamp",
    "WireEnum",
    "WireModel",
    "as_validation_error",
]

_ENUM_LOOKUP = enum.Enum.__new__.__code__


class WireEnum(enum.StrEnum):
    """A ``StrEnum`` whose values outside the enum decode as plain strings."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        # msgspec asks _missing_ about a value outside the enum and keeps whatever it returns,
        # so an unknown wire string stays a plain str at no cost to known values. Enum's own
        # lookup (Side("x")) also calls _missing_ and must keep raising ValueError: it is
        # recognised by the calling frame.
        if isinstance(value, str) and sys._getframe(1).f_code is not _ENUM_LOOKUP:
            return value
        return None


_Member = TypeVar("_Member", bound=WireEnum)
MAX_UNIX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last datetime


class _UnixMs:
    """Marks a timestamp field: stored as given, read as a ``datetime``."""


if TYPE_CHECKING:
    Lenient: TypeAlias = _Member | str
    Timestamp: TypeAlias = datetime
    Int64: TypeAlias = int
else:

    class Lenient:
        """``Lenient[Side]``: a ``Side`` member, or the plain ``str`` the enum does not know."""

        def __class_getitem__(cls, member_type: type[_Member]) -> type[_Member]:
            return member_type

    Timestamp = Annotated[Annotated[int, msgspec.Meta(ge=0, le=MAX_UNIX_MS)] | datetime, _UnixMs()]
    Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# pydantic reads an int timestamp as seconds up to this magnitude and as milliseconds above.
_SECONDS_LIMIT = 20_000_000_000
# Below this many ms (year 2096) ms / 1000 is a float within 0.25 us of the exact instant,
# so fromtimestamp (which rounds to the microsecond) is exact and three times faster.
_FLOAT_EXACT_MS = 4_000_000_000_000
_from_posix = datetime.fromtimestamp


def _datetime_from(value: int) -> datetime:
    if _SECONDS_LIMIT < value < _FLOAT_EXACT_MS:
        return _from_posix(value / 1000, UTC)
    if -_SECONDS_LIMIT <= value <= _SECONDS_LIMIT:
        return _EPOCH + timedelta(seconds=value)
    return _EPOCH + timedelta(milliseconds=value)


class _TimestampAttribute:
    """Replaces a timestamp field's slot attribute: the slot keeps the wire int, reads convert."""

    __slots__ = ("_get", "_set")

    def __init__(self, slot: Any) -> None:
        self._get = slot.__get__
        self._set = slot.__set__

    def __get__(self, model: object, owner: type | None = None) -> Any:
        if model is None:
            return self
        value = self._get(model, owner)
        if type(value) is int:
            return _datetime_from(value)
        return value  # None, or a datetime given by the user or parsed from ISO 8601

    def __set__(self, model: object, value: object) -> None:
        self._set(model, value)


def _is_timestamp(annotation: object) -> bool:
    if any(isinstance(meta, _UnixMs) for meta in getattr(annotation, "__metadata__", ())):
        return True
    return any(_is_timestamp(arg) for arg in getattr(annotation, "__args__", ()))


class ModelFieldInfo(msgspec.Struct, frozen=True):
    """What ``Model.model_fields`` says about one field (the parts of pydantic's FieldInfo)."""

    annotation: Any
    alias: str
    default: Any = None
    required: bool = False

    def is_required(self) -> bool:
        return self.required


class _Field(msgspec.Struct, frozen=True):
    name: str
    alias: str
    default: Any
    has_default: bool


class _ModelMeta(msgspec.StructMeta):
    """Validates keyword construction and records what the shared methods need per model."""

    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **config: Any
    ) -> _ModelMeta:
        cls = super().__new__(mcls, name, bases, namespace, **config)
        fields = msgspec.structs.fields(cls)  # type: ignore[arg-type]
        order = namespace.get("_field_order")
        if order is not None:
            by_name = {info.name: info for info in fields}
            if sorted(order) != sorted(by_name):
                raise TypeError(f"{name}._field_order must list every field exactly once")
            fields = tuple(by_name[field_name] for field_name in order)
        keys: dict[str, str] = {}
        for info in fields:
            keys[info.name] = info.encode_name
        for info in fields:
            if keys.setdefault(info.encode_name, info.encode_name) != info.encode_name:
                raise TypeError(f"{name}: wire key {info.encode_name!r} is another field's name")
        model_fields: dict[str, ModelFieldInfo] = {}
        for info in fields:
            annotation = info.type
            if _is_timestamp(annotation):
                setattr(cls, info.name, _TimestampAttribute(cls.__dict__[info.name]))
                annotation = datetime if info.required else datetime | None
            default = None if info.default is msgspec.NODEFAULT else info.default
            model_fields[info.name] = ModelFieldInfo(
                annotation, info.encode_name, default, info.required
            )
        cls._wire_keys = keys  # type: ignore[attr-defined]
        cls._fields = tuple(  # type: ignore[attr-defined]
            _Field(info.name, info.encode_name, info.default, not info.required) for info in fields
        )
        cls.model_fields = model_fields  # type: ignore[attr-defined]
        return cls

    def __call__(cls, /, **data: Any) -> Any:
        # Keyword construction validates like pydantic's; decoding never comes through here.
        return cls.model_validate(data)  # type: ignore[attr-defined]


_Model = TypeVar("_Model", bound="WireModel")
_Filter: TypeAlias = AbstractSet[int | str] | Mapping[int | str, Any] | None
_PATH = re.compile(r" - at `(?P<path>\$[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<key>[^`]+)`")


def as_validation_error(exc: Exception, model: str) -> ValidationError:
    """Turn a msgspec or UTF-8 decoding error into a ValidationError naming the field."""
    if isinstance(exc, UnicodeError):
        return ValidationError(f"invalid {model}: frame is not valid UTF-8 ({exc})")
    message = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        return ValidationError(f"invalid {model}: not valid JSON ({message})")
    match = _PATH.search(message)
    path = match["path"] if match else "$"
    if not match:
        message = f"{message} - at `$`"
    missing = _MISSING.match(message)
    if missing:
        path = f"{path}.{missing['key']}"
    return ValidationError(f"invalid {model}: {message}", field=path)


def _iso(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _as_filter(spec: Any) -> dict[Any, Any] | None:
    if spec is None or spec is True or spec is Ellipsis:
        return None
    if isinstance(spec, Mapping):
        return dict(spec)
    if isinstance(spec, Iterable) and not isinstance(spec, str | bytes):
        return dict.fromkeys(spec, True)
    raise TypeError(f"include/exclude must be a set or a dict of field names, got {spec!r}")


def _nested(spec: dict[Any, Any] | None, key: Any) -> Any:
    if spec is None:
        return None
    return spec.get(key, spec.get("__all__"))


class _Dump(msgspec.Struct, frozen=True):
    json: bool
    by_alias: bool
    exclude_none: bool
    exclude_unset: bool
    exclude_defaults: bool

    def model(self, model: WireModel, include: Any, exclude: Any) -> dict[str, Any]:
        include, exclude = _as_filter(include), _as_filter(exclude)
        out: dict[str, Any] = {}
        for field in model._fields:
            name = field.name
            if include is not None and name not in include and "__all__" not in include:
                continue
            sub_exclude = _nested(exclude, name)
            if sub_exclude is True or sub_exclude is Ellipsis:
                continue
            value = getattr(model, name)
            if value is None and self.exclude_none:
                continue
            if (
                (self.exclude_defaults or self.exclude_unset)
                and field.has_default
                and value == field.default
            ):
                continue
            key = field.alias if self.by_alias else name
            out[key] = self.value(value, _nested(include, name), sub_exclude)
        return out

    def value(self, value: Any, include: Any, exclude: Any) -> Any:
        if isinstance(value, WireModel):
            return self.model(value, include, exclude)
        if isinstance(value, list):
            return self.items(value, _as_filter(include), _as_filter(exclude))
        if self.json:
            if isinstance(value, datetime):
                return _iso(value)
            if isinstance(value, enum.Enum):
                return value.value
        return value

    def items(self, values: list[Any], include: Any, exclude: Any) -> list[Any]:
        out = []
        for index, item in enumerate(values):
            if include is not None and index not in include and "__all__" not in include:
                continue
            sub_exclude = _nested(exclude, index)
            if sub_exclude is True or sub_exclude is Ellipsis:
                continue
            out.append(self.value(item, _nested(include, index), sub_exclude))
        return out


class WireModel(msgspec.Struct, metaclass=_ModelMeta, gc=False):
    """Base of every model: declarations in subclasses, the pydantic-shaped surface here.

    Subclasses pass ``kw_only=True``: construction is by keyword only, as in pydantic.

    ``gc=False``: decoded frames hold only strings, numbers and other models, never cycles,
    so they need not be tracked by the garbage collector.
    """

    model_fields: ClassVar[dict[str, ModelFieldInfo]]
    # Declaration order is the order the decoder expects keys in; a model whose frames list
    # keys in another order than its documented fields names the documented order here, for
    # model_fields, model_dump and repr.
    _field_order: ClassVar[tuple[str, ...] | None] = None
    _fields: ClassVar[tuple[_Field, ...]]
    _wire_keys: ClassVar[dict[str, str]]
    _json_decoder: ClassVar[msgspec.json.Decoder[Any] | None] = None
    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value: unhashable

    @classmethod
    def model_validate(cls: type[_Model], obj: Any) -> _Model:
        """Build from a mapping keyed by wire keys or field names (or return an instance)."""
        if isinstance(obj, cls):
            return obj
        if not isinstance(obj, Mapping):
            raise ValidationError(
                f"invalid {cls.__name__}: expected a mapping, got {type(obj).__name__}", field="$"
            )
        keys = cls._wire_keys
        data = {keys.get(key, key): value for key, value in obj.items()}
        try:
            return msgspec.convert(data, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise as_validation_error(exc, cls.__name__) from None

    @classmethod
    def model_validate_json(cls: type[_Model], data: str | bytes | bytearray) -> _Model:
        """Decode one JSON document with wire keys."""
        decoder = cls.__dict__.get("_json_decoder")
        if decoder is None:
            decoder = msgspec.json.Decoder(cls)
            cls._json_decoder = decoder
        try:
            return decoder.decode(data)  # type: ignore[no-any-return]
        except (msgspec.DecodeError, UnicodeError) as exc:
            raise as_validation_error(exc, cls.__name__) from None

    @property
    def model_fields_set(self) -> set[str]:
        """Required fields plus those not at their default (see the module note)."""
        return {
            field.name
            for field in self._fields
            if not field.has_default or getattr(self, field.name) is not field.default
        }

    def model_dump(
        self,
        *,
        mode: Literal["python", "json"] | str = "python",
        include: _Filter = None,
        exclude: _Filter = None,
        by_alias: bool = False,
        exclude_none: bool = False,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
    ) -> dict[str, Any]:
        """A dict of field names (wire keys with ``by_alias``) to values, nested models too.

        ``mode="python"`` keeps ``datetime`` and enum members; ``mode="json"`` gives JSON-ready
        values (ISO 8601 strings, enum values).
        """
        if mode not in ("python", "json"):
            raise ValueError(f"mode must be 'python' or 'json', got {mode!r}")
        dump = _Dump(mode == "json", by_alias, exclude_none, exclude_unset, exclude_defaults)
        return dump.model(self, include, exclude)

    def model_dump_json(
        self,
        *,
        indent: int | None = None,
        include: _Filter = None,
        exclude: _Filter = None,
        by_alias: bool = False,
        exclude_none: bool = False,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
    ) -> str:
        """``model_dump(mode="json", ...)`` as JSON text, compact unless ``indent`` is given."""
        data = self.model_dump(
            mode="json",
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_none=exclude_none,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
        )
        text = msgspec.json.encode(data)
        if indent is not None:
            text = msgspec.json.format(text, indent=indent)
        return text.decode()

    def model_copy(
        self: _Model, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> _Model:
        """A copy with ``update`` (field names) applied unvalidated, as pydantic does."""
        source = self
        if deep:
            import copy

            source = copy.deepcopy(self)
        return msgspec.structs.replace(source, **(update or {}))

    def __eq__(self, other: object) -> bool:
        # Compared through the attributes, so a timestamp given as Unix ms equals the same
        # instant given as a datetime.
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(
            getattr(self, field.name) == getattr(other, field.name) for field in self._fields
        )

    def __repr__(self) -> str:
        shown = (
            f"{field.name}={getattr(self, field.name)!r}"
            for field in self._fields
            if not (field.has_default and getattr(self, field.name) is None)
        )
        return f"{type(self).__name__}({', '.join(shown)})"
