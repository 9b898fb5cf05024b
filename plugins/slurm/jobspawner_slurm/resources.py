"""Pure parsers for resource discovery: ``sinfo`` lines and ``scontrol show partition -o``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from jobspawner import QueueInfo

from .parsers import parse_duration

#: Columns asked from sinfo (``-o``), in order; see :func:`commands.sinfo_command`.
SINFO_FIELDS = (
    "partition",  # %P  name, "*" marks the default
    "avail",  # %a  up/down/drain/inact
    "timelimit",  # %l
    "defaulttime",  # %L
    "nodes",  # %D
    "cpus",  # %c  per node ("4+" when nodes differ)
    "memory",  # %m  MiB per node
    "gres",  # %G
    "state",  # %T  node state of the nodes on this line
    "cpus_aiot",  # %C  allocated/idle/other/total
)
SINFO_FORMAT = "|".join(["%P", "%a", "%l", "%L", "%D", "%c", "%m", "%G", "%T", "%C"])

_UNLIMITED = {"UNLIMITED", "INFINITE", "n/a", "N/A", "", "NONE", "(null)"}


def _int(text: str | None) -> int | None:
    text = (text or "").strip().rstrip("+")
    return int(text) if text.isdigit() else None


def gpu_count(gres: str | None) -> int | None:
    """GPUs per node in a GRES string (``gpu:a100:4(S:0-1),gpu:v100:2`` -> 6)."""
    total, seen = 0, False
    for item in re.split(r",(?![^()]*\))", gres or ""):
        item = re.sub(r"\(.*?\)", "", item).strip()
        parts = item.split(":")
        if not parts or parts[0] != "gpu":
            continue
        count = _int(parts[-1]) if len(parts) > 1 else 1
        if count is not None:
            total += count
            seen = True
    return total if seen else None


@dataclass
class _Partition:
    name: str
    default: bool = False
    state: str | None = None
    max_time_s: int | None = None
    default_time_s: int | None = None
    nodes: int = 0
    cpus_per_node: int | None = None
    memory_per_node_mb: int | None = None
    gpus_per_node: int | None = None
    gres: list[str] = field(default_factory=list)
    idle_cpus: int = 0
    total_cpus: int = 0
    node_states: dict[str, int] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def parse_sinfo(text: str, delimiter: str = "|") -> dict[str, _Partition]:
    """Partitions from sinfo lines (one line per partition and node state/configuration)."""
    parts: dict[str, _Partition] = {}
    for line in text.splitlines():
        cols = line.split(delimiter)
        if len(cols) < len(SINFO_FIELDS):
            continue
        row = dict(zip(SINFO_FIELDS, (c.strip() for c in cols), strict=False))
        raw_name = row["partition"]
        name = raw_name.rstrip("*")
        if not name or name == "PARTITION":
            continue
        p = parts.setdefault(name, _Partition(name=name))
        p.default = p.default or raw_name.endswith("*")
        p.state = row["avail"].lower() or p.state
        p.max_time_s = p.max_time_s or parse_duration(row["timelimit"])
        p.default_time_s = p.default_time_s or parse_duration(row["defaulttime"])
        nodes = _int(row["nodes"]) or 0
        p.nodes += nodes
        p.cpus_per_node = _max(p.cpus_per_node, _int(row["cpus"]))
        p.memory_per_node_mb = _max(p.memory_per_node_mb, _int(row["memory"]))
        p.gpus_per_node = _max(p.gpus_per_node, gpu_count(row["gres"]))
        if row["gres"] not in _UNLIMITED and row["gres"] not in p.gres:
            p.gres.append(row["gres"])
        state = row["state"].lower()
        if state:
            p.node_states[state] = p.node_states.get(state, 0) + nodes
        aiot = row["cpus_aiot"].split("/")
        if len(aiot) == 4:
            p.idle_cpus += _int(aiot[1]) or 0
            p.total_cpus += _int(aiot[3]) or 0
    return parts


def parse_scontrol_partitions(text: str) -> dict[str, dict[str, str]]:
    """``{name: {Key: value}}`` from ``scontrol show partition --oneliner``."""
    out: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        fields: dict[str, str] = {}
        for token in line.split():
            key, sep, value = token.partition("=")
            if sep:
                fields[key] = value
        name = fields.get("PartitionName")
        if name:
            out[name] = fields
    return out


_EXTRA_KEYS = {
    "MaxNodes": "max_nodes",
    "MaxCPUsPerNode": "max_cpus_per_node",
    "MaxMemPerNode": "max_mem_per_node_mb",
    "MaxMemPerCPU": "max_mem_per_cpu_mb",
    "DefMemPerCPU": "def_mem_per_cpu_mb",
    "DefMemPerNode": "def_mem_per_node_mb",
    "QoS": "qos",
    "AllowAccounts": "allow_accounts",
    "AllowQos": "allow_qos",
    "AllowGroups": "allow_groups",
    "TRES": "tres",
}


def merge(sinfo: dict[str, _Partition], scontrol: dict[str, dict[str, str]]) -> list[QueueInfo]:
    """One :class:`QueueInfo` per partition; scontrol's limits win over sinfo's columns."""
    names = list(sinfo) + [n for n in scontrol if n not in sinfo]
    queues = []
    for name in names:
        p = sinfo.get(name) or _Partition(name=name)
        conf = scontrol.get(name, {})
        if conf:
            p.default = p.default or conf.get("Default") == "YES"
            p.state = conf.get("State", "").lower() or p.state
            if "MaxTime" in conf:
                p.max_time_s = parse_duration(conf["MaxTime"])
            if "DefaultTime" in conf:
                p.default_time_s = parse_duration(conf["DefaultTime"])
            p.nodes = p.nodes or (_int(conf.get("TotalNodes")) or 0)
            p.total_cpus = p.total_cpus or (_int(conf.get("TotalCPUs")) or 0)
            for key, label in _EXTRA_KEYS.items():
                value = conf.get(key, "")
                if value and value not in _UNLIMITED and value != "ALL":
                    p.extra[label] = value
        queues.append(
            QueueInfo(
                name=name,
                default=p.default,
                state=p.state,
                max_time_s=p.max_time_s,
                default_time_s=p.default_time_s,
                nodes=p.nodes or None,
                cpus_per_node=p.cpus_per_node,
                memory_per_node_mb=p.memory_per_node_mb,
                gpus_per_node=p.gpus_per_node,
                gres=",".join(p.gres) or None,
                idle_cpus=p.idle_cpus if name in sinfo else None,
                total_cpus=p.total_cpus or None,
                node_states=dict(p.node_states),
                extra=dict(p.extra),
            )
        )
    return queues


def parse_resources_texts(sinfo_text: str, scontrol_text: str | None) -> Sequence[QueueInfo]:
    """Partitions from the outputs of the two discovery commands."""
    return merge(parse_sinfo(sinfo_text), parse_scontrol_partitions(scontrol_text or ""))
