"""Schemathesis hooks for scripts/fuzz-api: the rules of docs/openapi.json that JSON Schema
cannot state, applied to valid cases only so that "valid data accepted" tests what the document
promises. Invalid cases are left as drawn; the services' refusals of what these hooks repair are
tested in Rust (backend/src/report/query.rs, backend/tests/hostile.rs, event/src/fields.rs).

A report range (`from`, `to`) must run forwards and span at most 366 days (31 with
`interval=hour`). JSON Schema compares no two values, so the document says it in prose
(the `range` parameter) and a generator that draws `from` and `to` independently breaks
it half the time: the hook orders the two days and shortens the span to the limit.

An event's `timestamp` must lie within 30 days before and 5 minutes after its receipt (relative
to now), and `path`, `referrer` and string props are limited in UTF-8 bytes while JSON Schema
counts characters: the hook moves a timestamp outside the window to an hour ago and shortens
such strings to their byte limits.
"""

from datetime import date, datetime, timedelta, timezone

import schemathesis

# The longest span, in days after `from`, that the services accept (MAX_RANGE_DAYS - 1 and
# MAX_HOURLY_DAYS - 1 in backend/src/report/query.rs).
LONGEST = 365
LONGEST_HOURLY = 30
# Byte limits of event fields (event/src/limits.rs).
URL_BYTES = 2048
PROP_STRING_BYTES = 512


def _day(value):
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    if case.operation.method.upper() == "POST" and case.operation.path == "/event":
        return repair_events(case)
    return order_range(case) if isinstance(case.query, dict) else case


def order_range(case):
    first, last = _day(case.query.get("from")), _day(case.query.get("to"))
    if first is None or last is None:
        return case
    first, last = min(first, last), max(first, last)
    longest = LONGEST_HOURLY if case.query.get("interval") == "hour" else LONGEST
    last = min(last, first + timedelta(days=longest))
    case.query["from"], case.query["to"] = first.isoformat(), last.isoformat()
    return case


def _within_bytes(text, limit):
    return text.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")


def _timestamp_fits(text):
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return True  # not ours to judge: the services parse RFC 3339 themselves
    if at.tzinfo is None:
        return True
    now = datetime.now(timezone.utc)
    return now - timedelta(days=30) + timedelta(minutes=5) < at < now + timedelta(minutes=4)


def _repair_event(event):
    if not isinstance(event, dict):
        return
    stamp = event.get("timestamp")
    if isinstance(stamp, str) and stamp and not _timestamp_fits(stamp):
        hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
        event["timestamp"] = hour_ago.strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in ("path", "referrer"):
        if isinstance(event.get(name), str):
            event[name] = _within_bytes(event[name], URL_BYTES)
    if isinstance(event.get("props"), dict):
        for key, value in event["props"].items():
            if isinstance(value, str):
                event["props"][key] = _within_bytes(value, PROP_STRING_BYTES)


def repair_events(case):
    for event in case.body if isinstance(case.body, list) else [case.body]:
        _repair_event(event)
    return case
