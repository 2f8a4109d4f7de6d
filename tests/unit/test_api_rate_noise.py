"""A JavaScript client's float noise in a command's rate is forgiven; more precision is not."""

from __future__ import annotations

from decimal import Decimal

import pytest

from capital_app.api.schemas import check_api_rate
from capital_app.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("0.021400000000000002", "0.021400"),  # 2.14 / 100 in JavaScript
        ("0.13250000000000001", "0.132500"),
        ("0.1325", "0.132500"),
        ("0.30000000000000004", "0.300000"),  # 0.1 + 0.2
        ("0", "0.000000"),
        ("1", "1.000000"),
    ],
)
def test_noise_within_a_billionth_of_six_places_is_that_rate(sent: str, stored: str) -> None:
    assert str(check_api_rate(Decimal(sent))) == stored


@pytest.mark.parametrize(
    "sent",
    ["0.1234567", "0.12345678", "1e-400", "0.1325000000000000000001", "1.0000001", "-0.0000000001"],
)
def test_real_extra_precision_is_still_refused(sent: str) -> None:
    with pytest.raises(InvalidInput):
        check_api_rate(Decimal(sent))
