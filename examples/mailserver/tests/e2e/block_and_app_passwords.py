"""Brute-force blocking seen from 127.0.0.2 while 127.0.0.1 still logs in (C4), and the
2FA / app-password rules (C1, C2) over POP3, IMAP-less SMTP and curl."""
import base64
import hashlib
import hmac
import os
import smtplib
import struct
import time
import urllib.parse

from common import (PASSWORD, addr, check, cli, expect_error, pop3, submission)

alice, bob = addr("alice"), addr("bob")

# --- C4: ten different wrong passwords from 127.0.0.2 block that address ---
for i in range(10):
    p = pop3("127.0.0.2")
    p.user(alice)
    expect_error(lambda: p.pass_("wrong-guess-%d" % i), "[AUTH]", "wrong password %d from 127.0.0.2" % (i + 1))
    p.quit()
p = pop3("127.0.0.2")
p.user(alice)
expect_error(lambda: p.pass_(PASSWORD), "too many failed logins", "right password refused while blocked")
p.quit()
p = pop3("127.0.0.1")
p.user(alice)
p.pass_(PASSWORD)
check(True, "127.0.0.1 still logs in")
p.quit()
bans = cli("ban", "list").stdout
check("127.0.0.2" in bans, "ban list shows 127.0.0.2")
cli("ban", "lift", "127.0.0.2")
p = pop3("127.0.0.2")
p.user(alice)
p.pass_(PASSWORD)
check(True, "127.0.0.2 logs in after ban lift")
p.quit()

# --- C1/C2: TOTP, then app passwords ---
r = cli("app-password", "add", bob, "--name", "early", ok=False)
check(r.returncode != 0 and "two-factor" in r.stderr, "no app password before 2FA (%s)" % r.stderr.strip())
qr = os.path.join(os.environ["DATA"], "bob-qr.png")
url = cli("totp", "enroll", bob, "--qr", qr).stdout.strip()
check(url.startswith("otpauth://totp/"), "totp enroll prints the otpauth URL")
check(open(qr, "rb").read(8) == b"\x89PNG\r\n\x1a\n", "--qr writes a PNG")
secret = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["secret"][0]


def totp(secret_b32, t=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((t or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


r = cli("totp", "confirm", bob, totp(secret))
check("TOTP bound" in r.stdout, "totp confirm binds the factor")

p = pop3()
p.user(bob)
expect_error(lambda: p.pass_(PASSWORD), "app password", "account password refused once 2FA is on (POP3)")
p.quit()
try:
    submission(bob)
    check(False, "account password accepted over SMTP with 2FA")
except smtplib.SMTPAuthenticationError as e:
    check(e.smtp_code == 535 and b"app password" in e.smtp_error, "SMTP 535 says an app password is needed")

app_pw = cli("app-password", "add", bob, "--name", "phone").stdout.strip()
check(len(app_pw) == 16 and app_pw.isalnum(), "app-password add prints only the 16-character password")
p = pop3()
p.user(bob)
p.pass_(app_pw)
check(True, "app password works over POP3")
p.quit()
s = submission(bob, app_pw.upper())
s.quit()
check(True, "app password works over SMTP, case-insensitively")

pop_only = cli("app-password", "add", bob, "--name", "old-phone", "--scope", "pop3").stdout.strip()
try:
    submission(bob, pop_only)
    check(False, "pop3-scoped app password accepted over SMTP")
except smtplib.SMTPAuthenticationError as e:
    check(b"not allowed for SMTP" in e.smtp_error, "scope enforced")

listing = cli("app-password", "list", bob).stdout
check("phone" in listing and "old-phone" in listing and app_pw not in listing,
      "app-password list shows names, never secrets")
check("over SMTP" in listing, "last use recorded (time, IP, protocol)")
cli("app-password", "remove", bob, "phone")
p = pop3()
p.user(bob)
expect_error(lambda: p.pass_(app_pw), "[AUTH]", "removed app password no longer works")
p.quit()
out = cli("app-password", "clear", bob).stdout
check("1 app passwords removed" in out, "app-password clear removes the rest")

logins = cli("log", "logins", "--account", bob).stdout
check("app_password_required" in logins, "login log records the refusal reason")
admin = cli("log", "admin").stdout
check("app-password add" in admin and "failed" in admin and "ban lift" in admin,
      "admin log has every command with its result")
print("block and app passwords ok")
