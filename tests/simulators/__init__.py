"""Local stand-ins for the payment providers, speaking each provider's wire format.

Each simulator is a Flask app with in-memory, lock-protected state, served on a free
127.0.0.1 port by ``server.BackgroundServer``. Tests drive faults and customer actions
through Python methods on the simulator object (see ``base.SimulatorBase``).
"""
