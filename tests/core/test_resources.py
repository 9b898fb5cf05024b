"""Validation of resource requests: every refusal names the field and the reason."""

from __future__ import annotations

import pytest
from jobspawner.contract.resources import (
    ResourceError,
    normalise,
    parse_duration_s,
    parse_memory_mb,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("01:30:00", 5400), ("1-00:00:00", 86400), ("1-2", 93600), ("90", 5400),
        ("90:30", 5430), ("90m", 5400), ("2h", 7200), ("1d", 86400), (60, 3600),
        ("45s", 45),
    ],
)  # fmt: skip
def test_durations(text, seconds):
    assert parse_duration_s("req_runtime", text) == seconds


@pytest.mark.parametrize(
    ("text", "mb"),
    [("4G", 4096), ("512M", 512), ("1.5GiB", 1536), ("2048", 2048), ("1T", 1048576), (100, 100)],
)
def test_memory(text, mb):
    assert parse_memory_mb("req_memory", text) == mb


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("memory", "4 gigs", "is not a memory size"),
        ("memory", "0", "more than zero"),
        ("runtime", "soon", "is not a duration"),
        ("cpus", "4; rm -rf /", "whole number"),
        ("cpus", 0, "between 1 and"),
        ("queue", "debug\n#SBATCH --uid=0", "not a valid name"),
        ("queue", "a b", "not a valid name"),
        ("account", "$(id)", "not a valid name"),
        ("constraint", "gpu'&&x", "not a valid expression"),
        ("flavour", "x", "not a known resource"),
    ],
)
def test_refusals_name_field_and_reason(field, value, reason):
    with pytest.raises(ResourceError) as e:
        normalise({field: value})
    assert str(e.value).startswith(f"req_{field}: ")
    assert reason in str(e.value)


def test_normalise_fills_template_variables_and_leaves_unset_none():
    out = normalise({"queue": "gpu", "runtime": "90m", "memory": "4G", "cpus": "2", "gpus": 0,
                     "account": "", "constraint": "a100&ib"})  # fmt: skip
    assert out["queue"] == "gpu" and out["runtime"] == "01:30:00" and out["runtime_s"] == 5400
    assert out["memory_mb"] == 4096 and out["cpus"] == 2 and out["constraint"] == "a100&ib"
    assert out["gpus"] is None and out["account"] is None and out["qos"] is None


def test_a_nan_run_time_is_not_a_number_rather_than_too_long():
    # REST user_options may carry NaN (Python's json reads it); it was called "too long"
    import math

    from jobspawner.contract.resources import ResourceError, parse_duration_s

    with pytest.raises(ResourceError) as e:
        parse_duration_s("runtime", math.nan)
    assert "is not a duration (not a number)" in str(e.value) and "too long" not in str(e.value)
    with pytest.raises(ResourceError, match="too long"):
        parse_duration_s("runtime", math.inf)
