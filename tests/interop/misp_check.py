"""PyMISP over what Atalaya emits as MISP: every exported event, and the MISP feed.

Usage: misp_check.py DIR
  DIR/events/*.json   events written by atalaya_formats::misp::export_event
  DIR/feed/           the node's /feeds/misp/: manifest.json, hashes.csv, <uuid>.json

Each event is loaded with MISPEvent().load(); its attribute count and tag names must survive
the load and a to_json()/load() round trip. The feed's manifest and hashes.csv are compared
with what PyMISP's own feed generator (pymisp.tools.feed_meta_generator) writes for the same
event files. Prints one line per check (stable order); exits 1 if any check failed.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

from pymisp import MISPEvent
from pymisp.tools import feed_meta_generator

failed = False


def say(ok, line):
    global failed
    if not ok:
        failed = True
    print(("ok   " if ok else "FAIL ") + line)


def check_event(path: Path, label: str):
    raw = json.loads(path.read_text())
    inner = raw.get("Event", raw)
    want_attrs = len(inner.get("Attribute", []))
    want_tags = sorted(t["name"] for t in inner.get("Tag", []))
    try:
        ev = MISPEvent()
        ev.load(path.read_text())
    except Exception as e:  # noqa: BLE001 - any failure to load is the finding
        say(False, f"{label}: MISPEvent().load failed: {type(e).__name__}: {e}")
        return
    got_tags = sorted(t.name for t in ev.tags)
    again = MISPEvent()
    again.load(ev.to_json())
    types = sorted({a.type for a in ev.attributes})
    ok = (
        len(ev.attributes) == want_attrs
        and got_tags == want_tags
        and len(again.attributes) == want_attrs
        and sorted(t.name for t in again.tags) == want_tags
        and str(ev.uuid) == inner["uuid"]
    )
    say(
        ok,
        f"{label}: loaded; {len(ev.attributes)}/{want_attrs} attributes ({', '.join(types)}); "
        f"tags {', '.join(got_tags)}; {len(ev.event_reports)} event report(s); "
        f"threat level {ev.threat_level_id}, distribution {ev.distribution}",
    )


def check_feed(feed: Path):
    manifest = json.loads((feed / "manifest.json").read_text())
    hashes = sorted((feed / "hashes.csv").read_text().splitlines())
    events = sorted(p for p in feed.glob("*.json") if p.name != "manifest.json")
    say(
        sorted(p.stem for p in events) == sorted(manifest),
        f"feed: manifest lists {len(manifest)} event(s), {len(events)} event file(s) fetched",
    )
    for p in events:
        check_event(p, f"feed/{'<uuid>'}.json ({json.loads(p.read_text())['Event']['info']})")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for p in events:
            shutil.copy(p, tmp / p.name)
        feed_meta_generator(tmp)
        theirs = json.loads((tmp / "manifest.json").read_text())
        their_hashes = sorted((tmp / "hashes.csv").read_text().splitlines())
    keys = ["info", "date", "analysis", "threat_level_id", "timestamp"]
    diffs = []
    for uuid, entry in theirs.items():
        ours = manifest.get(uuid)
        if ours is None:
            diffs.append(f"{uuid} missing")
            continue
        for k in keys:
            if str(ours.get(k)) != str(entry.get(k)):
                diffs.append(f"{k}: ours {ours.get(k)!r}, pymisp {entry.get(k)!r}")
        if ours.get("Orgc", {}).get("name") != entry.get("Orgc", {}).get("name"):
            diffs.append("Orgc differs")
        if sorted(t["name"] for t in ours.get("Tag", [])) != sorted(
            t["name"] for t in entry.get("Tag", [])
        ):
            diffs.append("Tag differs")
    say(
        not diffs and len(theirs) == len(manifest),
        "feed: manifest.json agrees with pymisp.tools.feed_meta_generator"
        + (" (" + "; ".join(sorted(set(diffs))) + ")" if diffs else ""),
    )
    say(
        hashes == their_hashes,
        f"feed: hashes.csv agrees with pymisp.tools.feed_meta_generator ({len(hashes)} lines)",
    )


def main():
    root = Path(sys.argv[1])
    for p in sorted((root / "events").glob("*.json")):
        check_event(p, f"events/{p.name}")
    check_feed(root / "feed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
