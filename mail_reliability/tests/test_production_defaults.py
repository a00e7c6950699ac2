# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Safe on a production database: no limit unless configured, diagnostics for
internal users only, secrets redacted everywhere, bounded admin tools."""

import base64
import email
import email.policy
import io
import os
import quopri
import re
import zipfile
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import BaseCase, HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..tools import provider_limits
from ..tools.dns_checks import ERROR, OK, WARNING, Finding
from ..tools.redaction import REDACTED, Redactor, is_secret_key, is_secret_value
from .common import SmtpSinkCase

QUIET = ("odoo.addons.mail.models.mail_mail", "odoo.addons.mail_reliability.models.ir_mail_server")
HEALTH_LOGGER = "odoo.addons.mail_reliability.models.mail_health_check"
SECRET = "Zq8-planted-Secret-4711"


@tagged("mail_reliability", "post_install", "-at_install")
class TestProviderLimits(BaseCase):
    def test_hosts(self):
        for host, codes in (
            ("smtp.gmail.com", ("google_workspace", "gmail")),
            ("SMTP.Gmail.com.", ("google_workspace", "gmail")),
            ("smtp.office365.com", ("microsoft_365",)),
            ("email-smtp.eu-west-1.amazonaws.com", ("ses_sandbox",)),
            ("email-smtp-fips.us-east-1.amazonaws.com", ("ses_sandbox",)),
            ("smtp.corp.test", ()),
            ("evil-smtp.gmail.com.attacker.test", ()),
            ("", ()),
            (None, ()),
        ):
            with self.subTest(host=host):
                self.assertEqual(
                    tuple(p.code for p in provider_limits.presets_for_host(host)), codes
                )

    def test_presets_have_a_limit_and_a_source(self):
        self.assertIn(10000, [p.daily_limit for p in provider_limits.PRESETS])
        for preset in provider_limits.PRESETS:
            with self.subTest(preset=preset.code):
                self.assertGreater(preset.daily_limit, 0)
                self.assertTrue(preset.source.startswith("https://"))


@tagged("mail_reliability", "post_install", "-at_install")
class TestNoDailyLimitByDefault(SmtpSinkCase):
    def test_fresh_install_has_no_limit(self):
        params = self.env["ir.config_parameter"].sudo()
        self.assertEqual(params.get_param("mail_reliability.daily_limit"), "0")
        self.assertEqual(self.env["mail.quota.usage"]._settings()[0], 0)
        self.assertEqual(self.env["res.config.settings"].create({}).mr_daily_limit, 0)
        # without the parameter at all, the code's fallback is no limit either
        params.search([("key", "=", "mail_reliability.daily_limit")]).unlink()
        self.assertEqual(self.env["mail.quota.usage"]._settings()[0], 0)
        self.assertEqual(self.env["res.config.settings"].create({}).mr_daily_limit, 0)

    def test_more_than_200_mails_all_delivered(self):
        mails = self.env["mail.mail"].create(
            [
                {
                    "subject": f"busy day {n}",
                    "body_html": "<p>x</p>",
                    "email_from": "sender@example.com",
                    "email_to": f"busy{n}@example.com",
                    "auto_delete": False,
                }
                for n in range(230)
            ]
        )
        with self.real_smtp(), mute_logger(*QUIET):
            self.env["mail.mail"].process_email_queue(ids=mails.ids)
        self.assertEqual(len(self.sink.deliveries), 230)
        self.assertEqual(set(mails.mapped("state")), {"sent"})
        self.assertFalse(mails.filtered(lambda m: m.failure_type == "mail_quota"))

    def test_preset_fills_in_the_limit(self):
        settings = self.env["res.config.settings"].new({})
        settings.mr_daily_limit_preset = "microsoft_365"
        settings._onchange_mr_daily_limit_preset()
        self.assertEqual(settings.mr_daily_limit, 10000)
        settings.mr_daily_limit_preset = "ses_sandbox"
        settings._onchange_mr_daily_limit_preset()
        self.assertEqual(settings.mr_daily_limit, 200)
        self.env["res.config.settings"].create(
            {"mr_daily_limit": settings.mr_daily_limit}
        ).execute()
        params = self.env["ir.config_parameter"].sudo()
        self.assertEqual(params.get_param("mail_reliability.daily_limit"), "200")

    def test_health_suggests_a_limit_for_a_known_provider(self):
        check = self.env["mail.health.check"]._ensure_rows().filtered(lambda c: c.code == "quota")
        finding = check._run_one({})
        self.assertEqual(finding.status, OK, "the sink is no known provider")
        office = self.env["ir.mail_server"].create(
            {"name": "Office", "smtp_host": "smtp.office365.com", "sequence": 50}
        )
        finding = check._run_one({})
        self.assertEqual(finding.status, WARNING)
        self.assertIn("Microsoft 365", finding.finding)
        self.assertIn("Office (smtp.office365.com)", finding.finding)
        self.assertIn("Settings > Emails", finding.fix)
        # a limit on the server itself, or on the database, answers the suggestion
        office.daily_limit = 10000
        self.assertEqual(check._run_one({}).status, OK)
        office.daily_limit = 0
        self.env["ir.config_parameter"].sudo().set_param("mail_reliability.daily_limit", "500")
        self.assertNotIn("provider", check._run_one({}).finding)


@tagged("mail_reliability", "post_install", "-at_install")
class TestDiagnosticsInternalOnly(SmtpSinkCase):
    def test_portal_user_cannot_read_remote_diagnostics(self):
        portal = new_test_user(self.env, "mr_portal_diag", groups="base.group_portal")
        internal = new_test_user(self.env, "mr_internal_diag", groups="base.group_user")
        record = self.env["res.partner"].create({"name": "Shared document"})
        record.message_subscribe(partner_ids=portal.partner_id.ids)
        with self.real_smtp(), mute_logger(*QUIET):
            message = record.message_post(
                body="<p>Hello</p>",
                partner_ids=portal.partner_id.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        notification = message.notification_ids.filtered(
            lambda n: n.res_partner_id == portal.partner_id
        )
        self.assertTrue(notification)
        notification.sudo().write(
            {
                "delivery_warning": "mx.remote.test said: 4.4.1 host mx2.internal.corp down",
                "delivery_warning_date": "2026-03-02 10:00:00",
                "failure_reason": "550 5.1.1 internal relay 10.0.0.7 rejected",
            }
        )
        as_portal = notification.with_user(portal)
        as_portal.check_access("read")  # the portal user may read the notification...
        for field in ("delivery_warning", "delivery_warning_date", "failure_reason", "smtp_status"):
            with self.subTest(field=field), self.assertRaises(AccessError):
                as_portal.read([field])  # ...but not what the remote server said
        self.assertNotIn("delivery_warning", as_portal.fields_get())
        self.assertNotIn("delivery_warning_date", as_portal.fields_get())
        values = notification.with_user(internal).read(["delivery_warning"])[0]
        self.assertIn("4.4.1", values["delivery_warning"])
        for model, names in (
            ("mail.mail", ("smtp_code", "smtp_status", "failure_explanation")),
            ("mail.notification", ("delivery_warning", "delivery_warning_date")),
        ):
            for name in names:
                with self.subTest(model=model, field=name):
                    self.assertEqual(self.env[model]._fields[name].groups, "base.group_user")


@tagged("mail_reliability", "post_install", "-at_install")
class TestRedactionUnit(BaseCase):
    def test_secret_keys_and_values(self):
        for key in ("x.api_token", "google.client_secret", "sms.api_key", "relay.password"):
            self.assertTrue(is_secret_key(key), key)
        for key in ("web.base.url", "mail.catchall.domain", "mail_reliability.daily_limit"):
            self.assertFalse(is_secret_key(key), key)
        self.assertTrue(is_secret_value(SECRET))
        for value in ("True", "False", "12", "300000", "", "abc", None):
            self.assertFalse(is_secret_value(value), value)

    def test_encoded_forms(self):
        redactor = Redactor([SECRET])
        payload = f"Dear admin, the key is {SECRET}. Regards, ünïcode".encode()
        wrapped = base64.encodebytes(payload)  # 76 columns, several lines
        qp = quopri.encodestring(payload.replace(b" is ", b" is = ")) + b"\n"
        # a quoted-printable soft line break in the middle of the secret
        qp_split = f"key=3D{SECRET[:5]}=\n{SECRET[5:]} end\n".encode()
        for label, data in (
            ("plain", payload),
            ("base64, wrapped", b"Content-Transfer-Encoding: base64\n\n" + wrapped),
            ("base64, crlf", wrapped.replace(b"\n", b"\r\n")),
            (
                "base64, one line in a log",
                b"AUTH PLAIN " + base64.b64encode(b"\0u\0" + SECRET.encode()),
            ),
            ("quoted-printable", qp),
            ("quoted-printable, split", qp_split),
            ("json", f'{{"v": "{SECRET}"}}'.encode()),
        ):
            with self.subTest(label):
                clean = redactor.redact(data)
                self.assertNotIn(SECRET.encode(), clean)
                self.assertNotIn(SECRET.encode(), quopri.decodestring(clean))
                for block in re.findall(rb"[A-Za-z0-9+/=\r\n]{16,}", clean):
                    try:
                        decoded = base64.b64decode(re.sub(rb"\s", b"", block))
                    except ValueError:
                        continue
                    self.assertNotIn(SECRET.encode(), decoded)
        redacted = base64.b64decode(redactor.redact(wrapped))
        self.assertIn(REDACTED.encode(), redacted)
        self.assertIn("ünïcode".encode(), redacted, "the rest of the block is kept")
        untouched = base64.encodebytes(b"nothing to hide here, " * 10)
        self.assertEqual(redactor.redact(untouched), untouched)


@tagged("mail_reliability", "post_install", "-at_install")
class TestRedactionInBundles(SmtpSinkCase):
    def setUp(self):
        super().setUp()
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("crm.partner_api_token", "tok-" + SECRET)
        params.set_param("some_addon.client_secret", "cs-" + SECRET)
        params.set_param("maps.api_key", "key-" + SECRET)
        params.set_param("auth_signup.reset_password", "True")

    def test_parameters_named_like_secrets_are_redacted(self):
        secrets = self.env["mail.support.bundle"]._secrets()
        for value in ("tok-" + SECRET, "cs-" + SECRET, "key-" + SECRET):
            self.assertIn(value, secrets)
        self.assertNotIn("True", secrets, "a flag is not a secret")
        # exports of system parameters too
        params = (
            self.env["ir.config_parameter"]
            .sudo()
            .search([("key", "in", ("crm.partner_api_token", "mail.catchall.domain"))], order="key")
        )
        rows = params.export_data(["key", "value"])["datas"]
        self.assertEqual(
            rows, [["crm.partner_api_token", REDACTED], ["mail.catchall.domain", "example.com"]]
        )

    def test_bundle_redacts_encoded_blocks_and_reads_secrets_once(self):
        attachment = self.env["ir.attachment"].create(
            {
                "name": "notes.txt",
                "raw": f"Connection notes: api token tok-{SECRET}, ünïcode".encode(),
                "mimetype": "text/plain",
            }
        )
        mails = self.env["mail.mail"]
        for n in range(2):
            mails |= self.create_outgoing_mail(
                f"unknown-{n}@dest.test",
                auto_delete=False,
                body_html=f"<p>Ünïcode body with cs-{SECRET} inside {'x' * 200}</p>",
                attachment_ids=[(6, 0, attachment.ids)],
            )
        with self.real_smtp(), mute_logger(*QUIET):
            mails.send()
        Bundle = self.env["mail.support.bundle"]
        secrets_read = []
        original = type(Bundle)._secrets

        def counting(bundle_self):
            secrets_read.append(1)
            return original(bundle_self)

        wizard = Bundle.create({"mail_id": mails[0].id})
        with patch.object(type(Bundle), "_secrets", counting):
            wizard.action_generate()
            eml_files = Bundle._eml_files(mails)
        self.assertEqual(len(secrets_read), 2, "once for the bundle, once for the download")
        archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(wizard.bundle)))
        files = [(name, archive.read(name)) for name in archive.namelist()] + eml_files
        checked = 0
        for name, data in files:
            self.assertNotIn(SECRET.encode(), data, name)
            if not name.endswith(".eml"):
                continue
            message = email.message_from_bytes(data, policy=email.policy.default)
            for part in message.walk():
                if part.is_multipart():
                    continue
                content = part.get_payload(decode=True) or b""
                self.assertNotIn(SECRET.encode(), content, f"{name}: {part.get_content_type()}")
                if part.get_filename() == "notes.txt":
                    self.assertIn(REDACTED.encode(), content)
                    checked += 1
        self.assertGreaterEqual(checked, 3, "the attachment of each .eml was decoded and checked")


@tagged("mail_reliability", "post_install", "-at_install")
class TestBoundedAdminTools(SmtpSinkCase):
    def test_retry_wizard_counts_without_reading_the_queue(self):
        mails = self.env["mail.mail"].create(
            [
                {
                    "subject": f"failed {n}",
                    "body_html": "<p>x</p>",
                    "email_to": f"f{n}@bounded.test",
                    "state": "exception",
                    "failure_type": "mail_smtp_recipient" if n % 3 == 0 else "mail_smtp",
                }
                for n in range(120)
            ]
        )
        self.env.flush_all()
        wizard = self.env["mail.mail.retry.wizard"].create({"recipient_domain": "bounded.test"})
        self.assertEqual(wizard.mail_count, 120)
        self.assertEqual(wizard.recipient_failure_count, 40)
        self.assertEqual(len(wizard.mail_ids), 80, "a preview, not the whole failed queue")
        self.assertLessEqual(wizard.mail_ids, mails)
        with self.assertRaises(UserError) as caught:
            wizard.action_retry()
        self.assertIn("40 of these emails", str(caught.exception))
        wizard.confirm_recipient_failures = True
        wizard.action_retry()
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})

    def test_one_failing_check_does_not_break_the_others(self):
        Check = self.env["mail.health.check"]

        def broken(check_self, context):
            check_self.env.cr.execute("SELECT no_such_column FROM mail_mail")

        def quiet(check_self, context):
            return Finding(OK, "not checked here")

        with (
            patch.object(type(Check), "_check_spf", broken),
            patch.object(type(Check), "_check_dkim", quiet),
            patch.object(type(Check), "_check_dmarc", quiet),
            patch.object(type(Check), "_recent_from_addresses", lambda s, days=30: []),
            mute_logger(HEALTH_LOGGER, "odoo.sql_db"),
        ):
            checks = Check._action_run_checks()
        spf = checks.filtered(lambda c: c.code == "spf")
        self.assertEqual(spf.status, ERROR)
        self.assertIn("UndefinedColumn", spf.finding)
        self.assertNotIn("Traceback", spf.finding)
        self.assertNotIn('File "', spf.finding)
        others = checks - spf
        self.assertTrue(all(others.mapped("status")), "every other check ran")
        for check in others:
            with self.subTest(check=check.code):
                self.assertNotIn("The check failed", check.finding or "")
                self.assertNotIn("transaction is aborted", check.finding or "")
        self.env.cr.execute("SELECT 1")  # the transaction is still usable


@tagged("mail_reliability", "post_install", "-at_install")
class TestEmlDownloadBound(HttpCase):
    def test_too_many_ids_are_refused_clearly(self):
        from ..wizard.mail_support_bundle import MAX_EML_RECORDS

        mail = self.env["mail.mail"].create(
            {"subject": "One", "body_html": "<p>1</p>", "email_to": "bob@dest.test"}
        )
        self.authenticate("admin", "admin")
        ids = ",".join(str(mail.id + n) for n in range(MAX_EML_RECORDS + 1))
        response = self.url_open(f"/mail_reliability/eml/mail.mail/{ids}")
        self.assertEqual(response.status_code, 400)
        self.assertIn(f"At most {MAX_EML_RECORDS} emails", response.text)
        self.assertIn(f"({MAX_EML_RECORDS + 1} asked)", response.text)
        response = self.url_open(f"/mail_reliability/eml/mail.mail/{mail.id},{mail.id}")
        self.assertEqual(response.status_code, 200, "duplicates count once")
        many = self.env["mail.mail"].create(
            [{"subject": str(n), "body_html": "<p>x</p>"} for n in range(MAX_EML_RECORDS + 1)]
        )
        admin = self.env.ref("base.user_admin")
        with self.assertRaises(UserError):
            self.env["mail.support.bundle"].with_user(admin)._action_download_eml(many)


@tagged("mail_reliability", "post_install", "-at_install")
class TestTestsKeepOthersData(BaseCase):
    """Tests never delete rows they did not create (item: shared databases)."""

    def test_no_unscoped_delete_in_tests(self):
        here = os.path.dirname(os.path.abspath(__file__))
        roots = [
            here,
            os.path.join(
                os.path.dirname(os.path.dirname(here)), "mail_reliability_mass_mailing", "tests"
            ),
        ]
        unscoped = re.compile(r"DELETE\s+FROM\s+\w+\s*[\"']", re.I)
        found = []
        for root in roots:
            if not os.path.isdir(root):
                continue
            for name in sorted(os.listdir(root)):
                if not name.endswith(".py") or name == os.path.basename(__file__):
                    continue
                with open(os.path.join(root, name), encoding="utf-8") as handle:
                    for lineno, line in enumerate(handle, 1):
                        if unscoped.search(line):
                            found.append(f"{name}:{lineno}: {line.strip()}")
        self.assertEqual(found, [], "a DELETE without WHERE wipes rows the test did not create")
