"""Rate limits kept in Redis (SPEC "Protection"): see ``limiter.py``."""
