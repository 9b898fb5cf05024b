"""batchspawner settings left in a hub config, and what to write instead.

``jobspawner check`` reads the loaded :class:`traitlets.config.Config` (no spawner is built
for this), so a migrated config is told about each setting that jobspawner ignores or reads
differently, with the replacement. The same table, in prose, is
``docs/migrating-from-batchspawner.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from jobspawner.choices.profiles import (
    BATCHSPAWNER_BACKENDS,
    ProfileConfigError,
    from_profiles_spawner,
)
from jobspawner.cli.output import Finding
from jobspawner.lifecycle.server_command import foreign_server

#: batchspawner ``req_*`` names that do not exist here, and the replacement.
RENAMED_REQ: Mapping[str, str] = {
    "req_partition": "c.JobSpawner.req_queue (Slurm partitions are queues here)",
    "req_nprocs": "c.JobSpawner.req_cpus",
    "req_ngpus": "c.JobSpawner.req_gpus",
    "req_host": "c.JobSpawner.req_scheduler_server (PBS/Torque queue@server)",
    "req_username": "nothing: the user's name is {{ username }} in the template",
    "req_homedir": "nothing: the home folder is {{ homedir }} in the template",
    "req_keepvars": "c.Spawner.env_keep / c.Spawner.environment (the job gets {{ env | exports }})",
    "req_keepvars_extra": "c.Spawner.environment",
    "req_options": "c.JobSpawner.template_vars, used in c.JobSpawner.batch_script",
    "req_prologue": "c.JobSpawner.prologue",
    "req_epilogue": "c.JobSpawner.epilogue",
    "req_srun": "a line in c.JobSpawner.batch_script (e.g. `srun {{ command | quote }}`)",
    "req_gres": "c.JobSpawner.req_gpus and c.JobSpawner.req_gpu_type",
    "req_ngpus_per_node": "c.JobSpawner.req_gpus",
}

#: Other batchspawner settings and their replacement.
OTHER_SETTINGS: Mapping[str, str] = {
    "batch_submit_cmd": "nothing: the backend builds the submit command "
    "(paths go in c.JobSpawner.backend_options)",
    "batch_query_cmd": "nothing: the backend queries status (one batched query for all users)",
    "batch_cancel_cmd": "nothing: the backend cancels and confirms the cancel",
    "state_pending_re": "nothing: the backend parses states",
    "state_running_re": "nothing: the backend parses states",
    "state_unknown_re": "nothing: the backend parses states",
    "state_exechost_re": "nothing: the backend reads the execution host",
    "state_exechost_exp": "c.JobSpawner.host_map = {r'REGEX': r'REPLACEMENT'}",
    "batchspawner_singleuser_cmd": "c.Spawner.cmd = ['jobspawner-singleuser']",
}

#: Config sections that only batchspawner/wrapspawner read.
SECTIONS: Mapping[str, str] = {
    "BatchSpawnerBase": "c.JobSpawner",
    "SlurmSpawner": "c.JobSpawner with backend = 'slurm'",
    "TorqueSpawner": "c.JobSpawner with backend = 'torque'",
    "PBSSpawner": "c.JobSpawner with backend = 'pbspro'",
    "MoabSpawner": "c.JobSpawner with backend = 'moab'",
    "LsfSpawner": "c.JobSpawner with backend = 'lsf'",
    "CondorSpawner": "c.JobSpawner with backend = 'condor'",
    "GridengineSpawner": "c.JobSpawner with backend = 'sge'",
    "UserEnvMixin": "c.JobSpawner (the job gets the user's HOME, USER, LOGNAME, SHELL)",
    "ProfilesSpawner": "profiles in c.JobSpawner (see docs/profiles.md) or user_options_allowed",
    "WrapSpawner": "profiles in c.JobSpawner (see docs/profiles.md)",
}

#: Names batchspawner's templates used, as ``{name}`` (Python format) or ``{{name}}``.
BATCHSPAWNER_VARS: Mapping[str, str] = {
    "cmd": "{{ command | quote }}",
    "queue": "{{ queue }}",
    "partition": "{{ queue }}",
    "runtime": "{{ runtime }}",
    "memory": "{{ memory_mb }}M",
    "nprocs": "{{ cpus }}",
    "ngpus": "{{ gpus }}",
    "gres": "{{ gpus }} / {{ gpu_type }}",
    "account": "{{ account }}",
    "reservation": "{{ reservation }}",
    "options": "{{ your_var }} from c.JobSpawner.template_vars",
    "homedir": "{{ homedir }}",
    "username": "{{ username }}",
    "keepvars": "{{ env | exports }}",
    "prologue": "{{ prologue }}",
    "epilogue": "{{ epilogue }}",
    "srun": "srun (written out)",
    "nodes": "{{ nodes }}",
    "host": "{{ scheduler_server }}",
}

_PY_FORMAT = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
_JINJA_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|[^}]*)?\}\}")


#: A scheduler directive line of a job script (Slurm, PBS/Torque, LSF, Grid Engine).
_DIRECTIVE = re.compile(r"\s*#(SBATCH|PBS|BSUB|\$)\s")


def _line_at(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return text[start : end if end >= 0 else len(text)]


def _sections(config: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, section in config.items():
        if isinstance(section, Mapping):
            yield name, section


def template_leftovers(template: str, where: str) -> list[Finding]:
    """``{name}`` and ``{{name}}`` batchspawner variables in a Jinja2 template."""
    found = []
    for m in _PY_FORMAT.finditer(template):
        name = m.group(1)
        if name in BATCHSPAWNER_VARS:
            line = _line_at(template, m.start())
            fix = f"write {BATCHSPAWNER_VARS[name]}"
            if name == "keepvars" and _DIRECTIVE.match(line):
                # exports are shell lines: inside a directive they would break it
                fix = (
                    f"remove it from `{line.strip()}`: the job script exports the server's "
                    "environment in its body ({{ env | exports }}); the backend's `export` "
                    "option sets the directive's --export"
                )
            found.append(
                Finding(
                    "fail",
                    where,
                    f"`{{{name}}}` is batchspawner's Python-format placeholder; this template "
                    "is Jinja2, so it would reach the job literally",
                    fix,
                )
            )
    for m in _JINJA_VAR.finditer(template):
        name = m.group(1)
        if name in BATCHSPAWNER_VARS and BATCHSPAWNER_VARS[name] != f"{{{{ {name} }}}}":
            found.append(
                Finding(
                    "fail",
                    where,
                    f"`{{{{{name}}}}}` is a batchspawner variable that jobspawner does not define",
                    f"write {BATCHSPAWNER_VARS[name]}",
                )
            )
    return found


def command_leftover(cmd: Any, where: str = "c.Spawner.cmd") -> Finding | None:
    """A server command that is not jobspawner-singleuser (it cannot report its port)."""
    program = foreign_server(cmd)
    if program is None:
        return None
    return Finding(
        "fail",
        where,
        f"{program} does not report its port to jobspawner, so the spawn would fail",
        "c.Spawner.cmd = ['jobspawner-singleuser'] (or remove the setting: it is the "
        "default); it takes the same arguments",
    )


def find_leftovers(config: Mapping[str, Any], known: frozenset[str] = frozenset()) -> list[Finding]:
    """Every batchspawner/wrapspawner setting in ``config``, with what to write instead.

    ``known`` holds the trait names of the spawner class: a ``req_*`` name in it is
    jobspawner's own and is left alone.
    """
    found: list[Finding] = []
    hub = config.get("JupyterHub")
    spawner_class = hub.get("spawner_class") if isinstance(hub, Mapping) else None
    label = batchspawner_class(spawner_class)
    if label is not None:
        backend = inferred_backend(spawner_class)
        then = (
            f"c.JobSpawner.backend = {backend!r}"
            if backend
            else "c.JobSpawner.profiles = from_profiles_spawner(...) (see c.ProfilesSpawner)"
            if label.endswith(("ProfilesSpawner", "WrapSpawner"))
            else "c.JobSpawner.backend = '<slurm|torque|pbspro|moab|lsf|condor|sge>'"
        )
        found.append(
            Finding(
                "fail",
                "c.JupyterHub.spawner_class",
                f"{label} is a batchspawner/wrapspawner class",
                f"c.JupyterHub.spawner_class = 'jobspawner' and {then}",
            )
        )
    for section_name, section in _sections(config):
        if section_name in ("ProfilesSpawner", "WrapSpawner"):
            found.append(_profiles_spawner_leftover(section_name, section))
        elif section_name in SECTIONS:
            found.extend(_foreign_section(section_name, section, known))
        elif section_name in ("JobSpawner", "Spawner"):
            found.extend(_section_leftovers(section_name, section, known))
    return found


def batchspawner_class(value: Any) -> str | None:
    """``c.JupyterHub.spawner_class``'s dotted name when it is batchspawner's/wrapspawner's."""
    if isinstance(value, type):
        label = f"{value.__module__}.{value.__name__}"
    elif isinstance(value, str):
        label = value
    else:
        return None
    lowered = label.lower()
    if "batchspawner" in lowered or "wrapspawner" in lowered or label.split(".")[-1] in SECTIONS:
        return label
    return None


def inferred_backend(value: Any) -> str | None:
    """The backend a batchspawner class becomes (``SlurmSpawner`` -> ``slurm``), else None."""
    label = batchspawner_class(value)
    if label is None:
        return None
    return BATCHSPAWNER_BACKENDS.get(label.split(".")[-1])


def _foreign_section(
    section_name: str, section: Mapping[str, Any], known: frozenset[str]
) -> Iterator[Finding]:
    """Each setting of a batchspawner section (``c.SlurmSpawner``, ``c.BatchSpawnerBase``)
    with its own replacement, so one run says every rename."""
    if not section:
        yield Finding(
            "fail",
            f"c.{section_name}",
            "jobspawner does not read this section (empty)",
            f"remove it; the settings go in {SECTIONS[section_name]}",
        )
    for key, value in section.items():
        where = f"c.{section_name}.{key}"
        not_read = f"jobspawner does not read batchspawner's c.{section_name} (here: {key})"
        if key in RENAMED_REQ:
            yield Finding("fail", where, not_read, f"use {RENAMED_REQ[key]}")
        elif key in OTHER_SETTINGS:
            yield Finding("fail", where, not_read, OTHER_SETTINGS[key])
        elif key in known:
            yield Finding("fail", where, not_read, f"move it to c.JobSpawner.{key}")
            if key == "batch_script" and isinstance(value, str):
                yield from template_leftovers(value, where)
        else:
            yield Finding(
                "fail",
                where,
                not_read,
                "jobspawner has no such setting; see docs/migrating-from-batchspawner.md",
            )


def _profiles_spawner_leftover(section_name: str, section: Mapping[str, Any]) -> Finding:
    names = ", ".join(sorted(section)) or "(empty)"
    fix = "profiles in c.JobSpawner (see docs/profiles.md)"
    if "profiles" in section:
        fix = (
            "c.JobSpawner.profiles = from_profiles_spawner([...the same entries...]) "
            "(from jobspawner import from_profiles_spawner)"
        )
        try:
            from_profiles_spawner(section["profiles"])
        except ProfileConfigError as e:
            fix += f"; first translate by hand: {e}"
    return Finding(
        "fail", f"c.{section_name}", f"jobspawner does not read this section ({names})", fix
    )


def _section_leftovers(
    section_name: str, section: Mapping[str, Any], known: frozenset[str]
) -> Iterator[Finding]:
    for key, value in section.items():
        where = f"c.{section_name}.{key}"
        if key.startswith("req_") and key not in known:
            yield Finding(
                "fail",
                where,
                "is not a jobspawner setting (batchspawner had it); it would be ignored",
                f"use {RENAMED_REQ.get(key, 'one of the req_* settings in the reference')}",
            )
        elif key in OTHER_SETTINGS and key not in known:
            yield Finding(
                "fail", where, "is a batchspawner setting; it would be ignored", OTHER_SETTINGS[key]
            )
        elif key == "batch_script" and isinstance(value, str):
            yield from template_leftovers(value, where)
        elif key == "cmd":
            leftover = command_leftover(value, where)
            if leftover:
                yield leftover
