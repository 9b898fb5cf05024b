"""jobspawner backend for IBM Spectrum LSF (``bsub``, ``bjobs``, ``bkill``, ``bqueues``).

The hook implementations live in :mod:`jobspawner_lsf.hooks` (the entry point), the job
script template in :mod:`jobspawner_lsf.templates` and the pure output parsers in
:mod:`jobspawner_lsf.parsers`.
"""
