# The shape of batchspawner's README Slurm example: an import, the class, per-class settings,
# a template with Python-format placeholders and --export={keepvars} in a directive.
# check prints: [FAIL] config: imports batchspawner, which jobspawner replaces (its settings are listed below)
# check prints: [FAIL] c.JupyterHub.spawner_class: batchspawner.SlurmSpawner is a batchspawner/wrapspawner class
# check prints:        fix: c.JupyterHub.spawner_class = 'jobspawner' and c.JobSpawner.backend = 'slurm'
# check prints: [FAIL] c.BatchSpawnerBase.req_nprocs: jobspawner does not read batchspawner's c.BatchSpawnerBase (here: req_nprocs)
# check prints:        fix: use c.JobSpawner.req_cpus
# check prints: [FAIL] c.BatchSpawnerBase.req_runtime: jobspawner does not read batchspawner's c.BatchSpawnerBase (here: req_runtime)
# check prints:        fix: move it to c.JobSpawner.req_runtime
# check prints: [FAIL] c.SlurmSpawner.batch_script: jobspawner does not read batchspawner's c.SlurmSpawner (here: batch_script)
# check prints:        fix: move it to c.JobSpawner.batch_script
# check prints:        fix: remove it from `#SBATCH --export={keepvars}`: the job script exports the server's environment in its body ({{ env | exports }}); the backend's `export` option sets the directive's --export
# exit: 1
import batchspawner  # noqa: F401

c = get_config()  # noqa
c.JupyterHub.spawner_class = "batchspawner.SlurmSpawner"
c.JupyterHub.hub_connect_ip = "10.0.0.5"
c.Spawner.http_timeout = 120
c.BatchSpawnerBase.req_nprocs = "2"
c.BatchSpawnerBase.req_runtime = "12:00:00"
c.SlurmSpawner.batch_script = """#!/bin/bash
#SBATCH --partition={partition}
#SBATCH --time={runtime}
#SBATCH --export={keepvars}
{cmd}
"""
# this machine's own Slurm is not asked (its client tools are missing on purpose)
c.JobSpawner.backend_options = {
    "sbatch": "/nonexistent/sbatch",
    "squeue": "/nonexistent/squeue",
    "scancel": "/nonexistent/scancel",
    "sinfo": "/nonexistent/sinfo",
}
