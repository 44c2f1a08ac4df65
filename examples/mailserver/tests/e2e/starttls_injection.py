"""Commands pipelined after STARTTLS in the same packet (plaintext injection, CVE-2011-0411
class) are discarded on IMAP, POP3 and SMTP: nothing sent before the handshake is executed."""
import base64
import socket
import time

from common import HOST, PASSWORD, addr, check, port, tls_context


def read_until(sock, marker):
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_for(sock, seconds):
    sock.settimeout(0.2)
    data, end = b"", time.time() + seconds
    while time.time() < end:
        try:
            chunk = sock.recv(4096)
        except (socket.timeout, TimeoutError):
            continue
        if not chunk:
            break
        data += chunk
    return data


def probe(name, starttls, injected, after):
    s = socket.create_connection((HOST, port(name)), timeout=10)
    read_until(s, b"\r\n")
    s.sendall(starttls + injected)
    first = read_for(s, 0.5)
    t = tls_context().wrap_socket(s, server_hostname=HOST)
    t.sendall(after)
    rest = read_for(t, 1.0)
    t.close()
    return first, rest


alice = addr("alice")
first, rest = probe("imap", b"a STARTTLS\r\n",
                    ("b LOGIN %s \"%s\"\r\n" % (alice, PASSWORD)).encode(), b"c SELECT INBOX\r\n")
check(b"b OK" not in first + rest and (b"c NO" in rest or b"c BAD" in rest),
      "IMAP: LOGIN pipelined after STARTTLS ignored (%r / %r)" % (first, rest))

first, rest = probe("pop3", b"STLS\r\n", ("USER %s\r\nPASS %s\r\n" % (alice, PASSWORD)).encode(),
                    b"STAT\r\n")
check(rest.startswith(b"-ERR"), "POP3: USER/PASS pipelined after STLS ignored (%r / %r)" % (first, rest))

first, rest = probe("smtp", b"EHLO x\r\nSTARTTLS\r\n", b"EHLO y\r\nMAIL FROM:<evil@example.org>\r\n",
                    ("RCPT TO:<%s>\r\n" % alice).encode())
check(b"2.1.5" not in rest and rest.startswith(b"503"),
      "SMTP: MAIL pipelined after STARTTLS ignored (%r / %r)" % (first, rest))
print("starttls injection ok")
