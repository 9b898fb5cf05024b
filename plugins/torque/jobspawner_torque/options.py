"""The options of the torque, pbspro and moab backends, declared once."""

from __future__ import annotations

from jobspawner import Option, program_options

DIRECT_OUTPUT = Option(
    "direct_output", bool, True,
    "`#PBS -k oed`: the output file is written while the job runs (the hub reads it).",
)  # fmt: skip

TORQUE = [
    *program_options("qsub", "qstat", "qdel", "pbsnodes", "tracejob"),
    Option("history", str, None, "`tracejob`: learn how jobs that left `qstat` ended from "
           "the server logs (where the hub can read them, e.g. on the pbs_server host; off by "
           "default: Torque forgets jobs after `keep_completed`).", choices=("tracejob",)),
    DIRECT_OUTPUT,
]  # fmt: skip

PBSPRO = [
    *program_options("qsub", "qstat", "qdel", "pbsnodes"),
    DIRECT_OUTPUT,
    Option("gpu_model_resource", str, None, "The site's host resource naming the GPU model "
           "(e.g. `gpu_model`): `gpu_type` is requested as `select=...:ngpus=N:gpu_model=TYPE`. "
           "Unset: `gpu_type` is refused."),
]  # fmt: skip

MOAB = [
    *program_options("msub", "showq", "mdiag", "mjobctl", "qstat", "pbsnodes"),
    Option("status_tool", str, "showq", "`showq --xml` or `mdiag -j --xml` (needs Moab admin "
           "rights at most sites) for status.",
           choices=("showq", "mdiag")),
    DIRECT_OUTPUT,
]  # fmt: skip
