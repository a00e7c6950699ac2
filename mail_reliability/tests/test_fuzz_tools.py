# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Property-based fuzz of every pure function that reads outside data (no database).

Each property states a documented contract: the function never raises (or raises
only the documented ``ValueError`` / ``DnsUnavailable``), returns the documented
type, a classification is one of the documented values, and a recipient is never
read as a *hard* bounce from text that does not say the delivery failed for good.
Hypothesis settings: ``fuzz_settings.py`` (fixed examples in ``bin/test``, many
more with ``bin/test-fuzz --minutes N``).
"""

import gzip
import math
import os
import re
import smtplib
import socket
import ssl
import tempfile
from datetime import datetime

from hypothesis import assume, given
from hypothesis import strategies as st

from odoo.tests import BaseCase, tagged

from ..tools import (
    dns_checks,
    dsn,
    log_search,
    mail_input,
    quota_window,
    retention,
    retry_policy,
    smtp_status,
)
from .fuzz_settings import fuzz_settings

SOURCES = ("rfc3464", "flufl", "x-failed-recipients", "text", "")
VERDICT_TYPES = set(smtp_status.FAILURE_TYPES) | {smtp_status.GENERIC}

# --- strategies -------------------------------------------------------------------------------
# Text with the characters that break parsers and databases: NUL, lone surrogates,
# line breaks, non-ASCII, and the digits and words the classifiers look for.
nasty_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\x00", "\ud800", "\udcff", "\r", "\n", "\t", ";", "<", ">", "@"]),
    ),
    max_size=200,
)
words = st.sampled_from(
    [
        "550",
        "5.1.1",
        "4.2.2",
        "421",
        "user unknown",
        "mailbox full",
        "spam",
        "try again later",
        "rfc822;",
        "smtp;",
        "said:",
        "no such user",
        "greylisted",
        "5.7.1",
        "4.4.7",
        "554 5.0.0",
    ]
)
reply_text = st.lists(st.one_of(words, nasty_text), max_size=6).map(" ".join)
any_code = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=200, max_value=599),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
    st.binary(max_size=10),
)
any_message = st.one_of(
    st.none(), reply_text, reply_text.map(lambda t: t.encode("utf-8", "surrogatepass"))
)
# DSN fields: with and without the words that make a failure permanent.
actions = st.one_of(
    st.sampled_from(["failed", "delayed", "delivered", "relayed", "expanded", "", "FAILED (x)"]),
    nasty_text,
)
statuses = st.one_of(
    st.sampled_from(["5.1.1", "5.2.1", "5.0.0", "4.0.0", "4.1.1", "2.0.0", "5.7.1", "", "x"]),
    st.from_regex(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True),
    nasty_text,
)
addresses = st.one_of(
    st.emails().map(lambda a: f"rfc822; {a}"),
    st.emails(),
    nasty_text,
)
charsets = st.sampled_from(["utf-8", "us-ascii", "iso-8859-1", "x-unknown", "utf-16", "utf-7"])
ctes = st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "x-garbage"])
content_types = st.sampled_from(
    [
        "text/plain",
        "text/html",
        "message/delivery-status",
        "message/global-delivery-status",
        "message/rfc822",
        "text/rfc822-headers",
        "multipart/mixed",
        "multipart/report; report-type=delivery-status",
        "application/octet-stream",
        "x/garbage",
    ]
)


def _block(fields):
    return "\n".join(f"{name}: {value}" for name, value in fields if value is not None)


@st.composite
def dsn_messages(draw, permanent_words=True):
    """A multipart/report (or something shaped like one) with random recipient blocks."""
    blocks = []
    for _i in range(draw(st.integers(0, 4))):
        blocks.append(
            _block(
                [
                    ("Final-Recipient", draw(st.one_of(st.none(), addresses))),
                    ("Original-Recipient", draw(st.one_of(st.none(), addresses))),
                    ("Action", draw(actions)),
                    ("Status", draw(st.one_of(st.none(), statuses))),
                    ("Diagnostic-Code", draw(st.one_of(st.none(), reply_text))),
                    ("Remote-MTA", draw(st.one_of(st.none(), nasty_text))),
                ]
            )
        )
    report = "Reporting-MTA: dns; mx.test\n\n" + "\n\n".join(blocks)
    parts = []
    for _i in range(draw(st.integers(0, 3))):
        parts.append(
            (
                draw(content_types),
                draw(charsets),
                draw(ctes),
                draw(st.one_of(reply_text, st.just("Message-Id: <orig@example.com>"))),
            )
        )
    position = draw(st.integers(0, len(parts)))
    parts.insert(position, ("message/delivery-status", "utf-8", "7bit", report))
    boundary = "b" + draw(st.text(alphabet="abcdef0123", min_size=1, max_size=8))
    outer = draw(
        st.sampled_from(
            [
                "multipart/report; report-type=delivery-status",
                "multipart/mixed",
                "multipart/report",
                "text/plain",
            ]
        )
    )
    lines = [
        "From: MAILER-DAEMON@mx.test",
        "To: bounce@example.com",
        f"Subject: {draw(nasty_text)}",
        f'Content-Type: {outer}; boundary="{boundary}"',
        "",
    ]
    for ctype, charset, cte, body in parts:
        lines += [
            f"--{boundary}",
            f"Content-Type: {ctype}; charset={charset}",
            f"Content-Transfer-Encoding: {cte}",
            "",
            body,
        ]
    if draw(st.booleans()):
        lines.append(f"--{boundary}--")
    text = "\n".join(lines)
    cut = draw(st.one_of(st.none(), st.integers(0, len(text))))
    return text[:cut] if cut is not None else text


def assert_report(case, report):
    """The documented shape of :func:`dsn.parse_bounce`'s result."""
    case.assertIsInstance(report, dsn.BounceReport)
    case.assertIn(report.source, SOURCES)
    case.assertIsInstance(report.recipients, tuple)
    case.assertIsInstance(report.original_message_ids, tuple)
    case.assertTrue(all(isinstance(i, str) for i in report.original_message_ids))
    case.assertTrue(all(isinstance(e, str) for e in report.errors))
    for recipient in report.recipients:
        case.assertIsInstance(recipient, dsn.RecipientReport)
        case.assertIn(recipient.kind, dsn.KINDS)
        case.assertIn("@", recipient.recipient)
        case.assertIsInstance(recipient.reason, str)
        case.assertIsInstance(recipient.permanent, bool)
        if recipient.kind != dsn.NONE:
            case.assertIn(recipient.failure_type, VERDICT_TYPES)
        if recipient.kind == dsn.HARD:
            # hard = the report says the delivery failed, with a class 4/5 status
            case.assertEqual(recipient.action, "failed")
            case.assertTrue(recipient.status and recipient.status[0] in "45", recipient)


@tagged("mail_reliability", "mr_fuzz", "at_install")
class TestFuzzDsn(BaseCase):
    @fuzz_settings(ci_examples=25)
    @given(st.binary(max_size=1500))
    def test_any_bytes(self, raw):
        assert_report(self, dsn.parse_bounce(raw))

    @fuzz_settings()
    @given(nasty_text)
    def test_any_text(self, text):
        assert_report(self, dsn.parse_bounce(text))

    @fuzz_settings(ci_examples=15)
    @given(dsn_messages(), st.one_of(st.none(), addresses))
    def test_any_mime_shape(self, text, fallback):
        assert_report(self, dsn.parse_bounce(text, fallback_recipient=fallback))
        assert_report(self, dsn.parse_bounce(text.encode("utf-8", "surrogatepass")))

    @fuzz_settings(ci_examples=15)
    @given(st.data())
    def test_hard_only_when_the_report_says_so(self, data):
        """No 5 anywhere and no "failed": nothing says the failure is permanent."""
        no_five = st.text(
            alphabet=st.characters(codec="utf-8", exclude_characters="5"), max_size=80
        ).filter(lambda t: "fail" not in t.lower())
        blocks = "\n\n".join(
            _block(
                [
                    ("Final-Recipient", f"rfc822; r{i}@remote.test"),
                    ("Action", data.draw(st.sampled_from(["delayed", "delivered", "relayed", ""]))),
                    (
                        "Status",
                        data.draw(st.from_regex(r"[24]\.[0-46-9]\.[0-46-9]", fullmatch=True)),
                    ),
                    ("Diagnostic-Code", data.draw(no_five)),
                ]
            )
            for i in range(data.draw(st.integers(1, 3)))
        )
        raw = (
            "From: MAILER-DAEMON@mx.test\nSubject: Delivery Status Notification\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
            f"--b\nContent-Type: text/plain\n\n{data.draw(no_five)}\n"
            "--b\nContent-Type: message/delivery-status\n\n"
            f"Reporting-MTA: dns; mx.test\n\n{blocks}\n--b--\n"
        )
        report = dsn.parse_bounce(raw.encode("utf-8", "surrogatepass"))
        assert_report(self, report)
        self.assertFalse([r for r in report.recipients if r.kind == dsn.HARD], report)

    @fuzz_settings()
    @given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="5"), max_size=300))
    def test_free_text_never_hard_without_a_reason(self, body):
        """A free-text mail from a mail system that quotes no code and says nothing failed."""
        assume("fail" not in body.lower())
        raw = (
            "From: MAILER-DAEMON@mx.test\nTo: bounce@example.com\nSubject: Returned mail\n\n"
            + body
            + "\n<alice@remote.test>\n"
        )
        report = dsn.parse_bounce(raw)
        assert_report(self, report)
        for recipient in report.recipients:
            if recipient.kind == dsn.HARD:
                # flufl.bounce recognised permanent wording ("user unknown"...): explicit
                self.assertTrue(recipient.permanent, recipient)

    @fuzz_settings()
    @given(addresses, actions, st.one_of(st.none(), statuses), reply_text, nasty_text)
    def test_classify_recipient(self, recipient, action, status, diagnostic, remote_mta):
        report = dsn.classify_recipient(recipient, action, status, diagnostic, remote_mta)
        self.assertIn(report.kind, dsn.KINDS)
        if report.kind == dsn.HARD:
            self.assertEqual(report.action, "failed")
        if (action or "").split()[:1] == ["delayed"]:
            self.assertNotIn(report.kind, (dsn.HARD, dsn.SOFT))

    @fuzz_settings()
    @given(st.one_of(st.binary(max_size=500), nasty_text))
    def test_auto_message_reason(self, raw):
        reason = dsn.auto_message_reason(raw)
        self.assertTrue(reason is None or isinstance(reason, str))


@tagged("mail_reliability", "mr_fuzz", "at_install")
class TestFuzzSmtpStatus(BaseCase):
    @fuzz_settings()
    @given(any_code, any_message)
    def test_classify_smtp_error(self, code, message):
        verdict = smtp_status.classify_smtp_error(code, message)
        self.assertIsInstance(verdict, smtp_status.SmtpVerdict)
        self.assertIn(verdict.failure_type, VERDICT_TYPES)
        self.assertIsInstance(verdict.permanent, bool)
        self.assertTrue(verdict.explanation)
        self.assertTrue(verdict.smtp_code is None or 200 <= verdict.smtp_code <= 599)
        self.assertTrue(
            verdict.smtp_status is None or re.fullmatch(r"[245]\.\d\.\d{1,3}", verdict.smtp_status)
        )
        if verdict.failure_type == smtp_status.TEMPORARY:
            self.assertFalse(verdict.permanent)

    @fuzz_settings()
    @given(
        st.integers(400, 499), st.text(alphabet=st.characters(exclude_characters="5"), max_size=120)
    )
    def test_a_4xx_reply_without_a_5_status_is_never_permanent(self, code, text):
        self.assertFalse(smtp_status.classify_smtp_error(code, text).permanent)

    @fuzz_settings()
    @given(
        st.dictionaries(
            st.one_of(nasty_text, st.binary(max_size=20)),
            st.one_of(
                st.tuples(any_code, any_message), any_message, st.lists(any_code, max_size=3)
            ),
            max_size=5,
        )
    )
    def test_classify_refused_recipients(self, refused):
        result = smtp_status.classify_refused_recipients(refused)
        self.assertLessEqual(len(result), len(refused))
        for key, verdict in result.items():
            self.assertIsInstance(key, str)
            self.assertIn(verdict.failure_type, VERDICT_TYPES)

    @fuzz_settings()
    @given(
        st.one_of(
            st.builds(smtplib.SMTPResponseException, any_code, any_message),
            st.builds(smtplib.SMTPDataError, any_code, any_message),
            st.builds(smtplib.SMTPAuthenticationError, any_code, any_message),
            st.builds(smtplib.SMTPSenderRefused, any_code, any_message, nasty_text),
            st.builds(
                smtplib.SMTPRecipientsRefused,
                st.dictionaries(nasty_text, st.tuples(any_code, any_message), max_size=3),
            ),
            st.builds(smtplib.SMTPServerDisconnected, nasty_text),
            st.builds(socket.gaierror, any_code, nasty_text),
            st.builds(ssl.SSLError, nasty_text),
            st.builds(ConnectionRefusedError, any_code, nasty_text),
            st.builds(TimeoutError),
            st.builds(ValueError, nasty_text),
        ),
        st.one_of(st.none(), st.builds(OSError, nasty_text)),
    )
    def test_classify_exception(self, exc, cause):
        try:
            raise exc from cause
        except Exception as raised:
            verdict = smtp_status.classify_exception(raised)
        self.assertIn(verdict.failure_type, VERDICT_TYPES)
        self.assertIsInstance(verdict.permanent, bool)

    @fuzz_settings()
    @given(
        st.one_of(st.none(), st.just(False), st.sampled_from(sorted(VERDICT_TYPES)), nasty_text),
        any_code,
        st.one_of(st.none(), st.just(False), statuses),
        any_message,
    )
    def test_explain_failure(self, failure_type, code, status, reason):
        self.assertIsInstance(smtp_status.explain_failure(failure_type, code, status, reason), str)


def _value_or_value_error(case, function, value):
    try:
        return function(value)
    except ValueError as exc:
        case.assertTrue(str(exc))  # a message that names the problem
        return None


any_param = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
    st.from_regex(r"\s*[0-9 ,.%+-]{0,20}\s*", fullmatch=True),
    st.lists(st.one_of(st.integers(), nasty_text), max_size=4),
)


@tagged("mail_reliability", "mr_fuzz", "at_install")
class TestFuzzInputParsing(BaseCase):
    """System parameters and settings: a value or a ValueError that says why."""

    @fuzz_settings()
    @given(any_param)
    def test_retry_delays(self, value):
        delays = _value_or_value_error(self, retry_policy.parse_delays, value)
        if delays is not None:
            self.assertIsInstance(delays, tuple)
            self.assertTrue(delays and all(isinstance(d, int) and d > 0 for d in delays))
            next_at = retry_policy.next_attempt(None, datetime(2026, 1, 1), 3, delays=delays)
            self.assertTrue(next_at is None or next_at > datetime(2026, 1, 1))

    @fuzz_settings()
    @given(any_param)
    def test_retry_window(self, value):
        hours = _value_or_value_error(self, retry_policy.parse_max_hours, value)
        if hours is not None:
            self.assertTrue(isinstance(hours, float) and math.isfinite(hours) and hours > 0)

    @fuzz_settings()
    @given(any_param)
    def test_quota_parameters(self, value):
        limit = _value_or_value_error(self, quota_window.parse_limit, value)
        self.assertTrue(limit is None or (isinstance(limit, int) and limit >= 0))
        reserve = _value_or_value_error(self, quota_window.parse_reserve, value)
        self.assertTrue(reserve is None or 0 <= reserve <= 100)
        timezone = _value_or_value_error(self, quota_window.parse_timezone, value)
        if timezone is not None:
            day = quota_window.quota_day(datetime(2026, 3, 29, 1, 30), timezone)
            self.assertLess(day.start, day.reset)

    @fuzz_settings()
    @given(any_param)
    def test_retention_days(self, value):
        days = _value_or_value_error(self, retention.parse_days, value)
        self.assertTrue(days is None or isinstance(days, int))

    @fuzz_settings()
    @given(st.one_of(st.none(), nasty_text, st.binary(max_size=50), st.integers()))
    def test_mail_input(self, value):
        header = mail_input.header_injection(value)
        self.assertTrue(header is None or (isinstance(header, str) and header in value))
        text, count = mail_input.storable_text(value)
        if isinstance(value, str):
            self.assertNotIn("\x00", text)
            text.encode("utf-8")  # no lone surrogate left
            self.assertEqual(mail_input.storable_text(text), (text, 0))
            self.assertGreaterEqual(count, 0)
        else:
            self.assertEqual((text, count), (value, 0))


@tagged("mail_reliability", "mr_fuzz", "at_install")
class TestFuzzLogSearch(BaseCase):
    @fuzz_settings(ci_examples=15)
    @given(st.binary(max_size=4000), st.binary(max_size=2000), nasty_text, st.booleans())
    def test_search_any_log_content(self, plain, gz_content, needle, ignore_case):
        with tempfile.TemporaryDirectory() as directory:
            logfile = os.path.join(directory, "odoo.log")
            with open(logfile, "wb") as handle:
                handle.write(plain)
            with open(logfile + ".1.gz", "wb") as handle:  # not even gzip, sometimes
                handle.write(gzip.compress(gz_content) if gz_content[:1] != b"x" else gz_content)
            paths = log_search.log_files(logfile)
            self.assertEqual(paths[0], logfile)
            try:
                result = log_search.search_logs(paths, needle, ignore_case=ignore_case)
            except ValueError:
                self.assertFalse(needle.strip(), "only an empty search is refused")
                return
            self.assertIsInstance(log_search.format_result(result), str)
            for match in result.matches:
                self.assertLessEqual(len(match.line), log_search.MAX_LINE_CHARS)

    @fuzz_settings()
    @given(st.one_of(st.none(), nasty_text))
    def test_log_files_of_any_path(self, path):
        try:
            files = log_search.log_files(path)
        except ValueError:  # embedded NUL: not a path
            self.assertIn("\x00", path)
            return
        self.assertIsInstance(files, list)


class FakeResolver:
    """DNS answers drawn by Hypothesis: whatever a hostile zone may publish."""

    def __init__(self, txt, addresses, mx):
        self._txt, self._addresses, self._mx = txt, addresses, mx

    def txt(self, name):
        return list(self._txt)

    def probe_txt(self, name):  # a guessed DKIM selector: the same hostile answers
        return list(self._txt)

    def addresses(self, name):
        return list(self._addresses)

    def address_records(self, name, ipv6=False):
        return list(self._addresses)

    def mx(self, name):
        return list(self._mx)

    def ptr(self, name):
        return list(self._mx)


spf_terms = st.one_of(
    st.sampled_from(
        [
            "all",
            "-all",
            "~all",
            "?all",
            "mx",
            "a",
            "a:x.test/24",
            "mx//64",
            "include:x.test",
            "redirect=x.test",
            "exists:%{d}",
            "include:%{ir}.%{v}.%{d}.spf.has.pphosted.com",
            "exists:%{i}._spf.mta.salesforce.com",
            "exists:%{p}.%{h}.%{l-}.%{s}.%{o}.%{d2r}",
            "a:%{c}.%{r}.%{t}.x.test",
            "redirect=%{d1}.x.test",
            "exp=%{i}.exp.%{d}",
            "ptr",
            "ip4:192.0.2.0/24",
            "ip6:2001:db8::/32",
            "ip4:300.1.1.1",
            "ip4:",
            "exp=x",
            "%{z}",
            "+",
        ]
    ),
    nasty_text.filter(lambda t: " " not in t),
)
txt_records = st.lists(
    st.one_of(
        st.lists(spf_terms, max_size=8).map(lambda terms: " ".join(["v=spf1", *terms])),
        st.lists(st.tuples(nasty_text, nasty_text), max_size=5).map(
            lambda tags: "; ".join(f"{k}={v}" for k, v in tags)
        ),
        st.sampled_from(["v=DMARC1; p=reject", "v=DKIM1; p=", "v=DKIM1; t=y; p=abc"]),
        nasty_text,
    ),
    max_size=3,
)
ip_addresses = st.one_of(st.ip_addresses().map(str), nasty_text)


@tagged("mail_reliability", "mr_fuzz", "at_install")
class TestFuzzDnsRecords(BaseCase):
    @fuzz_settings(ci_examples=25)
    @given(
        txt_records,
        st.lists(st.ip_addresses().map(str), max_size=3),
        st.lists(nasty_text, max_size=3),
        ip_addresses,
    )
    def test_records_of_a_hostile_zone(self, txt, addresses, mx, ip):
        resolver = FakeResolver(txt, addresses, mx)
        result, why = dns_checks.check_spf(resolver, ip, "example.com")
        self.assertIn(result, ("pass", "fail", "softfail", "neutral", "none", "permerror"))
        self.assertIsInstance(why, str)
        findings = [
            dns_checks.spf_finding(resolver, "example.com", {"server": ip or "smtp.test"}),
            dns_checks.dkim_finding(resolver, "example.com", ["s1", "google"]),
            dns_checks.dmarc_finding(resolver, "mail.example.com"),
        ]
        rules, details = dns_checks.bulk_sender_rules(
            resolver, "example.com", "bounce.example.com", {"server": ip or "smtp.test"}
        )
        self.assertTrue(all(rule.passed in (True, False, None) and rule.text for rule in rules))
        self.assertTrue(all(isinstance(line, str) for line in details))
        for record in txt:
            self.assertIsInstance(dns_checks.parse_tags(record), dict)
            findings.append(dns_checks.evaluate_dmarc(record, "example.com"))
        for finding in findings:
            self.assertIn(finding.status, dns_checks.STATUS_ORDER)
            self.assertTrue(finding.finding)


@tagged("mail_reliability", "mr_fuzz", "at_install")
class TestFuzzFindings(BaseCase):
    """What the property tests found, each kept as a table."""

    def test_smtp_code_that_is_not_a_finite_number(self):
        """``classify_smtp_error(inf, ...)`` raised OverflowError (``int(float("inf"))``)."""
        table = [
            (float("inf"), "550 5.1.1 unknown", 550),
            (float("-inf"), None, None),
            (float("nan"), "421 try again later", 421),
            (1e400, "", None),
            ("550", "5.1.1 unknown", 550),
            (True, "550 5.1.1 unknown", 550),
        ]
        for code, text, expected in table:
            with self.subTest(code=code):
                self.assertEqual(smtp_status.classify_smtp_error(code, text).smtp_code, expected)
        refused = smtp_status.classify_refused_recipients({"a@b.test": (float("inf"), None)})
        self.assertEqual(refused["a@b.test"].failure_type, smtp_status.GENERIC)
