# No settings: every default.
