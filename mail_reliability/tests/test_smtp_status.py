# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Classification of real-world SMTP replies and sending exceptions (no database needed)."""

import smtplib
import socket
import ssl
from unittest.mock import patch

from odoo.tests import BaseCase, tagged
from odoo.tools.translate import LazyGettext, code_translations

from ..tools.i18n import render
from ..tools.smtp_status import (
    FAILURE_TYPES,
    OTHER_EXPLANATIONS,
    REASONS,
    SILENT_EXPLANATION,
    SmtpVerdict,
    classify_exception,
    classify_refused_recipients,
    classify_smtp_error,
    explain_failure,
    is_silent_failure,
)

TEMP = "mail_smtp_temporary"
RCPT = "mail_smtp_recipient"
SNDR = "mail_smtp_sender"
PLCY = "mail_smtp_policy"
SIZE = "mail_smtp_size"
GNRC = "mail_smtp"

# provider -> rows of (code argument, reply text, failure_type, smtp_code, smtp_status, permanent).
# A code argument means the text is what smtplib keeps (reply lines without their code);
# None means the text is the whole reply as a server or a bounce shows it.
# fmt: off
REPLIES = {
    "Gmail": [
        (550,
            "5.1.1 The email account that you tried to reach does not exist. Please try\n"
            "5.1.1 double-checking the recipient's email address for typos or\n"
            "5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser "
            "z12si1234567qkb.123 - gsmtp",
            RCPT, 550, "5.1.1", True),
        (None,
            "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
            "550-5.1.1 double-checking the recipient's email address for typos or\n"
            "550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser",
            RCPT, 550, "5.1.1", True),
        (550,
            "5.2.1 The email account that you tried to reach is disabled. Learn more at\n"
            "5.2.1  https://support.google.com/mail/?p=DisabledUser",
            RCPT, 550, "5.2.1", True),
        (452,
            "4.2.2 The email account that you tried to reach is over quota. Please direct\n"
            "4.2.2 the recipient to\n"
            "4.2.2  https://support.google.com/mail/?p=OverQuotaTemp",
            TEMP, 452, "4.2.2", False),
        (552,
            "5.2.2 The email account that you tried to reach is over quota and inactive.\n"
            "5.2.2  https://support.google.com/mail/?p=OverQuotaPerm",
            TEMP, 552, "5.2.2", False),
        (552,
            "5.3.4 Your message exceeded Google's message size limits. Please visit\n"
            "5.3.4  https://support.google.com/mail/?p=MaxSizeError to view our size\n"
            "5.3.4 guidelines.",
            SIZE, 552, "5.3.4", True),
        (None,
            "421-4.7.28 [203.0.113.7      15] Gmail has detected an unusual rate of "
            "unsolicited\n"
            "421-4.7.28 mail originating from your SPF domain [example.com      15]. To "
            "protect\n"
            "421-4.7.28 our users from spam, mail sent from your domain has been temporarily\n"
            "421 4.7.28 rate limited. "
            "https://support.google.com/mail/?p=UnsolicitedRateLimitError",
            TEMP, 421, "4.7.28", False),
        (None,
            "550-5.7.26 Unauthenticated email from example.com is not accepted due to\n"
            "550-5.7.26 domain's DMARC policy. Please contact the administrator of\n"
            "550-5.7.26 example.com domain if this was a legitimate mail. To learn about\n"
            "550 5.7.26 the DMARC initiative, go to "
            "https://support.google.com/mail/?p=DmarcRejection",
            SNDR, 550, "5.7.26", True),
        (550,
            "5.7.1 [203.0.113.7] Our system has detected that this message is likely\n"
            "5.7.1 unsolicited mail. To reduce the amount of spam sent to Gmail, this "
            "message\n"
            "5.7.1 has been blocked. "
            "https://support.google.com/mail/?p=UnsolicitedMessageError",
            PLCY, 550, "5.7.1", True),
        (535,
            b"5.7.8 Username and Password not accepted. For more information, go to\n"
            b"5.7.8  https://support.google.com/mail/?p=BadCredentials",
            SNDR, 535, "5.7.8", True),
        (None, "530 5.7.0 Must issue a STARTTLS command first.", SNDR, 530, "5.7.0", True),
        (534,
            "5.7.9 Application-specific password required. Learn more at\n"
            "5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor",
            SNDR, 534, "5.7.9", True),
        (550,
            "5.7.27 Your email has been blocked because the sender is unauthenticated. Gmail\n"
            "5.7.27 requires all senders to authenticate with either SPF or DKIM.",
            SNDR, 550, "5.7.27", True),
        (550,
            "5.7.25 The IP address sending this message does not have a PTR record setup, or\n"
            "5.7.25 the corresponding forward DNS entry does not point to the sending IP.",
            SNDR, 550, "5.7.25", True),
        (421, "4.7.0 Try again later, closing connection. (EHLO) gsmtp", TEMP, 421, "4.7.0", False),
        (552,
            "5.7.0 This message was blocked because its content presents a potential\n"
            "5.7.0 security issue. https://support.google.com/mail/?p=BlockedMessage",
            PLCY, 552, "5.7.0", True),
    ],
    "Outlook / Office 365 / Exchange": [
        (None,
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address "
            "lookup",
            RCPT, 550, "5.1.10", True),
        (550,
            "5.4.1 Recipient address rejected: Access denied. For more information see "
            "https://aka.ms/EXOSmtpErrors [AS(201806281)] "
            "[BN8NAM12FT045.eop-nam12.prod.protection.outlook.com]",
            RCPT, 550, "5.4.1", True),
        (None,
            "550 5.7.1 Unfortunately, messages from [203.0.113.7] weren't sent. Please "
            "contact your Internet service provider since part of their network is on our "
            "block list (S3150). You can also refer your provider to "
            "http://mail.live.com/mail/troubleshooting.aspx#errors.",
            PLCY, 550, "5.7.1", True),
        (None,
            "550 5.7.606 Access denied, banned sending IP [203.0.113.7]. To request removal "
            "from this list please visit https://sender.office.com/ and follow the "
            "directions.",
            PLCY, 550, "5.7.606", True),
        (451,
            "4.7.500 Server busy. Please try again later from [203.0.113.7]. (S77714) "
            "[DM6NAM10FT012.eop-nam10.prod.protection.outlook.com]",
            TEMP, 451, "4.7.500", False),
        (535,
            "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for "
            "the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. "
            "[AM0PR02CA0001.eurprd02.prod.outlook.com]",
            SNDR, 535, "5.7.139", True),
        (530,
            "5.7.57 Client not authenticated to send mail. "
            "[AM0PR02CA0001.eurprd02.prod.outlook.com]",
            SNDR, 530, "5.7.57", True),
        (550,
            "5.7.1 RESOLVER.RST.AuthRequired; authentication required [Stage: CreateMessage]",
            PLCY, 550, "5.7.1", True),
        (None,
            "554 5.2.0 "
            "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; "
            "Failed to process message due to a permanent exception with message Cannot "
            "submit message.",
            SNDR, 554, "5.2.0", True),
        (None, "#550 5.1.1 RESOLVER.ADR.ExRecipNotFound; not found ##", RCPT, 550, "5.1.1", True),
        (None,
            "Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'",
            RCPT, 550, "5.1.1", True),
        (550,
            "5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
            SNDR, 550, "5.7.54", True),
        (452,
            "4.3.1 Insufficient system resources (UsedDiskSpace[C:\\Program "
            "Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\data\\Queue])",
            TEMP, 452, "4.3.1", False),
        (None,
            "554 5.4.14 Hop count exceeded - possible mail loop ATTR34",
            GNRC, 554, "5.4.14", True),
    ],
    "Yahoo / AOL": [
        (None,
            "421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred due to "
            "unexpected volume or user complaints - 4.16.55.1; see "
            "https://postmaster.yahooinc.com/error-codes",
            TEMP, 421, "4.7.0", False),
        (553,
            "5.7.2 [TSS09] All messages from 203.0.113.7 will be permanently deferred; "
            "Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes",
            PLCY, 553, "5.7.2", True),
        (554,
            "5.7.9 Message not accepted for policy reasons.  See "
            "https://postmaster.yahooinc.com/error-codes",
            PLCY, 554, "5.7.9", True),
        (None,
            "554 delivery error: dd This user doesn't have a yahoo.com account "
            "(someone@yahoo.com) [0] - mta1234.mail.gq1.yahoo.com",
            RCPT, 554, None, True),
        (None,
            "421 4.7.0 [GL01] Message from (203.0.113.7) temporarily deferred - 4.16.50. "
            "Please refer to https://postmaster.yahooinc.com/error-codes",
            TEMP, 421, "4.7.0", False),
        (550,
            "5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo "
            "requires all senders to authenticate with either SPF or DKIM.",
            SNDR, 550, "5.7.9", True),
        (None, "552 1 Requested mail action aborted, mailbox not found", RCPT, 552, None, True),
    ],
    "Amazon SES": [
        (554,
            "Message rejected: Email address is not verified. The following identities "
            "failed the check in region US-EAST-1: sender@example.com",
            SNDR, 554, None, True),
        (454, "Throttling failure: Maximum sending rate exceeded.", TEMP, 454, None, False),
        (454, "Throttling failure: Daily message quota exceeded.", TEMP, 454, None, False),
        (535, "Authentication Credentials Invalid", SNDR, 535, None, True),
        (554, "Transaction failed: Duplicate header 'Message-ID'.", GNRC, 554, None, True),
    ],
    "SendGrid": [
        (550,
            "The from address does not match a verified Sender Identity. Mail cannot be sent "
            "until this error is resolved. Visit "
            "https://sendgrid.com/docs/for-developers/sending-email/sender-identity/ to see "
            "the Sender Identity requirements",
            SNDR, 550, None, True),
        (None, "550 5.7.1 Unauthenticated senders not allowed", SNDR, 550, "5.7.1", True),
        (451, "Authentication failed: Maximum credits exceeded", TEMP, 451, None, False),
    ],
    "Mailgun": [
        (550, "5.7.1 Relaying denied", SNDR, 550, "5.7.1", True),
        (535, "5.7.0 Mailgun is not loving your login or password", SNDR, 535, "5.7.0", True),
        (421,
            "Domain sandbox123.mailgun.org is not allowed to send: Sandbox subdomains are "
            "for test purposes only. Please add your own domain or add the address to "
            "authorized recipients in Account Settings.",
            TEMP, 421, None, False),
    ],
    "Postfix": [
        (None,
            "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in "
            "virtual mailbox table",
            RCPT, 550, "5.1.1", True),
        (None, "554 5.7.1 <carl@example.net>: Relay access denied", SNDR, 554, "5.7.1", True),
        (None,
            "553 5.7.1 <ann@example.com>: Sender address rejected: not owned by user "
            "ann@example.org",
            SNDR, 553, "5.7.1", True),
        (None,
            "550 5.1.0 <noreply@example.com>: Sender address rejected: User unknown in local "
            "recipient table",
            SNDR, 550, "5.1.0", True),
        (None,
            "450 4.1.2 <x@nonexistent.example>: Recipient address rejected: Domain not found",
            TEMP, 450, "4.1.2", False),
        (None,
            "450 4.2.0 <ann@example.com>: Recipient address rejected: Greylisted, see "
            "http://postgrey.schweikert.ch/help/example.com.html",
            TEMP, 450, "4.2.0", False),
        (None,
            "451 4.7.1 <ann@example.com>: Recipient address rejected: Greylisted, please try "
            "again later",
            TEMP, 451, "4.7.1", False),
        (None,
            "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname",
            GNRC, 504, "5.5.2", True),
        (None, "452 4.3.1 Insufficient system storage", TEMP, 452, "4.3.1", False),
        (None, "552 5.3.4 Error: message file too big", SIZE, 552, "5.3.4", True),
        (None,
            "450 4.7.1 Client host rejected: cannot find your hostname, [203.0.113.7]",
            TEMP, 450, "4.7.1", False),
        (None,
            "452 4.2.2 <dan@example.com>: Mailbox full, quota exceeded",
            TEMP, 452, "4.2.2", False),
    ],
    "Exim": [
        (None, "550 Unrouteable address", RCPT, 550, None, True),
        (550,
            "Verification failed for <noreply@example.com>\n"
            "Unrouteable address\n"
            "Sender verify failed",
            SNDR, 550, None, True),
        (None, "550 Administrative prohibition", PLCY, 550, None, True),
        (None,
            "550 rejected because 203.0.113.7 is in a black list at zen.spamhaus.org",
            PLCY, 550, None, True),
        (None, "451 Temporary local problem - please try later", TEMP, 451, None, False),
        (None, "550 relay not permitted", SNDR, 550, None, True),
        (None, "552 Message size exceeds maximum permitted", SIZE, 552, None, True),
        (None, "550 No Such User Here", RCPT, 550, None, True),
        (None, "550 Exim 4.94.2 says: message refused", GNRC, 550, None, True),
    ],
    "Sendmail": [
        (None, "550 5.1.1 <bob@example.com>... User unknown", RCPT, 550, "5.1.1", True),
        (None,
            "553 5.1.8 <ann@example.com>... Domain of sender address ann@nonexistent.example "
            "does not exist",
            SNDR, 553, "5.1.8", True),
        (None,
            "550 5.7.1 <carl@example.net>... Relaying denied. Proper authentication required.",
            SNDR, 550, "5.7.1", True),
        (None, "452 4.4.5 Insufficient disk space; try again later", TEMP, 452, "4.4.5", False),
        (None,
            "552 5.2.3 Message size exceeds fixed maximum message size (10485760)",
            SIZE, 552, "5.2.3", True),
    ],
    "qmail": [
        (553,
            "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
            SNDR, 553, "5.7.1", True),
        (550, "sorry, no mailbox here by that name. (#5.1.1)", RCPT, 550, "5.1.1", True),
        (552,
            "sorry, that message size exceeds my databytes limit (#5.3.4)",
            SIZE, 552, "5.3.4", True),
        (451, "qq temporary problem (#4.3.0)", TEMP, 451, "4.3.0", False),
    ],
    "iCloud": [
        (None,
            "554 5.7.1 [CS01] Message rejected due to local policy. Please visit "
            "https://support.apple.com/en-us/HT204137",
            PLCY, 554, "5.7.1", True),
        (None, "550 5.1.1 <someone@icloud.com>: user does not exist", RCPT, 550, "5.1.1", True),
        (None, "552 5.2.2 <someone@icloud.com>: user is over quota", TEMP, 552, "5.2.2", False),
    ],
    "Zoho": [
        (None, "550 5.1.1 User does not exist - <someone@zohomail.com>", RCPT, 550, "5.1.1", True),
        (553, "Relaying disallowed. Invalid Domain - example.org", SNDR, 553, None, True),
        (535, "Authentication Failed", SNDR, 535, None, True),
    ],
    "Mimecast": [
        (550,
            "Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550",
            RCPT, 550, None, True),
        (554,
            "Email rejected due to security policies - "
            "https://community.mimecast.com/docs/DOC-1369#554",
            PLCY, 554, None, True),
        (451,
            "Internal resource temporarily unavailable - "
            "https://community.mimecast.com/docs/DOC-1369#451",
            TEMP, 451, None, False),
    ],
    "Proofpoint": [
        (554,
            "5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip=203.0.113.7",
            PLCY, 554, "5.7.1", True),
        (None, "550 5.7.1 Message rejected due to local policy", PLCY, 550, "5.7.1", True),
    ],
    "Blocklists (Spamhaus, Barracuda, Comcast, GMX)": [
        (None,
            "554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using "
            "zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.7",
            PLCY, 554, "5.7.1", True),
        (None,
            "554 Service unavailable; Client host [203.0.113.7] blocked using Barracuda "
            "Reputation; http://www.barracudanetworks.com/reputation/?pr=1&ip=203.0.113.7",
            PLCY, 554, None, True),
        (None,
            "554 resimta-h1p-028598.sys.comcast.net 203.0.113.7 found on one or more DNSBLs, "
            "see http://postmaster.comcast.net/smtp-error-codes.php#BL000010",
            PLCY, 554, None, True),
        (None,
            "554-gmx.net (mxgmx017) Nemesis ESMTP Service not available\n"
            "554-No SMTP service\n"
            "554-IP address is block listed.\n"
            "554 For explanation visit https://www.gmx.net/mail/senderguidelines?c=bl",
            PLCY, 554, None, True),
    ],
    "RFC 7505 null MX": [
        (None, "556 5.1.10 Recipient address has null MX", RCPT, 556, "5.1.10", True),
        (None, "550 5.7.27 Sender address has null MX", SNDR, 550, "5.7.27", True),
    ],
}
# fmt: on


@tagged("mail_reliability", "post_install", "-at_install")
class TestSmtpStatus(BaseCase):
    def test_table_of_real_replies(self):
        rows = [(provider, row) for provider, rows in REPLIES.items() for row in rows]
        self.assertGreaterEqual(len(rows), 50)
        self.assertGreaterEqual(len(REPLIES), 8)
        explanations = {}
        for provider, (code, text, failure_type, smtp_code, status, permanent) in rows:
            with self.subTest(provider=provider, reply=text[:70] if text else text):
                verdict = classify_smtp_error(code, text)
                self.assertIsInstance(verdict, SmtpVerdict)
                self.assertEqual(
                    (verdict.failure_type, verdict.smtp_code, verdict.smtp_status),
                    (failure_type, smtp_code, status),
                )
                self.assertIs(verdict.permanent, permanent)
                self.assertTrue(verdict.explanation.strip())
                self.assertTrue(verdict.message)
                explanations.setdefault(verdict.failure_type, set()).add(verdict.explanation)
        # Each failure type has its own explanations: none is shared between two types.
        self.assertEqual(set(explanations), set(FAILURE_TYPES) | {GNRC})
        for failure_type, texts in explanations.items():
            for other_type, other_texts in explanations.items():
                if other_type != failure_type:
                    self.assertFalse(texts & other_texts, (failure_type, other_type))

    def test_failure_types(self):
        self.assertEqual(
            FAILURE_TYPES,
            {
                "mail_smtp_temporary": "Temporary SMTP failure",
                "mail_smtp_recipient": "Recipient address rejected",
                "mail_smtp_sender": "Sender identity or authentication rejected",
                "mail_smtp_policy": "Blocked by recipient's policy (spam/blocklist)",
                "mail_smtp_size": "Message too large",
            },
        )
        self.assertNotIn(GNRC, FAILURE_TYPES)
        all_explanations = [render(explanation) for __, __, explanation in REASONS.values()]
        self.assertEqual(len(all_explanations), len(set(all_explanations)))
        for failure_type, permanent, __ in REASONS.values():
            self.assertIn(failure_type, set(FAILURE_TYPES) | {GNRC})
            if failure_type != TEMP:
                self.assertTrue(permanent)

    def test_explanations_are_specific(self):
        def explanation(code, text):
            return classify_smtp_error(code, text).explanation

        self.assertIn("does not exist", explanation(550, "5.1.1 User unknown"))
        self.assertIn("retrying will not help", explanation(550, "5.1.1 User unknown"))
        self.assertIn(
            "from_filter", explanation(550, "The from address does not match a verified Sender")
        )
        self.assertIn("Sender Identity", explanation(554, "Email address is not verified."))
        self.assertIn("SPF", explanation(550, "5.7.26 DMARC policy"))
        self.assertIn("DNS", explanation(550, "5.7.26 DMARC policy"))
        self.assertIn("retry automatically", explanation(451, "4.7.1 Greylisted"))
        self.assertIn("greylisting", explanation(451, "4.7.1 Greylisted"))
        self.assertIn("mailbox is full", explanation(552, "5.2.2 Mailbox full"))
        self.assertIn("mailbox is full", explanation(552, "Mailbox quota exceeded"))
        self.assertIn("rate-limiting", explanation(454, "Throttling failure: Daily message quota"))
        self.assertIn("blocklist", explanation(554, "5.7.1 blocked using zen.spamhaus.org"))
        self.assertIn("larger", explanation(552, "Message size exceeds maximum permitted"))
        self.assertIn("password", explanation(535, "5.7.8 Bad credentials"))
        self.assertIn("relay", explanation(554, "5.7.1 <x@y>: Relay access denied"))

    def test_bytes_and_none(self):
        verdict = classify_smtp_error(550, b"5.1.1 Utilisateur inconnu \xc3\xa9 \xff user unknown")
        self.assertEqual((verdict.failure_type, verdict.smtp_status), (RCPT, "5.1.1"))
        self.assertIsInstance(verdict.message, str)
        self.assertIn("é", verdict.message)
        self.assertIn("\ufffd", verdict.message)  # undecodable byte replaced, no error

        verdict = classify_smtp_error(None, None)
        self.assertEqual(
            (verdict.failure_type, verdict.smtp_code, verdict.smtp_status, verdict.permanent),
            (GNRC, None, None, True),
        )
        self.assertEqual(verdict.message, "")
        self.assertTrue(verdict.explanation)

        verdict = classify_smtp_error(451, None)
        self.assertEqual((verdict.failure_type, verdict.permanent), (TEMP, False))
        self.assertEqual(verdict.message, "451")

        verdict = classify_smtp_error(None, b"")
        self.assertEqual(verdict.failure_type, GNRC)

    def test_message_keeps_the_whole_reply(self):
        reply = "5.1.1 The email account that you tried to reach does not exist.\n5.1.1 Typo?"
        verdict = classify_smtp_error(550, reply)
        self.assertEqual(verdict.message, "550 " + reply)
        full = "550-5.1.1 first line\n550 5.1.1 second line"
        self.assertEqual(classify_smtp_error(550, full).message, full)
        self.assertEqual(classify_smtp_error(None, full).message, full)

    def test_multi_line_parsing(self):
        verdict = classify_smtp_error(
            None,
            "550-5.7.1 [203.0.113.7] The IP you're using to send mail is not authorized to\n"
            "550-5.7.1 send email directly to our servers. Please use the SMTP relay at your\n"
            "550 5.7.1 service provider instead. https://support.google.com/mail/?p=NotAuthorizedError",
        )
        self.assertEqual(
            (verdict.failure_type, verdict.smtp_code, verdict.smtp_status), (PLCY, 550, "5.7.1")
        )
        self.assertEqual(verdict.message.count("\n"), 2)
        # A phrase cut by a line break and its "550-" prefix is still recognised.
        verdict = classify_smtp_error(
            None, "550-Requested action not taken: no such\n550 user here"
        )
        self.assertEqual((verdict.failure_type, verdict.smtp_code), (RCPT, 550))
        # DSN style "smtp;550 5.1.1" and a status after a basic code in running text.
        verdict = classify_smtp_error(None, "Diagnostic-Code: smtp;550 5.1.1 User unknown")
        self.assertEqual((verdict.smtp_code, verdict.smtp_status), (550, "5.1.1"))
        verdict = classify_smtp_error(
            None,
            "host mx.example.com[198.51.100.2] said: 550 5.1.1 User unknown (in reply to RCPT)",
        )
        self.assertEqual((verdict.failure_type, verdict.smtp_code), (RCPT, 550))

    def test_ip_addresses_and_versions_are_not_statuses(self):
        for code, text in (
            (550, "Message from 5.1.1.4 refused"),
            (550, "Connection from [4.2.2.1] refused"),
            (550, "Client 10.5.1.1 rejected"),
            (550, "Exim 4.94.2 says no"),
            (550, "Postfix 2.10.1 says no"),
            (421, "Service not available 2024.05.1"),
        ):
            with self.subTest(text=text):
                self.assertIsNone(classify_smtp_error(code, text).smtp_status)
        # An IP address after the real status does not replace it.
        verdict = classify_smtp_error(None, "421 4.7.0 Messages from 5.7.1.4 deferred - 4.16.55.1")
        self.assertEqual(verdict.smtp_status, "4.7.0")
        verdict = classify_smtp_error(None, "Refused: 5.1.1.4 is blocked")
        self.assertIsNone(verdict.smtp_status)

    def test_priority_enhanced_over_basic_over_words(self):
        # Enhanced status wins over the basic code...
        verdict = classify_smtp_error(550, "4.7.1 Please try again later")
        self.assertEqual((verdict.failure_type, verdict.permanent), (TEMP, False))
        # ... and over the wording.
        verdict = classify_smtp_error(550, "5.1.1 blocked as spam: user unknown")
        self.assertEqual(verdict.failure_type, RCPT)
        # Basic 4xx wins over permanent-sounding words.
        verdict = classify_smtp_error(450, "User unknown")
        self.assertEqual((verdict.failure_type, verdict.permanent), (TEMP, False))
        # 552 is "too big" unless it speaks of a full mailbox.
        self.assertEqual(classify_smtp_error(552, "Requested action aborted").failure_type, SIZE)
        self.assertEqual(
            classify_smtp_error(
                552, "Requested mail action aborted: exceeded storage allocation"
            ).failure_type,
            TEMP,
        )
        # 553 defaults to a recipient problem, a bare 550 or 5xx to the generic bucket.
        self.assertEqual(classify_smtp_error(553, "Requested action not taken").failure_type, RCPT)
        self.assertEqual(classify_smtp_error(550, "Requested action not taken").failure_type, GNRC)
        self.assertEqual(classify_smtp_error(554, "Transaction failed").failure_type, GNRC)

    def test_words_without_any_code(self):
        for text, failure_type, permanent in (
            ("Greylisted, please try again later", TEMP, False),
            ("Service temporarily unavailable", TEMP, False),
            ("Connection refused by remote host", TEMP, False),
            ("Read timeout while waiting for reply", TEMP, False),
            ("User unknown", RCPT, True),
            ("Message rejected as spam", PLCY, True),
            ("SPF check failed", SNDR, True),
            ("Message too large", SIZE, True),
            ("Something odd happened", GNRC, True),
        ):
            with self.subTest(text=text):
                verdict = classify_smtp_error(None, text)
                self.assertEqual(
                    (verdict.failure_type, verdict.permanent), (failure_type, permanent)
                )
                self.assertIsNone(verdict.smtp_code)
                self.assertIsNone(verdict.smtp_status)

    def test_classify_exception_smtp_replies(self):
        cases = (
            (smtplib.SMTPDataError(552, b"5.3.4 Error: message file too big"), SIZE, 552, "5.3.4"),
            (
                smtplib.SMTPSenderRefused(
                    553,
                    b"5.7.1 <a@example.com>: Sender address rejected: not owned by user",
                    "a@example.com",
                ),
                SNDR,
                553,
                "5.7.1",
            ),
            # The exception type tells what an unspecific reply does not.
            (smtplib.SMTPSenderRefused(550, b"Go away", "a@example.com"), SNDR, 550, None),
            (
                smtplib.SMTPAuthenticationError(535, b"5.7.8 Username and Password not accepted"),
                SNDR,
                535,
                "5.7.8",
            ),
            (smtplib.SMTPAuthenticationError(535, b"Nope"), SNDR, 535, None),
            (
                smtplib.SMTPAuthenticationError(454, b"4.7.0 Temporary authentication failure"),
                TEMP,
                454,
                "4.7.0",
            ),
            (smtplib.SMTPHeloError(501, b"5.5.4 Invalid domain name"), GNRC, 501, "5.5.4"),
            (
                smtplib.SMTPConnectError(421, b"mx.example.com Service not available, try later"),
                TEMP,
                421,
                None,
            ),
            (
                smtplib.SMTPConnectError(554, b"mx.example.com No SMTP service here"),
                GNRC,
                554,
                None,
            ),
            (smtplib.SMTPResponseException(451, "4.7.1 Greylisted"), TEMP, 451, "4.7.1"),
        )
        for exc, failure_type, code, status in cases:
            with self.subTest(exc=repr(exc)):
                verdict = classify_exception(exc)
                self.assertEqual(
                    (verdict.failure_type, verdict.smtp_code, verdict.smtp_status),
                    (failure_type, code, status),
                )
                self.assertEqual(verdict.permanent, failure_type != TEMP)
                self.assertTrue(verdict.message.startswith(str(code)))

    def test_classify_exception_connection_problems(self):
        unreachable = (
            smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
            ConnectionRefusedError(111, "Connection refused"),
            ConnectionResetError(104, "Connection reset by peer"),
            socket.timeout("timed out"),  # noqa: UP041 (the alias smtplib users catch)
            TimeoutError(),
            socket.gaierror(-2, "Name or service not known"),
            OSError(101, "Network is unreachable"),
            ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
            ssl.SSLCertVerificationError(1, "certificate verify failed"),
        )
        for exc in unreachable:
            with self.subTest(exc=repr(exc)):
                verdict = classify_exception(exc)
                self.assertEqual(
                    (verdict.failure_type, verdict.smtp_code, verdict.smtp_status),
                    (TEMP, None, None),
                )
                self.assertFalse(verdict.permanent)
                self.assertIn("reached", verdict.explanation)
                self.assertIn("retry", verdict.explanation)
                self.assertTrue(verdict.message)
        self.assertIn("Connection refused", classify_exception(unreachable[1]).message)
        self.assertIn("DNS", classify_exception(unreachable[5]).explanation)

    def test_classify_exception_others(self):
        verdict = classify_exception(
            smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        )
        self.assertEqual((verdict.failure_type, verdict.permanent), (GNRC, True))
        self.assertIn("AUTH", verdict.message)
        verdict = classify_exception(smtplib.SMTPException("No suitable authentication method"))
        self.assertEqual((verdict.failure_type, verdict.permanent), (GNRC, True))
        verdict = classify_exception(ValueError("boom"))
        self.assertEqual(
            (verdict.failure_type, verdict.smtp_code, verdict.smtp_status, verdict.permanent),
            (GNRC, None, None, True),
        )
        self.assertEqual(verdict.message, "boom")
        self.assertTrue(verdict.explanation)

    def test_classify_exception_unwraps_wrappers(self):
        class DeliveryError(Exception):
            pass

        # Odoo style: MailDeliveryException(title, original) raised while handling it.
        try:
            try:
                raise ConnectionRefusedError(111, "Connection refused")
            except OSError as exc:
                raise DeliveryError("Unable to connect to SMTP Server", exc) from None
        except DeliveryError as wrapper:
            verdict = classify_exception(wrapper)
        self.assertEqual((verdict.failure_type, verdict.permanent), (TEMP, False))
        # Explicit chaining.
        try:
            try:
                raise smtplib.SMTPDataError(550, b"5.1.1 User unknown")
            except smtplib.SMTPDataError as exc:
                raise DeliveryError("Mail Delivery Failed") from exc
        except DeliveryError as wrapper:
            verdict = classify_exception(wrapper)
        self.assertEqual((verdict.failure_type, verdict.smtp_status), (RCPT, "5.1.1"))

    def test_classify_exception_all_recipients_refused(self):
        exc = smtplib.SMTPRecipientsRefused(
            {
                "ann@example.com": (450, b"4.2.0 <ann@example.com>: Greylisted"),
                "bob@example.com": (550, b"5.1.1 <bob@example.com>: User unknown"),
            }
        )
        verdict = classify_exception(exc)
        self.assertEqual(
            (verdict.failure_type, verdict.smtp_code, verdict.smtp_status, verdict.permanent),
            (RCPT, 550, "5.1.1", True),
        )
        self.assertIn("ann@example.com: 450 4.2.0", verdict.message)
        self.assertIn("bob@example.com: 550 5.1.1", verdict.message)
        exc = smtplib.SMTPRecipientsRefused(
            {
                "ann@example.com": (450, b"4.2.0 Greylisted"),
                "bob@example.com": (452, b"4.2.2 Mailbox full"),
            }
        )
        verdict = classify_exception(exc)
        self.assertEqual((verdict.failure_type, verdict.permanent), (TEMP, False))
        verdict = classify_exception(smtplib.SMTPRecipientsRefused({}))
        self.assertEqual((verdict.failure_type, verdict.permanent), (GNRC, True))

    def test_classify_refused_recipients(self):
        verdicts = classify_refused_recipients(
            {
                "Bob@Example.com": (550, b"5.1.1 <Bob@Example.com>: User unknown"),
                "carl@example.com": (452, b"4.2.2 Mailbox full"),
            }
        )
        self.assertEqual(set(verdicts), {"bob@example.com", "carl@example.com"})
        bob, carl = verdicts["bob@example.com"], verdicts["carl@example.com"]
        self.assertEqual(
            (bob.failure_type, bob.smtp_code, bob.smtp_status, bob.permanent),
            (RCPT, 550, "5.1.1", True),
        )
        self.assertEqual(
            (carl.failure_type, carl.smtp_code, carl.smtp_status, carl.permanent),
            (TEMP, 452, "4.2.2", False),
        )
        self.assertIn("User unknown", bob.message)
        self.assertEqual(classify_refused_recipients({}), {})

    def test_explain_failure(self):
        self.assertEqual(explain_failure(False, 0, False, False), "")
        self.assertIn(
            "does not exist",
            explain_failure(RCPT, 550, "5.1.1", "550 5.1.1 <bob@example.com>: User unknown"),
        )
        self.assertEqual(
            explain_failure(TEMP, 451, "4.7.1", "451 4.7.1 Greylisted, please try again later"),
            classify_smtp_error(451, "4.7.1 Greylisted, please try again later").explanation,
        )
        # Given up after the retry window (4.4.7).
        self.assertIn(
            "gave up",
            explain_failure(TEMP, 451, "4.4.7", "Gave up after 5 attempts (4.4.7). Last: 451"),
        )
        # Stored type wins when the text says something else.
        self.assertEqual(
            explain_failure(GNRC, 0, False, "Connection refused"), render(REASONS["generic"][2])
        )
        self.assertEqual(explain_failure(SIZE, 0, False, False), render(REASONS["too_big"][2]))
        # No server said anything (the seed's "No error populated"): most often SPF/DKIM.
        silent = render(SILENT_EXPLANATION)
        self.assertIn("SPF or DKIM", silent)
        self.assertEqual(explain_failure(GNRC, 0, False, False), silent)
        self.assertEqual(explain_failure("unknown", 0, False, "Mail Delivery Failed"), silent)
        self.assertTrue(is_silent_failure(GNRC, 0, False, "Mail delivery failed via SMTP server"))
        self.assertFalse(is_silent_failure(GNRC, 550, False, "550 Rejected"))
        self.assertFalse(is_silent_failure(GNRC, 0, False, "554 5.7.1 Relay access denied"))
        self.assertFalse(is_silent_failure(RCPT, 0, False, False))
        self.assertNotEqual(explain_failure(GNRC, 550, False, "550 Rejected"), silent)
        # Odoo's own failure types get a text too.
        for failure_type in (
            "mail_email_invalid",
            "mail_email_missing",
            "mail_from_missing",
            "unknown",
            "mail_bl",
            "something_new",
        ):
            with self.subTest(failure_type=failure_type):
                self.assertTrue(explain_failure(failure_type, 0, False, False))

    def test_explanations_are_translated_for_the_reader(self):
        # every explanation is marked for translation (extracted into the .pot) ...
        texts = [e for __, __, e in REASONS.values()] + list(OTHER_EXPLANATIONS.values())
        for text in texts:
            self.assertIsInstance(text, LazyGettext)
        # ... the tool itself answers in English (plain strings) ...
        verdict = classify_smtp_error(552, "5.3.4 Message size exceeds fixed limit")
        self.assertIsInstance(verdict.explanation, str)
        english = explain_failure(SIZE, 552, "5.3.4", "")
        self.assertEqual(english, verdict.explanation)
        # ... and in the reader's language when the caller passes it
        translated = {
            english: "Le message est trop gros.",
            render(OTHER_EXPLANATIONS["mail_bl"]): "Liste noire.",
        }
        with patch.dict(
            code_translations.python_translations, {("mail_reliability", "fr_FR"): translated}
        ):
            self.assertEqual(
                explain_failure(SIZE, 552, "5.3.4", "", lang="fr_FR"), "Le message est trop gros."
            )
            self.assertEqual(explain_failure("mail_bl", lang="fr_FR"), "Liste noire.")
            self.assertEqual(explain_failure(SIZE, 552, "5.3.4", ""), english)
