"""With allow_plaintext_from_loopback = false, no client may log in before STARTTLS / STLS,
even from 127.0.0.1; after TLS the same credentials work."""
import imaplib
import smtplib

from common import PASSWORD, addr, check, expect_error, imap, pop3, port, HOST, tls_context

alice = addr("alice")
m = imap()
check("LOGINDISABLED" in m.capabilities, "IMAP advertises LOGINDISABLED before STARTTLS")
expect_error(lambda: m.login(alice, PASSWORD), "", "IMAP LOGIN refused before STARTTLS")
m = imap()
m.starttls(ssl_context=tls_context())
check(m.login(alice, PASSWORD)[0] == "OK", "IMAP LOGIN after STARTTLS")
m.logout()

p = pop3()
expect_error(lambda: p.user(alice), "plaintext", "POP3 USER refused before STLS")
p.quit()
p = pop3()
p.stls(context=tls_context())
p.user(alice)
p.pass_(PASSWORD)
check(True, "POP3 login after STLS")
p.quit()

s = smtplib.SMTP(HOST, port("submission"), timeout=10)
s.ehlo()
check(not s.has_extn("auth"), "submission does not offer AUTH before STARTTLS")
s.starttls(context=tls_context())
s.ehlo()
check(s.has_extn("auth"), "AUTH offered after STARTTLS")
s.login(alice, PASSWORD)
s.quit()
print("plaintext policy ok")
