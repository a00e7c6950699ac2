# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""SPF, DKIM and DMARC checks over DNS (dnspython), no database needed.

* :class:`Resolver` wraps ``dns.resolver.Resolver`` with a configurable
  nameserver, port and timeout.  "No such name" and "no answer" are empty
  results; a timeout, SERVFAIL or unreachable resolver raises
  :class:`DnsUnavailable`, which callers turn into "could not check".
* :func:`check_spf` evaluates an SPF policy (RFC 7208) for one IP address
  with pyspf: every mechanism and modifier, the section 7 macros
  (``include:%{ir}.%{v}.%{d}.spf.has.pphosted.com``,
  ``exists:%{i}._spf.mta.salesforce.com``) and the lookup limits, its DNS
  queries answered by our :class:`Resolver`.
* :func:`dkim_finding` and :func:`dmarc_finding` read the records and say what
  they mean; :func:`find_dkim_keys` also looks for keys at the selectors of
  common providers (:data:`COMMON_DKIM_SELECTORS`), so the admin need not
  type one.  :func:`bulk_sender_rules` tells whether a sending domain meets
  the Gmail/Yahoo 2024 rules for bulk senders.  Every check returns a
  :class:`Finding`.

The texts of the findings are marked with ``_lt`` (named placeholders) and
rendered in the ``lang`` the caller passes (English by default), see
``tools/i18n.py``.
"""

import base64
import binascii
import contextvars
import functools
import ipaddress
import re
import time
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.resolver
import spf
from cryptography.hazmat.primitives import serialization
from publicsuffixlist import PublicSuffixList

# the status vocabulary is the health rules' (re-exported for the callers of this module)
from .health_rules import ERROR, OK, STATUS_ORDER, WARNING, worst  # noqa: F401
from .i18n import LazyTranslate, render

_lt = LazyTranslate(__name__)

DEFAULT_TIMEOUT = 3.0
PROBE_TIMEOUT = 1.0  # seconds per query when looking for DKIM selectors


class DnsUnavailable(Exception):
    """DNS did not answer (timeout, SERVFAIL, no nameserver): the check is unknown.

    ``str(exc)`` is English (logs); :meth:`text_in` gives the reason in the
    reader's language."""

    def __init__(self, text=""):
        super().__init__(render(text))
        self.text = text

    def text_in(self, lang=None):
        return render(self.text, lang)


@dataclass
class Finding:
    status: str
    finding: str
    fix: str = ""
    details: list = field(default_factory=list)


class Resolver:
    """A small DNS client: TXT, A/AAAA and MX lookups with one timeout."""

    def __init__(self, nameservers=None, port=53, timeout=DEFAULT_TIMEOUT):
        timeout = float(timeout or DEFAULT_TIMEOUT)
        if nameservers:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = list(nameservers)
        else:
            try:
                self._resolver = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration as exc:
                raise DnsUnavailable(_lt("no DNS resolver is configured on this host")) from exc
        self._resolver.port = int(port or 53)
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout
        self.cache = {}
        # After one timeout the resolver is considered down: later lookups fail at
        # once, so a dead resolver costs one timeout, not one per record.
        self.down = None

    def _query(self, name, rdtype, lifetime=None):
        key = (str(name).lower().rstrip("."), rdtype)
        if key in self.cache:
            return self.cache[key]
        if self.down:
            raise DnsUnavailable(self.down)
        try:
            answer = list(self._resolver.resolve(name, rdtype, search=False, lifetime=lifetime))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            answer = []
        except dns.exception.Timeout as exc:
            down = _lt("DNS timeout looking up %(type)s %(name)s", type=rdtype, name=str(name))
            if lifetime is None:
                self.down = down
            raise DnsUnavailable(down) from exc
        except dns.resolver.NoNameservers as exc:
            raise DnsUnavailable(
                _lt("no DNS server answered %(type)s %(name)s", type=rdtype, name=str(name))
            ) from exc
        except (dns.name.LabelTooLong, dns.name.EmptyLabel, dns.exception.SyntaxError) as exc:
            raise DnsUnavailable(_lt('invalid DNS name "%(name)s"', name=str(name))) from exc
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(
                _lt(
                    "DNS error looking up %(type)s %(name)s: %(error)s",
                    type=rdtype,
                    name=str(name),
                    error=str(exc),
                )
            ) from exc
        self.cache[key] = answer
        return answer

    @staticmethod
    def _texts(answer):
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]

    def txt(self, name):
        return self._texts(self._query(name, "TXT"))

    def probe_txt(self, name):
        """TXT records of a name that may well not exist (a guessed DKIM selector).

        A short timeout (:data:`PROBE_TIMEOUT`, at most the resolver's); a timeout,
        SERVFAIL or invalid name gives ``None`` ("unknown") instead of raising, and
        does not mark the resolver down: some DNS servers never answer for names
        they do not know.  A resolver already known down still raises."""
        lifetime = min(PROBE_TIMEOUT, self._resolver.lifetime)
        try:
            return self._texts(self._query(name, "TXT", lifetime=lifetime))
        except DnsUnavailable:
            if self.down:
                raise
            return None

    def addresses(self, name):
        """IPv4 and IPv6 addresses of ``name`` (A then AAAA)."""
        return [rdata.address for rdata in self._query(name, "A")] + [
            rdata.address for rdata in self._query(name, "AAAA")
        ]

    def address_records(self, name, ipv6=False):
        return [rdata.address for rdata in self._query(name, "AAAA" if ipv6 else "A")]

    def mx(self, name):
        records = sorted(self._query(name, "MX"), key=lambda r: r.preference)
        return [r.exchange.to_text(omit_final_dot=True) for r in records]

    def ptr(self, name):
        """Host names of a reverse name (``4.3.2.1.in-addr.arpa``)."""
        return [rdata.target.to_text(omit_final_dot=True) for rdata in self._query(name, "PTR")]


# ----------------------------------------------------------------------
# Tag lists (DKIM, DMARC)
# ----------------------------------------------------------------------
def parse_tags(record):
    """``"v=DMARC1; p=reject"`` -> ``{"v": "DMARC1", "p": "reject"}`` (keys lower case)."""
    tags = {}
    for part in (record or "").split(";"):
        if "=" not in part:
            continue
        key, value = part.split("=", 1)
        key = key.strip().lower()
        if key and key not in tags:
            tags[key] = re.sub(r"\s+", "", value) if key == "p" else value.strip()
    return tags


# ----------------------------------------------------------------------
# SPF
# ----------------------------------------------------------------------
# pyspf (module ``spf``) evaluates the policy: every mechanism, the RFC 7208
# section 7 macros (%{i}, %{ir}, %{v}, %{d2}...), the 10-lookup and 2-void-lookup
# limits.  Its DNS goes through the module-level ``spf.DNSLookup`` driver; we
# install a dispatcher that answers from *our* Resolver (configured nameserver,
# port, timeout, "down" memory) while check_spf() runs, and defers to pyspf's
# own driver otherwise, so other users of pyspf in the process are unaffected.
_SPF_RESOLVER = contextvars.ContextVar("mail_reliability_spf_resolver", default=None)
_PYSPF_DNS_LOOKUP = getattr(spf.DNSLookup, "mail_reliability_fallback", spf.DNSLookup)


def _spf_dns_lookup(name, qtype, strict=True, timeout=None):
    """pyspf's DNS driver contract: a list of ``((name, type), value)`` answers."""
    resolver = _SPF_RESOLVER.get()
    if resolver is None:
        return _PYSPF_DNS_LOOKUP(name, qtype, strict, timeout)
    key = (name, qtype)
    if qtype in ("TXT", "SPF"):
        # pyspf wants each TXT record as a sequence of byte strings.
        return [(key, (text.encode("utf-8", "replace"),)) for text in resolver.txt(name)]
    if qtype in ("A", "AAAA"):
        return [(key, address) for address in resolver.address_records(name, qtype == "AAAA")]
    if qtype == "MX":
        # resolver.mx() is already in preference order; keep that order.
        return [(key, (rank, host)) for rank, host in enumerate(resolver.mx(name))]
    if qtype == "PTR":
        return [(key, host) for host in resolver.ptr(name)]
    return []


_spf_dns_lookup.mail_reliability_fallback = _PYSPF_DNS_LOOKUP
spf.DNSLookup = _spf_dns_lookup


def spf_records(txt_records):
    return [
        r.strip()
        for r in txt_records
        if r.strip().lower() == "v=spf1" or r.strip().lower().startswith("v=spf1 ")
    ]


def check_spf(resolver, ip, domain, helo=None):
    """Evaluate ``domain``'s SPF policy for a message sent from ``ip``.

    The message is taken as sent with the envelope sender ``postmaster@domain``
    (RFC 7208 4.3: the local part of an empty MAIL FROM) by a client that says
    ``EHLO helo`` (``domain`` when not given); these only matter for the
    ``%{l}``, ``%{s}`` and ``%{h}`` macros.

    Returns ``(result, explanation)`` where result is one of ``pass``,
    ``fail``, ``softfail``, ``neutral``, ``none`` or ``permerror``, and the
    explanation names the matching mechanism or the error.  A DNS failure
    raises :class:`DnsUnavailable` (``temperror``).
    """
    try:
        ip = ipaddress.ip_address(ip)
    except ValueError:
        return "permerror", f"{ip!r} is not an IP address"
    domain = (domain or "").strip().rstrip(".")
    if not domain:
        return "none", ""
    query = spf.query(i=str(ip), s=f"postmaster@{domain}", h=helo or domain, strict=True)
    token = _SPF_RESOLVER.set(resolver)
    try:
        result, _code, explanation = query.check()
    finally:
        _SPF_RESOLVER.reset(token)
    if result == "temperror":  # pyspf's own DNS limits; ours raise DnsUnavailable
        raise DnsUnavailable(explanation)
    if result == "permerror":
        return result, explanation.removeprefix("SPF Permanent Error: ")
    if result == "none":
        return result, ""
    return result, query.mechanism or ""


def spf_finding(resolver, domain, hosts, lang=None):
    """SPF status of a sending ``domain`` for the outgoing server ``hosts``.

    ``hosts`` maps a label (server name) to its SMTP host name or IP.
    """
    records = spf_records(resolver.txt(domain))
    if not records:
        return Finding(
            ERROR,
            render(_lt("%(domain)s: no SPF record.", domain=domain), lang),
            render(
                _lt(
                    'Publish a TXT record on %(domain)s such as "v=spf1 mx include:<your '
                    'provider> ~all".',
                    domain=domain,
                ),
                lang,
            ),
        )
    if len(records) > 1:
        return Finding(
            ERROR,
            render(
                _lt(
                    "%(domain)s: %(count)s SPF records; receivers treat this as an error.",
                    domain=domain,
                    count=len(records),
                ),
                lang,
            ),
            render(
                _lt(
                    "Merge them into one TXT record starting with v=spf1 on %(domain)s.",
                    domain=domain,
                ),
                lang,
            ),
        )
    details = [render(_lt("SPF record: %(record)s", record=records[0]), lang)]
    statuses = []
    problems = []
    for label, host in hosts.items():
        try:
            ipaddress.ip_address(host)
            addresses, helo = [host], None
        except ValueError:
            addresses, helo = resolver.addresses(host), host
        if not addresses:
            statuses.append(WARNING)
            problems.append(
                render(
                    _lt("%(server)s (%(host)s) has no address in DNS", server=label, host=host),
                    lang,
                )
            )
            continue
        results = {
            address: check_spf(resolver, address, domain, helo=helo) for address in addresses
        }
        for address, (result, why) in results.items():
            details.append(f"{label} {host} [{address}]: {result} {why}".rstrip())
        verdicts = {result for result, _why in results.values()}
        if "permerror" in verdicts:
            statuses.append(ERROR)
            why = next(w for r, w in results.values() if r == "permerror")
            problems.append(render(_lt("the SPF policy is invalid (%(error)s)", error=why), lang))
        elif verdicts == {"pass"}:
            statuses.append(OK)
        elif "fail" in verdicts:
            statuses.append(ERROR)
            problems.append(
                render(
                    _lt("%(server)s (%(host)s) is not authorised (fail)", server=label, host=host),
                    lang,
                )
            )
        else:
            statuses.append(WARNING)
            problems.append(
                render(
                    _lt(
                        "%(server)s (%(host)s) is not explicitly authorised (%(results)s)",
                        server=label,
                        host=host,
                        results=", ".join(sorted(verdicts)),
                    ),
                    lang,
                )
            )
    status = worst(statuses)
    if status == OK:
        return Finding(
            OK,
            render(_lt("%(domain)s: SPF authorises the outgoing server(s).", domain=domain), lang),
            "",
            details=details,
        )
    return Finding(
        status,
        render(_lt("%(domain)s: %(problems)s.", domain=domain, problems="; ".join(problems)), lang),
        render(
            _lt(
                "Add the outgoing server(s) to the SPF record of %(domain)s "
                "(ip4:/ip6:/a: or your provider's include:), keep a single v=spf1 record.",
                domain=domain,
            ),
            lang,
        ),
        details=details,
    )


# ----------------------------------------------------------------------
# DKIM
# ----------------------------------------------------------------------
# Selectors tried on every sending domain, so that DKIM is checked without the
# admin typing one (the configured selectors are tried first).  From the setup
# guides of the providers and signing tools named; a provider that generates
# its selectors (Amazon SES, Postmark: random or dated tokens) cannot be
# guessed: its selector is entered in the settings.
COMMON_DKIM_SELECTORS = (
    "google",  # Google Workspace
    "selector1",  # Microsoft 365 / Exchange Online
    "selector2",  # Microsoft 365 / Exchange Online
    "odoo",  # Odoo Online / Odoo.sh mail servers
    "k1",  # Mailchimp / Mandrill, Mailgun
    "k2",  # Mailchimp
    "k3",  # Mailchimp
    "mandrill",  # Mandrill (older setups)
    "s1",  # SendGrid, many hosting panels
    "s2",  # SendGrid
    "smtpapi",  # SendGrid (older setups)
    "mailjet",  # Mailjet
    "mail",  # Brevo (Sendinblue), Yandex, Postfix/OpenDKIM guides
    "brevo1",  # Brevo
    "brevo2",  # Brevo
    "zoho",  # Zoho Mail
    "zmail",  # Zoho Mail
    "sig1",  # iCloud+ custom domains
    "protonmail",  # Proton Mail
    "protonmail2",  # Proton Mail
    "protonmail3",  # Proton Mail
    "fm1",  # Fastmail
    "fm2",  # Fastmail
    "fm3",  # Fastmail
    "mxvault",  # MXvault
    "everlytickey1",  # Everlytic
    "everlytickey2",  # Everlytic
    "hs1",  # HubSpot
    "hs2",  # HubSpot
    "smtp",  # Mailgun
    "mx",  # Mailgun
    "default",  # cPanel, Plesk, rspamd
    "dkim",  # rspamd, many self-hosted setups
)
DKIM_DISCOVERY_BUDGET = 10.0  # seconds for all the guessed selectors of one check run
MAX_PROBE_TIMEOUTS = 3  # guessed selectors of one domain that may time out in a row
MAX_SELECTORS_IN_FINDING = 6

# key states
KEY_OK = "ok"
KEY_TESTING = "testing"  # t=y: receivers treat a failed signature as unsigned
KEY_REVOKED = "revoked"  # empty p=
KEY_MALFORMED = "malformed"
KEY_MISSING = "missing"  # a configured selector without a key
USABLE_KEY_STATES = (KEY_OK, KEY_TESTING)

KEY_STATE_LABELS = {
    KEY_OK: _lt("valid key"),
    KEY_TESTING: _lt("test mode (t=y)"),
    KEY_REVOKED: _lt("revoked (empty p=)"),
    KEY_MALFORMED: _lt("malformed"),
    KEY_MISSING: _lt("no key"),
}


@dataclass
class DkimKey:
    """What one selector of one domain holds."""

    selector: str
    name: str  # <selector>._domainkey.<domain>
    state: str
    configured: bool  # entered by the admin (not guessed)
    record: str = ""
    reason: str = ""  # why a key is malformed (English, data for the details)


def _looks_like_dkim(record):
    tags = parse_tags(record)
    return "p" in tags or tags.get("v", "").upper() == "DKIM1"


def dkim_key_state(record):
    """``(state, reason)`` of a DKIM key record (RFC 6376 3.6.1).

    A usable key has ``v=DKIM1`` (or no v=), a non-empty ``p=`` that decodes
    and, for RSA, loads as a public key; ``p=`` empty means revoked."""
    tags = parse_tags(record)
    if tags.get("v", "DKIM1") != "DKIM1":
        return KEY_MALFORMED, "v= is not DKIM1"
    key = tags.get("p", "")
    if not key:
        return KEY_REVOKED, ""
    try:
        data = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return KEY_MALFORMED, "p= is not base64"
    key_type = tags.get("k", "rsa").strip().lower()
    if key_type == "rsa":
        try:
            serialization.load_der_public_key(data)
        except (ValueError, TypeError):
            try:  # an RSAPublicKey (PKCS#1) instead of a SubjectPublicKeyInfo
                pem = b"-----BEGIN RSA PUBLIC KEY-----\n%s\n-----END RSA PUBLIC KEY-----\n"
                serialization.load_pem_public_key(pem % base64.encodebytes(data))
            except (ValueError, TypeError):
                return KEY_MALFORMED, "p= is not an RSA public key"
    elif key_type == "ed25519" and len(data) != 32:
        return KEY_MALFORMED, "p= is not an Ed25519 public key"
    if "y" in tags.get("t", "").split(":"):
        return KEY_TESTING, ""
    return KEY_OK, ""


def find_dkim_keys(resolver, domain, selectors=(), discover=True, deadline=None):
    """The DKIM keys of ``domain`` at the configured ``selectors`` and, when
    ``discover``, at :data:`COMMON_DKIM_SELECTORS`.

    Returns ``(keys, tried, complete)``: the :class:`DkimKey` found (a configured
    selector without a key is listed as ``missing``; a guessed one is not), the
    selectors asked, and False when the search stopped early (``deadline``, a
    ``time.monotonic()`` value, passed; or guessed names kept timing out).  A
    configured selector is asked like any record (DNS trouble raises
    :class:`DnsUnavailable`); guessed ones with :meth:`Resolver.probe_txt`.
    """
    domain = normalize_domain(domain)
    configured = [s.strip().lower() for s in selectors or () if s and s.strip()]
    candidates = list(dict.fromkeys(configured + (list(COMMON_DKIM_SELECTORS) if discover else [])))
    keys, tried, timeouts = [], [], 0
    for selector in candidates:
        is_configured = selector in configured
        if not is_configured and deadline is not None and time.monotonic() > deadline:
            return keys, tried, False
        name = f"{selector}._domainkey.{domain}"
        tried.append(selector)
        records = resolver.txt(name) if is_configured else resolver.probe_txt(name)
        if records is None:  # a guessed name that timed out
            timeouts += 1
            if timeouts >= MAX_PROBE_TIMEOUTS:
                return keys, tried, False
            continue
        timeouts = 0
        records = [r for r in records if _looks_like_dkim(r)]
        if not records:
            if is_configured:
                keys.append(DkimKey(selector, name, KEY_MISSING, True))
            continue
        state, reason = dkim_key_state(records[0])
        keys.append(DkimKey(selector, name, state, is_configured, records[0], reason))
    return keys, tried, True


def _selector_list(selectors, lang=None):
    shown = ", ".join(selectors[:MAX_SELECTORS_IN_FINDING])
    if len(selectors) > MAX_SELECTORS_IN_FINDING:
        shown = render(
            _lt(
                "%(selectors)s and %(count)s more (see the details)",
                selectors=shown,
                count=len(selectors) - MAX_SELECTORS_IN_FINDING,
            ),
            lang,
        )
    return shown


def dkim_finding(resolver, domain, selectors, discover=True, deadline=None, lang=None):
    """DKIM status of a sending ``domain``: its keys at the configured
    ``selectors`` and (``discover``) at the common ones.

    Error: a configured selector has no key, a revoked or a malformed one.
    Warning: no usable key found anywhere (naming what was tried), a key in
    test mode, a malformed key at a guessed selector.  OK: a usable key found,
    at a configured or a guessed selector (revoked guessed keys are listed)."""
    keys, tried, complete = find_dkim_keys(resolver, domain, selectors, discover, deadline)
    statuses, problems, details = [], [], []
    for key in keys:
        label = render(KEY_STATE_LABELS[key.state], lang)
        line = f"DKIM {key.name}: {label}"
        if key.reason:
            line += f" ({key.reason})"
        details.append(line + (f": {key.record[:120]}" if key.record else ""))
        if key.state == KEY_MISSING:
            statuses.append(ERROR)
            problems.append(render(_lt("no DKIM key at %(name)s", name=key.name), lang))
        elif key.state == KEY_REVOKED and key.configured:
            statuses.append(ERROR)
            problems.append(
                render(_lt("the key at %(name)s is revoked (empty p=)", name=key.name), lang)
            )
        elif key.state == KEY_MALFORMED:
            statuses.append(ERROR if key.configured else WARNING)
            problems.append(
                render(
                    _lt(
                        "%(name)s is not a valid DKIM key (%(reason)s)",
                        name=key.name,
                        reason=key.reason,
                    ),
                    lang,
                )
            )
        elif key.state == KEY_TESTING:
            statuses.append(WARNING)
            problems.append(render(_lt("%(name)s is in test mode (t=y)", name=key.name), lang))
    details.append(render(_lt("Selectors tried: %(selectors)s", selectors=", ".join(tried)), lang))
    if not complete:
        details.append(
            render(
                _lt(
                    "The search for selectors stopped early (time limit or DNS timeouts); "
                    "the others were not tried."
                ),
                lang,
            )
        )
    usable = [k.selector for k in keys if k.state in USABLE_KEY_STATES]
    revoked = [k.selector for k in keys if k.state == KEY_REVOKED and not k.configured]
    fix = render(
        _lt(
            "Publish the DKIM public key given by your mail provider as a TXT record "
            "<selector>._domainkey.<domain> and sign outgoing mail with it. If your provider's "
            "selector is not among the common ones tried, enter it in Settings > Emails > "
            "Email Health (DKIM selectors)."
        ),
        lang,
    )
    if not usable:
        statuses.append(WARNING)
        problems.append(
            render(
                _lt(
                    "no usable DKIM key found (selectors tried: %(selectors)s)",
                    selectors=_selector_list(tried, lang),
                ),
                lang,
            )
            if tried
            else render(_lt("no selector was tried (time limit reached)"), lang)
        )
        if revoked:
            problems.append(
                render(_lt("revoked key(s): %(selectors)s", selectors=", ".join(revoked)), lang)
            )
    status = worst(statuses)
    if status == OK:
        finding = render(
            _lt(
                "%(domain)s: DKIM key(s) published for %(selectors)s.",
                domain=domain,
                selectors=", ".join(usable),
            ),
            lang,
        )
        if revoked:
            finding += " " + render(
                _lt("Revoked: %(selectors)s.", selectors=", ".join(revoked)), lang
            )
        return Finding(OK, finding, details=details)
    return Finding(
        status,
        render(_lt("%(domain)s: %(problems)s.", domain=domain, problems="; ".join(problems)), lang),
        fix,
        details=details,
    )


# ----------------------------------------------------------------------
# DMARC
# ----------------------------------------------------------------------
ALIGNMENT = {"r": _lt("relaxed"), "s": _lt("strict")}


@functools.cache
def _public_suffix_list():
    # The list ships with the package (no download); parsing it takes ~0.5 s, once.
    return PublicSuffixList()


def normalize_domain(domain):
    """``Bücher.DE.`` -> ``xn--bcher-kva.de``: lower case, A-labels, no final dot."""
    text = str(domain or "").strip().rstrip(".").lower()
    if text.isascii():
        return text
    try:
        return dns.name.from_text(text).to_text(omit_final_dot=True).lower()
    except (dns.exception.DNSException, UnicodeError, ValueError):
        return text  # not a valid IDN: compared as given


def organizational_domain(domain):
    """The organizational domain (RFC 7489 3.2) from the public suffix list.

    ``x.github.io`` -> ``x.github.io``, ``a.b.co.uk`` -> ``b.co.uk``; a name that
    is itself a public suffix (``co.uk``), or not a valid name, stays as it is.
    Unknown top-level domains (``corp.test``) count as one-label suffixes.
    """
    name = normalize_domain(domain)
    if not name:
        return ""
    return _public_suffix_list().privatesuffix(name) or name


def dmarc_record(resolver, domain):
    """Return ``(record, queried_name)``, looking at the organizational domain if needed."""
    for name in dict.fromkeys([normalize_domain(domain), organizational_domain(domain)]):
        records = [
            r
            for r in resolver.txt(f"_dmarc.{name}")
            if r.replace(" ", "").upper().startswith("V=DMARC1")
        ]
        if records:
            return records[0], f"_dmarc.{name}"
    return None, f"_dmarc.{domain}"


def evaluate_dmarc(record, domain, queried=None, lang=None):
    """Status of a DMARC record text (or ``None`` when absent)."""
    if not record:
        return Finding(
            ERROR,
            render(_lt("%(domain)s: no DMARC record.", domain=domain), lang),
            render(
                _lt(
                    'Publish a TXT record on _dmarc.%(domain)s, for example "v=DMARC1; '
                    'p=quarantine; rua=mailto:dmarc@%(domain)s". Large mailbox providers '
                    "require one for bulk senders.",
                    domain=domain,
                ),
                lang,
            ),
        )
    tags = parse_tags(record)
    policy = tags.get("p", "").lower()
    details = [render(_lt("DMARC %(name)s: %(record)s", name=queried or "", record=record), lang)]
    if policy not in ("none", "quarantine", "reject"):
        return Finding(
            ERROR,
            render(
                _lt(
                    "%(domain)s: DMARC record without a valid policy (p=%(policy)s).",
                    domain=domain,
                    policy=policy or "?",
                ),
                lang,
            ),
            render(_lt("Set p=none, p=quarantine or p=reject in the DMARC record."), lang),
            details=details,
        )
    parts = [render(_lt("policy %(policy)s", policy=policy), lang)]
    if tags.get("sp"):
        parts.append(render(_lt("subdomains %(policy)s", policy=tags["sp"]), lang))
    parts.append(
        render(_lt("DKIM alignment %(mode)s", mode=_alignment_label(tags.get("adkim"))), lang)
    )
    parts.append(
        render(_lt("SPF alignment %(mode)s", mode=_alignment_label(tags.get("aspf"))), lang)
    )
    if tags.get("pct", "100") != "100":
        parts.append(render(_lt("%(pct)s%% of mail", pct=tags["pct"]), lang))
    summary = ", ".join(parts)
    if policy == "none":
        return Finding(
            WARNING,
            render(
                _lt(
                    "%(domain)s: DMARC %(summary)s; failing mail is only monitored.",
                    domain=domain,
                    summary=summary,
                ),
                lang,
            ),
            render(
                _lt(
                    "Once SPF and DKIM pass for all your senders, move to p=quarantine, then "
                    "p=reject."
                ),
                lang,
            ),
            details=details,
        )
    return Finding(
        OK,
        render(_lt("%(domain)s: DMARC %(summary)s.", domain=domain, summary=summary), lang),
        details=details,
    )


def _alignment_label(value):
    """``r``/``s`` (default ``r``) as a lazy text; anything else as given."""
    mode = (value or "r").strip().lower()
    return ALIGNMENT.get(mode, value)


def dmarc_finding(resolver, domain, lang=None):
    record, queried = dmarc_record(resolver, domain)
    return evaluate_dmarc(record, domain, queried, lang=lang)


# ----------------------------------------------------------------------
# Bulk senders: the Gmail and Yahoo rules of February 2024
# ----------------------------------------------------------------------
# Google counts a sender as "bulk" from about 5,000 messages a day to personal
# Gmail accounts (https://support.google.com/a/answer/81126); Yahoo has the same
# rules without a published figure.  A bulk sender needs SPF and DKIM for its
# domain, a DMARC record (p=none is enough) aligned with the From domain, and
# one-click unsubscribe (RFC 8058) on marketing mail.
BULK_SENDER_DAILY_VOLUME = 5000
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def dmarc_aligned(domain_a, domain_b, mode="r"):
    """DMARC identifier alignment (RFC 7489 3.1): the same name when ``mode`` is
    ``s`` (strict), the same organizational domain otherwise (relaxed)."""
    a, b = normalize_domain(domain_a), normalize_domain(domain_b)
    if not a or not b:
        return False
    if (mode or "r").strip().lower() == "s":
        return a == b
    return organizational_domain(a) == organizational_domain(b)


@dataclass
class BulkRule:
    """One rule for one sending domain: ``passed`` is True, False or None (not
    applicable / could not tell); ``text`` says why, in the reader's language."""

    rule: str  # spf, dkim, dmarc, alignment, unsubscribe
    passed: bool | None
    text: str


def bulk_sender_rules(
    resolver, from_domain, envelope_domain, hosts, selectors=(), deadline=None, lang=None
):
    """The DNS rules of the Gmail/Yahoo bulk-sender requirements for mail with a
    From address at ``from_domain``, sent with the envelope sender (Return-Path)
    at ``envelope_domain`` through the outgoing servers ``hosts``.

    * SPF passes for the envelope domain (:func:`spf_finding`);
    * a usable DKIM key is published for the From domain (:func:`find_dkim_keys`);
    * a DMARC record with any policy exists for the From domain;
    * DMARC alignment: the SPF-checked envelope domain is aligned with the From
      domain (``aspf``), or the DKIM key is the From domain's own (``d=`` is the
      From domain: aligned in both modes).

    Returns ``(rules, details)``: a list of :class:`BulkRule` and the lines of
    the records read.  DNS trouble raises :class:`DnsUnavailable`.
    """
    from_domain = normalize_domain(from_domain)
    envelope_domain = normalize_domain(envelope_domain) or from_domain
    spf = spf_finding(resolver, envelope_domain, hosts, lang=lang)
    spf_ok = spf.status == OK
    keys, tried, _complete = find_dkim_keys(resolver, from_domain, selectors, True, deadline)
    usable = [k.selector for k in keys if k.state in USABLE_KEY_STATES]
    record, queried = dmarc_record(resolver, from_domain)
    dmarc = evaluate_dmarc(record, from_domain, queried, lang=lang)
    tags = parse_tags(record) if record else {}
    dmarc_ok = bool(record) and tags.get("p", "").lower() in ("none", "quarantine", "reject")
    spf_aligned = dmarc_aligned(envelope_domain, from_domain, tags.get("aspf", "r"))
    rules = [
        BulkRule(
            "spf",
            spf_ok,
            render(
                _lt("SPF passes for %(domain)s", domain=envelope_domain)
                if spf_ok
                else _lt("SPF does not pass for %(domain)s", domain=envelope_domain),
                lang,
            ),
        ),
        BulkRule(
            "dkim",
            bool(usable),
            render(
                _lt(
                    "DKIM key published (%(selectors)s)",
                    selectors=", ".join(usable),
                )
                if usable
                else _lt(
                    "no usable DKIM key found (%(count)s selectors tried, see the DKIM check)",
                    count=len(tried),
                ),
                lang,
            ),
        ),
        BulkRule(
            "dmarc",
            dmarc_ok,
            render(
                _lt("DMARC record present (p=%(policy)s)", policy=tags.get("p", "").lower())
                if dmarc_ok
                else _lt("no valid DMARC record"),
                lang,
            ),
        ),
    ]
    if spf_ok and spf_aligned:
        aligned, why = (
            True,
            _lt(
                "aligned: SPF passes for the envelope domain %(envelope)s",
                envelope=envelope_domain,
            ),
        )
    elif usable:
        aligned, why = True, _lt("aligned: DKIM key of %(domain)s itself", domain=from_domain)
    elif not spf_aligned:
        aligned, why = (
            False,
            _lt(
                "not aligned: the envelope domain %(envelope)s is not aligned with the From "
                "domain %(domain)s (aspf=%(mode)s) and no DKIM key of %(domain)s was found",
                envelope=envelope_domain,
                domain=from_domain,
                mode=tags.get("aspf", "r"),
            ),
        )
    else:
        aligned, why = (
            False,
            _lt("not aligned: neither SPF nor DKIM passes for %(domain)s", domain=from_domain),
        )
    rules.append(BulkRule("alignment", aligned, render(why, lang)))
    details = [
        *spf.details,
        *dmarc.details,
        render(_lt("Selectors tried: %(selectors)s", selectors=", ".join(tried)), lang),
    ]
    return rules, details


def _short_uri(uri):
    """``uri`` as shown in a finding: no query, and no path beyond its first segment
    (the rest names one mailing and recipient, e.g. ``/mailing/12/unsubscribe_oneclick``)."""
    head, sep, path = uri.split("?", 1)[0].partition("://")
    host, slash, path = path.partition("/")
    first, more, _rest = path.partition("/")
    return head + sep + host + slash + first + ("/\u2026" if more else "")


def one_click_unsubscribe(headers, lang=None):
    """``(passed, text)``: do the ``headers`` of a campaign mail offer one-click
    unsubscribe (RFC 8058): a ``List-Unsubscribe`` with an https URI and
    ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``?"""
    headers = {str(k).lower(): str(v or "") for k, v in (headers or {}).items()}
    uris = re.findall(r"<([^<>]*)>", headers.get("list-unsubscribe", ""))
    post = headers.get("list-unsubscribe-post", "").strip()
    if not uris:
        return False, render(_lt("campaign mail has no List-Unsubscribe header"), lang)
    if post.lower() != "list-unsubscribe=one-click":
        return False, render(
            _lt("campaign mail has no List-Unsubscribe-Post: List-Unsubscribe=One-Click header"),
            lang,
        )
    https = [uri for uri in uris if uri.lower().startswith("https://")]
    if not https:
        return False, render(
            _lt(
                "the one-click unsubscribe link is not https (%(uri)s): set an https "
                "web.base.url",
                uri=_short_uri(uris[0]),
            ),
            lang,
        )
    return True, render(
        _lt("one-click unsubscribe on campaign mail (%(uri)s)", uri=_short_uri(https[0])),
        lang,
    )
