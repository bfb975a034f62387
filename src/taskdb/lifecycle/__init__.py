"""From a URL to a usable database: status, open, upgrade, adopt, lock, check, and env.py's body."""
