# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""SPF / DKIM / DMARC evaluation against a real DNS server on loopback."""

import ast
import base64
import inspect
import time
from unittest.mock import patch

from babel.messages.extract import extract_from_file
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from odoo.tests import BaseCase, tagged
from odoo.tools.translate import code_translations

from ..tools import dns_checks
from ..tools.dns_checks import ERROR, OK, WARNING, DnsUnavailable
from .peers import BlackHoleDns, DnsPeer


def dkim_record(key_size=2048, **tags):
    """A DKIM key record with a real RSA public key (SubjectPublicKeyInfo, base64)."""
    public = rsa.generate_private_key(public_exponent=65537, key_size=key_size).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    extra = "".join(f"{name}={value}; " for name, value in tags.items())
    return f"v=DKIM1; k=rsa; {extra}p={base64.b64encode(der).decode()}"


DKIM_KEY = dkim_record()  # > 255 bytes: split in several TXT strings by the peer


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
        self.peer.add("t._domainkey.corp.test", "TXT", dkim_record(1024, t="y"))
        self.peer.add("bad._domainkey.corp.test", "TXT", "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEB")
        for selectors, discover, status in (
            (["s1"], False, OK),
            (["s1", "missing"], False, ERROR),
            (["old"], False, ERROR),
            (["t"], False, WARNING),
            (["bad"], False, ERROR),  # base64, but not a public key
            ([], False, WARNING),
            ([], True, OK),  # s1 is a common selector: found without typing it
            (["missing"], True, ERROR),  # a configured selector must have its key
        ):
            with self.subTest(selectors=selectors, discover=discover):
                self.assertEqual(
                    dns_checks.dkim_finding(
                        self.resolver, "corp.test", selectors, discover=discover
                    ).status,
                    status,
                )

    def test_dkim_key_states(self):
        ed_key = ed25519.Ed25519PrivateKey.generate().public_key()
        raw = ed_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        pkcs1 = (
            rsa.generate_private_key(public_exponent=65537, key_size=1024)
            .public_key()
            .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        )
        for record, state in (
            (DKIM_KEY, "ok"),
            (DKIM_KEY.replace("v=DKIM1; ", ""), "ok"),  # v= is optional
            ("p=" + base64.b64encode(pkcs1).decode(), "ok"),  # RSAPublicKey, as some publish
            (f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}", "ok"),
            ("v=DKIM1; k=ed25519; p=AAAA", "malformed"),
            (dkim_record(1024, t="y:s"), "testing"),
            ("v=DKIM1; p=", "revoked"),
            ("v=DKIM1; k=rsa; p= ", "revoked"),
            ("v=DKIM2; p=" + DKIM_KEY.rpartition("p=")[2], "malformed"),
            ("v=DKIM1; p=not*base64!", "malformed"),
            ("v=DKIM1; p=" + "QUFB" * 5000, "malformed"),  # 20 kB of base64 that is no key
        ):
            with self.subTest(record=record[:40]):
                self.assertEqual(dns_checks.dkim_key_state(record)[0], state)

    def test_dkim_selectors_discovered(self):
        """Common selectors are asked for every domain; what is found is listed."""
        p = self.peer
        p.add("google._domainkey.found.test", "TXT", DKIM_KEY)
        p.add("selector1._domainkey.found.test", "TXT", "v=DKIM1; k=rsa; p=")  # revoked
        p.add("selector2._domainkey.found.test", "TXT", dkim_record(1024))
        found = dns_checks.dkim_finding(self.resolver, "found.test", [])
        self.assertEqual(found.status, OK, found)
        self.assertIn("google, selector2", found.finding)
        self.assertIn("Revoked: selector1", found.finding)
        self.assertIn(
            "DKIM selector1._domainkey.found.test: revoked (empty p=): v=DKIM1; k=rsa; p=",
            found.details,
        )
        # only revoked keys: nothing can sign; a warning naming what was tried
        p.add("k1._domainkey.gone.test", "TXT", "v=DKIM1; p=")
        gone = dns_checks.dkim_finding(self.resolver, "gone.test", [])
        self.assertEqual(gone.status, WARNING)
        self.assertIn("no usable DKIM key found", gone.finding)
        self.assertIn("revoked key(s): k1", gone.finding)
        # nothing at all: a warning that names the selectors tried (all in the details)
        self.peer.queries.clear()
        none = dns_checks.dkim_finding(self.resolver, "nokey.test", ["corp"], discover=True)
        self.assertEqual(none.status, ERROR, "the configured selector has no key")
        self.assertIn("selectors tried: corp, google, selector1", none.finding)
        tried = ["corp", *dns_checks.COMMON_DKIM_SELECTORS]
        self.assertIn(f"Selectors tried: {', '.join(tried)}", none.details)
        self.assertEqual(
            [name for name, qtype in self.peer.queries if qtype == "TXT"],
            [f"{selector}._domainkey.nokey.test" for selector in tried],
            "each selector asked once, the configured one first",
        )
        none = dns_checks.dkim_finding(self.resolver, "nokey.test", [])
        self.assertEqual(none.status, WARNING)
        for selector in ("google", "selector1", "selector2", "k1", "s1", "default"):
            self.assertIn(selector, none.details[-1])
        # find_dkim_keys says which selector holds what
        keys, tried, complete = dns_checks.find_dkim_keys(self.resolver, "found.test", ["own"])
        self.assertTrue(complete)
        self.assertEqual(tried[0], "own")
        self.assertEqual(
            [(k.selector, k.state, k.configured) for k in keys],
            [
                ("own", "missing", True),
                ("google", "ok", False),
                ("selector1", "revoked", False),
                ("selector2", "ok", False),
            ],
        )

    def test_dkim_hostile_records(self):
        """A forged huge, binary or malformed TXT record is read, judged and cut short in
        the details; it never breaks the check."""
        p = self.peer
        huge = "v=DKIM1; p=" + "A" * 30000  # 30 kB in one record
        p.add("google._domainkey.junk.test", "TXT", huge)
        p.add("selector1._domainkey.junk.test", "TXT", "v=DKIM1;" + "x=y;" * 3000 + "p=")
        p.add("selector2._domainkey.junk.test", "TXT", "\x00\xff\u202e; p=\U0001f4a9;;==;")
        p.add("k1._domainkey.junk.test", "TXT", "v=spf1 -all")  # not a key: ignored
        p.add("k2._domainkey.junk.test", "TXT", "p=" + "é" * 300)
        started = time.monotonic()
        junk = dns_checks.dkim_finding(self.resolver, "junk.test", [])
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(junk.status, WARNING, junk)
        self.assertIn("google._domainkey.junk.test is not a valid DKIM key", junk.finding)
        self.assertIn("no usable DKIM key found", junk.finding)
        self.assertTrue(all(len(line) < 400 for line in junk.details[:-1]), junk.details)
        keys = {
            k.selector: k.state for k in dns_checks.find_dkim_keys(self.resolver, "junk.test")[0]
        }
        self.assertEqual(
            keys,
            {
                "google": "malformed",
                "selector1": "revoked",
                "selector2": "malformed",
                "k2": "malformed",
            },
        )
        # a real key next to the junk is still found
        p.add("s1._domainkey.junk.test", "TXT", DKIM_KEY)
        self.resolver.cache.clear()
        junk = dns_checks.dkim_finding(self.resolver, "junk.test", [])
        self.assertEqual(junk.status, WARNING, "the malformed keys stay listed")
        self.assertIn(
            "s1",
            [
                k.selector
                for k in dns_checks.find_dkim_keys(self.resolver, "junk.test")[0]
                if k.state == "ok"
            ],
        )

    def test_dkim_discovery_is_bounded(self):
        """A DNS server that never answers costs a few short probes, not one timeout per
        selector, and does not mark the resolver down; a deadline stops the search."""
        hole = BlackHoleDns()
        self.addCleanup(hole.stop)
        resolver = dns_checks.Resolver(["127.0.0.1"], hole.port, timeout=0.3)
        started = time.monotonic()
        keys, tried, complete = dns_checks.find_dkim_keys(resolver, "corp.test")
        elapsed = time.monotonic() - started
        self.assertFalse(complete)
        self.assertEqual(len(tried), dns_checks.MAX_PROBE_TIMEOUTS)
        self.assertEqual(keys, [])
        self.assertLess(elapsed, 0.3 * dns_checks.MAX_PROBE_TIMEOUTS + 1)
        self.assertIsNone(resolver.down, "a guessed name that times out is normal")
        finding = dns_checks.dkim_finding(resolver, "corp.test", [])
        self.assertEqual(finding.status, WARNING)
        self.assertIn("stopped early", finding.details[-1])
        # a configured selector is a real lookup: its timeout means "could not check"
        with self.assertRaises(DnsUnavailable):
            dns_checks.dkim_finding(resolver, "corp.test", ["s1"])
        self.assertTrue(resolver.down)
        # deadline passed: the configured selectors only
        self.peer.add("s1._domainkey.corp.test", "TXT", DKIM_KEY)
        keys, tried, complete = dns_checks.find_dkim_keys(
            self.resolver, "corp.test", ["own"], deadline=time.monotonic() - 1
        )
        self.assertEqual((tried, complete), (["own"], False))
        finding = dns_checks.dkim_finding(self.resolver, "late.test", [], deadline=0)
        self.assertIn("time limit", finding.finding)

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

    def test_bulk_sender_rules(self):
        """SPF for the envelope domain, a DKIM key and a DMARC record for the From domain,
        and DMARC alignment through SPF (organizational domain, or exact with aspf=s) or
        through the From domain's own DKIM key."""
        p = self.peer
        p.add("bounce.corp.test", "TXT", "v=spf1 ip4:203.0.113.0/24 -all")
        p.add("s1._domainkey.corp.test", "TXT", DKIM_KEY)
        p.add("_dmarc.corp.test", "TXT", "v=DMARC1; p=none")
        p.add("shop.test", "TXT", "v=spf1 ip4:203.0.113.0/24 -all")
        p.add("_dmarc.shop.test", "TXT", "v=DMARC1; p=reject; aspf=s")
        p.add("_dmarc.strict.test", "TXT", "v=DMARC1; p=quarantine; aspf=s")
        p.add("bounce.strict.test", "TXT", "v=spf1 ip4:203.0.113.0/24 -all")
        hosts = {"relay": "203.0.113.5"}

        def rules(from_domain, envelope, selectors=()):
            found, details = dns_checks.bulk_sender_rules(
                self.resolver, from_domain, envelope, hosts, selectors
            )
            self.assertTrue(details)
            return {rule.rule: (rule.passed, rule.text) for rule in found}

        # all good: SPF passes for bounce.corp.test (relaxed: aligned with corp.test)
        good = rules("corp.test", "bounce.corp.test")
        self.assertEqual({k: v[0] for k, v in good.items()}, dict.fromkeys(good, True), good)
        self.assertIn("SPF passes for the envelope domain bounce.corp.test", good["alignment"][1])
        # mail from shop.test with the envelope at corp.test: SPF passes, but for a domain
        # that is not shop.test's; no DKIM key of shop.test: DMARC cannot pass
        shop = rules("shop.test", "bounce.corp.test")
        self.assertEqual(shop["spf"][0], True)
        self.assertEqual(shop["dmarc"][0], True)
        self.assertEqual(shop["dkim"][0], False)
        self.assertEqual(shop["alignment"][0], False)
        self.assertIn(
            "bounce.corp.test is not aligned with the From domain shop.test", shop["alignment"][1]
        )
        self.assertEqual(rules("shop.test", "shop.test")["alignment"][0], True)
        # strict SPF alignment: a subdomain envelope is not aligned ...
        strict = rules("strict.test", "bounce.strict.test")
        self.assertEqual((strict["spf"][0], strict["alignment"][0]), (True, False))
        # ... unless the From domain's own DKIM key aligns it
        p.add("k1._domainkey.strict.test", "TXT", DKIM_KEY)
        self.resolver.cache.clear()
        strict = rules("strict.test", "bounce.strict.test")
        self.assertEqual(strict["alignment"][0], True)
        self.assertIn("DKIM key of strict.test", strict["alignment"][1])
        # no DMARC record, SPF failing
        none = rules("nothing.test", "nothing.test")
        self.assertEqual((none["spf"][0], none["dmarc"][0], none["dkim"][0]), (False, False, False))

    def test_dmarc_alignment(self):
        for a, b, mode, expected in (
            ("bounce.corp.test", "corp.test", "r", True),
            ("bounce.corp.test", "corp.test", "s", False),
            ("corp.test", "CORP.test.", "s", True),
            ("x.github.io", "y.github.io", "r", False),  # public suffix list, private part
            ("a.b.co.uk", "c.b.co.uk", "r", True),
            ("", "corp.test", "r", False),
        ):
            with self.subTest(a=a, b=b, mode=mode):
                self.assertEqual(dns_checks.dmarc_aligned(a, b, mode), expected)

    def test_one_click_unsubscribe(self):
        post = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        for headers, expected in (
            ({"List-Unsubscribe": "<https://odoo.corp.test/u?t=1>", **post}, True),
            (
                {"list-unsubscribe": "<mailto:u@corp.test>, <https://x.test/u>", **post},
                True,
            ),
            ({"List-Unsubscribe": "<http://odoo.corp.test/u>", **post}, False),
            ({"List-Unsubscribe": "<https://odoo.corp.test/u>"}, False),  # no RFC 8058 POST
            ({"List-Unsubscribe": "<mailto:u@corp.test>", **post}, False),
            (post, False),
            ({}, False),
        ):
            with self.subTest(headers=headers):
                self.assertEqual(dns_checks.one_click_unsubscribe(headers)[0], expected)
        self.assertIn(
            "not https (http://odoo.corp.test/u)",
            dns_checks.one_click_unsubscribe(
                {"List-Unsubscribe": "<http://odoo.corp.test/u?token=secret>", **post}
            )[1],
        )

    def test_findings_in_the_readers_language(self):
        """The findings go through Odoo's code translations of the module, in the
        language the caller passes; English without one."""
        self.peer.add("_dmarc.watch.test", "TXT", "v=DMARC1; p=none")
        french = {
            "%(domain)s: no DMARC record.": "%(domain)s : aucun enregistrement DMARC.",
            "%(domain)s: DMARC %(summary)s; failing mail is only monitored.": (
                "%(domain)s : DMARC %(summary)s ; le courrier en échec est seulement observé."
            ),
            "policy %(policy)s": "politique %(policy)s",
            "DKIM alignment %(mode)s": "alignement DKIM %(mode)s",
            "relaxed": "souple",
            "no usable DKIM key found (selectors tried: %(selectors)s)": (
                "aucune clé DKIM utilisable (sélecteurs essayés : %(selectors)s)"
            ),
            "%(selectors)s and %(count)s more (see the details)": (
                "%(selectors)s et %(count)s autres (voir les détails)"
            ),
            "revoked (empty p=)": "révoquée (p= vide)",
            "DNS timeout looking up %(type)s %(name)s": "délai DNS dépassé pour %(type)s %(name)s",
        }
        self.peer.add("selector1._domainkey.corp.test", "TXT", "v=DKIM1; p=")
        with patch.dict(
            code_translations.python_translations, {("mail_reliability", "fr_FR"): french}
        ):
            self.assertEqual(
                dns_checks.dmarc_finding(self.resolver, "nothing.test", lang="fr_FR").finding,
                "nothing.test : aucun enregistrement DMARC.",
            )
            watch = dns_checks.dmarc_finding(self.resolver, "watch.test", lang="fr_FR").finding
            self.assertIn("politique none, alignement DKIM souple", watch)
            self.assertIn("le courrier en échec est seulement observé", watch)
            dkim = dns_checks.dkim_finding(self.resolver, "corp.test", [], lang="fr_FR")
            self.assertIn("aucune clé DKIM utilisable (sélecteurs essayés : google", dkim.finding)
            self.assertIn("autres (voir les détails)", dkim.finding)
            self.assertIn(
                "DKIM selector1._domainkey.corp.test: révoquée (p= vide): v=DKIM1; p=", dkim.details
            )
            error = DnsUnavailable(
                dns_checks._lt(
                    "DNS timeout looking up %(type)s %(name)s", type="TXT", name="x.test"
                )
            )
            self.assertEqual(error.text_in("fr_FR"), "délai DNS dépassé pour TXT x.test")
            self.assertEqual(str(error), "DNS timeout looking up TXT x.test")
            # without a language: English, the source text
            self.assertEqual(
                dns_checks.dmarc_finding(self.resolver, "nothing.test").finding,
                "nothing.test: no DMARC record.",
            )

    def test_finding_texts_are_extracted_for_translation(self):
        """Every text of a finding is a literal ``_lt()`` term that the .pot extraction
        finds (an f-string or a variable there would be untranslatable), and no finding
        is built from a plain string."""
        path = inspect.getsourcefile(dns_checks)
        extracted = {
            message
            for _line, message, _comments, _context in extract_from_file(
                "python", path, keywords={"_lt": None}
            )
        }
        tree = ast.parse(open(path, encoding="utf-8").read())
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_lt"
        ]
        self.assertGreater(len(calls), 60)
        for call in calls:
            with self.subTest(line=call.lineno):
                self.assertIsInstance(call.args[0], ast.Constant)
                self.assertIn(call.args[0].value, extracted)
                self.assertFalse(call.args[1:], "named placeholders only")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Finding":
                for arg in node.args[1:3]:
                    with self.subTest(line=node.lineno):
                        self.assertNotIsInstance(arg, ast.JoinedStr)
                        self.assertFalse(
                            isinstance(arg, ast.Constant) and arg.value,
                            "a finding text is rendered from _lt()",
                        )
