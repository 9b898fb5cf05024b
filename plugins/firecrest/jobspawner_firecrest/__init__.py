"""jobspawner backend for FirecREST v2 (CSCS's REST gateway): ``pip install
jobspawner-firecrest`` and ``c.JobSpawner.backend = "firecrest"``. The hooks are in
:mod:`jobspawner_firecrest.hooks`."""

__version__ = "0.1.0"
