"""One server's life as a batch job: its record and session, start clock, status polling,
handshake, watch, walltime, end, metrics.
"""
