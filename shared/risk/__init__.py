"""Risk rules evaluated by the worker before any provider call (SPEC "Protection")."""
