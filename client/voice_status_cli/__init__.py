"""`voice-status`: the command-line client of the voice status API (local stack or deployed)."""
