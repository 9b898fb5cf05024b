"""What a user may ask for: profiles, the spawn form, validation of user options, the live queue
view.
"""
