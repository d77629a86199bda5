"""The one base every wire model shares: msgspec speed behind a pydantic-shaped surface.

Models are msgspec Structs that only declare fields, types and wire keys. This module gives
them what users of the pydantic original call (``model_validate``, ``model_dump``,
``model_json_schema``, ...) and the rules the original applies, at msgspec's cost:

- **Enums.** Enum fields decode natively, and a value outside the enum stays a plain ``str``
  (:class:`WireEnum`, annotated ``Lenient[Side]``; ``Lenient[Literal[...]]`` for a ``str``
  whose values a ``Literal`` names). Keyword construction (``Subscription(channel="nope")``)
  and ``strict=True`` refuse such a value, as the original does; decoding keeps it.
- **Timestamps** are stored as the wire gave them and become a UTC ``datetime`` when the
  attribute is read (:data:`Timestamp`), so decoding never builds a ``datetime``. The reading
  is the original's: ``int(value)`` milliseconds (an int; a float, truncated; an integer
  text; a bool), through ``datetime.fromtimestamp(ms / 1000, UTC)``. A value whose instant
  falls outside years 1 to 9999 is refused while decoding.
- **Wire keys** play the part of the original's aliases, chosen per model by the class
  keyword ``wire_keys``: a *validation* alias for the models of frames (the default; input
  takes the wire key, not the field name, and ``by_alias`` dumps still use field names), a
  *serialization* alias for :class:`~maicoin.ws.request.Request` (input takes ``api_key``;
  ``by_alias`` dumps and the wire say ``apiKey``).
- Any bad input raises :class:`~maicoin.ws.errors.ValidationError` naming the field.

``exclude_unset`` is an approximation: the wire decoder cannot tell which keys a frame
carried without slowing every frame down, so a field counts as *set* when it is required or
its value differs from its default (``None``). It differs from pydantic only for a key given
explicitly with its default value (``"ci": null``, ``market=None``).
"""

from __future__ import annotations

import copy
import enum
import operator
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import reduce
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Final,
    Literal,
    TypeAlias,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

import msgspec

from .errors import ValidationError

__all__ = [
    "DECODE_FAILURES",
    "MAX_UNIX_MS",
    "MIN_UNIX_MS",
    "Int64",
    "Lenient",
    "ModelFieldInfo",
    "Timestamp",
    "WireEnum",
    "WireModel",
    "as_validation_error",
    "mask",
    "unix_ms_reader",
    "wire_slot",
]

_ENUM_LOOKUP = enum.Enum.__new__.__code__
# Set while a value outside an enum or Literal must be refused (keyword construction,
# strict=True); a context variable, so a decoder running meanwhile in another thread or task
# stays lenient.
_STRICT_VALUES: ContextVar[bool] = ContextVar("maicoin_ws_strict_values", default=False)


class WireEnum(enum.StrEnum):
    """A ``StrEnum`` whose values outside the enum decode as plain strings."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        # msgspec asks _missing_ about a value outside the enum and keeps whatever it returns,
        # so an unknown wire string stays a plain str at no cost to known values. Enum's own
        # lookup (Side("x")) also calls _missing_ and must keep raising ValueError: it is
        # recognised by the calling frame.
        if (
            isinstance(value, str)
            and not _STRICT_VALUES.get()
            and sys._getframe(1).f_code is not _ENUM_LOOKUP
        ):
            return value
        return None


_T = TypeVar("_T")
MIN_UNIX_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z, the first datetime
MAX_UNIX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last


def _digits_at_most(limit: int) -> str:
    """A regex for digit text that ``int()`` reads as at most ``limit`` (two digits or more).

    Leading zeros and single ``_`` between digits are allowed, as ``int()`` allows them. With
    fewer digits than ``limit`` any decimal digit goes; with as many, ASCII digits are compared
    with the limit's, digit by digit.
    """
    text = str(limit)
    shorter = rf"\d(?:_?\d){{0,{len(text) - 2}}}"
    smaller_at = [
        "_?".join([*text[:i], f"[0-{int(digit) - 1}]"]) + rf"(?:_?\d){{{len(text) - i - 1}}}"
        for i, digit in enumerate(text)
        if digit != "0"
    ]
    return rf"(?:0_?)*(?:{'|'.join([shorter, *smaller_at, '_?'.join(text)])})"


# A timestamp given as text: what int() reads as Unix ms within MIN_UNIX_MS..MAX_UNIX_MS.
UNIX_MS_TEXT = rf"\A\s*(?:\+?{_digits_at_most(MAX_UNIX_MS)}|-{_digits_at_most(-MIN_UNIX_MS)})\s*\Z"


class _UnixMs:
    """Marks a timestamp field: stored as given, read as a ``datetime``."""


class _Choices:
    """Marks a ``str`` field whose values a ``Literal`` names (``Lenient[Literal[...]]``)."""

    __slots__ = ("values",)

    def __init__(self, values: tuple[str, ...]) -> None:
        self.values = values


if TYPE_CHECKING:
    Lenient: TypeAlias = _T | str
    Timestamp: TypeAlias = datetime
    Int64: TypeAlias = int
else:

    class Lenient:
        """``Lenient[Side]``: a ``Side`` member, or the plain ``str`` the enum does not know.

        ``Lenient[Literal["1m", "5m"]]``: a ``str``, one of those when built by keywords.
        """

        def __class_getitem__(cls, choices: Any) -> Any:
            if get_origin(choices) is Literal:
                return Annotated[str, _Choices(get_args(choices))]
            return choices

    # Each form the original's int() reads; the bounds keep the instant within years 1..9999.
    Timestamp = Annotated[
        Annotated[int, msgspec.Meta(ge=MIN_UNIX_MS, le=MAX_UNIX_MS)]
        | Annotated[float, msgspec.Meta(gt=MIN_UNIX_MS - 1, lt=MAX_UNIX_MS + 1)]
        | Annotated[str, msgspec.Meta(pattern=UNIX_MS_TEXT)]
        | bool,
        _UnixMs(),
    ]
    Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]

_from_posix = datetime.fromtimestamp


def datetime_from_unix_ms(value: int | float | str) -> datetime:
    """A timestamp as the original reads it: ``int(value)`` Unix ms, as UTC.

    Through seconds as a float, as the original computes them, so the two agree to the
    microsecond even where the float rounds (``253402300799999`` reads ``.998993``).
    """
    return _from_posix(int(value) / 1000, UTC)


class _TimestampAttribute:
    # Replaces a timestamp field's slot attribute: the slot keeps the wire value, reads convert.

    __slots__ = ("_get", "_set", "wire")

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        """What documentation tools show for the field (a data descriptor's ``__doc__``)."""
        return "A timestamp: kept as the Unix ms value received, read as a UTC ``datetime``."

    def __init__(self, slot: Any) -> None:
        self._get = slot.__get__
        self._set = slot.__set__
        self.wire = slot  # the slot itself, for readers of the wire value (``wire_slot``)

    def __get__(self, model: object, owner: type | None = None) -> Any:
        if model is None:
            return self
        value = self._get(model, owner)
        if type(value) is int:  # the wire's form: datetime_from_unix_ms, without the call
            return _from_posix(value / 1000, UTC)
        if value is None or isinstance(value, datetime):
            return value  # unset, or a datetime assigned or given to model_construct/model_copy
        return datetime_from_unix_ms(value)

    def __set__(self, model: object, value: object) -> None:
        self._set(model, value)

    def unix_ms(self, model: object) -> int | None:
        """The timestamp as ``int`` Unix ms (None when unset), without building a datetime."""
        value = self._get(model, None)
        if type(value) is int or value is None:
            return value
        if isinstance(value, datetime):
            return round(value.timestamp() * 1000)
        return int(value)


def _timestamp_attribute(model: type, name: str) -> _TimestampAttribute:
    attribute = model.__dict__.get(name)
    if not isinstance(attribute, _TimestampAttribute):
        raise TypeError(f"{model.__name__}.{name} is not a timestamp field")
    return attribute


def unix_ms_reader(model: type, name: str) -> Callable[[Any], int | None]:
    """A reader of the timestamp field ``name`` of ``model`` as ``int`` Unix ms (None when
    unset): the comparison a cache needs, at a fraction of the ``datetime`` attribute's cost."""
    return _timestamp_attribute(model, name).unix_ms


def wire_slot(model: type, field: str) -> Any:
    """The slot that keeps a timestamp field's wire value (the Unix ms as received):
    ``slot.__get__(instance, model)`` reads it without building a ``datetime``."""
    return _timestamp_attribute(model, field).wire


def _marker(annotation: object, kind: type[_T]) -> _T | None:
    """The first ``Annotated`` marker of ``kind`` within ``annotation``."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, kind):
            return meta
    for arg in get_args(annotation):
        found = _marker(arg, kind)
        if found is not None:
            return found
    return None


def _public_annotation(annotation: Any) -> Any:
    """The type the original declares: ``datetime``, ``Side``, ``Literal[...]``, ``int``."""
    if get_origin(annotation) is Annotated:
        if _marker(annotation, _UnixMs) is not None:
            return datetime
        choices = _marker(annotation, _Choices)
        if choices is not None:
            return Literal[choices.values]
        return _public_annotation(get_args(annotation)[0])
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return reduce(operator.or_, map(_public_annotation, get_args(annotation)))
    if origin is list:
        return list[_public_annotation(get_args(annotation)[0])]  # type: ignore[misc]
    return annotation


def _model_within(annotation: object) -> Any:
    """The model class a field holds (alone, in a list or optional), or None."""
    if isinstance(annotation, _ModelMeta):
        return annotation
    for arg in get_args(annotation):
        found = _model_within(arg)
        if found is not None:
            return found
    return None


class ModelFieldInfo(msgspec.Struct, frozen=True):
    """What ``Model.model_fields`` says about one field, shaped like pydantic's ``FieldInfo``.

    As in the original, a frame model's wire key is its ``validation_alias`` and a request's
    its ``serialization_alias``; ``alias`` (pydantic's alias for both ways) is never set.
    ``default`` is ``msgspec.NODEFAULT`` for a required field.
    """

    annotation: Any
    default: Any = msgspec.NODEFAULT
    alias: str | None = None
    validation_alias: str | None = None
    serialization_alias: str | None = None
    title: str | None = None
    description: str | None = None

    def is_required(self) -> bool:
        """True when the field has no default."""
        return self.default is msgspec.NODEFAULT


class _Field(msgspec.Struct, frozen=True):
    name: str
    wire: str  # msgspec's key, for decoding and encoding
    default: Any
    has_default: bool
    input_alias: str | None  # the original's validation alias: taken instead of the name
    output_alias: str | None  # the original's serialization alias: what by_alias dumps
    model: Any  # the WireModel class the field holds, or None
    choices: tuple[str, ...] | None

    def input_keys(self, by_alias: bool, by_name: bool) -> tuple[str, ...]:
        """The keys input may give this field under, best first (pydantic's by_alias/by_name)."""
        if self.input_alias is None:
            return (self.name,)
        keys: tuple[str, ...] = ()
        if by_alias:
            keys += (self.input_alias,)
        if by_name:
            keys += (self.name,)
        return keys


WireKeys: TypeAlias = Literal["validation_alias", "serialization_alias"]


class _ModelMeta(msgspec.StructMeta):
    """Validates keyword construction and records what the shared methods need per model."""

    def __new__(
        mcls,
        name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        *,
        wire_keys: WireKeys = "validation_alias",
        **config: Any,
    ) -> _ModelMeta:
        cls = super().__new__(mcls, name, bases, namespace, **config)
        fields = msgspec.structs.fields(cls)  # type: ignore[arg-type]
        order = namespace.get("_field_order")
        if order is not None:
            by_name = {info.name: info for info in fields}
            if sorted(order) != sorted(by_name):
                raise TypeError(f"{name}._field_order must list every field exactly once")
            fields = tuple(by_name[field_name] for field_name in order)
        names = {info.name for info in fields}
        for info in fields:
            if info.encode_name != info.name and info.encode_name in names:
                raise TypeError(f"{name}: wire key {info.encode_name!r} is another field's name")
        own: list[_Field] = []
        model_fields: dict[str, ModelFieldInfo] = {}
        for info in fields:
            if _marker(info.type, _UnixMs) is not None:
                setattr(cls, info.name, _TimestampAttribute(cls.__dict__[info.name]))
            alias = info.encode_name if info.encode_name != info.name else None
            choices = _marker(info.type, _Choices)
            field = _Field(
                name=info.name,
                wire=info.encode_name,
                default=info.default,
                has_default=not info.required,
                input_alias=alias if wire_keys == "validation_alias" else None,
                output_alias=alias if wire_keys == "serialization_alias" else None,
                model=_model_within(info.type),
                choices=None if choices is None else choices.values,
            )
            own.append(field)
            model_fields[info.name] = ModelFieldInfo(
                annotation=_public_annotation(info.type),
                default=info.default,
                validation_alias=field.input_alias,
                serialization_alias=field.output_alias,
            )
        cls._fields = tuple(own)  # type: ignore[attr-defined]
        # Input msgspec reads as it is: every key taken by default is the wire key, all down.
        cls._native_input = all(  # type: ignore[attr-defined]
            (f.input_alias or f.name) == f.wire and (f.model is None or f.model._native_input)
            for f in own
        )
        # The fields keyword construction and strict=True must look into for Literal values.
        cls._choice_fields = tuple(  # type: ignore[attr-defined]
            f for f in own if f.choices is not None or (f.model and f.model._choice_fields)
        )
        cls._json_decoders = {}  # type: ignore[attr-defined]
        cls.model_fields = model_fields  # type: ignore[attr-defined]
        return cls

    def __call__(cls, /, **data: Any) -> Any:
        # Keyword construction validates like the original's __init__, refusing a value outside
        # an enum or Literal; decoding never comes through here.
        return cls._validate(data, strict_types=False, strict_values=True)  # type: ignore[attr-defined]

    def _construct(cls, values: Mapping[str, Any]) -> Any:
        """An instance from field names to values, unvalidated (msgspec's own constructor)."""
        return super().__call__(**values)


_Model = TypeVar("_Model", bound="WireModel")
_Filter: TypeAlias = AbstractSet[int | str] | Mapping[int | str, Any] | None
_PATH = re.compile(r" - at `(?P<path>\$[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<key>[^`]+)`")
_ABSENT: Any = object()
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


DECODE_FAILURES: Final = (msgspec.DecodeError, UnicodeError, RecursionError)
"""What decoding JSON text raises for a bad document: msgspec's errors (``ValidationError``
included), bytes that are not UTF-8 and nesting deeper than the interpreter's stack allows."""


def mask(secret: object) -> str:
    """A secret shortened for logs and reprs: its first four characters, then an ellipsis."""
    text = str(secret)
    return repr(text[:4] + "…") if len(text) > 4 else "'…'"


class _Masked:
    """Stands for a secret in a repr: shows what :func:`mask` shows."""

    __slots__ = ("_text",)

    def __init__(self, secret: object) -> None:
        self._text = mask(secret)

    def __repr__(self) -> str:
        return self._text


def as_validation_error(exc: Exception, model: str) -> ValidationError:
    """Turn a msgspec, UTF-8 or nesting-depth decoding error into a ValidationError naming
    the field."""
    if isinstance(exc, UnicodeError):
        return ValidationError(f"invalid {model}: frame is not valid UTF-8 ({exc})")
    if isinstance(exc, RecursionError):
        return ValidationError(
            f"invalid {model}: JSON nests too deeply to decode ({exc})", field="$"
        )
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


def _key_policy(by_alias: bool | None, by_name: bool | None) -> tuple[bool, bool]:
    policy = (by_alias is not False, bool(by_name))
    if policy == (False, False):
        raise ValueError("by_alias=False needs by_name=True: a field must be taken by some key")
    return policy


def _is_attribute_source(value: object) -> bool:
    """Whether ``from_attributes`` reads ``value`` as a model's fields."""
    return value is not None and not isinstance(
        value, str | bytes | int | float | list | tuple | Mapping | WireModel
    )


def _reader(source: Any) -> Callable[[str], Any]:
    """Reads a key of a mapping, or an attribute of any other object; ``_ABSENT`` if missing."""
    if isinstance(source, Mapping):
        return lambda key: source.get(key, _ABSENT)
    return lambda key: getattr(source, key, _ABSENT)


def _iso(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _ascii_escape(match: re.Match[str]) -> str:
    units = match[0].encode("utf-16-be")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


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
    fallback: Callable[[Any], Any] | None

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
            key = field.output_alias or name if self.by_alias else name
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
            # Only a value put in by model_construct or assignment can lack a JSON form.
            if self.fallback is not None and not isinstance(value, str | int | float | None):
                return self.fallback(value)
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
    _native_input: ClassVar[bool]
    _choice_fields: ClassVar[tuple[_Field, ...]]
    _json_decoders: ClassVar[dict[bool, msgspec.json.Decoder[Any]]]
    # Fields whose values repr (and str, and rich) show masked: model_dump, encoding and the
    # wire keep them whole.
    _secret_fields: ClassVar[frozenset[str]] = frozenset()
    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value: unhashable

    @classmethod
    def model_validate(
        cls: type[_Model],
        obj: Any,
        *,
        strict: bool | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> _Model:
        """Build from a mapping keyed as the original's model is (or return an instance).

        A frame model takes wire keys (``by_name=True``: field names too), a request field
        names; unknown keys are ignored. ``from_attributes=True`` reads any object's attributes
        under the same keys. ``strict=True`` refuses type coercions (``"5"`` for an int) and
        values outside an enum. ``context`` is accepted and unused: no validator reads it.
        """
        if isinstance(obj, cls):
            return obj
        return cls._validate(
            obj,
            strict_types=bool(strict),
            strict_values=bool(strict),
            from_attributes=bool(from_attributes),
            by_alias=by_alias,
            by_name=by_name,
        )

    @classmethod
    def _validate(
        cls: type[_Model],
        obj: Any,
        *,
        strict_types: bool,
        strict_values: bool,
        from_attributes: bool = False,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> _Model:
        policy = _key_policy(by_alias, by_name)
        if not isinstance(obj, Mapping) and not (from_attributes and _is_attribute_source(obj)):
            raise ValidationError(
                f"invalid {cls.__name__}: expected a mapping, got {type(obj).__name__}", field="$"
            )
        if cls._native_input and policy == (True, False) and not from_attributes:
            data = obj if type(obj) is dict else dict(obj)
        else:
            data = cls._wire_input(obj, policy, from_attributes)
        token = _STRICT_VALUES.set(strict_values)
        try:
            model = msgspec.convert(data, cls, strict=strict_types)
        except (msgspec.ValidationError, RecursionError) as exc:
            raise as_validation_error(exc, cls.__name__) from None
        finally:
            _STRICT_VALUES.reset(token)
        if strict_values:
            model._check_choices(cls.__name__, "$")
        return model

    @classmethod
    def _wire_input(
        cls, source: Any, policy: tuple[bool, bool], from_attributes: bool
    ) -> dict[str, Any]:
        """``source`` keyed by wire keys, nested models too, read under the keys ``policy``
        takes."""
        read = _reader(source)
        data: dict[str, Any] = {}
        for field in cls._fields:
            for key in field.input_keys(*policy):
                value = read(key)
                if value is not _ABSENT:
                    if field.model is not None:
                        value = field.model._nested_input(value, policy, from_attributes)
                    data[field.wire] = value
                    break
        return data

    @classmethod
    def _nested_input(cls, value: Any, policy: tuple[bool, bool], from_attributes: bool) -> Any:
        if isinstance(value, list | tuple):
            return [cls._nested_input(item, policy, from_attributes) for item in value]
        if isinstance(value, Mapping) or (from_attributes and _is_attribute_source(value)):
            return cls._wire_input(value, policy, from_attributes)
        return value  # an instance, None, or what msgspec refuses naming the field

    def _check_choices(self, model: str, path: str) -> None:
        """Refuse a value outside its Literal, here or in a nested model."""
        for field in self._choice_fields:
            value = getattr(self, field.name)
            where = f"{path}.{field.wire}"
            if field.choices is not None:
                if value is not None and value not in field.choices:
                    expected = ", ".join(map(repr, field.choices))
                    message = f"Expected one of {expected}, got {value!r} - at `{where}`"
                    raise ValidationError(f"invalid {model}: {message}", field=where)
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    item._check_choices(model, f"{where}[{index}]")
            elif value is not None:
                value._check_choices(model, where)

    @classmethod
    def model_validate_json(
        cls: type[_Model],
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> _Model:
        """Decode one JSON document keyed as :meth:`model_validate` takes it.

        Numbers given as text are read as numbers, as pydantic reads JSON, unless ``strict``.
        """
        if not cls._native_input or _key_policy(by_alias, by_name) != (True, False):
            try:
                obj = msgspec.json.decode(json_data)
            except DECODE_FAILURES as exc:
                raise as_validation_error(exc, cls.__name__) from None
            return cls._validate(
                obj,
                strict_types=bool(strict),
                strict_values=bool(strict),
                by_alias=by_alias,
                by_name=by_name,
            )
        decoder = cls._json_decoders.get(bool(strict))
        if decoder is None:
            decoder = cls._json_decoders[bool(strict)] = msgspec.json.Decoder(
                cls, strict=bool(strict)
            )
        token = _STRICT_VALUES.set(bool(strict))
        try:
            model: _Model = decoder.decode(json_data)
        except DECODE_FAILURES as exc:
            raise as_validation_error(exc, cls.__name__) from None
        finally:
            _STRICT_VALUES.reset(token)
        if strict:
            model._check_choices(cls.__name__, "$")
        return model

    @classmethod
    def model_construct(
        cls: type[_Model], _fields_set: set[str] | None = None, **values: Any
    ) -> _Model:
        """Build from trusted values without validation, as pydantic's ``model_construct``.

        Values go by field name or by the key input takes; fields left out get their default;
        unknown keys are ignored. ``_fields_set`` is accepted and unused: ``model_fields_set``
        follows the values (see the module note).
        """
        data: dict[str, Any] = {}
        for field in cls._fields:
            for key in field.input_keys(True, True):
                if key in values:
                    data[field.name] = values[key]
                    break
        return cls._construct(data)  # type: ignore[no-any-return]

    @classmethod
    def model_json_schema(
        cls,
        by_alias: bool | None = None,
        ref_template: str = "#/$defs/{model}",
        mode: Literal["validation", "serialization"] = "validation",
    ) -> dict[str, Any]:
        """The JSON Schema pydantic gives the original's model: titles, keys, ``$defs``.

        Keys follow ``mode`` and ``by_alias`` as in pydantic (a frame model's wire keys for
        validation, field names for serialization); timestamps show as ``date-time`` strings.
        """
        from ._json_schema import model_json_schema

        return model_json_schema(
            cls, by_alias=by_alias is not False, ref_template=ref_template, mode=mode
        )

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
        context: Any | None = None,
        by_alias: bool | None = None,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        exclude_computed_fields: bool = False,
        round_trip: bool = False,
        warnings: bool | Literal["none", "warn", "error"] = True,
        fallback: Callable[[Any], Any] | None = None,
        serialize_as_any: bool = False,
        polymorphic_serialization: bool | None = None,
    ) -> dict[str, Any]:
        """A dict of field names to values, nested models too, as the original's.

        ``mode="python"`` keeps ``datetime`` and enum members; ``mode="json"`` gives JSON-ready
        values (ISO 8601 strings, enum values), calling ``fallback`` for a value with no JSON
        form. ``by_alias`` uses the original's serialization aliases: a request's ``apiKey``;
        frame models have none. ``context``, ``exclude_computed_fields``, ``round_trip``,
        ``warnings``, ``serialize_as_any`` and ``polymorphic_serialization`` are accepted and
        change nothing here: these models have no serializers, computed fields or subclasses.
        """
        if mode not in ("python", "json"):
            raise ValueError(f"mode must be 'python' or 'json', got {mode!r}")
        dump = _Dump(
            mode == "json",
            bool(by_alias),
            exclude_none,
            exclude_unset,
            exclude_defaults,
            fallback,
        )
        return dump.model(self, include, exclude)

    def model_dump_json(
        self,
        *,
        indent: int | None = None,
        ensure_ascii: bool = False,
        include: _Filter = None,
        exclude: _Filter = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        exclude_computed_fields: bool = False,
        round_trip: bool = False,
        warnings: bool | Literal["none", "warn", "error"] = True,
        fallback: Callable[[Any], Any] | None = None,
        serialize_as_any: bool = False,
        polymorphic_serialization: bool | None = None,
    ) -> str:
        """``model_dump(mode="json", ...)`` as JSON text, compact unless ``indent`` is given.

        ``ensure_ascii`` escapes every non-ASCII character (``\\u00e9``), as pydantic does.
        """
        data = self.model_dump(
            mode="json",
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            fallback=fallback,
        )
        raw = msgspec.json.encode(data)
        if indent is not None:
            raw = msgspec.json.format(raw, indent=indent)
        text = raw.decode()
        return _NON_ASCII.sub(_ascii_escape, text) if ensure_ascii else text

    def model_copy(
        self: _Model, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> _Model:
        """A copy with ``update`` (field names) applied unvalidated, as pydantic does."""
        source = copy.deepcopy(self) if deep else self
        # The stored values (timestamps as the wire gave them), not what the attributes read.
        values = {**msgspec.structs.asdict(source), **(update or {})}
        return type(self)._construct(values)  # type: ignore[no-any-return]

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling and deep copies restore the stored values as they are: msgspec's own
        # reduction would call the class, and keyword construction validates.
        return (_restore, (type(self), msgspec.structs.asdict(self)))

    def __eq__(self, other: object) -> bool:
        # Compared through the attributes, so a timestamp given as Unix ms equals the same
        # instant given as text or as a datetime.
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(
            getattr(self, field.name) == getattr(other, field.name) for field in self._fields
        )

    def _repr_items(self) -> Iterator[tuple[str, Any]]:
        """The fields a repr shows (unset optional ones left out), secrets masked."""
        secret = self._secret_fields
        for field in self._fields:
            value = getattr(self, field.name)
            if value is None and field.has_default:
                continue
            yield field.name, (_Masked(value) if field.name in secret else value)

    def __repr__(self) -> str:
        shown = (f"{name}={value!r}" for name, value in self._repr_items())
        return f"{type(self).__name__}({', '.join(shown)})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        # rich's pretty printer: msgspec's own would show every field as it is, secrets too.
        return list(self._repr_items())


def _restore(cls: _ModelMeta, values: dict[str, Any]) -> WireModel:
    """Unpickles a model: its stored values, unvalidated."""
    restored: WireModel = cls._construct(values)
    return restored
