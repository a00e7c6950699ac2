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
* :func:`check_dkim` and :func:`check_dmarc` read the records and say what
  they mean.  Every check returns a :class:`Finding`.
"""

import contextvars
import functools
import ipaddress
import re
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.resolver
import spf
from publicsuffixlist import PublicSuffixList

# the status vocabulary is the health rules' (re-exported for the callers of this module)
from .health_rules import ERROR, OK, STATUS_ORDER, WARNING, worst  # noqa: F401

DEFAULT_TIMEOUT = 3.0


class DnsUnavailable(Exception):
    """DNS did not answer (timeout, SERVFAIL, no nameserver): the check is unknown."""


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
                raise DnsUnavailable("no DNS resolver is configured on this host") from exc
        self._resolver.port = int(port or 53)
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout
        self.cache = {}
        # After one timeout the resolver is considered down: later lookups fail at
        # once, so a dead resolver costs one timeout, not one per record.
        self.down = None

    def _query(self, name, rdtype):
        key = (str(name).lower().rstrip("."), rdtype)
        if key in self.cache:
            return self.cache[key]
        if self.down:
            raise DnsUnavailable(self.down)
        try:
            answer = list(self._resolver.resolve(name, rdtype, search=False))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            answer = []
        except dns.exception.Timeout as exc:
            self.down = f"DNS timeout looking up {rdtype} {name}"
            raise DnsUnavailable(self.down) from exc
        except dns.resolver.NoNameservers as exc:
            raise DnsUnavailable(f"no DNS server answered {rdtype} {name}") from exc
        except (dns.name.LabelTooLong, dns.name.EmptyLabel, dns.exception.SyntaxError) as exc:
            raise DnsUnavailable(f"invalid DNS name {name!r}") from exc
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(f"DNS error looking up {rdtype} {name}: {exc}") from exc
        self.cache[key] = answer
        return answer

    def txt(self, name):
        return [
            b"".join(rdata.strings).decode("utf-8", "replace") for rdata in self._query(name, "TXT")
        ]

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


def spf_finding(resolver, domain, hosts):
    """SPF status of a sending ``domain`` for the outgoing server ``hosts``.

    ``hosts`` maps a label (server name) to its SMTP host name or IP.
    """
    records = spf_records(resolver.txt(domain))
    if not records:
        return Finding(
            ERROR,
            f"{domain}: no SPF record.",
            f'Publish a TXT record on {domain} such as "v=spf1 mx include:<your provider> ~all".',
        )
    if len(records) > 1:
        return Finding(
            ERROR,
            f"{domain}: {len(records)} SPF records; receivers treat this as an error.",
            f"Merge them into one TXT record starting with v=spf1 on {domain}.",
        )
    details = [f"SPF: {records[0]}"]
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
            problems.append(f"{label} ({host}) has no address in DNS")
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
            problems.append(f"the SPF policy is invalid ({why})")
        elif verdicts == {"pass"}:
            statuses.append(OK)
        elif "fail" in verdicts:
            statuses.append(ERROR)
            problems.append(f"{label} ({host}) is not authorised (fail)")
        else:
            statuses.append(WARNING)
            problems.append(
                f"{label} ({host}) is not explicitly authorised ({', '.join(sorted(verdicts))})"
            )
    status = worst(statuses)
    if status == OK:
        return Finding(OK, f"{domain}: SPF authorises the outgoing server(s).", "", details=details)
    return Finding(
        status,
        f"{domain}: " + "; ".join(problems) + ".",
        f"Add the outgoing server(s) to the SPF record of {domain} "
        "(ip4:/ip6:/a: or your provider's include:), keep a single v=spf1 record.",
        details=details,
    )


# ----------------------------------------------------------------------
# DKIM
# ----------------------------------------------------------------------
def dkim_finding(resolver, domain, selectors):
    if not selectors:
        return Finding(
            WARNING,
            f"{domain}: no DKIM selector configured, DKIM was not checked.",
            "Enter the DKIM selector(s) of your mail provider in Settings > Emails > "
            "Email Health (for example 'google' or 's1').",
        )
    statuses, problems, details = [], [], []
    for selector in selectors:
        name = f"{selector}._domainkey.{domain}"
        records = [r for r in resolver.txt(name) if "p=" in r.replace(" ", "")]
        if not records:
            statuses.append(ERROR)
            problems.append(f"no DKIM key at {name}")
            continue
        tags = parse_tags(records[0])
        details.append(f"DKIM {name}: {records[0][:120]}")
        if tags.get("v", "DKIM1") != "DKIM1":
            statuses.append(ERROR)
            problems.append(f"{name} is not a DKIM1 record")
        elif not tags.get("p"):
            statuses.append(ERROR)
            problems.append(f"the key at {name} is revoked (empty p=)")
        elif "y" in tags.get("t", "").split(":"):
            statuses.append(WARNING)
            problems.append(f"{name} is in test mode (t=y)")
        else:
            statuses.append(OK)
    status = worst(statuses)
    if status == OK:
        return Finding(
            OK,
            f"{domain}: DKIM key(s) published for {', '.join(selectors)}.",
            details=details,
        )
    return Finding(
        status,
        f"{domain}: " + "; ".join(problems) + ".",
        "Publish the DKIM public key given by your mail provider as a TXT record "
        "<selector>._domainkey.<domain>, and sign outgoing mail with it.",
        details=details,
    )


# ----------------------------------------------------------------------
# DMARC
# ----------------------------------------------------------------------
ALIGNMENT = {"r": "relaxed", "s": "strict"}


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


def evaluate_dmarc(record, domain, queried=None):
    """Status of a DMARC record text (or ``None`` when absent)."""
    if not record:
        return Finding(
            ERROR,
            f"{domain}: no DMARC record.",
            f'Publish a TXT record on _dmarc.{domain}, for example "v=DMARC1; p=quarantine; '
            f'rua=mailto:dmarc@{domain}". Large mailbox providers require one for bulk senders.',
        )
    tags = parse_tags(record)
    policy = tags.get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return Finding(
            ERROR,
            f"{domain}: DMARC record without a valid policy (p={policy or '?'}).",
            "Set p=none, p=quarantine or p=reject in the DMARC record.",
            details=[f"DMARC {queried or ''}: {record}"],
        )
    summary = (
        f"policy {policy}"
        + (f", subdomains {tags['sp']}" if tags.get("sp") else "")
        + f", DKIM alignment {ALIGNMENT.get(tags.get('adkim', 'r').lower(), tags.get('adkim'))}"
        + f", SPF alignment {ALIGNMENT.get(tags.get('aspf', 'r').lower(), tags.get('aspf'))}"
        + (f", {tags['pct']}% of mail" if tags.get("pct", "100") != "100" else "")
    )
    details = [f"DMARC {queried or ''}: {record}"]
    if policy == "none":
        return Finding(
            WARNING,
            f"{domain}: DMARC {summary}; failing mail is only monitored.",
            "Once SPF and DKIM pass for all your senders, move to p=quarantine, then p=reject.",
            details=details,
        )
    return Finding(OK, f"{domain}: DMARC {summary}.", details=details)


def dmarc_finding(resolver, domain):
    record, queried = dmarc_record(resolver, domain)
    return evaluate_dmarc(record, domain, queried)
