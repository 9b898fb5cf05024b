"""Pure builders of the Slurm commands (argument lists, never shell strings).

Backend options read here (``c.JobSpawner.backend_options``): ``sbatch``, ``squeue``,
``sacct``, ``scancel``, ``sinfo``, ``scontrol`` (program names or full paths; ``sacct``
set to ``""``/``False`` turns the accounting look-up off), ``submit_args`` (extra
``sbatch`` arguments, a list), ``status_timeout`` (seconds for squeue/sacct).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobspawner import Command

from .parsers import split_job_id
from .resources import SINFO_FORMAT

#: Columns asked from ``squeue --Format`` (names as squeue spells them), and the keys the
#: parser knows them by. Every field ends with ``|`` and has no width, so nothing is padded
#: or cut.
SQUEUE_COLUMNS = (
    ("JobID", "jobid"),
    ("State", "state"),
    ("Reason", "reason"),
    ("exit_code", "exit_code"),
    ("BatchHost", "batchhost"),
    ("NodeList", "nodelist"),
    ("StartTime", "starttime"),
    ("Partition", "partition"),
    ("EndTime", "endtime"),
    # each row names its cluster: with --noheader, ``squeue -M`` prints no "CLUSTER:" lines
    ("Cluster", "cluster"),
)
SQUEUE_FIELDS = tuple(key for _, key in SQUEUE_COLUMNS)
SQUEUE_FORMAT = ",".join(f"{name}:|" for name, _ in SQUEUE_COLUMNS)

#: Columns asked from ``sacct --parsable2 --format`` and their parser keys.
SACCT_COLUMNS = (
    ("JobID", "jobid"),
    ("State", "state"),
    ("ExitCode", "exitcode"),
    ("NodeList", "nodelist"),
    ("Start", "start"),
    ("End", "end"),
    ("Cluster", "cluster"),
)
SACCT_FIELDS = tuple(key for _, key in SACCT_COLUMNS)
SACCT_FORMAT = ",".join(name for name, _ in SACCT_COLUMNS)

#: ISO timestamps whatever the site's default time format is.
TIME_ENV = {"SLURM_TIME_FORMAT": "standard"}


def program(options: Mapping[str, Any], name: str) -> str:
    """The path of a Slurm program: the option of that name, or the name (looked up on PATH)."""
    value = options.get(name)
    return str(value) if value else name


def _timeout(options: Mapping[str, Any]) -> float | None:
    value = options.get("status_timeout")
    return float(value) if value else None


def clusters_of(job_ids: Sequence[str]) -> list[str]:
    """The ``--clusters`` argument for these ids: [] when none names a cluster.

    Ids from ``sbatch -M`` carry their cluster (``123;mpp2``). When some ids do and others
    do not, the plain ones belong to the local cluster, whose name is unknown here, so the
    query asks every cluster (``all``; needs slurmdbd, as ``-M`` does anyway).
    """
    if not any(";" in i for i in job_ids):  # the usual case, cheap for a round of 1000
        return []
    named = [c for _, c in map(split_job_id, job_ids) if c]
    if not named:
        return []
    if len(named) < len(job_ids):
        return ["all"]
    return sorted(set(named))


def _ids_arg(job_ids: Sequence[str]) -> str:
    if any(";" in i for i in job_ids):
        bases = list(dict.fromkeys(split_job_id(i)[0] for i in job_ids))
    else:  # no cluster part: each id as it is (stripped), cheap for a round of 1000
        bases = list(dict.fromkeys(i.strip() for i in job_ids))
    if len(bases) == 1:
        # squeue asks the controller for a lone id directly and exits 1 when it is unknown;
        # with two ids it filters the full list and leaves unknown ones out (exit 0).
        bases = bases * 2
    return ",".join(bases)


def squeue_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    """One squeue call for every job (``-t all``: finished jobs stay visible for MinJobAge)."""
    argv = [program(options, "squeue"), "--noheader", "--states=all"]
    clusters = clusters_of(job_ids)
    if clusters:
        argv.append("--clusters=" + ",".join(clusters))
    argv += [f"--jobs={_ids_arg(job_ids)}", f"--Format={SQUEUE_FORMAT}"]
    return Command(argv, env=TIME_ENV, timeout=_timeout(options))


def sacct_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command | None:
    """How jobs that squeue has forgotten ended, or None when ``sacct`` is switched off."""
    if "sacct" in options and not options["sacct"]:
        return None
    argv = [
        program(options, "sacct"),
        "--noheader",
        "--parsable2",
        "--allocations",
        f"--format={SACCT_FORMAT}",
    ]
    clusters = clusters_of(job_ids)
    if clusters:
        argv.append("--clusters=" + ",".join(clusters))
    argv.append("--jobs=" + ",".join(dict.fromkeys(split_job_id(i)[0] for i in job_ids)))
    return Command(argv, env=TIME_ENV, timeout=_timeout(options))


def sbatch_command(script: str, options: Mapping[str, Any]) -> Command:
    """``sbatch --parsable`` with the script on standard input."""
    extra = options.get("submit_args") or []
    if isinstance(extra, str):
        raise TypeError("backend option submit_args must be a list of arguments, not a string")
    return Command([program(options, "sbatch"), "--parsable", *map(str, extra)], stdin=script)


def scancel_command(job_ids: Sequence[str], options: Mapping[str, Any]) -> Command:
    """``scancel`` for ids of one cluster (see :func:`group_by_cluster` for several)."""
    argv = [program(options, "scancel")]
    clusters = sorted({c for _, c in map(split_job_id, job_ids) if c})
    if clusters:
        argv.append("--clusters=" + ",".join(clusters))
    argv += list(dict.fromkeys(split_job_id(i)[0] for i in job_ids))
    return Command(argv)


def group_by_cluster(job_ids: Sequence[str]) -> dict[str | None, list[str]]:
    """The ids per cluster (None for the local one), in order."""
    groups: dict[str | None, list[str]] = {}
    for job_id in job_ids:
        groups.setdefault(split_job_id(job_id)[1], []).append(job_id)
    return groups


def resources_commands(options: Mapping[str, Any]) -> list[Command]:
    """``sinfo`` (node states, idle CPUs, GRES) and ``scontrol show partition`` (limits)."""
    sinfo = [program(options, "sinfo"), "--noheader", f"--format={SINFO_FORMAT}"]
    scontrol = [program(options, "scontrol"), "show", "partition", "--oneliner"]
    if options.get("cluster"):
        sinfo.append(f"--clusters={options['cluster']}")
        scontrol.insert(1, f"--clusters={options['cluster']}")
    return [Command(sinfo, env=TIME_ENV), Command(scontrol, env=TIME_ENV)]
