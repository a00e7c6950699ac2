# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""SPF, DKIM and DMARC checks over DNS (dnspython), no database needed.

* :class:`Resolver` wraps ``dns.resolver.Resolver`` with a configurable
  nameserver, port and timeout.  "No such name" and "no answer" are empty
  results; a timeout, SERVFAIL or unreachable resolver raises
  :class:`DnsUnavailable`, which callers turn into "could not check".
* :func:`check_spf` evaluates an SPF policy (RFC 7208) for one IP address:
  ``ip4``, ``ip6``, ``a``, ``mx``, ``include``, ``exists``, ``redirect``
  and ``all``, with the 10-lookup limit.  ``ptr`` never matches (the RFC
  says "do not use"), macros other than ``%{d}``/``%{o}`` are a permerror.
* :func:`check_dkim` and :func:`check_dmarc` read the records and say what
  they mean.  Every check returns a :class:`Finding`.
"""

import ipaddress
import re
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.resolver

# the status vocabulary is the health rules' (re-exported for the callers of this module)
from .health_rules import ERROR, OK, STATUS_ORDER, WARNING, worst  # noqa: F401

DEFAULT_TIMEOUT = 3.0
MAX_DNS_LOOKUPS = 10  # RFC 7208 section 4.6.4
MAX_VOID_LOOKUPS = 2


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
SPF_QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}


class SpfPermError(Exception):
    pass


def spf_records(txt_records):
    return [
        r.strip()
        for r in txt_records
        if r.strip().lower() == "v=spf1" or r.strip().lower().startswith("v=spf1 ")
    ]


def _expand(spec, domain, sender_domain):
    if "%" not in spec:
        return spec
    out = spec.replace("%{d}", domain).replace("%{o}", sender_domain)
    out = out.replace("%%", "%").replace("%_", " ").replace("%-", "%20")
    if "%" in out:
        raise SpfPermError(f"unsupported SPF macro in {spec!r}")
    return out


def _split_cidr(arg):
    """``"example.com/24//64"`` -> ``("example.com", 24, 64)``."""
    m = re.match(r"^(.*?)(?:/(\d+))?(?://(\d+))?$", arg or "")
    name, v4, v6 = m.group(1), m.group(2), m.group(3)
    v4 = int(v4) if v4 is not None else 32
    v6 = int(v6) if v6 is not None else 128
    if v4 > 32 or v6 > 128:
        raise SpfPermError(f"invalid CIDR length in {arg!r}")
    return name, v4, v6


def _in_network(ip, address, v4, v6):
    try:
        candidate = ipaddress.ip_address(address)
    except ValueError:
        return False
    if candidate.version != ip.version:
        return False
    prefix = v4 if ip.version == 4 else v6
    return ip in ipaddress.ip_network(f"{candidate}/{prefix}", strict=False)


class _SpfState:
    def __init__(self, resolver):
        self.resolver = resolver
        self.lookups = 0
        self.void = 0

    def count(self):
        self.lookups += 1
        if self.lookups > MAX_DNS_LOOKUPS:
            raise SpfPermError("more than 10 DNS lookups (RFC 7208 4.6.4)")

    def void_check(self, result):
        if not result:
            self.void += 1
            if self.void > MAX_VOID_LOOKUPS:
                raise SpfPermError("more than 2 void DNS lookups (RFC 7208 4.6.4)")
        return result


def _evaluate(state, ip, domain, sender_domain, depth=0):
    """Return (result, matched mechanism) for ``ip`` against ``domain``'s policy."""
    if depth > MAX_DNS_LOOKUPS:
        raise SpfPermError("include/redirect loop")
    records = spf_records(state.resolver.txt(domain))
    if not records:
        return "none", ""
    if len(records) > 1:
        raise SpfPermError(f"{domain} publishes {len(records)} SPF records (only one is allowed)")
    terms = records[0].split()[1:]
    redirect = None
    for term in terms:
        lower = term.lower()
        if lower.startswith("redirect="):
            redirect = _expand(term.split("=", 1)[1], domain, sender_domain)
            continue
        if "=" in term.split(":", 1)[0]:
            continue  # other modifiers (exp=...) are ignored
        qualifier, body = "pass", term
        if term[0] in SPF_QUALIFIERS:
            qualifier, body = SPF_QUALIFIERS[term[0]], term[1:]
        match = re.match(r"^([A-Za-z0-9]+)(:[^\s]*)?(/[^\s]*)?$", body)
        if not match:
            raise SpfPermError(f"invalid SPF term {term!r}")
        name = match.group(1).lower()
        arg = (match.group(2) or ":")[1:]
        cidr = match.group(3) or ""
        if _mechanism_matches(state, ip, domain, sender_domain, name, arg, cidr, depth):
            return qualifier, body
    if redirect:
        state.count()
        result, matched = _evaluate(state, ip, redirect, sender_domain, depth + 1)
        if result == "none":
            raise SpfPermError(f"redirect to {redirect}, which has no SPF record")
        return result, matched
    return "neutral", ""


def _mechanism_matches(state, ip, domain, sender_domain, name, arg, cidr, depth):
    if name == "all":
        return True
    if name in ("ip4", "ip6"):
        try:
            network = ipaddress.ip_network(arg, strict=False)
        except ValueError as exc:
            raise SpfPermError(f"invalid {name} network {arg!r}") from exc
        if (name == "ip4") != (network.version == 4):
            raise SpfPermError(f"{name}:{arg} has the wrong address family")
        return ip.version == network.version and ip in network
    if name == "include":
        if not arg:
            raise SpfPermError("include without a domain")
        state.count()
        result, _matched = _evaluate(
            state, ip, _expand(arg, domain, sender_domain), sender_domain, depth + 1
        )
        if result == "none":
            raise SpfPermError(f"include:{arg} has no SPF record")
        return result == "pass"
    if name in ("a", "mx"):
        state.count()
        target, v4, v6 = _split_cidr(_expand(arg, domain, sender_domain) + cidr)
        target = target or domain
        if name == "a":
            hosts = [target]
        else:
            hosts = state.void_check(state.resolver.mx(target))
            if len(hosts) > MAX_DNS_LOOKUPS:
                raise SpfPermError(f"{target} has more than 10 MX hosts")
        for host in hosts:
            addresses = state.resolver.address_records(host, ipv6=ip.version == 6)
            if name == "a":
                state.void_check(addresses)
            if any(_in_network(ip, address, v4, v6) for address in addresses):
                return True
        return False
    if name == "exists":
        state.count()
        return bool(
            state.void_check(state.resolver.address_records(_expand(arg, domain, sender_domain)))
        )
    if name == "ptr":
        state.count()
        return False
    raise SpfPermError(f"unknown SPF mechanism {name!r}")


def check_spf(resolver, ip, domain):
    """Evaluate ``domain``'s SPF policy for a message sent from ``ip``.

    Returns ``(result, explanation)`` where result is one of ``pass``,
    ``fail``, ``softfail``, ``neutral``, ``none`` or ``permerror``.  A DNS
    failure raises :class:`DnsUnavailable` (``temperror``).
    """
    try:
        ip = ipaddress.ip_address(ip)
    except ValueError:
        return "permerror", f"{ip!r} is not an IP address"
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    state = _SpfState(resolver)
    try:
        result, matched = _evaluate(state, ip, domain, domain)
    except SpfPermError as exc:
        return "permerror", str(exc)
    return result, matched


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
            addresses = [host]
        except ValueError:
            addresses = resolver.addresses(host)
        if not addresses:
            statuses.append(WARNING)
            problems.append(f"{label} ({host}) has no address in DNS")
            continue
        results = {address: check_spf(resolver, address, domain) for address in addresses}
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


def organizational_domain(domain):
    """A light approximation of the organizational domain (no public suffix list)."""
    labels = domain.lower().rstrip(".").split(".")
    two_level = {"co", "com", "net", "org", "gov", "ac", "edu"}
    if len(labels) >= 3 and labels[-2] in two_level and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def dmarc_record(resolver, domain):
    """Return ``(record, queried_name)``, looking at the organizational domain if needed."""
    for name in dict.fromkeys([domain, organizational_domain(domain)]):
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
