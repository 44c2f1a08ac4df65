"""IMAP with imaplib: login rules, Chinese folders with special-use, APPEND and SEARCH on
Chinese text, STARTTLS and IMAPS, IDLE woken by deliveries and other sessions, and the rights
of shared mailboxes."""
import imaplib
import socket
import time

from common import (HOST, PASSWORD, addr, check, cli, deliver, expect_error, imap, port,
                    tls_context)

alice, bob, carol, dave = addr("alice"), addr("bob"), addr("carol"), addr("dave")
office = addr("office")

# --- login rules ---
m = imap()
expect_error(lambda: m.login("alice", PASSWORD), "full e-mail address", "IMAP: short login refused")
m = imap()
expect_error(lambda: m.login(alice, "wrong-password-1"), "AUTHENTICATIONFAILED", "IMAP: wrong password")
m = imap()
expect_error(lambda: m.login(dave, PASSWORD), "web interface", "IMAP: delivery account refused")
cli("user", "set", addr("frank"), "--must-change-password")
m = imap()
expect_error(lambda: m.login(addr("frank"), PASSWORD), "[ALERT]", "IMAP: must-change-password is an ALERT")
cli("user", "set", addr("frank"), "--must-change-password=false")
m = imap()
check(m.login(addr("frank"), PASSWORD)[0] == "OK", "IMAP: login once the flag is cleared")
m.logout()
m = imap()
typ, _ = m.login(alice, PASSWORD)
check(typ == "OK", "IMAP: alice logs in with her full address")

# --- Chinese folder names (modified UTF-7 on the wire, UTF-8 after ENABLE UTF8=ACCEPT) ---
typ, boxes = m.list()
raw = b"\n".join(boxes)
for enc, attr, name in [(b"&g0l6P3ux-", b"\\Drafts", "草稿箱"), (b"&XfJT0ZAB-", b"\\Sent", "已发送"),
                        (b"&XfJSIJZk-", b"\\Trash", "已删除"), (b"&V4NXPpCuTvY-", b"\\Junk", "垃圾邮件")]:
    line = [b for b in boxes if b.endswith(b'"/" ' + enc)]
    check(len(line) == 1 and attr in line[0], "%s listed with %s" % (name, attr.decode()))
check(any(b.endswith(b" INBOX") for b in boxes), "INBOX listed")
typ, _ = m.create('"&VAhPXFk5-"')  # 合作夹 in modified UTF-7
check(typ == "OK", "create a Chinese folder")
m.logout()

m = imap()
m.login(alice, PASSWORD)
typ, _ = m._simple_command("ENABLE", "UTF8=ACCEPT")
m._encoding = "utf-8"
typ, boxes = m.list()
names = [b.decode("utf-8") for b in boxes]
check(any(n.endswith(' 草稿箱') or n.endswith('"草稿箱"') for n in names), "UTF8=ACCEPT lists 草稿箱 in UTF-8 (%r)" % names)
check(any("合作夹" in n for n in names), "the new folder 合作夹 is listed")

# APPEND to 草稿箱 a message with a Chinese subject and body, then SEARCH it.
msg = ("From: %s\r\nTo: %s\r\nSubject: =?UTF-8?B?5pyf5pyr6ICD6K+V5a6J5o6S?=\r\n"
       "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
       "请于周五前提交成绩。\r\n" % (alice, bob)).encode("utf-8")
typ, data = m.append('"草稿箱"', "(\\Draft)", None, msg)
check(typ == "OK" and b"APPENDUID" in data[0], "APPEND OK with APPENDUID (%r)" % data)
typ, data = m.select('"草稿箱"')
check(typ == "OK" and data[0] == b"1", "select 草稿箱: one message")
typ, data = m.fetch("1", "(FLAGS ENVELOPE)")
check(b"\\Draft" in data[0] and b"5pyf5pyr6ICD6K+V5a6J5o6S" in data[0], "FETCH FLAGS and ENVELOPE")
m.literal = "考试".encode("utf-8")
typ, data = m.search("UTF-8", "SUBJECT")
check(data[0] == b"1", "SEARCH SUBJECT 考试 finds it (%r)" % data)
m.literal = "成绩".encode("utf-8")
typ, data = m.search("UTF-8", "BODY")
check(data[0] == b"1", "SEARCH BODY 成绩 finds it")
m.literal = "考试".encode("gb2312")
typ, data = m.search("GB2312", "SUBJECT")
check(data[0] == b"1", "SEARCH CHARSET GB2312 SUBJECT 考试 (as Chinese clients send it) (%r)" % data)
typ, data = m.search("X-MARTIAN", "SUBJECT", "x")
check(typ == "NO" and b"BADCHARSET" in data[0] and b"GB18030" in data[0],
      "an unknown charset: NO [BADCHARSET (...)] listing what works (%r)" % data)
typ, data = m.search(None, "HEADER", "Content-Transfer-Encoding", "8bit")
check(data[0] == b"1", "SEARCH HEADER (evaluated by the server) finds it (%r)" % data)
typ, data = m.search(None, "OR", "DELETED", "NOT", "DRAFT")
check(data[0] == b"", "SEARCH OR DELETED NOT DRAFT matches nothing (%r)" % data)
typ, data = m.search(None, "DRAFT", "UNSEEN", "SINCE", "1-Jan-2020", "LARGER", "10")
check(data[0] == b"1", "SEARCH DRAFT UNSEEN SINCE LARGER finds it (%r)" % data)
typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
check(isinstance(data[0], tuple) and "请于周五前提交成绩" in data[0][1].decode("utf-8"), "BODY[TEXT] returns the UTF-8 body (%r)" % data)
typ, data = m.uid("MOVE", "1:*", '"已发送"')
check(typ == "OK", "MOVE to 已发送")
typ, data = m.status('"已发送"', "(MESSAGES UNSEEN)")
check(b"MESSAGES 1" in data[0], "STATUS 已发送 counts the moved message (%r)" % data)
m.logout()

# --- STARTTLS and IMAPS with the pinned certificate ---
m = imap()
m.starttls(ssl_context=tls_context())
m.login(alice, PASSWORD)
check(m.select("INBOX")[0] == "OK", "login and SELECT after STARTTLS")
m.logout()
m = imaplib.IMAP4_SSL(HOST, port("imaps"), ssl_context=tls_context(), timeout=10)
m.login(alice, PASSWORD)
check(m.select("INBOX")[0] == "OK", "login and SELECT over IMAPS")
m.logout()

# --- IDLE: woken by a delivery and by a flag change in another session ---
idler = imap()
idler.login(alice, PASSWORD)
typ, data = idler.select("INBOX")
before = int(data[0])
tag = idler._new_tag()
idler.send(tag + b" IDLE\r\n")
check(idler.readline().startswith(b"+"), "IDLE accepted")
deliver(alice, subject="wake up")
idler.sock.settimeout(10)
line = idler.readline()
check(line.strip() == ("* %d EXISTS" % (before + 1)).encode(), "IDLE woken by the delivery (%r)" % line)
other = imap()
other.login(alice, PASSWORD)
other.select("INBOX")
other.store(str(before + 1), "+FLAGS", "(\\Flagged)")
line = idler.readline()
check(b"FETCH" in line and b"\\Flagged" in line, "IDLE sees another session's flag change (%r)" % line)
idler.send(b"DONE\r\n")
line = idler.readline()
check(line.startswith(tag + b" OK"), "IDLE ends with OK")
other.store(str(before + 1), "+FLAGS", "(\\Deleted)")
other.expunge()
idler.untagged_responses.pop("EXPUNGE", None)
typ, _ = idler.noop()
check(idler.untagged_responses.get("EXPUNGE") == [str(before + 1).encode()],
      "NOOP reports the other session's expunge (%r)" % idler.untagged_responses)
other.logout()
idler.logout()

# --- QRESYNC: a reconnecting client learns what changed since its mod-sequence ---
deliver(alice, subject="qresync one")
deliver(alice, subject="qresync two")
q = imap()
q.login(alice, PASSWORD)
q.enable("QRESYNC")
typ, data = q.select("INBOX")
count = int(data[0])
validity = int(q.untagged_responses["UIDVALIDITY"][0])
modseq = int(q.untagged_responses["HIGHESTMODSEQ"][0])
typ, data = q.fetch("%d:%d" % (count - 1, count), "(UID)")
uids = [int(d.split(b"UID ")[1].rstrip(b")")) for d in data]
q.store(str(count - 1), "+FLAGS", "(\\Deleted)")
q.expunge()
q.store(str(count - 1), "+FLAGS", "(\\Flagged)")
q.logout()
q = imap()
q.login(alice, PASSWORD)
q.enable("QRESYNC")
typ, data = q._simple_command("SELECT", "INBOX (QRESYNC (%d %d))" % (validity, modseq))
check(typ == "OK", "SELECT with QRESYNC")
vanished = q.untagged_responses.get("VANISHED", [])
check(any(str(uids[0]).encode() in v for v in vanished), "VANISHED (EARLIER) lists the expunged UID (%r)" % vanished)
fetches = q.untagged_responses.get("FETCH", [])
check(any(b"\\Flagged" in f and str(uids[1]).encode() in f for f in fetches),
      "changed flags are reported (%r)" % fetches)
q.logout()

# --- shared mailbox office@ (alice delegate, bob on-behalf, carol read-only) ---
deliver(office, subject="for the office")
m = imap()
m.login(carol, PASSWORD)
typ, data = m.namespace()
check(b'"Other Users/"' in data[0], "NAMESPACE has the other-users namespace")
typ, boxes = m.list('"Other Users/"', "*")
check(any(b"Other Users/office@" in b for b in boxes), "office's folders under Other Users/")


def select_expecting_read_only(m, box, who):
    """SELECT must be answered [READ-ONLY]; imaplib raises then, with the mailbox selected."""
    try:
        m.select(box)
        check(False, "%s: SELECT of %s must answer [READ-ONLY]" % (who, box))
    except imaplib.IMAP4.readonly:
        check(m.state == "SELECTED", "%s: SELECT %s answered [READ-ONLY]" % (who, box))
        m.is_readonly = True  # acknowledge it, as a client that handles READ-ONLY does


select_expecting_read_only(m, '"Other Users/%s/INBOX"' % office, "read-only delegate")
check(m.untagged_responses.get("EXISTS") == [b"1"], "office INBOX has the delivered message")
typ, data = m.fetch("1", "(BODY[])")
typ, data = m.fetch("1", "(FLAGS)")
check(b"\\Seen" not in data[0], "read-only: reading does not mark seen")
typ, data = m.store("1", "+FLAGS", "(\\Seen)")
check(typ == "NO", "read-only: STORE refused (%r)" % data)
typ, data = m.expunge()
check(typ == "NO", "read-only: EXPUNGE refused")
m.logout()

o = imap()
o.login(office, PASSWORD)
check(o.create('"Projects"')[0] == "OK", "owner creates a new folder")
o.logout()
m = imap()
m.login(bob, PASSWORD)
typ, boxes = m.list('"Other Users/%s/"' % office, "*")
check(any(b.endswith(b'/Projects"') for b in boxes), "the new folder is shared too (%r)" % boxes)
select_expecting_read_only(m, '"Other Users/%s/INBOX"' % office, "on-behalf")
typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
check(typ == "NO", "on-behalf: may not delete")
m.logout()

shares = cli("share", "list", office).stdout
check(carol in shares and "read-only" in shares and "delegate" in shares, "share list (%r)" % shares)
cli("share", "revoke", office, carol)
m = imap()
m.login(carol, PASSWORD)
typ, data = m.select('"Other Users/%s/INBOX"' % office)
check(typ == "NO", "after share revoke the mailbox is gone for carol")
m.logout()

m = imap()
m.login(alice, PASSWORD)
m.select('"Other Users/%s/INBOX"' % office)
typ, data = m.store("1", "+FLAGS", "(\\Seen \\Deleted)")
check(typ == "OK", "delegate: may change flags")
typ, data = m.expunge()
check(typ == "OK" and data[0] == b"1", "delegate: may expunge")
m.logout()
print("imap ok")
