"""WSGI entry point for gunicorn: ``gunicorn api.wsgi:app``."""
from api.app import create_app
from shared.runtime import freeze_startup_objects

app = create_app()
freeze_startup_objects()  # each gunicorn worker imports this module after its fork
