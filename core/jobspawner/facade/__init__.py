"""Faces over what jobspawner does not own: the pluggy backend (and the core's own hook
implementations), JupyterHub's versions.
"""
