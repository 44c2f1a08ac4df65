"""Shared helpers for the end-to-end client scripts: ports and the pinned certificate come from
the environment the Rust harness sets (tests/harness/mod.rs)."""
import os
import ssl
import sys
import time

HOST = os.environ.get("HOST", "127.0.0.1")
DOMAIN = os.environ.get("DOMAIN", "example.edu")


def port(name):
    return int(os.environ[name.upper() + "_PORT"])


def tls_context():
    """Verifies the server's self-signed certificate by pinning it as the only trust anchor."""
    ctx = ssl.create_default_context(cafile=os.environ["CERT"])
    ctx.check_hostname = True
    return ctx


def check(cond, what):
    if not cond:
        print("FAILED:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


def expect_error(fn, contains, what):
    """Runs fn, which must raise; the error text must contain `contains` (case-insensitive)."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - any client error type
        text = str(e)
        check(contains.lower() in text.lower(), "%s (got: %s)" % (what, text))
        return text
    check(False, what + " (no error raised)")


def wait_until(fn, timeout=10.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if fn():
            return
        time.sleep(0.1)
    check(False, "timed out waiting for " + what)
