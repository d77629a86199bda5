# Trade and ticker updates read in one pass from a frame's bytes (after _scan.pxi).
#
# Included by the compiled frame path, whose decode step offers each frame here first when
# it decodes with msgspec's own Response decoder. A third of the realistic stream is trades
# and tickers; msgspec builds them generically (a key search per key, a default filled per
# missing field of a 22-field Response). Here the plain shape of each is read by a scanner
# and built from prototypes: a copy of a Response (or Trade, or Ticker) with the frame's
# values put in their slots. The result equals what msgspec decodes from the same frame, with
# the same types; any other document (another channel or event, a key the shape has not, a
# key twice, an escape, a number that is not a plain integer, a T out of range) is declined
# with None, and the full decode reads it as before.

from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_FromLongLong

import msgspec

from maicoin.ws.channel import Channel
from maicoin.ws.response import Event, Response
from maicoin.ws.ticker import Ticker
from maicoin.ws.trade import Trade

cdef enum:
    _MAX_TRADES = 32  # more trades in one frame go through the full decode
    _TOP_C = 1
    _TOP_E = 2
    _TOP_M = 4
    _TOP_T = 8
    _TOP_TRADES = 16
    _TOP_TICKER = 32
    _TOP_REQUIRED = 1 | 2 | 4 | 8
    _TRADE_P = 1
    _TRADE_V = 2
    _TRADE_T = 4
    _TRADE_TR = 8
    _TRADE_REQUIRED = 1 | 2 | 4
    _TICKER_FIELDS = 7


cdef struct TradeItem:
    Span price
    Span volume
    Span trend  # start -1 when the trade has none
    int64_t created_at


cdef struct MarketFrame:
    unsigned int seen
    bint is_trade  # c is "trade" (else "ticker")
    Span market
    int64_t created_at
    Py_ssize_t trade_count
    TradeItem[_MAX_TRADES] trades
    Span[_TICKER_FIELDS] ticker  # M, O, H, L, C, v, V


cdef inline int ticker_key(char key) noexcept nogil:
    """The index of a one-character Ticker key in MarketFrame.ticker, or -1."""
    if key == c'M':
        return 0
    if key == c'O':
        return 1
    if key == c'H':
        return 2
    if key == c'L':
        return 3
    if key == c'C':
        return 4
    if key == c'v':
        return 5
    if key == c'V':
        return 6
    return -1


cdef Py_ssize_t trade_end(
    const char* s, Py_ssize_t i, Py_ssize_t n, TradeItem* trade
) noexcept nogil:
    """s[i] opens a public trade {p, v, T, tr}: read it, return the index past it, or -1."""
    cdef unsigned int seen = 0
    cdef unsigned int key
    cdef Span name
    cdef bint closed = False
    cdef Py_ssize_t length
    i = object_start(s, i, n)
    if i < 0:
        return -1
    trade.trend.start = -1
    while not closed:
        i = key_end(s, i, n, &name)
        if i < 0:
            return -1
        length = name.end - name.start
        if length == 1 and s[name.start] == c'p':
            key = _TRADE_P
            i = string_end(s, i, n, &trade.price)
        elif length == 1 and s[name.start] == c'v':
            key = _TRADE_V
            i = string_end(s, i, n, &trade.volume)
        elif length == 1 and s[name.start] == c'T':
            key = _TRADE_T
            i = plain_unix_ms_end(s, i, n, &trade.created_at)
        elif length == 2 and s[name.start] == c't' and s[name.start + 1] == c'r':
            key = _TRADE_TR
            i = string_end(s, i, n, &trade.trend)
        else:
            return -1
        if i < 0 or seen & key:
            return -1
        seen |= key
        i = member_end(s, i, n, &closed)
        if i < 0:
            return -1
    return i if seen & _TRADE_REQUIRED == _TRADE_REQUIRED else -1


cdef Py_ssize_t trades_end(
    const char* s, Py_ssize_t i, Py_ssize_t n, MarketFrame* frame
) noexcept nogil:
    """s[i] opens the array of trades: read each, return the index past it, or -1."""
    if i >= n or s[i] != c'[':
        return -1
    i = skip_space(s, i + 1)
    if i < n and s[i] == c']':
        return i + 1
    while True:
        if frame.trade_count == _MAX_TRADES:
            return -1
        i = trade_end(s, i, n, &frame.trades[frame.trade_count])
        if i < 0:
            return -1
        frame.trade_count += 1
        i = skip_space(s, i)
        if i < n and s[i] == c',':
            i = skip_space(s, i + 1)
        elif i < n and s[i] == c']':
            return i + 1
        else:
            return -1


cdef Py_ssize_t ticker_end(
    const char* s, Py_ssize_t i, Py_ssize_t n, MarketFrame* frame
) noexcept nogil:
    """s[i] opens a ticker {M, O, H, L, C, v, V}: read it, return the index past it, or -1."""
    cdef unsigned int seen = 0
    cdef int field
    cdef Span name
    cdef bint closed = False
    i = object_start(s, i, n)
    if i < 0:
        return -1
    while not closed:
        i = key_end(s, i, n, &name)
        if i < 0 or name.end - name.start != 1:
            return -1
        field = ticker_key(s[name.start])
        if field < 0 or seen & (1U << field):
            return -1
        seen |= 1U << field
        i = string_end(s, i, n, &frame.ticker[field])
        if i < 0:
            return -1
        i = member_end(s, i, n, &closed)
        if i < 0:
            return -1
    return i if seen == (1U << _TICKER_FIELDS) - 1 else -1


# A trade's and a ticker's first members as the exchange writes them (head_end).
cdef extern from *:
    """
    static const char trade_update_head[] = "{\\"c\\":\\"trade\\",\\"e\\":\\"update\\",\\"M\\":\\"";
    static const char ticker_update_head[] = "{\\"c\\":\\"ticker\\",\\"e\\":\\"update\\",\\"M\\":\\"";
    """
    const char[32] _TRADE_HEAD "trade_update_head"
    const char[33] _TICKER_HEAD "ticker_update_head"


cdef bint scan_market_update(const char* s, Py_ssize_t n, MarketFrame* frame) noexcept nogil:
    """Read a trade or ticker update of the plain shape into frame; False for any other."""
    cdef Py_ssize_t i
    cdef Py_ssize_t length
    cdef unsigned int key
    cdef Span name
    cdef Span value
    cdef bint closed = False
    frame.seen = 0
    frame.trade_count = 0
    frame.is_trade = False
    i = head_end(s, n, _TRADE_HEAD, sizeof(_TRADE_HEAD) - 1)
    if i >= 0:
        frame.is_trade = True
    else:
        i = head_end(s, n, _TICKER_HEAD, sizeof(_TICKER_HEAD) - 1)
    if i >= 0:
        # c, e and M's opening quote as the exchange writes them: the loop goes on after M.
        frame.seen = _TOP_C | _TOP_E | _TOP_M
        i = head_member_end(s, i, n, &frame.market, &closed)
    else:
        i = object_start(s, skip_space(s, 0), n)
    if i < 0:
        return False
    while not closed:
        i = key_end(s, i, n, &name)
        if i < 0:
            return False
        length = name.end - name.start
        key = 0
        if length == 1:
            if s[name.start] == c'c':
                key = _TOP_C
                i = string_end(s, i, n, &value)
                if i < 0:
                    return False
                if span_is(s, value.start, value.end, b"trade", 5):
                    frame.is_trade = True
                elif not span_is(s, value.start, value.end, b"ticker", 6):
                    return False
            elif s[name.start] == c'e':
                key = _TOP_E
                i = string_end(s, i, n, &value)
                if i < 0 or not span_is(s, value.start, value.end, b"update", 6):
                    return False
            elif s[name.start] == c'M':
                key = _TOP_M
                i = string_end(s, i, n, &frame.market)
            elif s[name.start] == c'T':
                key = _TOP_T
                i = plain_unix_ms_end(s, i, n, &frame.created_at)
            elif s[name.start] == c't':
                key = _TOP_TRADES
                i = trades_end(s, i, n, frame)
        elif length == 2 and s[name.start] == c't' and s[name.start + 1] == c'k':
            key = _TOP_TICKER
            i = ticker_end(s, i, n, frame)
        if key == 0 or i < 0 or frame.seen & key:
            return False  # another key, or one given twice: the full decode's business
        frame.seen |= key
        i = member_end(s, i, n, &closed)
        if i < 0:
            return False
    if skip_space(s, i) != n or frame.seen & _TOP_REQUIRED != _TOP_REQUIRED:
        return False
    # The payload of its channel, and only that one.
    if frame.is_trade:
        return frame.seen & (_TOP_TRADES | _TOP_TICKER) == _TOP_TRADES
    return frame.seen & (_TOP_TRADES | _TOP_TICKER) == _TOP_TICKER


cdef Py_ssize_t model_slot(object model, str name) except? -2:
    """The offset of a model field's slot (a timestamp's wire slot), or -1 if it has none."""
    descriptor = model.__dict__.get(name)
    if name == "created_at":
        descriptor = _scan_model.wire_slot(model, name)
    return -1 if descriptor is None else member_offset(descriptor)


cdef Py_ssize_t _R_MARKET = model_slot(Response, "market")
cdef Py_ssize_t _R_CREATED_AT = model_slot(Response, "created_at")
cdef Py_ssize_t _R_TRADES = model_slot(Response, "trades")
cdef Py_ssize_t _R_TICKER = model_slot(Response, "ticker")
cdef Py_ssize_t _T_PRICE = model_slot(Trade, "price")
cdef Py_ssize_t _T_VOLUME = model_slot(Trade, "volume")
cdef Py_ssize_t _T_CREATED_AT = model_slot(Trade, "created_at")
cdef Py_ssize_t _T_TREND = model_slot(Trade, "trend")
cdef Py_ssize_t[_TICKER_FIELDS] _TICKER_SLOTS
cdef bint MARKET_SLOTS_KNOWN = min(
    _R_MARKET, _R_CREATED_AT, _R_TRADES, _R_TICKER, _T_PRICE, _T_VOLUME, _T_CREATED_AT, _T_TREND
) >= 0
cdef int _field
for _field, _name in enumerate(Ticker.__struct_fields__):
    _TICKER_SLOTS[_field] = model_slot(Ticker, _name)
    MARKET_SLOTS_KNOWN = MARKET_SLOTS_KNOWN and _TICKER_SLOTS[_field] >= 0
# ticker_key's order: the fields' wire keys, as declared.
MARKET_SLOTS_KNOWN = MARKET_SLOTS_KNOWN and Ticker.__struct_encode_fields__ == (
    "M", "O", "H", "L", "C", "v", "V"
)

# Each object a one-pass read builds starts as a copy of one of these.
cdef object _TRADE_UPDATE = Response._construct(
    {"channel": Channel.TRADE, "event": Event.UPDATE, "created_at": 0}
)
cdef object _TICKER_UPDATE = Response._construct(
    {"channel": Channel.TICKER, "event": Event.UPDATE, "created_at": 0}
)
cdef object _TRADE = Trade._construct({"price": "", "volume": "", "created_at": 0})
cdef object _TICKER = Ticker._construct(
    {"market": "", "open": "", "high": "", "low": "", "close": "", "volume": "",
     "volume_in_btc": ""}
)
cdef Prototype _TRADE_UPDATE_COPY
cdef Prototype _TICKER_UPDATE_COPY
cdef Prototype _TRADE_COPY
cdef Prototype _TICKER_COPY
bind_prototype(&_TRADE_UPDATE_COPY, _TRADE_UPDATE, len(Response.__struct_fields__))
bind_prototype(&_TICKER_UPDATE_COPY, _TICKER_UPDATE, len(Response.__struct_fields__))
bind_prototype(&_TRADE_COPY, _TRADE, len(Trade.__struct_fields__))
bind_prototype(&_TICKER_COPY, _TICKER, len(Ticker.__struct_fields__))

# The last trade update's and ticker update's Response, each renewed for the next one when
# nothing else refers to it (renew_prototype); the fields read_market_frame sets for every
# frame are left for it to set.
cdef PyObject* _trade_spare = NULL
cdef PyObject* _ticker_spare = NULL
cdef uint64_t _SET_FOR_EVERY_FRAME = 0
# A trade update's list of trades is left too: renewable_trades renews it or lets it go.
cdef uint64_t _SET_FOR_EVERY_TRADE_FRAME = 0
# A ticker update's Ticker too: read_market_frame renews it or puts a new one there.
cdef uint64_t _SET_FOR_EVERY_TICKER_FRAME = 0
# A renewed Trade's price and volume are set for every trade (its time is let go first).
cdef uint64_t _SET_FOR_EVERY_TRADE = 0
if MARKET_SLOTS_KNOWN:
    _SET_FOR_EVERY_FRAME = slot_bit(_R_MARKET) | slot_bit(_R_CREATED_AT)
    _SET_FOR_EVERY_TRADE_FRAME = _SET_FOR_EVERY_FRAME | slot_bit(_R_TRADES)
    _SET_FOR_EVERY_TICKER_FRAME = _SET_FOR_EVERY_FRAME | slot_bit(_R_TICKER)
    _SET_FOR_EVERY_TRADE = slot_bit(_T_PRICE) | slot_bit(_T_VOLUME)

# The trends MAX sends, one str each (a trade's other trend gets its own).
cdef str _UP = "up"
cdef str _DOWN = "down"
# The last market read: its str again for the next frame of the same market.
cdef str _last_market = None


cdef inline object span_str(const char* s, Span* text):
    return ascii_text(s + text.start, text.end - text.start)


cdef inline int renew_span(object instance, Py_ssize_t offset, const char* s, Span* text) except -1:
    """Put a span's characters in the slot's str when it alone holds it, else a new str."""
    if not renew_text_in_place(instance, offset, s + text.start, text.end - text.start):
        set_slot(instance, offset, span_str(s, text))
    return 0


cdef inline bint same_text(str known, const char* s, Span* text) noexcept:
    return (
        known is not None
        and scan_str_length(known) == text.end - text.start
        and memcmp(scan_str_data(known), s + text.start, text.end - text.start) == 0
    )


cdef str market_str(const char* s, Span* text):
    """The market's str: the last one again when the name is the same."""
    global _last_market
    if not same_text(_last_market, s, text):
        _last_market = span_str(s, text)
    return _last_market


cdef object trend_str(const char* s, Span* text):
    if same_text(_UP, s, text):
        return _UP
    if same_text(_DOWN, s, text):
        return _DOWN
    return span_str(s, text)


cdef void put_trade(
    object trade, const char* s, TradeItem* item, MarketFrame* parsed, object created_at
) except *:
    """Put a trade's values in the slots of a Trade copied or reset from the prototype."""
    renew_span(trade, _T_PRICE, s, &item.price)
    renew_span(trade, _T_VOLUME, s, &item.volume)
    # Most trades are stamped with the frame's own T: one int for both.
    if item.created_at == parsed.created_at:
        set_slot(trade, _T_CREATED_AT, created_at)
    else:
        set_slot(trade, _T_CREATED_AT, PyLong_FromLongLong(item.created_at))
    if item.trend.start >= 0:
        set_slot(trade, _T_TREND, trend_str(s, &item.trend))


cdef object build_trades(const char* s, MarketFrame* parsed, object created_at):
    cdef list trades = []
    cdef Py_ssize_t k
    for k in range(parsed.trade_count):
        trade = copy_prototype(&_TRADE_COPY)
        put_trade(trade, s, &parsed.trades[k], parsed, created_at)
        trades.append(trade)
    return trades


cdef object renewable_trades(object response, Py_ssize_t count):
    """The trades list of a renewed trade update, its Trades reset for count trades, when
    nothing but the Response refers to it or to any of them and it holds count Trades; else
    None, the list let go. Either way the old trades hold the frame's time no longer (the
    Response's int can be renewed in place)."""
    cdef PyObject* held = <PyObject*>slot_value(response, _R_TRADES)
    cdef Py_ssize_t k
    if (
        held != NULL
        and type(<object>held) is list
        and scan_refcount(held) == 1
        and PyList_GET_SIZE(<object>held) == count
    ):
        for k in range(count):
            if not renewable(&_TRADE_COPY, PyList_GET_ITEM(<object>held, k)):
                break
        else:
            # Taken first (reset_prototype), and each Trade is the list's alone: a finalizer
            # a release runs finds the list held, so a read from there does not reuse it.
            trades = <object>held
            for k in range(count):
                reset_prototype(&_TRADE_COPY, PyList_GET_ITEM(trades, k), _SET_FOR_EVERY_TRADE)
            return trades
    set_slot(response, _R_TRADES, None)
    return None


cdef void put_ticker(object ticker, const char* s, MarketFrame* parsed, str market) except *:
    """Put a ticker's values in a Ticker copied from the prototype or renewed: every one of
    its slots is a field the frame sends (bind_prototype checks that), so all are set."""
    cdef Py_ssize_t k
    if same_text(market, s, &parsed.ticker[0]):
        set_slot(ticker, _TICKER_SLOTS[0], market)
    else:
        set_slot(ticker, _TICKER_SLOTS[0], span_str(s, &parsed.ticker[0]))
    for k in range(1, _TICKER_FIELDS):
        renew_span(ticker, _TICKER_SLOTS[k], s, &parsed.ticker[k])


cdef object read_market_frame(object frame, bint* is_trade):
    """A trade or ticker update read in one pass (is_trade says which), or None."""
    cdef const char* s
    cdef Py_ssize_t n
    cdef MarketFrame parsed
    cdef Py_ssize_t k
    cdef PyObject* held
    if not MARKET_SLOTS_KNOWN or not frame_chars(frame, &s, &n):
        return None
    if not scan_market_update(s, n, &parsed):
        return None
    market = market_str(s, &parsed.market)
    trades = None
    if parsed.is_trade:
        response = renew_prototype(
            &_TRADE_UPDATE_COPY, &_trade_spare, _SET_FOR_EVERY_TRADE_FRAME
        )
        trades = renewable_trades(response, parsed.trade_count)
    else:
        response = renew_prototype(
            &_TICKER_UPDATE_COPY, &_ticker_spare, _SET_FOR_EVERY_TICKER_FRAME
        )
    # The last trades hold the time's int no longer (renewed or let go): the Response alone
    # holds it, and it is renewed in place.
    renew_int(response, _R_CREATED_AT, parsed.created_at)
    if parsed.is_trade:
        created_at = <object>slot_value(response, _R_CREATED_AT)
        if trades is None:
            set_slot(response, _R_TRADES, build_trades(s, &parsed, created_at))
        else:
            for k in range(parsed.trade_count):
                put_trade(
                    <object>PyList_GET_ITEM(trades, k), s, &parsed.trades[k], &parsed, created_at
                )
    else:
        # The last Ticker, when nothing but the Response holds it, takes the new values.
        held = <PyObject*>slot_value(response, _R_TICKER)
        if renewable(&_TICKER_COPY, held):
            ticker = <object>held
        else:
            ticker = copy_prototype(&_TICKER_COPY)
            set_slot(response, _R_TICKER, ticker)
        put_ticker(ticker, s, &parsed, market)
    set_slot(response, _R_MARKET, market)
    is_trade[0] = parsed.is_trade
    return response


cdef bint reads_like(object decode):
    """True when decode is msgspec's own decode of a Response, as a stream builds it (no
    hooks, strict): what read_market_frame gives for a frame it reads is then what decode
    gives."""
    owner = getattr(decode, "__self__", None)
    return (
        MARKET_SLOTS_KNOWN
        and type(owner) is msgspec.json.Decoder
        and owner.type is Response
        and owner.strict
        and owner.dec_hook is None
        and owner.float_hook is None
        and decode == owner.decode
    )


def read_market_update(frame):
    """The ``Response`` of a trade or ticker update read in one pass from its bytes (or
    ASCII str), equal to what msgspec decodes from it; None for any other frame."""
    cdef bint is_trade = False
    return read_market_frame(frame, &is_trade)
