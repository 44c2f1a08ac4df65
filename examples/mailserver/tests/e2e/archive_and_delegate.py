"""D4: a delivery mailbox keeps everything: a delegate expunges a message over IMAP, the
administrator lists the archive and restores it."""
import re

from common import DOMAIN, PASSWORD, addr, check, cli, deliver, imap

alice, dave = addr("alice"), addr("dave")
deliver(dave, subject="court notice 2026-17", sender="registry@" + DOMAIN)
m = imap()
m.login(alice, PASSWORD)
box = '"Other Users/%s/INBOX"' % dave
typ, data = m.select(box)
check(typ == "OK" and data[0] == b"1", "delegate opens the delivery mailbox")
m.store("1", "+FLAGS", "(\\Deleted)")
typ, data = m.expunge()
check(typ == "OK" and data[0] == b"1", "delegate expunges it")
m.close()
listing = cli("archive", "list", dave).stdout
check("court notice 2026-17" in listing, "archive list shows the expunged message (%r)" % listing)
ident = re.match(r"(\d+)\t", listing).group(1)
out = cli("archive", "restore", dave, ident).stdout
check("restored" in out, "archive restore")
typ, data = m.select(box)
check(data[0] == b"1", "the message is back in the INBOX")
typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
check(b"court notice 2026-17" in data[0][1], "same message")
m.logout()
print("archive ok")
