# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""SPF / DKIM / DMARC evaluation against a real DNS server on loopback."""

import time

from odoo.tests import BaseCase, tagged

from ..tools import dns_checks
from ..tools.dns_checks import ERROR, OK, WARNING, DnsUnavailable
from .peers import BlackHoleDns, DnsPeer

DKIM_KEY = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 300


@tagged("mail_reliability", "post_install", "-at_install")
class TestDnsChecks(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.peer = DnsPeer().start()
        cls.addClassCleanup(cls.peer.stop)

    def setUp(self):
        super().setUp()
        self.peer.reset()
        p = self.peer
        p.add("corp.test", "TXT", "v=spf1 include:_spf.provider.test mx a:relay.corp.test/30 ~all")
        p.add("corp.test", "TXT", "google-site-verification=abc")
        p.add("corp.test", "MX", (10, "mx1.corp.test"))
        p.add("mx1.corp.test", "A", "192.0.2.10")
        p.add("relay.corp.test", "A", "198.51.100.4")
        p.add("_spf.provider.test", "TXT", "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 -all")
        p.add("redir.test", "TXT", "v=spf1 redirect=corp.test")
        p.add("strict.test", "TXT", "v=spf1 ip4:203.0.113.9 -all")
        p.add("double.test", "TXT", "v=spf1 -all")
        p.add("double.test", "TXT", "v=spf1 +all")
        p.add("loop.test", "TXT", "v=spf1 include:loop.test -all")
        p.add("badinclude.test", "TXT", "v=spf1 include:nospf.test -all")
        p.add("nospf.test", "A", "192.0.2.1")
        self.resolver = dns_checks.Resolver(["127.0.0.1"], self.peer.port, timeout=2)

    def test_spf_evaluation_table(self):
        for ip, domain, expected in (
            ("203.0.113.77", "corp.test", "pass"),  # include -> ip4 range
            ("2001:db8::25", "corp.test", "pass"),  # include -> ip6 range
            ("192.0.2.10", "corp.test", "pass"),  # mx
            ("198.51.100.6", "corp.test", "pass"),  # a:host/30
            ("198.51.100.9", "corp.test", "softfail"),  # outside /30 -> ~all
            ("8.8.8.8", "corp.test", "softfail"),
            ("203.0.113.77", "redir.test", "pass"),  # redirect=
            ("8.8.8.8", "redir.test", "softfail"),
            ("203.0.113.9", "strict.test", "pass"),
            ("203.0.113.10", "strict.test", "fail"),
            ("::ffff:203.0.113.9", "strict.test", "pass"),  # v4-mapped v6
            ("203.0.113.9", "nothing.test", "none"),
            ("203.0.113.9", "double.test", "permerror"),
            ("203.0.113.9", "loop.test", "permerror"),
            ("203.0.113.9", "badinclude.test", "permerror"),
            ("not-an-ip", "corp.test", "permerror"),
        ):
            with self.subTest(ip=ip, domain=domain):
                self.assertEqual(dns_checks.check_spf(self.resolver, ip, domain)[0], expected)

    def test_spf_lookup_limit(self):
        chain = " ".join(f"include:l{i}.test" for i in range(11))
        self.peer.add("many.test", "TXT", f"v=spf1 {chain} -all")
        for i in range(11):
            self.peer.add(f"l{i}.test", "TXT", "v=spf1 ip4:10.9.9.9 -all")
        result, why = dns_checks.check_spf(self.resolver, "10.1.1.1", "many.test")
        self.assertEqual(result, "permerror")
        self.assertIn("DNS lookups", why)

    def test_spf_macros_of_real_providers(self):
        """Proofpoint's and Salesforce's published mechanisms (RFC 7208 section 7 macros)."""
        p = self.peer
        p.add("pp.test", "TXT", "v=spf1 include:%{ir}.%{v}.%{d}.spf.has.pphosted.com -all")
        p.add(
            "5.113.0.203.in-addr.pp.test.spf.has.pphosted.com", "TXT", "v=spf1 ip4:203.0.113.5 -all"
        )
        p.add("6.113.0.203.in-addr.pp.test.spf.has.pphosted.com", "TXT", "v=spf1 -all")
        p.add("sf.test", "TXT", "v=spf1 exists:%{i}._spf.mta.salesforce.com -all")
        p.add("198.51.100.7._spf.mta.salesforce.com", "A", "127.0.0.2")
        for ip, domain, expected in (
            ("203.0.113.5", "pp.test", "pass"),
            ("203.0.113.6", "pp.test", "fail"),
            ("198.51.100.7", "sf.test", "pass"),
            ("198.51.100.8", "sf.test", "fail"),
        ):
            with self.subTest(ip=ip, domain=domain):
                result, why = dns_checks.check_spf(self.resolver, ip, domain)
                self.assertEqual(result, expected, why)
        # the expanded names were asked of the configured DNS server
        self.assertIn(("5.113.0.203.in-addr.pp.test.spf.has.pphosted.com", "TXT"), p.queries)
        self.assertIn(("198.51.100.8._spf.mta.salesforce.com", "A"), p.queries)
        self.assertIsNone(dns_checks._SPF_RESOLVER.get(), "the resolver is set for one check only")
        # and the health check's finding is green for an authorised server
        self.assertEqual(
            dns_checks.spf_finding(self.resolver, "pp.test", {"x": "203.0.113.5"}).status, OK
        )

    def test_spf_macro_edge_cases(self):
        p = self.peer
        # IPv6: %{i}/%{ir} are nibbles, %{v} is "ip6"; %{d2} keeps the two rightmost labels
        p.add("mail.six.test", "TXT", "v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all")
        nibbles = "1.0.b.c." + "0." * 20 + "8.b.d.0.1.0.0.2"
        p.add(f"{nibbles}.ip6._spf.six.test", "A", "127.0.0.2")
        # %{dr}: labels reversed; redirect= expands macros too
        p.add("rev.test", "TXT", "v=spf1 redirect=%{dr}.policies.test")
        p.add("test.rev.policies.test", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
        # the envelope sender is postmaster@<domain> and the HELO name the server's
        p.add("who.test", "TXT", "v=spf1 exists:%{l}.%{o}.users.test exists:%{h}.helo.test -all")
        p.add("postmaster.who.test.users.test", "A", "127.0.0.2")
        p.add("helo.test", "TXT", "v=spf1 exists:%{h}.helo.test -all")
        p.add("smtp.relay.test.helo.test", "A", "127.0.0.2")
        # an unknown macro letter or a lone % is a syntax error: permerror
        p.add("badmacro.test", "TXT", "v=spf1 exists:%{z}.x.test -all")
        p.add("lonepct.test", "TXT", "v=spf1 exists:%i.x.test -all")
        for ip, domain, helo, expected in (
            ("2001:db8::cb01", "mail.six.test", None, "pass"),
            ("2001:db8::cb02", "mail.six.test", None, "fail"),
            ("192.0.2.40", "rev.test", None, "pass"),
            ("198.51.100.40", "rev.test", None, "fail"),
            ("192.0.2.40", "who.test", None, "pass"),
            ("192.0.2.40", "helo.test", "smtp.relay.test", "pass"),
            ("192.0.2.40", "helo.test", None, "fail"),
            ("192.0.2.40", "badmacro.test", None, "permerror"),
            ("192.0.2.40", "lonepct.test", None, "permerror"),
        ):
            with self.subTest(ip=ip, domain=domain, helo=helo):
                result, why = dns_checks.check_spf(self.resolver, ip, domain, helo=helo)
                self.assertEqual(result, expected, why)

    def test_spf_finding_for_servers(self):
        self.peer.add("smtp.provider.test", "A", "203.0.113.5")
        self.peer.add("rogue.test", "A", "8.8.4.4")
        good = dns_checks.spf_finding(self.resolver, "corp.test", {"main": "smtp.provider.test"})
        self.assertEqual(good.status, OK, good)
        soft = dns_checks.spf_finding(
            self.resolver, "corp.test", {"main": "smtp.provider.test", "other": "rogue.test"}
        )
        self.assertEqual(soft.status, WARNING)
        self.assertIn("rogue.test", soft.finding)
        hard = dns_checks.spf_finding(self.resolver, "strict.test", {"x": "203.0.113.200"})
        self.assertEqual(hard.status, ERROR)
        self.assertIn("not authorised", hard.finding)
        missing = dns_checks.spf_finding(self.resolver, "nothing.test", {"x": "203.0.113.5"})
        self.assertEqual(missing.status, ERROR)
        self.assertIn("no SPF record", missing.finding)
        double = dns_checks.spf_finding(self.resolver, "double.test", {"x": "203.0.113.5"})
        self.assertEqual(double.status, ERROR)

    def test_dkim(self):
        self.peer.add("s1._domainkey.corp.test", "TXT", DKIM_KEY)  # > 255 bytes, split
        self.peer.add("old._domainkey.corp.test", "TXT", "v=DKIM1; p=")
        self.peer.add("t._domainkey.corp.test", "TXT", "v=DKIM1; t=y; p=MIGf")
        for selectors, status in (
            (["s1"], OK),
            (["s1", "missing"], ERROR),
            (["old"], ERROR),
            (["t"], WARNING),
            ([], WARNING),
        ):
            with self.subTest(selectors=selectors):
                self.assertEqual(
                    dns_checks.dkim_finding(self.resolver, "corp.test", selectors).status, status
                )

    def test_dmarc(self):
        self.peer.add(
            "_dmarc.corp.test", "TXT", "v=DMARC1; p=reject; adkim=s; rua=mailto:d@corp.test"
        )
        self.peer.add("_dmarc.watch.test", "TXT", "v=DMARC1; p=none")
        self.peer.add("_dmarc.bad.test", "TXT", "v=DMARC1; p=maybe")
        good = dns_checks.dmarc_finding(self.resolver, "corp.test")
        self.assertEqual(good.status, OK)
        self.assertIn("policy reject", good.finding)
        self.assertIn("DKIM alignment strict", good.finding)
        self.assertIn("SPF alignment relaxed", good.finding)
        # a subdomain falls back to the organizational domain's record
        self.assertEqual(dns_checks.dmarc_finding(self.resolver, "mail.corp.test").status, OK)
        self.assertEqual(dns_checks.dmarc_finding(self.resolver, "watch.test").status, WARNING)
        self.assertEqual(dns_checks.dmarc_finding(self.resolver, "bad.test").status, ERROR)
        self.assertEqual(dns_checks.dmarc_finding(self.resolver, "nothing.test").status, ERROR)

    def test_timeout_and_servfail(self):
        hole = BlackHoleDns()
        self.addCleanup(hole.stop)
        resolver = dns_checks.Resolver(["127.0.0.1"], hole.port, timeout=0.3)
        started = time.monotonic()
        with self.assertRaises(DnsUnavailable):
            dns_checks.spf_finding(resolver, "corp.test", {"x": "203.0.113.5"})
        self.assertLess(time.monotonic() - started, 3)
        # the resolver is now known to be down: the next lookups fail at once
        started = time.monotonic()
        for domain in ("a.test", "b.test", "c.test"):
            with self.assertRaises(DnsUnavailable):
                dns_checks.dmarc_finding(resolver, domain)
        self.assertLess(time.monotonic() - started, 0.2)
        self.peer.servfail.add("corp.test")
        with self.assertRaises(DnsUnavailable):
            self.resolver.txt("corp.test")

    def test_parse_tags(self):
        self.assertEqual(
            dns_checks.parse_tags("v=DMARC1; p = quarantine ;pct=50;"),
            {"v": "DMARC1", "p": "quarantine", "pct": "50"},
        )
        self.assertEqual(dns_checks.parse_tags("v=DKIM1; p=MIG f\n AB")["p"], "MIGfAB")

    def test_organizational_domain(self):
        """From the public suffix list, private section included (github.io)."""
        for domain, expected in (
            ("x.github.io", "x.github.io"),
            ("mail.x.github.io", "x.github.io"),
            ("github.io", "github.io"),
            ("a.b.co.uk", "b.co.uk"),
            ("a.b.example.co.uk", "example.co.uk"),
            ("co.uk", "co.uk"),
            ("example.com", "example.com"),
            ("Mail.Example.COM.", "example.com"),
            ("mail.corp.test", "corp.test"),  # unknown TLD: one-label suffix
            ("www.bücher.de", "xn--bcher-kva.de"),  # IDN: A-labels either way
            ("www.xn--bcher-kva.de", "xn--bcher-kva.de"),
            ("a.b.公司.cn", "b.xn--55qx5d.cn"),  # 公司.cn is itself a public suffix
            ("", ""),
        ):
            with self.subTest(domain=domain):
                self.assertEqual(dns_checks.organizational_domain(domain), expected)

    def test_dmarc_fallback_uses_public_suffix_list(self):
        self.peer.add("_dmarc.github.io", "TXT", "v=DMARC1; p=reject")
        self.peer.add("_dmarc.b.co.uk", "TXT", "v=DMARC1; p=quarantine")
        # x.github.io is its own organizational domain: github.io's policy is not its own
        self.assertEqual(dns_checks.dmarc_record(self.resolver, "x.github.io")[0], None)
        self.assertEqual(
            dns_checks.dmarc_record(self.resolver, "a.b.co.uk"),
            ("v=DMARC1; p=quarantine", "_dmarc.b.co.uk"),
        )
        self.assertNotIn(("_dmarc.co.uk", "TXT"), self.peer.queries)
