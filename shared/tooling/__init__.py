"""Tooling for running the gateway on one machine (`gateway dev`): the supervisor and the
development server. Nothing in the domain imports it."""
