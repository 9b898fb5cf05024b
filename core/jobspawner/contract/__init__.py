"""The contract a backend is written against: hooks, job spec, status, commands, context, backend
options, units, resource requests.
"""
