"""Payment providers behind one interface (STYLE 6). See ``base.py`` and ``registry.py``."""
