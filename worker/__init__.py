"""Celery only: the Celery app and thin tasks that call shared/ services."""
