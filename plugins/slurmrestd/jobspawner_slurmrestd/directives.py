"""The ``#SBATCH`` directives of a rendered job script, turned into slurmrestd job properties.

slurmrestd (22.05, openapi v0.0.38) does **not** read ``#SBATCH`` lines: the job's options
must travel in the request's ``job`` object (checked on the real daemon: a script with
``#SBATCH --partition=long`` alone runs in the default partition). So the backend renders
the Slurm backend's own script, reads its directive block the way ``sbatch`` does (the
``#SBATCH`` lines before the first command), and sends each option as its property. An
option without an equivalent here is refused with its name, never dropped silently.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from jobspawner import size_mib
from jobspawner_slurm.shared import parse_duration


class DirectiveError(ValueError):
    """A directive of the job script cannot be sent to slurmrestd."""


def _minutes(text: str) -> int:
    seconds = parse_duration(text)
    if seconds is None:
        raise DirectiveError(f"--time={text!r} is not a Slurm time limit")
    return max(1, math.ceil(seconds / 60))


_MEM = re.compile(r"(\d+)([KMGT]?)B?", re.IGNORECASE)


def _megabytes(text: str) -> int:
    m = _MEM.fullmatch(text.strip())
    if m is None:
        raise DirectiveError(f"memory {text!r} is not a Slurm memory size (e.g. 4096M, 4G)")
    return max(1, math.ceil(size_mib(m.group(1) + m.group(2), bare="M") or 0))


def _nodes(text: str) -> list[int]:
    low, _, high = text.partition("-")
    try:
        return [int(low), int(high or low)]
    except ValueError:
        raise DirectiveError(f"--nodes={text!r} is not a node count") from None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise DirectiveError(f"{text!r} is not a whole number") from None


def _keep(text: str) -> str:
    return text


#: sbatch long option -> (v0.0.38 job property, converter).
OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "job-name": ("name", _keep),
    "output": ("standard_output", _keep),
    "error": ("standard_error", _keep),
    "input": ("standard_input", _keep),
    "chdir": ("current_working_directory", _keep),
    "partition": ("partition", _keep),
    "account": ("account", _keep),
    "qos": ("qos", _keep),
    "reservation": ("reservation", _keep),
    "time": ("time_limit", _minutes),
    "time-min": ("time_minimum", _minutes),
    "nodes": ("nodes", _nodes),
    "ntasks": ("tasks", _int),
    "cpus-per-task": ("cpus_per_task", _int),
    "mem": ("memory_per_node", _megabytes),
    "mem-per-cpu": ("memory_per_cpu", _megabytes),
    "gres": ("gres", _keep),
    "gpus": ("gpus", _keep),
    "gpus-per-node": ("gpus_per_node", _keep),
    "constraint": ("constraints", _keep),
    "licenses": ("licenses", _keep),
    "comment": ("comment", _keep),
    "wckey": ("wckey", _keep),
    "nice": ("nice", _int),
    "signal": ("signal", _keep),
    "exclusive": ("exclusive", lambda v: v or "exclusive"),
}
#: Options without a value: property and the value they set.
FLAGS: dict[str, tuple[str, Any]] = {
    "no-requeue": ("requeue", False),
    "requeue": ("requeue", True),
    "exclusive": ("exclusive", "exclusive"),
    "hold": ("hold", True),
}
#: ``--export`` values the backend accepts: the job's environment is always exactly the
#: ``environment`` backend option (slurmrestd has no submitting shell to export from).
EXPORTS = {"NONE", "ALL"}


def directive_lines(script: str) -> list[str]:
    """The words after ``#SBATCH`` on each directive line, up to the first command."""
    out = []
    for line in script.splitlines()[1:]:
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        if stripped.startswith("#SBATCH"):
            out.append(stripped[len("#SBATCH") :].strip())
    return out


def job_properties(script: str, environment: Mapping[str, str]) -> dict[str, Any]:
    """The v0.0.38 ``job`` object for ``script``'s directives, with ``environment``."""
    props: dict[str, Any] = {"environment": dict(environment)}
    for line in directive_lines(script):
        try:
            words = shlex.split(line, comments=False)
        except ValueError as e:
            raise DirectiveError(f"#SBATCH {line!r} cannot be read: {e}") from e
        i = 0
        while i < len(words):
            word = words[i]
            i += 1
            if not word.startswith("--"):
                raise DirectiveError(
                    f"#SBATCH {word!r}: write directives as long options (--name=value)"
                )
            name, eq, value = word[2:].partition("=")
            if name in FLAGS and not eq:
                prop, flag = FLAGS[name]
                props[prop] = flag
                continue
            if not eq and i < len(words) and not words[i].startswith("--"):
                value, i = words[i], i + 1
            if name == "export":
                if value.upper() not in EXPORTS:
                    raise DirectiveError(
                        f"--export={value} is not supported through slurmrestd: the job's "
                        "environment is the backend option `environment`"
                    )
                continue
            if name not in OPTIONS:
                raise DirectiveError(
                    f"#SBATCH --{name} has no slurmrestd equivalent in jobspawner-slurmrestd "
                    f"(supported: {', '.join(sorted({*OPTIONS, *FLAGS, 'export'}))})"
                )
            prop, convert = OPTIONS[name]
            props[prop] = convert(value)
    return props
