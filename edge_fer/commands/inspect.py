"""`edge-fer train` (placeholder module until the trainer lands)."""

def register(app):
    pass
