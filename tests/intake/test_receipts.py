"""Receipt secrets and the signed form timestamp (pure functions)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from signalfire.intake.receipts import check_form_token, check_receipt_secret, form_token, receipt_secret

KEY = "k" * 40
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@settings(max_examples=50)
@given(st.uuids(), st.uuids())
def test_a_receipt_secret_opens_only_its_own_signal(a: uuid.UUID, b: uuid.UUID) -> None:
    secret = receipt_secret(KEY, a)
    assert check_receipt_secret(KEY, a, secret)
    assert check_receipt_secret(KEY, a, secret.upper().replace("-", ""))
    assert check_receipt_secret(KEY, b, secret) is (a == b)
    assert not check_receipt_secret("other-key" * 5, a, secret)


def test_form_token_window() -> None:
    token = form_token(KEY, "aurora", T0)
    fill = timedelta(seconds=3)
    assert not check_form_token(KEY, "aurora", token, now=T0 + timedelta(seconds=1), min_fill=fill).ok
    assert check_form_token(KEY, "aurora", token, now=T0 + timedelta(seconds=3), min_fill=fill).ok
    assert check_form_token(KEY, "aurora", token, now=T0 + timedelta(hours=23), min_fill=fill).ok
    late = check_form_token(KEY, "aurora", token, now=T0 + timedelta(hours=25), min_fill=fill)
    assert not late.ok and "expired" in late.reason
    future = check_form_token(
        KEY, "aurora", form_token(KEY, "aurora", T0 + timedelta(minutes=5)), now=T0, min_fill=fill
    )
    assert not future.ok
    assert not check_form_token(KEY, "meridian", token, now=T0 + timedelta(minutes=1), min_fill=fill).ok


@settings(max_examples=100)
@given(st.text(max_size=80))
def test_any_forged_token_is_refused(token: str) -> None:
    assert not check_form_token(KEY, "aurora", token, now=T0, min_fill=timedelta(0)).ok or token == form_token(
        KEY, "aurora", datetime.fromtimestamp(int(token.split(".")[0]), UTC)
    )
