"""HTTP only: the Flask app factory, blueprints per resource, schemas, auth, error handlers."""
from api.app import create_app

__all__ = ["create_app"]
