"""The trust boundary's shared primitives: bounded text, bounded log reads, files created on a
user's behalf, leftover secrets.
"""
