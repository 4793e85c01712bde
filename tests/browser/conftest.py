"""Browser tests: Debian's Chromium driven by Selenium through Debian's chromedriver (no
browser download), against the gateway app served on a free port by a thread, with the real
PostgreSQL, Redis and (where a test asks) real worker processes of tests/conftest.py.

One browser for the whole session. Every page a test looks at is saved as a PNG under
``var/test-screenshots/`` (the path is printed at the end of the run)."""
from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import make_receiver  # noqa: F401  (shared fixture)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "test-screenshots"
CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")
# Cheap argon2 for the test users (the accounts tests measure the real parameters).
FAST_HASHING = {"PASSWORD_HASH_TIME_COST": "1", "PASSWORD_HASH_MEMORY_KIB": "8192",
                "PASSWORD_HASH_PARALLELISM": "1"}
MOBILE = (412, 915)
DESKTOP = (1280, 900)
_taken: list[Path] = []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def chromium():
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = (f"Chromium ({CHROMIUM}) and chromedriver ({CHROMEDRIVER}) are needed: "
                   "./scripts/install-test-deps.sh installs Debian's chromium and "
                   "chromium-driver")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={MOBILE[0]},{MOBILE[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium):
    """The session's browser, with no cookies and a phone-sized window to start with."""
    chromium.delete_all_cookies()
    chromium.set_window_size(*MOBILE)
    chromium.get("about:blank")
    chromium.get_log("browser")  # drop what earlier tests left
    yield chromium
    if len(chromium.window_handles) > 1:
        for handle in chromium.window_handles[1:]:
            chromium.switch_to.window(handle)
            chromium.close()
        chromium.switch_to.window(chromium.window_handles[0])


@pytest.fixture
def shot(browser, request):
    """``shot("checkout-open")`` saves the current page as a PNG and returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]

    def take(name: str, driver=None) -> Path:
        path = SCREENSHOTS / f"{test}--{name}.png"
        (driver or browser).save_screenshot(str(path))
        _taken.append(path)
        return path
    return take


def csp_violations(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser")
            if "Content Security Policy" in entry["message"]]


class WebServer:
    """The gateway app (API and pages) on a free port, served by a thread."""

    def __init__(self, base_env: dict) -> None:
        from werkzeug.serving import make_server

        from api import create_app
        from shared.config import Config
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = Config.from_env({**base_env, **FAST_HASHING,
                                       "PUBLIC_BASE_URL": self.url})
        self.app = create_app(self.config)  # its own Database; publishes to the real Redis
        self.app.config["ACCESS_LOG"] = False
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> WebServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.app.extensions["gateway.db"].dispose()

    def api(self, merchant: dict) -> ApiClient:
        return ApiClient(self.url, merchant["headers"])


class ApiClient:
    """The merchant's server calling the API over real HTTP with its key."""

    def __init__(self, base_url: str, headers: dict) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers.update(headers)

    def get(self, path: str) -> dict:
        response = self.http.get(self.base_url + path, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict | None = None, status: int = 201) -> dict:
        response = self.http.post(self.base_url + path, json=body, timeout=10)
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture(scope="session")
def web_server(base_env):
    server = WebServer(base_env).start()
    yield server
    server.stop()


class MerchantSite:
    """The merchant's own shop, where success_url and cancel_url point."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = (f"<!doctype html><title>Acme shop</title><h1>Acme shop</h1>"
                        f"<p id='where'>{self.path}</p>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def merchant_site():
    site = MerchantSite()
    yield site
    site.stop()


def pytest_terminal_summary(terminalreporter):
    if _taken:
        terminalreporter.write_line(
            f"browser tests: {len(_taken)} screenshots saved under {SCREENSHOTS}")
