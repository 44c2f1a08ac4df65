"""SMTP with smtplib: inbound delivery rules, quota, submission AUTH and From rules with shared
mailboxes, restricted accounts, and the no-smarthost refusal."""
import smtplib
import ssl

from common import (DOMAIN, HOST, PASSWORD, addr, check, cli, deliver, expect_error, imap, pop3, port,
                    smtp_in, submission, tls_context)

alice, bob, carol, dave = addr("alice"), addr("bob"), addr("carol"), addr("dave")
office = addr("office")


def inbox(user):
    p = pop3()
    p.user(user)
    p.pass_(PASSWORD)
    msgs = []
    for i in range(p.stat()[0]):
        msgs.append(b"\r\n".join(p.retr(i + 1)[1]).decode("utf-8", "replace"))
    p.quit()
    return msgs


def rcpt_code(s, to):
    s.ehlo_or_helo_if_needed()
    s.rset()
    s.mail("x@other.example")
    return s.rcpt(to)


# --- inbound (port 25 role) ---
s = smtp_in()
code, text = rcpt_code(s, addr("nobody"))
check(code == 550 and b"5.1.1" in text, "unknown local user: 550 5.1.1 (%r)" % text)
code, text = rcpt_code(s, "someone@gmail.example")
check(code == 550 and b"relay" in text, "no open relay: 550 (%r)" % text)
code, text = rcpt_code(s, dave)
check(code == 550 and b"5.7.1" in text, "delivery account refuses other domains (%r)" % text)
s.rset()
s.mail("clerk@" + DOMAIN)
code, _ = s.rcpt(dave)
check(code == 250, "delivery account accepts its own domain")
s.quit()

# Quota: carol has a 2000-byte quota.
cli("user", "set", carol, "--quota", "2000")
s = smtp_in()
s.ehlo()
s.mail("x@other.example", ["SIZE=5000"])
code, text = s.rcpt(carol)
check(code == 552 and b"5.2.2" in text, "declared size over quota: 552 5.2.2 (%r)" % text)
s.rset()
s.quit()
deliver(carol, subject="fits", body="x" * 1200 + "\r\n")
s = smtp_in()
s.ehlo()
s.mail("x@other.example")  # no SIZE: the quota is checked again when the message is stored
code, _ = s.rcpt(carol)
check(code == 250, "RCPT accepted while under quota")
code, text = s.data(("Subject: too big\r\n\r\n" + "y" * 1500 + "\r\n").encode())
check(code == 552 and b"5.2.2" in text, "over quota at the end of DATA: 552 5.2.2 (%r)" % text)
s.quit()
cli("user", "set", carol, "--quota", "1000")
s = smtp_in()
code, text = rcpt_code(s, carol)
check(code == 452 and b"4.2.2" in text, "mailbox already full: 452 4.2.2 (%r)" % text)
s.quit()
cli("user", "set", carol, "--quota", "0")

# --- submission ---
s = smtplib.SMTP(HOST, port("submission"), timeout=10)
s.ehlo()
code, text = s.mail(alice)
check(code == 530, "submission needs AUTH (%d %r)" % (code, text))
s.quit()

s = smtplib.SMTP(HOST, port("submission"), timeout=10)
s.starttls(context=tls_context())
try:
    s.login(alice, "not-the-password")
    check(False, "wrong password accepted")
except smtplib.SMTPAuthenticationError as e:
    check(e.smtp_code == 535 and b"5.7.8" in e.smtp_error, "wrong password: 535 5.7.8")
s.quit()

s = submission(alice)
s.sendmail(alice, [bob], ("From: Alice <%s>\r\nTo: %s\r\nSubject: =?UTF-8?B?5Lya6K6u6YCa55+l?=\r\n\r\n明天开会\r\n" % (alice, bob)).encode())
got = inbox(bob)
check(any("明天开会" in m and "Received: from" in m for m in got), "local submission delivered to bob")
check(any("明天开会" in m and "Message-ID: <" in m and "\r\nDate: " in "\r\n" + m for m in got),
      "submission added Message-ID and Date")
sent = [l for l in cli("log", "mail", "--account", alice).stdout.splitlines() if "会议通知" in l]
check(len(sent) == 1 and "Sent" in sent[0] and ("read=%s@" % bob) in sent[0],
      "mail log shows the sent message as read by bob (D1) (%r)" % sent)

# From someone else's address: refused.
try:
    s.sendmail(alice, [bob], ("From: %s\r\nSubject: forged\r\n\r\nx\r\n" % carol).encode())
    check(False, "forged From accepted")
except smtplib.SMTPDataError as e:
    check(e.smtp_code == 550 and b"may not send as" in e.smtp_error, "forged From refused: 550 5.7.1")
try:
    s.sendmail(carol, [bob], b"From: x\r\n\r\nx\r\n")
    check(False, "forged envelope sender accepted")
except smtplib.SMTPSenderRefused as e:
    check(e.smtp_code == 550, "forged envelope sender refused at MAIL")

# No smarthost: other domains refused at RCPT with the reason.
try:
    s.sendmail(alice, ["friend@other.example"], ("From: %s\r\n\r\nx\r\n" % alice).encode())
    check(False, "external recipient accepted without a smarthost")
except smtplib.SMTPRecipientsRefused as e:
    code, text = e.recipients["friend@other.example"]
    check(code == 550 and b"no smarthost" in text, "no smarthost: 550 5.7.1 with the reason")
s.quit()

# Shared mailbox office@: alice delegate, bob on-behalf, carol read-only.
s = submission(alice)
s.sendmail(office, [dave], ("From: Office <%s>\r\nSubject: as owner\r\n\r\nfrom the office\r\n" % office).encode())
s.quit()
s = submission(bob)
s.sendmail(bob, [dave], ("From: Office <%s>\r\nSubject: on behalf\r\n\r\nfrom bob for the office\r\n" % office).encode())
s.quit()
s = submission(carol)
try:
    s.sendmail(carol, [bob], ("From: %s\r\nSubject: ro\r\n\r\nx\r\n" % office).encode())
    check(False, "read-only delegate sent as the owner")
except smtplib.SMTPDataError as e:
    check(e.smtp_code == 550 and b"read-only" in e.smtp_error, "read-only share may not send as owner")
s.quit()
# Check headers as delivered (to alice, who reads her own inbox).
s = submission(bob)
s.sendmail(bob, [alice], ("From: %s\r\nSubject: obo-check\r\n\r\nx\r\n" % office).encode())
s.quit()
s = submission(alice)
s.sendmail(alice, [bob], ("From: %s\r\nSubject: delegate-check\r\n\r\nx\r\n" % office).encode())
s.quit()
obo = [m for m in inbox(alice) if "obo-check" in m]
check(len(obo) == 1 and ("Sender: <%s>" % bob) in obo[0], "on-behalf adds Sender: delegate")
dele = [m for m in inbox(bob) if "delegate-check" in m]
check(len(dele) == 1 and "Sender:" not in dele[0], "delegate sends as the owner (no Sender)")

# Restricted account: only inside its own domain, refused at RCPT with the reason.
cli("user", "set", carol, "--state", "restricted")
s = submission(carol)
code, text = s.mail(carol)
code, text = s.rcpt("friend@other.example")
check(code == 550 and b"restricted" in text, "restricted: other domain refused at RCPT (%r)" % text)
code, _ = s.rcpt(bob)
check(code == 250, "restricted: own domain allowed")
s.quit()

# Implicit TLS (submissions) with the pinned certificate.
s = smtplib.SMTP_SSL(HOST, port("submissions"), context=tls_context(), timeout=10)
s.login(alice, PASSWORD)
s.sendmail(alice, [bob], ("From: %s\r\nSubject: over 465\r\n\r\nx\r\n" % alice).encode())
s.quit()
check(any("over 465" in m for m in inbox(bob)), "submissions (implicit TLS) delivers")

# A large message (about 3 MiB, so it arrives in many reads) with dot-stuffed lines and UTF-8
# text is stored byte for byte.
lines = []
for i in range(56000):
    if i % 7 == 0:
        lines.append(".leading dot %d 点" % i)
    elif i % 11 == 0:
        lines.append("..two dots %d" % i)
    elif i % 13 == 0:
        lines.append(".")
    else:
        lines.append("line %d 正文内容 %s" % (i, "x" * (i % 90)))
big_body = ("\r\n".join(lines) + "\r\n").encode("utf-8")
big = ("From: <big@other.example>\r\nTo: <%s>\r\nSubject: big-one\r\n\r\n" % bob).encode() + big_body
s = smtp_in()
s.sendmail("big@other.example", [bob], big)
s.quit()
m = imap()
m.login(bob, PASSWORD)
m.select("INBOX")
typ, data = m.search(None, "SUBJECT", "big-one")
num = data[0].split()[-1]
typ, data = m.fetch(num, "(BODY.PEEK[TEXT])")
got = data[0][1]
check(len(big) > 3_000_000 and got == big_body,
      "a %d-byte message with dot lines is stored byte for byte (body %d, got %d)"
      % (len(big), len(big_body), len(got)))
m.logout()

# The mail log records deliveries.
log = cli("log", "mail", "--account", bob).stdout
check("Received" in log and "delivered" in log, "mail log lists deliveries to bob")
print("smtp ok")
