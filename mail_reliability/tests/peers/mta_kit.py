# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A real mail system on loopback: Postfix, Dovecot and OpenDKIM (Debian packages).

Every daemon runs from a private temporary directory with its own
configuration, on 127.0.0.1 and unused ports; nothing touches /etc or the
system's own mail setup, nothing leaves the machine.

* **Postfix** (``postfix -c <dir> start``): smtpd on ``smtp_port``. Domains:

  - ``example.test``: mailboxes in Dovecot, delivered over LMTP. An unknown
    user is accepted by smtpd and refused by Dovecot at delivery, so Postfix
    writes its own DSN to the sender (the bounce Odoo reads back).
  - ``odoo.test``: every address (bounce, catchall, aliases) lands in the one
    mailbox ``odoo@inbox.test``, the catchall mailbox Odoo polls.
  - ``slow.test``: routed to a port where nothing listens: Postfix defers and,
    after ``delay_warning_time`` (a few seconds here), sends its delay warning.
  - ``gate.test``: piped into ``python3 <gate_script> <gate_args>`` (run as
    ``nobody``), e.g. the mail gateway script that calls Odoo over XML-RPC.

  Any other domain is discarded (logged ``status=sent (... discarded ...)``):
  nothing leaves the machine. No DNS at all (``smtp_dns_support_level =
  disabled``, transport maps).
* **OpenDKIM** as Postfix's milter, signing ``odoo.test`` with a key generated
  at start (``opendkim-genkey``); publish :attr:`MtaKit.dkim_record` at
  :attr:`MtaKit.dkim_name` (e.g. with the DNS peer).
* **Dovecot**: LMTP for Postfix, POP3 and IMAP for Odoo's fetchmail, users
  ``alice@example.test`` and ``odoo@inbox.test`` (password :attr:`PASSWORD`).

Needs root and the packages ``postfix dovecot-core dovecot-pop3d dovecot-imapd
dovecot-lmtpd opendkim opendkim-tools`` (``bin/test`` installs them).
:func:`missing` says what is missing, so tests can skip with that reason where
the kit cannot run; :class:`MtaKitError` says what failed, with the daemon's log.

    kit = MtaKit().start()
    ...  # send to 127.0.0.1:kit.smtp_port, read kit.messages("alice@example.test")
    kit.stop()
"""

import contextlib
import email
import email.policy
import glob
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BINARIES = {
    "postfix": "postfix",
    "dovecot": "dovecot-core",
    "opendkim": "opendkim",
    "opendkim-genkey": "opendkim-tools",
}
DOVECOT_PLUGINS = {
    "/usr/lib/dovecot/pop3": "dovecot-pop3d",
    "/usr/lib/dovecot/imap": "dovecot-imapd",
    "/usr/lib/dovecot/lmtp": "dovecot-lmtpd",
}
PACKAGES = "postfix dovecot-core dovecot-pop3d dovecot-imapd dovecot-lmtpd opendkim opendkim-tools"
SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class MtaKitError(RuntimeError):
    """A daemon of the kit could not start or did not do what was asked in time."""


def missing():
    """Why the kit cannot run here ('' when it can): not root, or packages missing."""
    if os.geteuid() != 0:
        return "the Postfix/Dovecot/OpenDKIM kit needs root (private daemons on loopback)"
    env_path = os.environ.get("PATH", "") + ":" + SBIN_PATH
    lacking = sorted(
        {pkg for binary, pkg in BINARIES.items() if not shutil.which(binary, path=env_path)}
        | {pkg for path, pkg in DOVECOT_PLUGINS.items() if not os.path.exists(path)}
    )
    if lacking:
        return f"Debian packages missing: {', '.join(lacking)} (apt-get install -y {PACKAGES})"
    return ""


def free_port():
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port, timeout, what, log_file=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise MtaKitError(
        f"{what} did not listen on 127.0.0.1:{port} within {timeout}s" + _tail(log_file)
    )


def _tail(path, lines=30):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as handle:
        return f"\n--- last lines of {path} ---\n" + "".join(handle.readlines()[-lines:])


def _run(args, what, **kwargs):
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":" + SBIN_PATH)
    result = subprocess.run(args, capture_output=True, text=True, env=env, check=False, **kwargs)
    if result.returncode:
        raise MtaKitError(
            f"{what} failed ({' '.join(args)}, exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


class MtaKit:
    """Postfix + Dovecot + OpenDKIM on loopback, private to one test run."""

    PASSWORD = "mr-secret"
    LOCAL_DOMAIN = "example.test"
    ODOO_DOMAIN = "odoo.test"
    SLOW_DOMAIN = "slow.test"
    GATE_DOMAIN = "gate.test"
    ODOO_MAILBOX = "odoo@inbox.test"
    USERS = ("alice@example.test", "odoo@inbox.test")
    DKIM_SELECTOR = "mrtest"
    host = "127.0.0.1"

    def __init__(
        self,
        delay_warning="3s",
        gate_script=None,
        gate_args=(),
        signing_domains=None,
        smtp_port=None,
    ):
        self.delay_warning = delay_warning
        self.requested_smtp_port = smtp_port
        self.gate_script = gate_script
        self.gate_args = list(gate_args)
        self.signing_domains = signing_domains or [self.ODOO_DOMAIN]
        self.root = None
        self._dovecot = self._opendkim = None
        self._postfix_started = False
        self.dkim_record = None

    # ------------------------------------------------------------------
    @property
    def dkim_name(self):
        return f"{self.DKIM_SELECTOR}._domainkey.{self.signing_domains[0]}"

    @property
    def postfix_log(self):
        return os.path.join(self.root, "postfix.log")

    @property
    def dovecot_log(self):
        return os.path.join(self.root, "dovecot.log")

    def start(self):
        reason = missing()
        if reason:
            raise MtaKitError(reason)
        self.root = tempfile.mkdtemp(prefix="mr-mta-")
        os.chmod(self.root, 0o755)  # Dovecot's mail user and Postfix's pipe user traverse it
        self.smtp_port, self.lmtp_port, self.pop3_port, self.imap_port = (
            free_port() for _i in range(4)
        )
        self.smtp_port = self.requested_smtp_port or self.smtp_port
        self.milter_port, self.dead_port = free_port(), free_port()
        try:
            if self.gate_script:  # the pipe runs as nobody: a world-readable copy
                shutil.copy(self.gate_script, self._path("mailgate.py"))
                os.chmod(self._path("mailgate.py"), 0o755)
            self._start_opendkim()
            self._start_dovecot()
            self._start_postfix()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self._postfix_started:
            with contextlib.suppress(MtaKitError):
                _run(["postfix", "-c", self._path("postfix"), "stop"], "postfix stop")
            self._postfix_started = False
        for attr in ("_dovecot", "_opendkim"):
            proc = getattr(self, attr)
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            setattr(self, attr, None)
        if self.root and not os.environ.get("MR_MTA_KEEP"):
            # Postfix's master exits shortly after "stop": wait for its pid file to go.
            deadline = time.monotonic() + 10
            pid_file = self._path("spool", "pid", "master.pid")
            while os.path.exists(pid_file) and time.monotonic() < deadline:
                time.sleep(0.1)
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _path(self, *parts):
        return os.path.join(self.root, *parts)

    def _write(self, path, text, mode=0o644):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, mode)

    # ------------------------------------------------------------------
    def _start_opendkim(self):
        keys = self._path("dkim")
        os.makedirs(keys)
        _run(
            [
                "opendkim-genkey",
                "-b",
                "1024",
                "-D",
                keys,
                "-d",
                self.signing_domains[0],
                "-s",
                self.DKIM_SELECTOR,
            ],
            "opendkim-genkey",
        )
        with open(os.path.join(keys, f"{self.DKIM_SELECTOR}.txt")) as handle:
            self.dkim_record = "".join(re.findall(r'"([^"]*)"', handle.read()))
        conf = self._path("opendkim.conf")
        self._write(
            conf,
            f"""Syslog no
LogWhy yes
Mode s
Domain {",".join(self.signing_domains)}
Selector {self.DKIM_SELECTOR}
KeyFile {keys}/{self.DKIM_SELECTOR}.private
Socket inet:{self.milter_port}@127.0.0.1
Canonicalization relaxed/relaxed
InternalHosts 127.0.0.1
RequireSafeKeys no
Background no
PidFile {self._path("opendkim.pid")}
""",
        )
        log = open(self._path("opendkim.log"), "w")
        self._opendkim = subprocess.Popen(
            ["opendkim", "-f", "-x", conf], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        _wait_port(self.milter_port, 15, "OpenDKIM", self._path("opendkim.log"))

    def _start_dovecot(self):
        user = pwd.getpwnam("dovecot")
        mail = self._path("mail")
        os.makedirs(mail)
        os.chown(mail, user.pw_uid, user.pw_gid)
        lines = [
            f"{address}:{{PLAIN}}{self.PASSWORD}:{user.pw_uid}:{user.pw_gid}::"
            f"{mail}/{address.split('@')[1]}/{address.split('@')[0]}::"
            for address in self.USERS
        ]
        self._write(self._path("dovecot-users"), "\n".join(lines) + "\n", 0o640)
        os.chown(self._path("dovecot-users"), 0, grp.getgrnam("dovecot").gr_gid)
        conf = self._path("dovecot.conf")
        self._write(
            conf,
            f"""base_dir = {self._path("dovecot-run")}
state_dir = {self._path("dovecot-state")}
log_path = {self.dovecot_log}
protocols = pop3 imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
postmaster_address = postmaster@{self.LOCAL_DOMAIN}
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu {self._path("dovecot-users")}
}}
userdb {{
  driver = passwd-file
  args = username_format=%Lu {self._path("dovecot-users")}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""",
        )
        self._dovecot = subprocess.Popen(
            ["dovecot", "-F", "-c", conf],
            stdout=subprocess.DEVNULL,
            stderr=open(self._path("dovecot.stderr"), "w"),
        )
        for port in (self.lmtp_port, self.pop3_port, self.imap_port):
            _wait_port(port, 15, "Dovecot", self.dovecot_log)

    def _start_postfix(self):
        conf = self._path("postfix")
        for sub in ("spool", "data"):
            os.makedirs(self._path(sub))
        os.chown(self._path("data"), pwd.getpwnam("postfix").pw_uid, 0)
        self._write(
            os.path.join(conf, "virtual"),
            f"@{self.ODOO_DOMAIN} {self.ODOO_MAILBOX}\n",
        )
        transports = [f"{self.SLOW_DOMAIN} smtp:[127.0.0.1]:{self.dead_port}"]
        if self.gate_script:
            transports.append(f"{self.GATE_DOMAIN} odoogate:")
        self._write(os.path.join(conf, "transport"), "\n".join(transports) + "\n")
        self._write(
            os.path.join(conf, "main.cf"),
            f"""compatibility_level = 3.6
queue_directory = {self._path("spool")}
data_directory = {self._path("data")}
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {self.postfix_log}
maillog_file_prefixes = {self.root}
myhostname = mta.mr.test
mydomain = mr.test
mydestination =
myorigin = mr.test
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_reject_unlisted_recipient = no
smtpd_milters = inet:127.0.0.1:{self.milter_port}
non_smtpd_milters = $smtpd_milters
milter_default_action = tempfail
virtual_alias_domains = {self.ODOO_DOMAIN}
virtual_alias_maps = texthash:{conf}/virtual
virtual_mailbox_domains = {self.LOCAL_DOMAIN}, inbox.test
virtual_transport = lmtp:inet:127.0.0.1:{self.lmtp_port}
relay_domains = {self.SLOW_DOMAIN}, {self.GATE_DOMAIN}
default_transport = discard:any other domain is discarded by the test kit
transport_maps = texthash:{conf}/transport
smtp_dns_support_level = disabled
smtp_connect_timeout = 2s
lmtp_connect_timeout = 2s
delay_warning_time = {self.delay_warning}
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
smtputf8_enable = no
biff = no
""",
        )
        gate = ""
        if self.gate_script:
            python = shutil.which("python3", path=SBIN_PATH) or "/usr/bin/python3"
            argv = [python, self._path("mailgate.py"), *self.gate_args]
            gate = f"odoogate unix - n n - 1 pipe flags=q user=nobody argv={' '.join(argv)}\n"
        self._write(
            os.path.join(conf, "master.cf"),
            f"""127.0.0.1:{self.smtp_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
{gate}""",
        )
        _run(["postfix", "-c", conf, "check"], "postfix check")
        _run(["postfix", "-c", conf, "start"], "postfix start")
        self._postfix_started = True
        _wait_port(self.smtp_port, 20, "Postfix smtpd", self.postfix_log)

    # ------------------------------------------------------------------
    def flush(self):
        """Ask Postfix to retry its deferred mail now (``postqueue -f``)."""
        _run(["postqueue", "-c", self._path("postfix"), "-f"], "postqueue -f")

    def purge(self):
        """Delete every mail still in Postfix's queue (``postsuper -d ALL``)."""
        _run(["postsuper", "-c", self._path("postfix"), "-d", "ALL"], "postsuper -d ALL")

    def clear(self, address):
        """Empty the Dovecot mailbox of ``address`` (through Dovecot, so that its
        indexes and POP3/IMAP sessions stay consistent)."""
        _run(
            [
                *("doveadm", "-c", self._path("dovecot.conf"), "expunge", "-u", address),
                *("mailbox", "INBOX", "all"),
            ],
            "doveadm expunge",
        )

    def log(self):
        """Postfix's log so far (for assertions and failure messages)."""
        with open(self.postfix_log, errors="replace") as handle:
            return handle.read()

    def messages(self, address):
        """Parsed messages in the Dovecot mailbox of ``address`` (new and read)."""
        local, domain = address.lower().split("@")
        files = sorted(
            glob.glob(self._path("mail", domain, local, "Maildir", "new", "*"))
            + glob.glob(self._path("mail", domain, local, "Maildir", "cur", "*")),
            key=os.path.getmtime,
        )
        result = []
        for path in files:
            with contextlib.suppress(FileNotFoundError), open(path, "rb") as handle:
                raw = handle.read()
                message = email.message_from_bytes(raw, policy=email.policy.compat32)
                message.raw = raw
                result.append(message)
        return result

    def wait_for(self, address, predicate=lambda message: True, timeout=30):
        """The first message in ``address``'s mailbox that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages(address):
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                raise MtaKitError(
                    f"no matching message reached {address} within {timeout}s"
                    + _tail(self.postfix_log)
                    + _tail(self.dovecot_log, 10)
                )
            time.sleep(0.2)

    def wait_log(self, pattern, timeout=30):
        """The first match of ``pattern`` in Postfix's log."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log())
            if match:
                return match
            if time.monotonic() > deadline:
                raise MtaKitError(
                    f"Postfix never logged {pattern!r} within {timeout}s" + _tail(self.postfix_log)
                )
            time.sleep(0.2)


def main(argv=None):
    """``python -m peers.mta_kit --smtp-port 2525 --state FILE``: run the kit (and a DNS
    peer publishing its DKIM key) until SIGTERM/SIGINT; FILE gets the ports (JSON).
    Used by ``bin/run --mta postfix``."""
    import argparse
    import json
    import sys

    from .dns_peer import DnsPeer  # pylint: disable=import-outside-toplevel

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--smtp-port", type=int, default=0)
    parser.add_argument("--state", required=True, help="JSON file to write the ports to")
    parser.add_argument("--delay-warning", default="20s")
    options = parser.parse_args(argv)
    reason = missing()
    if reason:
        sys.exit(f"mta_kit: {reason}")
    kit = MtaKit(delay_warning=options.delay_warning, smtp_port=options.smtp_port or None)
    dns = DnsPeer().start()
    stopping = []

    def stop(_signum, _frame):
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        kit.start()
        dns.add(kit.dkim_name, "TXT", kit.dkim_record)
        dns.add(kit.ODOO_DOMAIN, "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
        dns.add(f"_dmarc.{kit.ODOO_DOMAIN}", "TXT", "v=DMARC1; p=none")
        state = {
            "root": kit.root,
            "smtp_port": kit.smtp_port,
            "pop3_port": kit.pop3_port,
            "imap_port": kit.imap_port,
            "dns_port": dns.port,
            "dkim_selector": kit.DKIM_SELECTOR,
            "odoo_domain": kit.ODOO_DOMAIN,
            "odoo_mailbox": kit.ODOO_MAILBOX,
            "password": kit.PASSWORD,
            "postfix_log": kit.postfix_log,
        }
        with open(options.state, "w") as handle:
            json.dump(state, handle, indent=2)
        sys.stdout.write(f"mta_kit: running, state in {options.state}\n")
        sys.stdout.flush()
        while not stopping:
            time.sleep(0.5)
    finally:
        kit.stop()
        dns.stop()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(options.state)


if __name__ == "__main__":
    main()
