"""The one parser for durations and one for sizes that every backend's output reading uses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jobspawner import clock_seconds, size_mib
from jobspawner.contract.resources import parse_duration_s


@pytest.mark.parametrize(
    ("text", "options", "seconds"),
    [
        ("5", {"bare": "minutes"}, 300),
        ("5", {}, 5),
        ("30:00", {}, 1800),
        ("1:00:00", {}, 3600),
        ("2-12", {"day_dash": True}, 2 * 86400 + 12 * 3600),
        ("2-00:00:01", {"day_dash": True}, 172801),
        ("2-00:00:01", {}, None),  # no D- form unless asked (Grid Engine, PBS)
        ("1:02:03:04", {"colon_days": True}, 86400 + 2 * 3600 + 3 * 60 + 4),
        ("1:02:03:04", {}, None),
        (" 01:00:00.50 ", {"fraction": True}, 3600),
        ("01:00:00.50", {}, None),
        ("UNLIMITED", {"bare": "minutes", "day_dash": True}, None),
        ("INFINITY", {}, None),
        ("", {}, None),
        (None, {}, None),
        ("1::2", {}, None),
        ("4\n", {"bare": "minutes"}, None),  # never a line break (requests are read with it)
        ("\n1:00:00", {}, None),
    ],
)
def test_clock_forms(text: str | None, options: dict, seconds: int | None) -> None:
    assert clock_seconds(text, **options) == seconds


@pytest.mark.parametrize(
    ("text", "options", "mib"),
    [
        ("4G", {}, 4096),
        ("4g", {}, 4096),
        ("512", {}, 512),
        ("2048", {"bare": "K"}, 2),
        ("1048576", {"bare": "B"}, 1),
        ("1.5g", {"bare": "B", "decimal_lowercase": True}, 1.5e9 / 1024**2),
        ("1.5G", {"bare": "B", "decimal_lowercase": True}, 1536),
        ("2 T", {}, 2 * 1024**2),
        ("lots", {}, None),
        ("4X", {}, None),
        ("4G\n", {}, None),
    ],
)
def test_sizes(text: str, options: dict, mib: float | None) -> None:
    assert size_mib(text, **options) == mib


@given(st.integers(0, 99), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_slurm_forms_read_as_requests_read_them(d: int, h: int, m: int, s: int) -> None:
    """A Slurm time printed by the scheduler reads as the same request would."""
    text = f"{d}-{h:02d}:{m:02d}:{s:02d}"
    seconds = clock_seconds(text, bare="minutes", day_dash=True)
    assert seconds == d * 86400 + h * 3600 + m * 60 + s
    if 0 < seconds <= 366 * 86400:
        assert parse_duration_s("req_runtime", text) == seconds
