"""Where scheduler commands run and how the hub reaches the server: local or SSH, port forwards,
host maps, routes.
"""
