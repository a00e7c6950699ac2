# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Authentication-Results parsing and verdicts, raw message hash and size cap
(no database needed)."""

from email import message_from_bytes, policy
from email.message import EmailMessage

from odoo.tests import BaseCase, tagged

from ..tools import auth_results, raw_mail

GMAIL = (
    "mx.google.com;\r\n       dkim=pass header.i=@customer.test header.s=s1 header.b=Qh2ZbT4x;\r\n"
    "       spf=pass (google.com: domain of alice@customer.test designates 203.0.113.5 as "
    "permitted sender) smtp.mailfrom=alice@customer.test;\r\n"
    "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=customer.test"
)
MICROSOFT = (
    "spf=pass (sender IP is 40.107.22.51) smtp.mailfrom=contoso.com; dkim=pass (signature "
    "was verified) header.d=contoso.com;dmarc=pass action=none header.from=contoso.com;"
    "compauth=pass reason=100"
)
OPENDMARC = "mail.example.com; dmarc=pass (p=quarantine dis=none) header.from=customer.test"
OPENDKIM = (
    "mail.example.com; dkim=pass (2048-bit key; unprotected) header.d=customer.test "
    'header.i=@customer.test header.a=rsa-sha256 header.s=mail header.b="AbCd;Ef12"'
)
POLICYD_SPF = "mail.example.com; spf=pass (sender SPF authorized) smtp.mailfrom=customer.test"
RFC8601_NONE = "example.org 1; none"
RFC8601_MULTI = (
    "example.com;\r\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
    "          spf=pass smtp.mailfrom=example.net"
)
FASTMAIL = (
    "mx4.messagingengine.com;    arc=none (no signatures found);    dkim=pass (2048-bit rsa "
    "key sha256) header.d=customer.test header.i=@customer.test header.b=xyz header.a=rsa-sha256 "
    "header.s=fm1 x-bits=2048;    dmarc=pass policy.published-domain-policy=none "
    "policy.applied-disposition=none policy.evaluated-disposition=none "
    "(p=none,d=none,d.eval=none) policy.policy-from=p header.from=customer.test;    "
    "iprev=pass smtp.remote-ip=203.0.113.5 (mx.customer.test);    spf=pass "
    "smtp.mailfrom=alice@customer.test smtp.helo=mx.customer.test"
)


@tagged("mail_reliability", "post_install", "-at_install")
class TestAuthResultsParse(BaseCase):
    def test_parse_table(self):
        # header -> (authserv-id, version, [(method, result, {some properties})])
        table = [
            (
                GMAIL,
                "mx.google.com",
                None,
                [
                    ("dkim", "pass", {"header.i": "@customer.test", "header.s": "s1"}),
                    ("spf", "pass", {"smtp.mailfrom": "alice@customer.test"}),
                    ("dmarc", "pass", {"header.from": "customer.test"}),
                ],
            ),
            (
                MICROSOFT,
                "",  # Microsoft 365 writes no authserv-id: never trusted
                None,
                [
                    ("spf", "pass", {"smtp.mailfrom": "contoso.com"}),
                    ("dkim", "pass", {"header.d": "contoso.com"}),
                    ("dmarc", "pass", {"header.from": "contoso.com"}),
                    ("compauth", "pass", {}),
                ],
            ),
            (
                OPENDMARC,
                "mail.example.com",
                None,
                [("dmarc", "pass", {"header.from": "customer.test"})],
            ),
            (
                OPENDKIM,
                "mail.example.com",
                None,
                [("dkim", "pass", {"header.d": "customer.test", "header.b": "AbCd;Ef12"})],
            ),
            (
                POLICYD_SPF,
                "mail.example.com",
                None,
                [("spf", "pass", {"smtp.mailfrom": "customer.test"})],
            ),
            (RFC8601_NONE, "example.org", 1, []),
            (
                RFC8601_MULTI,
                "example.com",
                None,
                [
                    ("auth", "pass", {"smtp.auth": "sender@example.net"}),
                    ("spf", "pass", {"smtp.mailfrom": "example.net"}),
                ],
            ),
            (
                FASTMAIL,
                "mx4.messagingengine.com",
                None,
                [
                    ("arc", "none", {}),
                    ("dkim", "pass", {"header.d": "customer.test"}),
                    ("dmarc", "pass", {"header.from": "customer.test"}),
                    ("iprev", "pass", {"smtp.remote-ip": "203.0.113.5"}),
                    ("spf", "pass", {"smtp.mailfrom": "alice@customer.test"}),
                ],
            ),
            # odd spacing, upper case, a method version, a quoted authserv-id
            (
                '"MX.Example.COM" 1 ; DMARC = Pass header.from = customer.test ; spf/2=fail',
                "mx.example.com",
                1,
                [("dmarc", "pass", {"header.from": "customer.test"}), ("spf", "fail", {})],
            ),
            # reason, nested comments, an escaped parenthesis
            (
                'mx.example.com; dkim=fail reason="bad sig" (outer (inner \\) still) x) '
                "header.d=customer.test",
                "mx.example.com",
                None,
                [("dkim", "fail", {"header.d": "customer.test"})],
            ),
            # garbage never raises
            ("", "", None, []),
            (";;;==;", "", None, []),
            ("((((unterminated", "", None, []),
            ('mx.example.com; dmarc="unterminated', "mx.example.com", None, []),
        ]
        for value, authserv_id, version, results in table:
            with self.subTest(value=value):
                parsed = auth_results.parse(value)
                self.assertEqual(parsed.authserv_id, authserv_id)
                self.assertEqual(parsed.version, version)
                self.assertEqual(
                    [(r.method, r.result) for r in parsed.results],
                    [(method, result) for method, result, _props in results],
                )
                for result, (_m, _r, properties) in zip(parsed.results, results, strict=True):
                    for key, expected in properties.items():
                        self.assertEqual(result.properties.get(key), expected, key)

    def test_reason(self):
        parsed = auth_results.parse('mx.example.com; dkim=fail reason="bad sig" header.d=a.test')
        self.assertEqual(parsed.results[0].reason, "bad sig")

    def test_alignment(self):
        for a, b, expected in (
            ("customer.test", "customer.test", True),
            ("alice@Customer.TEST", "customer.test.", True),
            ("bounce.customer.test", "customer.test", True),
            ("customer.test", "mail.customer.test", True),
            ("evilcustomer.test", "customer.test", False),
            ("customer.test.evil.test", "customer.test", False),
            ("esp.test", "customer.test", False),
            ("", "customer.test", False),
            # DMARC relaxed alignment: the organizational domain, public suffix list
            ("a.customer.test", "b.customer.test", True),
            ("bounce.mail.b.co.uk", "b.co.uk", True),
            ("b.co.uk", "c.co.uk", False),
            ("x.github.io", "github.io", False),
            ("x.github.io", "y.github.io", False),
            ("bounce.bücher.de", "xn--bcher-kva.de", True),
        ):
            with self.subTest(a=a, b=b):
                self.assertEqual(auth_results.aligned(a, b), expected)


@tagged("mail_reliability", "post_install", "-at_install")
class TestAuthResultsVerdict(BaseCase):
    OURS = ["mail.example.com"]

    def verdict(self, values, from_address="alice@customer.test", ids=None):
        return auth_results.sender_verdict(values, self.OURS if ids is None else ids, from_address)

    def test_verdict_table(self):
        table = [
            ("OpenDMARC pass", [OPENDMARC], True),
            ("aligned SPF pass", [POLICYD_SPF], True),
            (
                "SPF pass from a subdomain",
                ["mail.example.com; spf=pass smtp.mailfrom=bounce.customer.test"],
                True,
            ),
            (
                "SPF pass for another domain (an ESP's bounce address)",
                ["mail.example.com; spf=pass smtp.mailfrom=bounces.esp.test"],
                False,
            ),
            ("DKIM pass alone is not enough", [OPENDKIM], False),
            (
                "DMARC pass for another From domain",
                ["mail.example.com; dmarc=pass header.from=attacker.test"],
                False,
            ),
            (
                "DMARC fail wins over SPF pass",
                [
                    "mail.example.com; dmarc=fail (p=reject) header.from=customer.test; "
                    "spf=pass smtp.mailfrom=customer.test"
                ],
                False,
            ),
            ("no header at all", [], False),
            ("Gmail's header, Gmail not configured", [GMAIL], False),
            (
                "forged: another authserv-id",
                ["evil.test; dmarc=pass header.from=customer.test"],
                False,
            ),
            (
                "forged: ours, but below the real one (topmost counts)",
                [
                    "mail.example.com; dmarc=fail (p=reject dis=none) header.from=customer.test",
                    "mail.example.com; dmarc=pass header.from=customer.test",
                ],
                False,
            ),
            (
                "forged above ours by another host: ignored, ours read",
                ["evil.test; dmarc=fail header.from=customer.test", OPENDMARC],
                True,
            ),
            (
                "forged: ours as a substring of another id",
                ["mail.example.com.evil.test; dmarc=pass header.from=customer.test"],
                False,
            ),
            ("Microsoft 365 (no authserv-id) is never trusted", [MICROSOFT], False),
        ]
        for label, values, expected in table:
            with self.subTest(label):
                trusted, why = self.verdict(values)
                self.assertEqual(trusted, expected, why)
                self.assertTrue(why)

    def test_configured_ids(self):
        self.assertTrue(self.verdict([GMAIL], ids=["MX.GOOGLE.COM"])[0])
        self.assertTrue(self.verdict([OPENDMARC], ids=["mx1.example.com", "mail.example.com"])[0])
        self.assertFalse(self.verdict([OPENDMARC], ids=[])[0])
        self.assertFalse(self.verdict([OPENDMARC], from_address="")[0])

    def test_headers_of_a_parsed_message(self):
        raw = (
            "Authentication-Results: evil.test; dmarc=pass header.from=customer.test\r\n"
            f"Authentication-Results: {GMAIL}\r\n"
            "From: alice@customer.test\r\nSubject: hi\r\n\r\nbody\r\n"
        ).encode()
        message = message_from_bytes(raw, policy=policy.SMTP)
        values = [str(v) for v in message.get_all("Authentication-Results")]
        self.assertTrue(
            auth_results.sender_verdict(values, ["mx.google.com"], "a@customer.test")[0]
        )


def big_mail(attachment_size, text="Hello, see the attachment."):
    message = EmailMessage()
    message["From"] = "alice@customer.test"
    message["To"] = "nobody@example.com"
    message["Subject"] = "Big"
    message["Message-Id"] = "<big@customer.test>"
    message.set_content(text)
    message.add_attachment(
        b"\x00" * attachment_size, maintype="application", subtype="octet-stream", filename="b"
    )
    return message.as_bytes()


@tagged("mail_reliability", "post_install", "-at_install")
class TestRawMail(BaseCase):
    def test_digest(self):
        self.assertEqual(raw_mail.digest(b"a"), raw_mail.digest(b"a"))
        self.assertNotEqual(raw_mail.digest(b"a"), raw_mail.digest(b"a "))
        self.assertEqual(len(raw_mail.digest(b"")), 64)

    def test_parse_max_mb(self):
        for value, expected in (
            (None, 10 * 1024 * 1024),
            ("", 10 * 1024 * 1024),
            ("1", 1024 * 1024),
            (" 0.5 ", 512 * 1024),
            ("0", 0),
            ("-3", 0),
        ):
            with self.subTest(value=value):
                self.assertEqual(raw_mail.parse_max_mb(value), expected)
        for value in ("ten", "nan", "inf", "1e999"):
            with self.subTest(value=value), self.assertRaises(ValueError):
                raw_mail.parse_max_mb(value)

    def test_within_the_cap_is_untouched(self):
        raw = big_mail(1000)
        self.assertEqual(raw_mail.truncate(raw, len(raw)), (raw, False))
        self.assertEqual(raw_mail.truncate(raw, 0), (raw, False))

    def test_multipart_keeps_headers_and_first_part(self):
        raw = big_mail(200_000)
        stored, truncated = raw_mail.truncate(raw, 50_000)
        self.assertTrue(truncated)
        self.assertLessEqual(len(stored), 50_000)
        message = message_from_bytes(stored, policy=policy.SMTP)
        self.assertIn(f"original size {len(raw)} bytes", message[raw_mail.TRUNCATED_HEADER])
        self.assertEqual(message["Message-Id"], "<big@customer.test>")
        self.assertEqual(message["Subject"], "Big")
        parts = list(message.iter_parts())
        self.assertEqual(len(parts), 1, "only the first part is kept")
        self.assertIn("see the attachment", parts[0].get_content())

    def test_first_part_over_the_cap_is_cut(self):
        raw = big_mail(10, text="x" * 100_000)
        stored, truncated = raw_mail.truncate(raw, 20_000)
        self.assertTrue(truncated)
        self.assertLessEqual(len(stored), 20_000 + 200)  # the closing boundary line
        message = message_from_bytes(stored, policy=policy.SMTP)
        self.assertEqual(message["Subject"], "Big")
        self.assertTrue(message.get_body(("plain",)).get_content().startswith("xxx"))

    def test_single_part_and_headers_only(self):
        raw = b"From: a@b.test\r\nSubject: s\r\n\r\n" + b"y" * 5000
        stored, truncated = raw_mail.truncate(raw, 1000)
        self.assertTrue(truncated)
        self.assertLessEqual(len(stored), 1000)
        self.assertTrue(stored.startswith(raw_mail.TRUNCATED_HEADER.encode()))
        self.assertIn(b"Subject: s\r\n\r\nyyy", stored)
        raw = b"X-Long: " + b"h" * 5000  # no body, no line break
        stored, truncated = raw_mail.truncate(raw, 1000)
        self.assertTrue(truncated)
        self.assertLessEqual(len(stored), 1000)
