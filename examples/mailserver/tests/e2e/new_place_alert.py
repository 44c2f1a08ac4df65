"""D5: with an IP-to-place table, a login from a place the account has not used before puts an
alert in the user's INBOX and a line in the outbox (for an SMS gateway); the login log shows
places."""
import json
import os
import time

from common import PASSWORD, addr, check, cli, pop3, wait_until

alice = addr("alice")
p = pop3("127.0.0.1")          # CN/Shanghai: the first place is the baseline, no alert
p.user(alice)
p.pass_(PASSWORD)
p.quit()
p = pop3("127.0.0.2")          # CN/Beijing: new
p.user(alice)
p.pass_(PASSWORD)
p.quit()
outbox = os.path.join(os.environ["DATA"], "outbox.log")
wait_until(lambda: os.path.exists(outbox) and os.path.getsize(outbox) > 0, 10, "the outbox line")
lines = [json.loads(l) for l in open(outbox, encoding="utf-8")]
check(len(lines) == 1 and lines[0]["place"] == "CN/Beijing" and lines[0]["to"] == alice,
      "exactly one alert, for Beijing (%r)" % lines)


def alert_in_inbox():
    p = pop3()
    p.user(alice)
    p.pass_(PASSWORD)
    found = False
    for i in range(p.stat()[0]):
        text = b"\r\n".join(p.retr(i + 1)[1]).decode("utf-8", "replace")
        found = found or ("CN/Beijing" in text and "127.0.0.2" in text)
    p.quit()
    return found


wait_until(alert_in_inbox, 10, "the alert message in the INBOX")
check(True, "alert delivered to the INBOX")
log = cli("log", "logins", "--account", alice, "--json").stdout
places = [json.loads(l).get("place") for l in log.splitlines()]
check("CN/Beijing" in places and "CN/Shanghai" in places, "login log records places (%r)" % places)
print("alerts ok")
