# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Bad input soak: hundreds of generated bad inputs, each with a clear outcome.

Every input below is generated from small tables (addresses x the field they go
in, encodings x the field, DSN fixtures x the way they are broken, settings x
bad values x the way they are set, crons x intervals).  For each one the test
asserts a *clear* outcome:

* refused up front with a ``UserError`` / ``ValidationError`` whose message
  names the problem, or
* a ``mail.mail`` in ``exception`` with a ``failure_type`` and a readable
  ``failure_reason``, or
* delivered exactly once to the SMTP sink without anything injected, or
* for incoming mail: a captured ``mail.incoming.rejection`` (logged), or a
  bounce applied to the notification it reports on,
* for raw system parameters: a default used and a warning logged.

After each category, a good mail queued alongside is still delivered by
``process_email_queue`` to the real sink, and our crons run without raising.
"""

import itertools
import logging
from unittest.mock import patch

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import email_normalize, mute_logger

from .common import create_pop3_server
from .peers import Pop3Sink
from .test_dsn import load_bounce
from .test_mail_incoming import TestIncomingCase

_logger = logging.getLogger(__name__)

# ----------------------------------------------------------------------
# Generated inputs
# ----------------------------------------------------------------------
INJECTED = "victim@evil.test"

# Malformed, empty or hostile addresses; each goes in email_to, email_from and a
# partner's email (3 inputs each).
_LOCAL_PARTS = ["", " ", "a b", "a..b", ".a", "a.", '"unterminated', 'a"b', "(comment", "a<b"]
_DOMAINS = ["", "b", "b..test", "-b.test", "b_.test", "[300.1.1.1]"]
BAD_ADDRESSES = [
    f"{local}@{domain}" for local, domain in itertools.product(_LOCAL_PARTS[:5], _DOMAINS[:3])
] + [
    "",
    " ",
    "@",
    "@@",
    "a@",
    "@b.test",
    "a@@b.test",
    "<>",
    ",,,;;;",
    "a, b; c",
    "Name <a@b.test",
    "Name a@b.test>",
    '"Quoted, Name" <>',
    "x" * 300 + "@b.test",
    "a@" + "b" * 300 + ".test",
    "\u00fc@b\u00fccher.test",
    "a@b\u00fccher.test",
    "\u00e9l\u00e8ve@\u00e9cole.test",
    f"a@b.test\r\nBcc: {INJECTED}",
    f"a@b.test\nTo: {INJECTED}",
    f"a@b.test\rX-Injected: {INJECTED}",
    f"Name\r\nBcc: {INJECTED} <a@b.test>",
    "a@b.test\x00",
    "=?utf-8?q?=FF?= <>",
]
ADDRESS_FIELDS = ("email_to", "email_from", "partner_email")

# Odd text for subjects, bodies and the sender's display name.
ODD_TEXTS = [
    b"Caf\xe9 cr\xe8me".decode("latin-1"),
    b"Caf\xe9 cr\xe8me".decode("utf-8", "surrogateescape"),
    "lone \ud800 surrogate",
    "=?utf-8?b?////?=",
    "=?x-unknown-charset?q?Al=E9?=",
    "=?utf-8?q?=FF=FE?= and =?iso-8859-1?b?garbage",
    "NUL \x00 byte",
    "escape \x1b[31m red",
    "bidi \u202e override",
    "bom \ufeff inside",
    "\U0001f642" * 500,
    "Ã©Ã¨ mojibake",
]
TEXT_FIELDS = ("subject", "body_html", "email_from_name")

# Huge headers: (label, values for mail.mail)
HUGE = [
    ("subject_10k", {"subject": "S" * 10_000}),
    ("subject_100k", {"subject": "Long subject " * 8_000}),
    ("subject_1m_one_word", {"subject": "x" * 1_000_000}),
    ("recipients_1000", {"email_to": ", ".join(f"r{i}@many.test" for i in range(1000))}),
    ("cc_1000", {"email_cc": ", ".join(f"c{i}@many.test" for i in range(1000))}),
    ("references_2000", {"references": " ".join(f"<ref-{i}@old.test>" for i in range(2000))}),
    ("message_id_10k", {"message_id": "<" + "m" * 10_000 + "@big.test>"}),
    ("reply_to_100k", {"reply_to": "r" * 100_000 + "@big.test"}),
    ("header_100k", {"headers": {"X-Big": "h" * 100_000}}),
    ("headers_1000", {"headers": {f"X-H-{i}": str(i) for i in range(1000)}}),
    ("headers_garbage", {"headers": "not a dict {"}),
    ("body_5mb", {"body_html": "<p>" + "word " * 1_000_000 + "</p>"}),
]

# Broken DSNs fed to message_process: fixture x breakage.
DSN_FIXTURES = ["postfix_dsn.eml", "gmail_dsn.eml", "exchange_ndr.eml", "multi_recipient.eml"]


def _cut(raw, ratio):
    return raw[: int(len(raw) * ratio)]


DSN_BREAKAGES = {
    "truncated_10": lambda raw: _cut(raw, 0.10),
    "truncated_35": lambda raw: _cut(raw, 0.35),
    "truncated_60": lambda raw: _cut(raw, 0.60),
    "truncated_85": lambda raw: _cut(raw, 0.85),
    "no_final_recipient": lambda raw: raw.replace(b"Final-Recipient:", b"X-Gone:"),
    "no_status": lambda raw: raw.replace(b"Status:", b"X-Status-Gone:"),
    "status_garbage": lambda raw: raw.replace(b"Status: ", b"Status: 9.99.999.x "),
    "status_letters": lambda raw: raw.replace(b"Status: ", b"Status: abc"),
    "action_garbage": lambda raw: raw.replace(b"Action: ", b"Action: exploded-"),
    "diagnostic_binary": lambda raw: raw.replace(
        b"Diagnostic-Code:", b"Diagnostic-Code: \xff\xfe\x00"
    ),
    "boundary_wrong": lambda raw: raw.replace(b'boundary="', b'boundary="nope'),
    "report_type_junk": lambda raw: raw.replace(b"delivery-status", b"d\xe9livery-st\x00tus"),
    "binary_junk_appended": lambda raw: raw + bytes(range(256)) * 8,
    "nul_bytes": lambda raw: raw.replace(b"\n", b"\x00\n", 40),
}
JUNK_MESSAGES = [
    b"",
    b"\x00" * 512,
    bytes(range(256)) * 16,
    b"Subject: only a header",
    b"From: MAILER-DAEMON@remote.test\r\nContent-Type: multipart/report; report-type="
    b'delivery-status; boundary="B"\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n'
    b"Final-Recipient: rfc822;\r\nAction: failed\r\nStatus: 5",
    b"From: MAILER-DAEMON@remote.test\r\nTo: bounce@example.com\r\n"
    b"Content-Type: message/delivery-status\r\n\r\n\xff\xfe\xfd",
]

# System parameters x bad values.
BAD_PARAM_VALUES = {
    "mail_reliability.daily_limit": ["abc", "-5", "1.5", "1e9x", "ten", "0x10", "NaN"],
    "mail_reliability.quota_timezone": ["Mars/Olympus", "UTC+25", "../etc/passwd", "Europe", "1"],
    "mail_reliability.transactional_reserve": ["150", "-1", "nan", "abc", "20 pct", "inf"],
    "mail_reliability.retry_delays": ["5,,10", "abc", "-5", "0", "5;15", "1.5,3", "5, x"],
    "mail_reliability.retry_max_hours": ["0", "-3", "nan", "inf", "abc", "1e400"],
    "mail_reliability.vacuum_sent_days": ["1.5", "abc", "30 days", "1e3"],
    "mail_reliability.vacuum_cancel_days": ["1.5", "abc", "thirty"],
    "mail_reliability.vacuum_exception_days": ["1.5", "x9", "--1"],
    "mail_reliability.vacuum_quota_usage_days": ["1.5", "abc"],
    "mail_reliability.vacuum_rejection_days": ["1.5", "abc"],
}
BAD_PARAMS = [(key, value) for key, values in BAD_PARAM_VALUES.items() for value in values]

# res.config.settings fields x bad values (as the web client or an RPC would send them).
BAD_SETTINGS = [
    ("mr_daily_limit", -1),
    ("mr_daily_limit", -200),
    ("mr_transactional_reserve", 101),
    ("mr_transactional_reserve", -1),
    ("mr_transactional_reserve", 1000),
    ("mr_quota_timezone", "Mars/Olympus"),
    ("mr_quota_timezone", "UTC+25"),
    ("mail_reliability_vacuum_sent_days", "abc"),
    ("mail_reliability_vacuum_sent_days", 1.5),
    ("mail_reliability_vacuum_cancel_days", "thirty"),
    ("mail_reliability_vacuum_exception_days", "1.5"),
    ("mail_queue_interval_minutes", 0),
    ("mail_queue_interval_minutes", 1),
    ("mail_queue_interval_minutes", 4),
    ("mail_queue_interval_minutes", -15),
    ("mail_queue_interval_minutes", "abc"),
]

# Guarded crons x intervals below 5 minutes.
GUARDED_CRONS = [
    "mail.ir_cron_mail_scheduler_action",
    "mail_reliability.ir_cron_mail_reliability_quota_reset",
    "mail_reliability.ir_cron_mail_reliability_vacuum",
    "mail_reliability.ir_cron_mail_reliability_health_check",
]
SHORT_INTERVALS = [
    (1, "minutes"),
    (2, "minutes"),
    (4, "minutes"),
    (0, "minutes"),
    (0, "hours"),
    (0, "days"),
    (0, "weeks"),
    (0, "months"),
    (-1, "minutes"),
    (-1, "days"),
]

COUNTS = {
    "addresses": len(BAD_ADDRESSES) * len(ADDRESS_FIELDS),
    "encodings": len(ODD_TEXTS) * len(TEXT_FIELDS),
    "huge_headers": len(HUGE),
    "dsn": len(DSN_FIXTURES) * len(DSN_BREAKAGES) + len(JUNK_MESSAGES),
    "params": len(BAD_PARAMS) * 2,  # via set_param, and raw in the database
    "settings": len(BAD_SETTINGS),
    "cron_intervals": len(GUARDED_CRONS) * len(SHORT_INTERVALS),
}
REQUIRED_TOTAL = 200

CREATE_ERRORS = (UserError, ValidationError)
INPUT_LOGGER = "odoo.addons.mail_reliability.tools.mail_input"
QUIET_LOGGERS = (
    "odoo.addons.mail.models.mail_mail",
    "odoo.addons.mail_reliability.models.mail_mail",
    "odoo.addons.base.models.ir_mail_server",
    "odoo.addons.mail_reliability.models.ir_mail_server",
)


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@tagged("mail_reliability", "post_install", "-at_install")
class TestBadInputSoak(TestIncomingCase):
    """Each test feeds one category; ``outcomes`` records what became of each input."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.record = cls.env["res.partner"].create({"name": "Soak record"})

    def setUp(self):
        super().setUp()
        self.outcomes = []
        self.repaired = set()  # mails whose unstorable characters were replaced (logged)

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def record_outcome(self, category, label, outcome, detail=""):
        self.outcomes.append((category, label, outcome, detail))

    def assert_outcomes(self, category, expected_count):
        rows = [row for row in self.outcomes if row[0] == category]
        self.assertEqual(len(rows), expected_count, f"{category}: every input has an outcome")
        summary = {}
        for _cat, _label, outcome, _detail in rows:
            summary[outcome] = summary.get(outcome, 0) + 1
        _logger.info("bad input soak %s: %s inputs, %s", category, len(rows), summary)
        for _cat, label, outcome, detail in rows:
            _logger.debug("soak %s | %s | %s | %s", category, label[:90], outcome, detail[:150])
        unclear = [row for row in rows if row[2] in ("crash", "unclear", "lost")]
        self.assertFalse(
            unclear,
            f"{category}: inputs without a clear outcome:\n"
            + "\n".join(
                f"  {label!r}: {outcome} {detail}" for _c, label, outcome, detail in unclear
            ),
        )

    def assert_good_mail_still_delivered(self, tag):
        good = self.create_outgoing_mail(
            f"good-{tag}@example.com", subject=f"Good mail after {tag}", auto_delete=False
        )
        self._run_queue(*QUIET_LOGGERS, check_crash=True)
        self.assertEqual(good.state, "sent", f"a good mail queued after {tag} is sent")
        self.assertEqual(len(self.sink.deliveries_to(f"good-{tag}@example.com")), 1)

    def try_create(self, category, label, values):
        """Create a mail; a clear refusal is an outcome, any other error a crash."""
        repairs = _ListHandler()
        input_logger = logging.getLogger(INPUT_LOGGER)
        input_logger.addHandler(repairs)
        input_logger.propagate = False
        try:
            with self.env.cr.savepoint():
                mail = self.env["mail.mail"].create(
                    {
                        "subject": "Soak",
                        "body_html": "<p>Soak</p>",
                        "email_from": "sender@example.com",
                        "auto_delete": False,
                        **values,
                    }
                )
                mail.flush_recordset()
        except CREATE_ERRORS as exc:
            message = str(exc.args[0] if exc.args else exc)
            self.record_outcome(
                category, label, "refused" if len(message) > 10 else "unclear", message[:200]
            )
            return None
        except Exception as exc:
            self.record_outcome(category, label, "crash", f"{type(exc).__name__}: {exc}"[:300])
            return None
        finally:
            input_logger.removeHandler(repairs)
            input_logger.propagate = True
        if repairs.records:
            self.repaired.add(mail.id)
        return mail

    def run_and_judge(self, category, pending):
        """Run the queue once, then judge each created ``(label, mail)``."""
        self._run_queue(*QUIET_LOGGERS, check_crash=True)
        for label, mail in pending:
            self.judge_mail(category, label, mail)

    def judge_mail(self, category, label, mail):
        """Sent once without injection, or failed with a type and a readable reason."""
        mail.invalidate_recordset()
        if mail.state == "exception":
            if mail.failure_type and (mail.failure_reason or "").strip():
                self.record_outcome(category, label, "exception", mail.failure_type)
            else:
                self.record_outcome(
                    category,
                    label,
                    "unclear",
                    f"exception {mail.failure_type} {mail.failure_reason}",
                )
        elif mail.state == "sent":
            copies = [d for d in self.sink.deliveries if d.message_id == mail.message_id.strip()]
            injected = [
                d
                for d in copies
                if INJECTED in " ".join(d.rcpt_tos)
                or d.message["X-Injected"]
                or d.message["Bcc"]
                or INJECTED in str(d.message["To"] or "")
            ]
            bad_from = [d for d in copies if not email_normalize(str(d.message["From"] or ""))]
            if injected:
                self.record_outcome(
                    category, label, "crash", f"header injection: {injected[0].rcpt_tos}"
                )
            elif bad_from:
                self.record_outcome(
                    category, label, "unclear", f"From: {bad_from[0].message['From']}"
                )
            elif len(copies) != 1:
                self.record_outcome(category, label, "lost", f"{len(copies)} copies delivered")
            elif mail.id in self.repaired:
                self.record_outcome(category, label, "repaired", "sent with U+FFFD, logged")
            else:
                self.record_outcome(category, label, "sent", ",".join(copies[0].rcpt_tos)[:100])
        elif mail.state == "outgoing" and mail.failure_type == "mail_smtp_temporary":
            self.record_outcome(category, label, "deferred", mail.failure_reason or "")
        else:
            self.record_outcome(
                category,
                label,
                "unclear",
                f"state {mail.state} {mail.failure_type} {mail.failure_reason}",
            )

    # ------------------------------------------------------------------
    # The inputs
    # ------------------------------------------------------------------
    def test_00_count(self):
        total = sum(COUNTS.values())
        _logger.info("bad input soak: %s generated inputs %s", total, COUNTS)
        self.assertGreaterEqual(total, REQUIRED_TOTAL)
        self.assertTrue(all(COUNTS.values()), "every category has inputs")

    def test_addresses(self):
        pending = []
        for address, where in itertools.product(BAD_ADDRESSES, ADDRESS_FIELDS):
            label = f"{where}={address!r}"
            if where == "email_to":
                values = {"email_to": address}
            elif where == "email_from":
                values = {"email_from": address, "email_to": "ok-from@example.com"}
            else:
                try:
                    with self.env.cr.savepoint():
                        partner = self.env["res.partner"].create({"name": "Bad", "email": address})
                        partner.flush_recordset()
                except CREATE_ERRORS as exc:
                    self.record_outcome("addresses", label, "refused", str(exc)[:200])
                    continue
                except Exception as exc:
                    self.record_outcome("addresses", label, "crash", f"{type(exc).__name__}: {exc}")
                    continue
                values = {"recipient_ids": [(4, partner.id)]}
            mail = self.try_create("addresses", label, values)
            if mail:
                pending.append((label, mail))
        self.run_and_judge("addresses", pending)
        self.assertFalse(self.sink.deliveries_to(INJECTED), "no header injection ever delivers")
        self.assert_outcomes("addresses", COUNTS["addresses"])
        self.assert_good_mail_still_delivered("addresses")

    def test_encodings(self):
        pending = []
        for text, where in itertools.product(ODD_TEXTS, TEXT_FIELDS):
            label = f"{where}={text[:40]!r}"
            if where == "email_from_name":
                values = {"email_from": f'"{text}" <sender@example.com>'}
            elif where == "body_html":
                values = {"body_html": f"<p>{text}</p>"}
            else:
                values = {where: text}
            values["email_to"] = "encoded@example.com"
            mail = self.try_create("encodings", label, values)
            if mail:
                pending.append((label, mail))
        self.run_and_judge("encodings", pending)
        self.assert_outcomes("encodings", COUNTS["encodings"])
        self.assert_good_mail_still_delivered("encodings")

    def test_huge_headers(self):
        pending = []
        for label, huge in HUGE:
            mail = self.try_create("huge_headers", label, {"email_to": "huge@example.com", **huge})
            if mail:
                pending.append((label, mail))
        self.run_and_judge("huge_headers", pending)
        self.assert_outcomes("huge_headers", COUNTS["huge_headers"])
        self.assert_good_mail_still_delivered("huge")

    def test_broken_dsns(self):
        Rejection = self.env["mail.incoming.rejection"]
        inputs = []
        for fixture, (name, breakage) in itertools.product(DSN_FIXTURES, DSN_BREAKAGES.items()):
            msgid = f"<dsn-{name}-{fixture}@remote.test>"
            raw = load_bounce(fixture).replace(b"Message-Id:", b"X-Old-Message-Id:", 1)
            raw = f"Message-Id: {msgid}\r\n".encode() + raw
            inputs.append((f"{fixture}:{name}", breakage(raw)))
        for index, raw in enumerate(JUNK_MESSAGES):
            inputs.append((f"junk-{index}", raw))
        for label, raw in inputs:
            before = Rejection.search_count([])
            try:
                with mute_logger(
                    "odoo.addons.mail.models.mail_thread",
                    "odoo.addons.mail_reliability.models.mail_thread",
                    "odoo.addons.mail_reliability.models.mail_incoming_rejection",
                ):
                    result = self.process(raw)
            except Exception as exc:
                self.record_outcome("dsn", label, "crash", f"{type(exc).__name__}: {exc}"[:300])
                continue
            new = Rejection.search([], order="id desc", limit=Rejection.search_count([]) - before)
            if new:
                self.record_outcome("dsn", label, "captured", ",".join(new.mapped("reason")))
            elif result:
                self.record_outcome("dsn", label, "routed", str(result))
            else:
                self.record_outcome("dsn", label, "lost", "neither routed nor captured")
        self.assertFalse(self.sink.deliveries, "a broken bounce is never answered")
        self.assert_outcomes("dsn", COUNTS["dsn"])
        # The same inputs through the fetchmail cron, from a real POP3 server.
        pop3 = Pop3Sink().start()
        self.addCleanup(pop3.stop)
        pop3.mailbox = [raw for _label, raw in inputs]
        create_pop3_server(self.env, pop3, name="Soak POP3", password="soak-pop3")
        rejections = Rejection.search_count([])
        # fetchmail commits after each message; the test transaction must not.
        with (
            patch.object(self.env.cr, "commit", lambda: None),
            self.real_smtp(),
            mute_logger(
                "odoo.addons.mail.models.fetchmail",
                "odoo.addons.mail.models.mail_thread",
                "odoo.addons.mail_reliability.models.mail_thread",
                "odoo.addons.mail_reliability.models.mail_incoming_rejection",
            ),
        ):
            self.env["fetchmail.server"]._fetch_mails()
        self.assertEqual(
            pop3.mailbox, [], "the fetchmail cron took every broken DSN off the server"
        )
        self.assertGreaterEqual(Rejection.search_count([]), rejections)
        self.assertFalse(self.sink.deliveries, "a broken bounce is never answered")
        self.assert_good_mail_still_delivered("dsn")

    # ------------------------------------------------------------------
    # Settings, raw parameters, cron intervals
    # ------------------------------------------------------------------
    def _set_raw_param(self, key, value):
        """What a bad import, a script or an old version leaves in the table."""
        self.env["ir.config_parameter"].flush_model()
        self.env.cr.execute(
            """INSERT INTO ir_config_parameter (key, value, create_date, write_date)
               VALUES (%s, %s, now(), now())
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""",
            [key, value],
        )
        self.env["ir.config_parameter"].invalidate_model()
        self.env.registry.clear_cache()

    def _read_setting(self, key):
        """The value the code actually uses for ``key`` (what a cron would get)."""
        if key in ("mail_reliability.retry_delays", "mail_reliability.retry_max_hours"):
            delays, max_hours = self.env["mail.mail"]._mr_retry_settings()
            return delays if key.endswith("delays") else max_hours
        if key.startswith("mail_reliability.vacuum_"):
            Vacuum = self.env["mail.reliability.vacuum"]
            rule = next(r for r in Vacuum._vacuum_rules() if r["param"] == key)
            return Vacuum._vacuum_rule_days(rule)
        limit, tz_name, reserve = self.env["mail.quota.usage"]._settings()
        return {
            "mail_reliability.daily_limit": limit,
            "mail_reliability.quota_timezone": tz_name,
            "mail_reliability.transactional_reserve": reserve,
        }[key]

    def test_bad_parameters(self):
        from ..tools import quota_window, retry_policy

        safe = {
            "mail_reliability.daily_limit": quota_window.DEFAULT_DAILY_LIMIT,
            "mail_reliability.quota_timezone": quota_window.DEFAULT_TIMEZONE,
            "mail_reliability.transactional_reserve": quota_window.DEFAULT_RESERVE_PERCENT,
            "mail_reliability.retry_delays": retry_policy.DEFAULT_DELAYS,
            "mail_reliability.retry_max_hours": retry_policy.DEFAULT_MAX_HOURS,
        }
        params = self.env["ir.config_parameter"].sudo()
        for key, value in BAD_PARAMS:
            label = f"{key}={value!r}"
            # 1. Through the ORM (Settings > Technical > System Parameters, imports, RPC)
            try:
                with self.env.cr.savepoint():
                    params.set_param(key, value)
                    params.flush_model()
            except ValidationError as exc:
                message = str(exc.args[0])
                self.assertIn(key, message)
                self.record_outcome("params", label + " set_param", "refused", message)
            except Exception as exc:
                self.record_outcome("params", label + " set_param", "crash", repr(exc))
            else:
                self.record_outcome("params", label + " set_param", "unclear", "accepted")
            # 2. Already in the database: the code falls back, loudly, and crons run.
            self._set_raw_param(key, value)
            try:
                with self.assertLogs(level="WARNING") as logs:
                    used = self._read_setting(key)
            except Exception as exc:
                self.record_outcome("params", label + " raw", "crash", repr(exc))
                continue
            warned = any(key in line for line in logs.output)
            if key.startswith("mail_reliability.vacuum_"):
                fallback_ok = used == 0  # the rule is switched off: nothing deleted
            else:
                fallback_ok = used == safe[key]
            self.record_outcome(
                "params",
                label + " raw",
                "fallback" if warned and fallback_ok else "unclear",
                f"used {used!r}, warned {warned}",
            )
            with mute_logger("odoo.addons.mail_reliability.models.mail_reliability_vacuum"):
                self.env["mail.reliability.vacuum"]._cron_vacuum()
            self.env["mail.quota.usage"]._cron_requeue_quota_held()
        self.assert_outcomes("params", COUNTS["params"])
        # All of them bad at once: the queue still delivers (with defaults).
        for key, values in BAD_PARAM_VALUES.items():
            self._set_raw_param(key, values[0])
        with self.assertLogs(level="WARNING"):
            self.assert_good_mail_still_delivered("params")

    def test_bad_settings(self):
        for fname, value in BAD_SETTINGS:
            label = f"{fname}={value!r}"
            try:
                with self.env.cr.savepoint():
                    self.env["res.config.settings"].create({fname: value}).execute()
            except UserError as exc:
                message = str(exc.args[0])
                outcome = "refused" if len(message) > 20 else "unclear"
                self.record_outcome("settings", label, outcome, message[:200])
            except Exception as exc:
                self.record_outcome("settings", label, "crash", f"{type(exc).__name__}: {exc}")
            else:
                self.record_outcome("settings", label, "unclear", "accepted")
        self.assert_outcomes("settings", COUNTS["settings"])
        self.assert_good_mail_still_delivered("settings")

    def test_short_cron_intervals(self):
        for xmlid, (number, unit) in itertools.product(GUARDED_CRONS, SHORT_INTERVALS):
            cron = self.env.ref(xmlid)
            label = f"{xmlid} every {number} {unit}"
            try:
                with self.env.cr.savepoint():
                    cron.write({"interval_number": number, "interval_type": unit})
                    cron.flush_recordset()
            except ValidationError as exc:
                message = str(exc.args[0])
                outcome = "refused" if "5 minutes" in message else "unclear"
                self.record_outcome("cron_intervals", label, outcome, message[:120])
            except Exception as exc:
                self.record_outcome(
                    "cron_intervals", label, "crash", f"{type(exc).__name__}: {exc}"
                )
            else:
                self.record_outcome("cron_intervals", label, "unclear", "accepted")
            cron.invalidate_recordset()
        self.assert_outcomes("cron_intervals", COUNTS["cron_intervals"])
        queue_cron = self.env.ref("mail.ir_cron_mail_scheduler_action")
        self.assertGreaterEqual(
            queue_cron.interval_number
            * {"minutes": 1, "hours": 60}.get(queue_cron.interval_type, 1440),
            5,
        )
        self.assert_good_mail_still_delivered("crons")
