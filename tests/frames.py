"""A corpus of realistic MAX frames (raw JSON text), one per channel and event of the API.

Timestamps used: 1700000000123 (2023-11-14T22:13:20.123Z), 1700000000000 (…20.000Z),
1700000059999 (2023-11-14T22:14:19.999Z), 1699999999000 (2023-11-14T22:13:19.000Z).
"""

from __future__ import annotations

BOOK_SNAPSHOT = (
    '{"c":"book","M":"btcusdt","e":"snapshot",'
    '"a":[["37000.1","0.5"],["37000.5","1.25"]],"b":[["36999.9","0.3"],["36990","2"]],'
    '"T":1700000000123,"fi":1001,"li":1005,"v":7}'
)
BOOK_UPDATE = (
    '{"c":"book","M":"btcusdt","e":"update","a":[["37000.1","0"]],'
    '"b":[["36999.9","0.8"],["36995.5","0.01"]],"T":1700000000123,"fi":1006,"li":1008,"v":7}'
)
# One of the exchange's own documentation examples misspells the event.
BOOK_SNAPTSHOT_TYPO = (
    '{"c":"book","M":"ethtwd","e":"snaptshot","a":[["65000","1"]],"b":[["64900","2"]],'
    '"T":1700000000000,"fi":1,"li":1,"v":1}'
)
BOOK_EMPTY_SNAPSHOT = (
    '{"c":"book","M":"btcusdt","e":"snapshot","a":[],"b":[],"T":1700000000000,'
    '"fi":2000,"li":2000,"v":8}'
)
TRADE_SNAPSHOT = (
    '{"c":"trade","M":"btcusdt","e":"snapshot","t":['
    '{"p":"37000.1","v":"0.02","T":1699999999000,"tr":"up"},'
    '{"p":"36999.9","v":"0.5","T":1700000000000,"tr":"down"}],"T":1700000000123}'
)
TRADE_UPDATE = (
    '{"c":"trade","M":"btcusdt","e":"update",'
    '"t":[{"p":"37001.0","v":"0.001","T":1700000000123,"tr":"up"}],"T":1700000000123}'
)
TICKER_SNAPSHOT = (
    '{"c":"ticker","M":"btcusdt","e":"snapshot","tk":{"M":"btcusdt","O":"36500.0",'
    '"H":"37100.5","L":"36400.2","C":"37000.1","v":"152.3","V":"152.3"},"T":1700000000123}'
)
KLINE_UPDATE = (
    '{"c":"kline","M":"btcusdt","e":"update","k":{"ST":1700000000000,"ET":1700000059999,'
    '"M":"btcusdt","R":"1m","O":"37000.1","H":"37010.0","L":"36990.5","C":"37005.2",'
    '"v":"1.25","ti":19881,"x":false},"T":1700000000123}'
)
MARKET_STATUS_SNAPSHOT = (
    '{"c":"market_status","e":"snapshot","ms":['
    '{"M":"btcusdt","st":"active","bu":"btc","bup":6,"mba":0.0001,"qu":"usdt","qup":2,'
    '"mqa":8,"mws":true},'
    '{"M":"ethtwd","st":"cancel-only","bu":"eth","bup":4,"mba":0.0005,"qu":"twd","qup":1,'
    '"mqa":250.5,"mws":false}],"T":1700000000123}'
)
MARKET_STATUS_UPDATE = (
    '{"c":"market_status","e":"update","ms":[{"M":"dogetwd","st":"suspended","bu":"doge",'
    '"bup":1,"mba":10,"qu":"twd","qup":4,"mqa":250,"mws":false}],"T":1700000000000}'
)
POOL_QUOTA_SNAPSHOT = (
    '{"c":"pool_quota","e":"snapshot","cu":"usdt",'
    '"qta":{"cu":"usdt","av":"125000.5","TU":1700000000000},"T":1700000000123}'
)
ORDER_SNAPSHOT = (
    '{"c":"user","e":"order_snapshot","o":[{"i":8812,"sd":"bid","ot":"limit","p":"36000.0",'
    '"sp":null,"ap":"0.0","S":"wait","M":"btcusdt","T":1699999999000,"TU":1700000000000,'
    '"v":"0.2","rv":"0.2","ev":"0.0","tc":0,"ci":"grid-7","gi":42}],"T":1700000000123}'
)
# `ci` left out, as the live service does for orders placed without a client id.
ORDER_UPDATE_WITHOUT_CI = (
    '{"c":"user","e":"order_update","o":[{"i":8813,"sd":"ask","ot":"stop_limit",'
    '"p":"38000.0","sp":"37900.0","ap":"38000.0","S":"done","M":"btcusdt","T":1700000000000,'
    '"TU":1700000000123,"v":"0.1","rv":"0.0","ev":"0.1","tc":2}],"T":1700000000123}'
)
TRADE_SNAPSHOT_PRIVATE = (
    '{"c":"user","e":"trade_snapshot","t":[{"i":68444,"M":"btcusdt","sd":"bid","p":"37000.1",'
    '"v":"0.02","f":"0.00003","fc":"btc","fd":false,"fn":"740.002","T":1699999999000,'
    '"TU":1700000000000,"m":true,"oi":8811}],"T":1700000000123}'
)
TRADE_UPDATE_PRIVATE = (
    '{"c":"user","e":"trade_update","t":[{"i":68445,"M":"btcusdt","sd":"ask","p":"38000.0",'
    '"v":"0.1","f":"1.2","fc":"max","fd":true,"fn":"3800.0","T":1700000000123,'
    '"TU":1700000000123,"m":false,"oi":8813}],"T":1700000000123}'
)
# fast_trade_update carries no fee fields.
FAST_TRADE_UPDATE = (
    '{"c":"user","e":"fast_trade_update","t":[{"i":68446,"M":"btcusdt","sd":"bid",'
    '"p":"37000.1","v":"0.05","fn":"1850.005","T":1700000000123,"TU":1700000000123,'
    '"m":false,"oi":8814}],"T":1700000000123}'
)
ACCOUNT_SNAPSHOT = (
    '{"c":"user","e":"account_snapshot","B":[{"cu":"btc","av":"1.5","l":"0.2","stk":null,'
    '"TU":1700000000000},{"cu":"max","av":"1000","l":"0","stk":"500","TU":1699999999000}],'
    '"T":1700000000123}'
)
ACCOUNT_UPDATE = (
    '{"c":"user","e":"account_update","B":[{"cu":"usdt","av":"250.75","l":"3800.0",'
    '"TU":1700000000123}],"T":1700000000123}'
)
MWALLET_ORDER_SNAPSHOT = (
    '{"c":"user","e":"mwallet_order_snapshot","o":[{"i":9901,"sd":"sell","ot":"market",'
    '"p":"0","ap":"2000.5","S":"finalizing","M":"ethusdt","T":1700000000000,"v":"1.0",'
    '"rv":"0.0","ev":"1.0","tc":3,"ci":null}],"T":1700000000123}'
)
MWALLET_ORDER_UPDATE = (
    '{"c":"user","e":"mwallet_order_update","o":[{"i":9902,"sd":"buy","ot":"ioc_limit",'
    '"p":"1999.0","ap":"0","S":"cancel","M":"ethusdt","T":1700000000123,"v":"2.0","rv":"2.0",'
    '"ev":"0","tc":0,"ci":"hedge-1"}],"T":1700000000123}'
)
MWALLET_TRADE_SNAPSHOT = (
    '{"c":"user","e":"mwallet_trade_snapshot","t":[{"i":70001,"M":"ethusdt","sd":"ask",'
    '"p":"2000.5","v":"1.0","f":"2.0005","fc":"usdt","fd":false,"fn":"2000.5",'
    '"T":1700000000000,"TU":1700000000000,"m":true,"oi":9901}],"T":1700000000123}'
)
MWALLET_TRADE_UPDATE = (
    '{"c":"user","e":"mwallet_trade_update","t":[{"i":70002,"M":"ethusdt","sd":"ask",'
    '"p":"2001.0","v":"0.5","f":"1.0005","fc":"usdt","fd":false,"fn":"1000.5",'
    '"T":1700000000123,"TU":1700000000123,"m":false,"oi":9903}],"T":1700000000123}'
)
MWALLET_FAST_TRADE_UPDATE = (
    '{"c":"user","e":"mwallet_fast_trade_update","t":[{"i":70003,"M":"ethusdt","sd":"bid",'
    '"p":"1999.5","v":"0.25","fn":"499.875","T":1700000000123,"TU":1700000000123,"m":true,'
    '"oi":9904}],"T":1700000000123}'
)
MWALLET_ACCOUNT_SNAPSHOT = (
    '{"c":"user","e":"mwallet_account_snapshot","B":[{"cu":"usdt","av":"5000","l":"0",'
    '"TU":1700000000000}],"T":1700000000123}'
)
MWALLET_ACCOUNT_UPDATE = (
    '{"c":"user","e":"mwallet_account_update","B":[{"cu":"eth","av":"0.75","l":"0.25",'
    '"TU":1700000000123}],"T":1700000000123}'
)
AD_RATIO_SNAPSHOT = (
    '{"c":"user","e":"ad_ratio_snapshot","ad":{"ad":"2.5","as":"10000.0","db":"4000.0",'
    '"idxp":[{"M":"btcusdt","p":"37000.1"},{"M":"ethusdt","p":"2000.5"}],"TU":1700000000000},'
    '"T":1700000000123}'
)
AD_RATIO_UPDATE = (
    '{"c":"user","e":"ad_ratio_update","ad":{"ad":"2.4","as":"9600.0","db":"4000.0",'
    '"idxp":[],"TU":1700000000123},"T":1700000000123}'
)
BORROWING_SNAPSHOT = (
    '{"c":"user","e":"borrowing_snapshot","db":[{"cu":"usdt","dbp":"4000.0","dbi":"1.25",'
    '"TU":1700000000000}],"T":1700000000123}'
)
BORROWING_UPDATE = (
    '{"c":"user","e":"borrowing_update","db":[{"cu":"usdt","dbp":"3000.0","dbi":"1.3",'
    '"TU":1700000000123},{"cu":"btc","dbp":"0.1","dbi":"0.0001","TU":1700000000123}],'
    '"T":1700000000123}'
)
SUBSCRIBED = (
    '{"e":"subscribed","s":[{"channel":"book","market":"btcusdt","depth":5},'
    '{"channel":"kline","market":"btcusdt","resolution":"1m"},{"channel":"market_status"}],'
    '"i":"c5a1f1e0-sub","T":1700000000123}'
)
UNSUBSCRIBED = (
    '{"e":"unsubscribed","s":[{"channel":"trade","market":"ethtwd"}],"i":"unsub-2",'
    '"T":1700000000123}'
)
AUTHENTICATED = '{"e":"authenticated","i":"auth-1","T":1700000000123}'
ERROR = '{"e":"error","E":["E-1004: invalid action"],"i":"req-9","T":1700000000123}'
UNKNOWN_EVENT = (
    '{"c":"book","M":"btcusdt","e":"book_refresh","a":[],"b":[],"T":1700000000123,'
    '"fi":5,"li":5,"v":9}'
)
UNKNOWN_CHANNEL = (
    '{"c":"liquidation","M":"btcusdt","e":"update","T":1700000000123,"liq":[{"p":"1"}]}'
)
# Keys the live service may add over time, at the top level and inside payloads.
EXTRA_KEYS = (
    '{"c":"trade","M":"btcusdt","e":"update","seq":77,"t":[{"p":"37000.2","v":"0.3",'
    '"T":1700000000123,"tr":"up","id2":"x","maker_side":"ask"}],"T":1700000000123,"x":{"y":1}}'
)
UNKNOWN_ENUM_VALUES = (
    '{"c":"user","e":"order_update","o":[{"i":1,"sd":"short","ot":"trailing_stop","p":"1",'
    '"ap":"0","S":"expired","M":"btcusdt","T":1700000000123,"v":"1","rv":"1","ev":"0",'
    '"tc":0,"ci":"a"}],"T":1700000000123}'
)

ALL_FRAMES: dict[str, str] = {
    name: value for name, value in globals().items() if name.isupper() and name != "ALL_FRAMES"
}
"""Every frame above by name."""
