# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""No SMTP / fetchmail password in any export, bundle, report or log line.

The SMTP server really asks for a password (AUTH PLAIN / LOGIN over loopback)
and refuses it, with Odoo's SMTP debugging switched on, so the failing send
goes through every logging path there is.
"""

import base64
import email
import email.policy
import io
import logging
import os
import smtplib
import tempfile
import zipfile
from unittest.mock import patch

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import config, mute_logger

from .common import SmtpSinkCase
from .dns_peer import DnsPeer
from .smtp_sink import SmtpSink, _Handler

SMTP_SECRET = "Zq7-smtp-S3cret-4f1c"
FETCH_SECRET = "Zq7-fetch-S3cret-9b2e"
SECRETS = (SMTP_SECRET, FETCH_SECRET)
DEBUG_LOGGERS = (
    "odoo.addons.base.models.ir_mail_server",
    "odoo.addons.mail_reliability.models.ir_mail_server",
    "odoo.addons.mail_reliability.models.mail_mail",
)


def encodings(secret, user="mr-user"):
    """The secret as it could appear: plain, base64 (AUTH LOGIN), AUTH PLAIN blob, QP."""
    plain = f"\0{user}\0{secret}".encode()
    return {
        secret.encode(),
        base64.b64encode(secret.encode()),
        base64.b64encode(plain),
        base64.b64encode(plain).rstrip(b"="),
    }


class AuthSink(SmtpSink):
    """The SMTP sink, offering AUTH and refusing every password (535)."""

    def start(self):
        if self._controller is None:
            self._controller = Controller(
                _Handler(self),
                hostname=self.host,
                port=self.port,
                auth_require_tls=False,
                authenticator=self._authenticate,
                ready_timeout=10,
            )
            self._controller.start()
        return self

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        self.attempts.append(("auth", mechanism, None, "535"))
        return AuthResult(success=False, handled=False)


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))  # message, arguments and traceback


@tagged("mail_reliability", "post_install", "-at_install")
class TestSecrets(SmtpSinkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.auth_sink = AuthSink().start()
        cls.addClassCleanup(cls.auth_sink.stop)
        cls.mail_server.write(
            {
                "smtp_host": cls.auth_sink.host,
                "smtp_port": cls.auth_sink.port,
                "smtp_authentication": "login",
                "smtp_user": "mr-user",
                "smtp_pass": SMTP_SECRET,
                "smtp_debug": True,
            }
        )
        cls.fetchmail = cls.env["fetchmail.server"].create(
            {
                "name": "Inbox",
                "server_type": "imap",
                "server": "127.0.0.1",
                "port": 1,
                "user": "inbox",
                "password": FETCH_SECRET,
            }
        )
        cls.internal = new_test_user(cls.env, "mr_secret_user", groups="base.group_user")
        cls.admin = cls.env.ref("base.user_admin")
        cls.failed = cls.env["mail.mail"].create(
            {
                "subject": "Secret soup",
                "email_from": "sales@example.com",
                "email_to": "x@dest.test",
                "body_html": f"<p>Server said: login failed for smtp_pass={SMTP_SECRET}</p>",
                "state": "exception",
                "failure_type": "mail_smtp",
                "failure_reason": f"535 auth failed (smtp_pass={SMTP_SECRET}, "
                f"imap password {FETCH_SECRET})",
                "auto_delete": False,
            }
        )

    def assert_clean(self, data, where):
        if isinstance(data, str):
            data = data.encode("utf-8", "replace")
        for secret in SECRETS:
            for form in encodings(secret):
                self.assertNotIn(form, data, f"{secret} leaked in {where} as {form!r}")

    def assert_mime_clean(self, raw, where):
        """Every decoded part too (base64 / quoted-printable bodies)."""
        self.assert_clean(raw, where)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for part in message.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True) or b""
            self.assert_clean(payload, f"{where} ({part.get_content_type()})")

    # ------------------------------------------------------------------
    def capture_debug(self, func):
        """Run ``func`` with the SMTP loggers at DEBUG; return every formatted line."""
        capture = _Capture()
        root = logging.getLogger()
        root.addHandler(capture)
        loggers = [logging.getLogger(name) for name in DEBUG_LOGGERS]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.setLevel(logging.DEBUG)
        try:
            func()
        finally:
            root.removeHandler(capture)
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
        return capture.lines

    def test_failing_send_logs_no_password(self):
        # Baseline: smtplib's debug transcript (which Odoo logs) holds the AUTH blob.
        def raw_login():
            client = smtplib.SMTP(self.auth_sink.host, self.auth_sink.port, timeout=10)
            client.set_debuglevel(1)
            try:
                with self.assertRaises(smtplib.SMTPAuthenticationError):
                    client.login("mr-user", SMTP_SECRET)
            finally:
                client.close()

        baseline = "\n".join(self.capture_debug(raw_login)).encode()
        self.assertTrue(
            any(form in baseline for form in encodings(SMTP_SECRET)),
            "the capture sees what the transcript leaks (else this test proves nothing)",
        )
        # Odoo's send with "Debugging" on: no password, in any form, in any line.
        mail = self.create_outgoing_mail("alice@dest.test", auto_delete=False)

        def send():
            with self.real_smtp(), mute_logger("odoo.addons.mail.models.mail_mail"):
                self.env["mail.mail"].process_email_queue()

        lines = self.capture_debug(send)
        self.assertTrue(
            any(a[0] == "auth" for a in self.auth_sink.attempts), "the server was asked to log in"
        )
        self.assertTrue(any("transcript hidden" in line for line in lines))
        self.assertIn(mail.state, ("exception", "outgoing"))
        self.assertTrue(mail.failure_reason)
        self.assert_clean("\n".join(lines), "the log of a failing send")
        self.assert_clean(mail.failure_reason, "failure_reason")
        self.assert_clean(mail.failure_explanation or "", "failure_explanation")

    def test_support_bundle_and_eml(self):
        Bundle = self.env["mail.support.bundle"].with_user(self.admin)
        bundle = Bundle.create({"mail_id": self.failed.id, "description": "see log"})
        bundle._action_generate()
        archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(bundle.bundle)))
        names = archive.namelist()
        self.assertIn("report.txt", names)
        self.assertTrue(any(n.endswith(".eml") for n in names))
        for name in names:
            data = archive.read(name)
            if name.endswith(".eml"):
                self.assert_mime_clean(data, f"bundle {name}")
            else:
                self.assert_clean(data, f"bundle {name}")
        report = archive.read("report.txt").decode()
        self.assertIn("smtp_pass=[redacted]", report)
        for name, data in Bundle._eml_files(self.failed):
            self.assert_mime_clean(data, f".eml export {name}")

    def test_exports(self):
        # refused to a non-administrator (no export right, no read access)
        for records, fields in (
            (self.mail_server, ["name", "smtp_pass"]),
            (self.fetchmail, ["name", "password"]),
        ):
            with self.assertRaises(UserError):  # AccessError is a UserError too
                records.with_user(self.internal).export_data(fields)
            export_user = new_test_user(
                self.env,
                f"mr_exporter_{records._table}",
                groups="base.group_user,base.group_allow_export",
            )
            with self.assertRaises(AccessError):
                records.with_user(export_user).export_data(fields)
        servers = self.env["ir.mail_server"].with_user(self.admin).search([])
        rows = servers.export_data(["name", "smtp_user", "smtp_pass"])["datas"]
        self.assertIn("mr-user", [row[1] for row in rows])
        self.assert_clean(repr(rows), "admin export of ir.mail_server")
        rows = self.fetchmail.with_user(self.admin).export_data(["name", "password"])["datas"]
        self.assert_clean(repr(rows), "admin export of fetchmail.server")
        # the export dialog does not even offer the field
        fields = self.env["ir.mail_server"].fields_get(["smtp_pass"], ["exportable"])
        self.assertFalse(fields["smtp_pass"].get("exportable", True))

    def test_log_search(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "odoo.log")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(
                    f"2026-11-10 10:00:00,000 1 INFO db odoo.x: connect user=mr-user "
                    f"pass={SMTP_SECRET} to smtp\n"
                    f"2026-11-10 10:00:01,000 1 INFO db odoo.x: imap login {FETCH_SECRET}\n"
                )
            with patch.dict(config.options, {"logfile": path}):
                search = (
                    self.env["mail.log.search"].with_user(self.admin).create({"query": "odoo.x"})
                )
                search.action_search()
            self.assertEqual(search.match_count, 2)
            self.assert_clean(search.result, "log search result")

    def test_health_check_report(self):
        dns = DnsPeer().start()
        self.addCleanup(dns.stop)
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("mail_reliability.dns_nameserver", "127.0.0.1")
        params.set_param("mail_reliability.dns_port", str(dns.port))
        params.set_param("mail_reliability.dns_timeout", "1")
        Check = self.env["mail.health.check"]
        with (
            patch.object(type(Check), "_recent_from_addresses", lambda _s, days=30: []),
            self.real_smtp(),
            mute_logger("odoo.addons.mail_reliability.models.mail_health_check"),
        ):
            checks = Check.with_user(self.admin)._action_run_checks()
        self.assertTrue(checks)
        text = "\n".join(
            f"{c.name} {c.status} {c.finding or ''} {c.fix or ''} {c.details or ''}" for c in checks
        )
        self.assert_clean(text, "health check report")
