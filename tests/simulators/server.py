"""Serve a WSGI app on a free 127.0.0.1 port in a background thread."""
from __future__ import annotations

import threading

from werkzeug.serving import make_server


class BackgroundServer:
    def __init__(self, app) -> None:
        # Threaded, so a handler told to stall (timeout tests) does not block other requests.
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name=f"simulator:{self._server.server_port}",
                                        daemon=True)

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
