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


import imaplib  # noqa: E402
import poplib  # noqa: E402
import smtplib  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402

PASSWORD = "Tq9!vLm2#pRz"


def cli(*args, stdin=None, ok=True):
    """Runs the mailserver CLI on the test's data directory (through the running server's
    admin socket)."""
    r = subprocess.run(
        [os.environ["MAILSERVER_BIN"], "--data", os.environ["DATA"], *args],
        input=stdin, capture_output=True, text=True, timeout=60,
    )
    if ok and r.returncode != 0:
        print("FAILED: mailserver", args, r.stderr, flush=True)
        sys.exit(1)
    return r


def _bound(host, port, timeout, source):
    return socket.create_connection((host, port), timeout, source_address=(source, 0))


class POP3From(poplib.POP3):
    """poplib.POP3 from a chosen loopback source address."""

    def __init__(self, host, port, source, timeout=10):
        self._source = source
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout):
        return _bound(self.host, self.port, timeout, self._source)


class IMAP4From(imaplib.IMAP4):
    """imaplib.IMAP4 from a chosen loopback source address."""

    def __init__(self, host, port, source, timeout=10):
        self._source = source
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout):
        return _bound(self.host, self.port, timeout, self._source)


def pop3(source="127.0.0.1"):
    return POP3From(HOST, port("pop3"), source)


def imap(source="127.0.0.1"):
    return IMAP4From(HOST, port("imap"), source)


def smtp_in():
    return smtplib.SMTP(HOST, port("smtp"), timeout=10)


def submission(user=None, password=PASSWORD):
    s = smtplib.SMTP(HOST, port("submission"), timeout=10)
    s.starttls(context=tls_context())
    if user:
        s.login(user, password)
    return s


def deliver(to, subject="hello", body="body\r\n", sender="someone@other.example", extra=""):
    """Inbound delivery over the SMTP port (like a remote MTA)."""
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n%s\r\n%s" % (sender, to, subject, extra, body))
    s = smtp_in()
    s.sendmail(sender, [to], msg.encode("utf-8"))
    s.quit()


def addr(local):
    return "%s@%s" % (local, DOMAIN)
