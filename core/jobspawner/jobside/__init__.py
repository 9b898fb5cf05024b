"""What runs in the job, as the user: the single-user server and the local job runner. Standard
library and Jupyter only; nothing of the hub.
"""
