"""POP3 with poplib: login rules, the maildrop lock, deletions only on QUIT, STLS and POP3S."""
import poplib
import ssl

from common import (DOMAIN, HOST, PASSWORD, addr, check, cli, deliver, expect_error, pop3, port,
                    tls_context)

alice = addr("alice")

# P2: the part before @ alone is refused with a message naming the fix.
p = pop3()
p.user("alice")
expect_error(lambda: p.pass_(PASSWORD), "full e-mail address", "short login refused with advice")
p.quit()

p = pop3()
p.user(alice)
expect_error(lambda: p.pass_("wrong-password-1"), "[AUTH]", "wrong password gives -ERR [AUTH]")
p.quit()

# Messages delivered over SMTP show up, in order.
deliver(alice, subject="=?UTF-8?B?5rWL6K+V5Lit5paH?=", body="第一封\r\n.leading dot\r\n")
deliver(alice, subject="second")
p = pop3()
p.user(alice)
p.pass_(PASSWORD)
count, size = p.stat()
check(count == 2, "two messages in the maildrop (got %d)" % count)
resp, lines, _ = p.retr(1)
text = b"\r\n".join(lines).decode("utf-8")
check("Received: from" in text, "Received header added at delivery")
check("第一封" in text and "\r\n.leading dot" in text, "body intact, dot-unstuffed by poplib")
uidl = p.uidl()[1]
check(len(uidl) == 2, "UIDL lists both")

# IN-USE while this session holds the lock.
q = pop3()
q.user(alice)
expect_error(lambda: q.pass_(PASSWORD), "IN-USE", "second session gets -ERR [IN-USE]")
q.quit()

# DELE then a dropped connection: nothing is deleted.
p.dele(1)
p.sock.close()
p = pop3()
p.user(alice)
p.pass_(PASSWORD)
check(p.stat()[0] == 2, "dropped connection deleted nothing")
p.dele(1)
p.quit()
p = pop3()
p.user(alice)
p.pass_(PASSWORD)
count, _ = p.stat()
check(count == 1, "QUIT committed the deletion")
top = p.top(1, 0)[1]
check(any(b"Subject: second" == l for l in top), "TOP shows the remaining message's header")
p.quit()

# STLS with the pinned self-signed certificate, then login.
p = pop3()
p.stls(context=tls_context())
p.user(alice)
p.pass_(PASSWORD)
check(p.stat()[0] == 1, "login after STLS")
p.quit()

# POP3S (implicit TLS).
p = poplib.POP3_SSL(HOST, port("pop3s"), context=tls_context(), timeout=10)
p.user(alice)
p.pass_(PASSWORD)
check(p.stat()[0] == 1, "login over POP3S")
p.quit()

# Account states: must change password, banned, delivery accounts.
cli("user", "set", addr("frank"), "--must-change-password")
p = pop3()
p.user(addr("frank"))
expect_error(lambda: p.pass_(PASSWORD), "must be changed", "must-change-password explained")
p.quit()
cli("user", "set", addr("eve"), "--state", "banned")
p = pop3()
p.user(addr("eve"))
expect_error(lambda: p.pass_(PASSWORD), "banned", "banned account explained")
p.quit()
p = pop3()
p.user(addr("dave"))
expect_error(lambda: p.pass_(PASSWORD), "web interface", "delivery account refused over POP3")
p.quit()
print("pop3 ok")
