"""TAXII building blocks without a server: timestamps, filters, negotiation, paging tokens, collection ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalfire.exchange.taxii import cursor as taxii_cursor
from signalfire.exchange.taxii.collections import fan_out, org_inbox_id, person_inbox_id, shared_by_id
from signalfire.exchange.taxii.protocol import (
    MAX_PAGE,
    TaxiiError,
    check_accept,
    check_content_type,
    format_date_added,
    format_version,
    parse_query,
    parse_timestamp,
)

# hypothesis takes naive bounds and attaches the zone itself.
instants = st.datetimes(
    min_value=datetime(1970, 1, 2, tzinfo=UTC).replace(tzinfo=None),
    max_value=datetime(9998, 12, 31, tzinfo=UTC).replace(tzinfo=None),
    timezones=st.just(UTC),
)


@given(instants)
def test_date_added_round_trips_with_six_digits(value: datetime) -> None:
    text = format_date_added(value)
    assert len(text) == 27 and text.endswith("Z")
    assert parse_timestamp(text) == value
    assert parse_timestamp(format_version(value)) == value


@pytest.mark.parametrize(
    ("text", "micro"),
    [
        ("2026-01-02T03:04:05Z", 0),
        ("2026-01-02T03:04:05.1Z", 100_000),
        ("2026-01-02T03:04:05.123Z", 123_000),
        ("2026-01-02T03:04:05.000001Z", 1),
    ],
)
def test_timestamps_take_zero_to_six_digits(text: str, micro: int) -> None:
    assert parse_timestamp(text).microsecond == micro


@pytest.mark.parametrize(
    "text",
    ["2026-01-02T03:04:05.1234567Z", "2026-01-02 03:04:05Z", "2026-01-02T03:04:05+00:00", "2026-02-30T00:00:00Z", ""],
)
def test_bad_timestamps_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_query_parsing() -> None:
    q = parse_query(
        {
            "limit": "5000",
            "match[type]": "indicator, malware,indicator",
            "match[version]": "first,all",
            "match[unknown]": "x",
            "next": "",
        }
    )
    assert q.limit == MAX_PAGE and q.types == ("indicator", "malware") and q.next is None
    assert q.version.first and q.version.all and not q.version.last
    assert parse_query({}).version.last
    same_filters = parse_query({"limit": "3", "match[type]": "malware,indicator", "match[version]": "all,first"})
    assert q.key() == same_filters.key()  # the cursor binds to filters, not to the page size or their order
    for bad in (
        {"limit": "-1"},
        {"limit": "1.5"},
        {"match[id]": ""},
        {"match[version]": "newest"},
        {"added_after": "yesterday"},
        {"match[type]": ",".join(f"t{i}" for i in range(101))},
    ):
        with pytest.raises(TaxiiError) as err:
            parse_query(bad)
        assert err.value.status == 400


def test_negotiation() -> None:
    for ok in (
        None,
        "",
        "*/*",
        "application/*",
        "application/taxii+json",
        "application/taxii+json;version=2.1",
        "text/html, application/taxii+json; version=2.1",
    ):
        check_accept(ok)
    for refused in ("application/taxii+json;version=2.0", "application/json", "text/html"):
        with pytest.raises(TaxiiError) as err:
            check_accept(refused)
        assert err.value.status == 406
    check_content_type("application/taxii+json;version=2.1")
    check_content_type("application/taxii+json")
    refused_types: list[str | None] = [
        None,
        "application/json",
        "application/taxii+json;version=2.0",
        "application/taxii+json, text/plain",
    ]
    for ctype in refused_types:
        with pytest.raises(TaxiiError) as err:
            check_content_type(ctype)
        assert err.value.status == 415


@given(instants, st.text(max_size=40), st.text(max_size=80))
def test_cursor_round_trip(after: datetime, scope: str, key: str) -> None:
    collection = uuid.uuid4()
    token = taxii_cursor.encode(b"secret", taxii_cursor.Position(collection, scope, key, after))
    assert taxii_cursor.decode(b"secret", token, collection_id=collection, scope=scope, query_key=key) == after


def test_cursor_refuses_forgery_and_reuse() -> None:
    collection = uuid.uuid4()
    after = datetime(2026, 1, 1, tzinfo=UTC)
    token = taxii_cursor.encode(b"secret", taxii_cursor.Position(collection, "objects", "k", after))
    attempts = [
        (b"other-secret", token, collection, "objects", "k"),
        (b"secret", token, uuid.uuid4(), "objects", "k"),
        (b"secret", token, collection, "manifest", "k"),
        (b"secret", token, collection, "objects", "k2"),
        (b"secret", "garbage", collection, "objects", "k"),
        (b"secret", "e30." + token.split(".")[1], collection, "objects", "k"),
    ]
    for secret, value, col, scope, key in attempts:
        with pytest.raises(TaxiiError) as err:
            taxii_cursor.decode(secret, value, collection_id=col, scope=scope, query_key=key)
        assert err.value.status == 400 and err.value.title == "Bad next"


def test_fan_out_follows_the_audience_as_addressed() -> None:
    org, named, person = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    audience = {
        "kinds": ["named_orgs", "named_people"],
        "org_ids": [str(named)],
        "people": [{"user_id": str(person), "org_id": str(named)}],
    }
    assert fan_out(audience, org) == [shared_by_id(org), org_inbox_id(named), person_inbox_id(person, named)]
    assert len({org_inbox_id(org), shared_by_id(org), person_inbox_id(person, org)}) == 3
