# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A corpus of real mails and bounces, and the ways the gateway fuzz mangles them.

Pure Python, no Odoo import: the gateway fuzz test (``test_fuzz_gateway.py``) and
the benchmark (``bench/gateway_fuzz.py``, which loads this file by path) share it.

The corpus is every file of ``data/bounces/`` (our fixtures, placeholders filled
in) and of ``data/bounces_flufl/`` (real bounces collected by flufl.bounce, see
its README), plus a few plain mails.  Each mutation is a function
``(raw, rng) -> bytes | str`` drawn with a seeded :class:`random.Random`, so a
seed names a run exactly.
"""

import glob
import os
import random
import re

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")
HEADER_RE = re.compile(rb"^([A-Za-z0-9-]+):", re.MULTILINE)
LONE_SURROGATE = b"\xed\xa0\x80"  # U+D800 encoded as if it were a character (CESU-8)
BIG_ATTACHMENT_BYTES = 25 * 1024 * 1024


def _fill(text):
    values = {
        "recipient": "alice@remote.test",
        "recipient2": "bob@remote.test",
        "recipient3": "carol@slow.test",
        "message_id": "<orig-42.1731234567@example.com>",
        "subject": "Quotation S00042",
    }
    for key, value in values.items():
        text = text.replace(b"{" + key.encode() + b"}", value.encode())
    return text


def plain_mail(to="nobody@example.com", subject="Question about my order", body="Hello"):
    return (
        "From: Alice Sender <alice@customer.test>\r\n"
        f"To: {to}\r\n"
        f"Subject: {subject}\r\n"
        "Message-Id: <plain-1@customer.test>\r\n"
        "Date: Tue, 10 Nov 2026 09:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()


def load_corpus():
    """``[(name, raw bytes)]``: real bounces, then a few plain mails."""
    corpus = []
    for pattern in ("bounces/*.eml", "bounces_flufl/*.txt"):
        for path in sorted(glob.glob(os.path.join(DATA_DIR, pattern))):
            with open(path, "rb") as handle:
                corpus.append((os.path.basename(path), _fill(handle.read())))
    corpus += [
        ("plain_unroutable", plain_mail()),
        ("plain_8bit", plain_mail(subject="Caf\u00e9 cr\u00e8me", body="R\u00e9sum\u00e9 \u2713")),
    ]
    return corpus


def with_message_id(raw, message_id):
    """``raw`` with its own Message-Id replaced by ``message_id`` (first header line)."""
    head, sep, body = (
        raw.partition(b"\n\n") if b"\r\n\r\n" not in raw else raw.partition(b"\r\n\r\n")
    )
    head = re.sub(rb"(?mi)^Message-Id:[^\n]*\n(?:[ \t][^\n]*\n)*", b"", head + b"\n")[:-1]
    return b"Message-Id: " + message_id.encode() + b"\r\n" + head + sep + body


def _headers(raw):
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    return sorted({m.group(1).decode() for m in HEADER_RE.finditer(head)}) or ["Subject"]


def _insert_in_header(raw, rng, junk, name=None):
    name = name or rng.choice(_headers(raw))
    pattern = re.compile(rb"(?mi)^(" + re.escape(name.encode()) + rb":[ \t]*)([^\r\n]*)")
    match = pattern.search(raw)
    if not match:
        return name.encode() + b": " + junk + b"\r\n" + raw
    value = match.group(2)
    cut = rng.randint(0, len(value))
    return raw[: match.start(2)] + value[:cut] + junk + value[cut:] + raw[match.end(2) :]


# ---------------------------------------------------------------------------------------------
# Mutations: (raw, rng) -> bytes (or str, fed as such to message_process)
# ---------------------------------------------------------------------------------------------
def truncate(raw, rng):
    return raw[: rng.randint(0, len(raw))]


def flip_bytes(raw, rng):
    data = bytearray(raw)
    for _i in range(rng.randint(1, 32)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def nul_in_header(raw, rng):
    return _insert_in_header(raw, rng, b"\x00" * rng.randint(1, 3))


def nul_in_subject(raw, rng):
    return _insert_in_header(raw, rng, b"A\x00B\x00", name="Subject")


def surrogate_in_header(raw, rng):
    return _insert_in_header(raw, rng, LONE_SURROGATE)


def lone_surrogate_str(raw, rng):
    """The message as ``str`` (as XML-RPC hands it) with a real lone surrogate."""
    text = raw.decode("utf-8", "replace")
    name = rng.choice(_headers(raw))
    return re.sub(
        r"(?mi)^(" + re.escape(name) + r":[ \t]*)", lambda m: m.group(1) + "\ud800", text, count=1
    )


def eight_bit_header(raw, rng):
    return _insert_in_header(raw, rng, bytes(rng.randrange(128, 256) for _i in range(8)))


MISDECLARED = [b"utf-8", b"us-ascii", b"x-unknown", b"utf-7", b"utf-16", b"iso-2022-jp", b"\xff"]


def misdeclared_charset(raw, rng):
    charset = rng.choice(MISDECLARED)
    raw = re.sub(rb"(?i)charset=\"?[A-Za-z0-9_.:-]+\"?", b"charset=" + charset, raw)
    if b"charset=" not in raw.lower():
        raw = b"Content-Type: text/plain; charset=" + charset + b"\r\n" + raw
    # 8-bit bytes in the body that match no declared charset
    return raw + b"\r\n\xe9\xe8\xff\xfe latin-1 and junk \xc3\x28\r\n"


def encoded_word_garbage(raw, rng):
    word = rng.choice(
        [b"=?utf-8?b?////?=", b"=?x-unknown?q?Al=E9?=", b"=?utf-8?q?=FF=FE?=", b"=?iso-8859-1?b?"]
    )
    return _insert_in_header(raw, rng, b" " + word + b" ")


def received_flood(raw, rng):
    hop = (
        b"Received: from relay%d.example.net (relay%d [192.0.2.%d]) by mx.test;"
        b" Tue, 10 Nov 2026\r\n"
    )
    count = rng.randint(200, 600)
    return b"".join(hop % (i, i, i % 250) for i in range(count)) + raw


def long_header_line(raw, rng):
    name = rng.choice([b"Subject", b"X-Long", b"References", b"To"])
    value = (
        b"x" * 20_000 if name != b"To" else b", ".join(b"r%d@many.test" % i for i in range(1500))
    )
    return name + b": " + value + b"\r\n" + raw


def header_only(raw, rng):
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    return head if rng.random() < 0.5 else head + b"\r\n\r\n"


def nested_rfc822(raw, rng, depth=50):
    message = raw
    for level in range(depth):
        message = (
            b"From: layer%d@relay.test\r\nTo: nobody@example.com\r\n" % level
            + b"Subject: Fwd: layer %d\r\nMIME-Version: 1.0\r\n" % level
            + b"Content-Type: message/rfc822\r\n\r\n"
            + message
        )
    return message


def big_attachment(raw, rng, size=BIG_ATTACHMENT_BYTES):
    """A mail with one ``size``-byte attachment (random, incompressible)."""
    data = rng.randbytes(size)
    import base64

    encoded = base64.encodebytes(data)
    boundary = b"==fuzz-boundary=="
    return (
        b"From: Alice Sender <alice@customer.test>\r\nTo: nobody@example.com\r\n"
        b"Subject: Big attachment\r\nMessage-Id: <big-1@customer.test>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
        b"--" + boundary + b"\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--" + boundary + b"\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="big.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--" + boundary + b"--\r\n"
    )


MUTATIONS = [
    truncate,
    flip_bytes,
    nul_in_header,
    nul_in_subject,
    surrogate_in_header,
    lone_surrogate_str,
    eight_bit_header,
    misdeclared_charset,
    encoded_word_garbage,
    received_flood,
    long_header_line,
    header_only,
    nested_rfc822,
]


def mutants(corpus, seed, count, mutations=None):
    """``count`` mangled mails ``(label, message)``, reproducible from ``seed``.

    Each takes a corpus mail, gives it a Message-Id of its own (so that two mutants
    are two messages, not a re-delivery), then applies one to three mutations.
    """
    rng = random.Random(seed)
    mutations = mutations or MUTATIONS
    for index in range(count):
        name, raw = corpus[rng.randrange(len(corpus))]
        raw = with_message_id(raw, f"<fuzz-{seed}-{index}@fuzz.test>")
        chosen = [rng.choice(mutations) for _i in range(rng.choice((1, 1, 2, 3)))]
        message = raw
        for mutation in chosen:
            if isinstance(message, str):
                break
            message = mutation(message, rng)
        label = f"{name}+{'+'.join(m.__name__ for m in chosen)}#{index}"
        yield label, message
