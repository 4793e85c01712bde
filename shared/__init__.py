"""The gateway's domain package, used by both the API and the workers."""
