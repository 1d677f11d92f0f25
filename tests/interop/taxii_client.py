"""Drive a TAXII 2.1 server with the OASIS taxii2-client, as a TAXII consumer would.

Usage: taxii_client.py DISCOVERY_URL USER TOKEN PER_PAGE
Discovery -> API root -> collections (anonymous, then with Basic user:token) -> every page of
the public and network collections' objects (as_pages) -> every page of their manifests ->
one object and its versions. Prints one JSON summary on stdout; exits non-zero on any failure.
"""
import json
import sys

from taxii2client.v21 import Server, as_pages

url, user, token, per_page = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def collection_summary(c):
    objects, pages = [], 0
    for envelope in as_pages(c.get_objects, per_request=per_page):
        pages += 1
        objects.extend(envelope.get("objects", []))
    manifest = []
    for envelope in as_pages(c.get_manifest, per_request=per_page):
        manifest.extend(envelope.get("objects", []))
    first = objects[0]["id"] if objects else None
    single = c.get_object(first)["objects"] if first else []
    versions = c.object_versions(first)["versions"] if first else []
    return {
        "alias": c.alias,
        "pages": pages,
        "objects": len(objects),
        "distinct": len({o["id"] for o in objects}),
        "tlps": sorted({r for o in objects for r in o.get("object_marking_refs", [])}),
        "reports": sorted(o["name"] for o in objects if o["type"] == "report"),
        "manifest": len(manifest),
        "manifest_matches": [m["id"] for m in manifest] == [o["id"] for o in objects],
        "single": len(single),
        "versions": len(versions),
    }


anonymous = Server(url)
out = {"title": anonymous.title, "api_roots": len(anonymous.api_roots)}
root = anonymous.api_roots[0]
out["anonymous_collections"] = [c.alias for c in root.collections]
out["public"] = collection_summary(root.collections[0])

server = Server(url, user=user, password=token)
root = server.api_roots[0]
out["max_content_length"] = root.max_content_length
out["collections"] = [c.alias for c in root.collections]
network = next(c for c in root.collections if c.alias == "network")
out["network"] = collection_summary(network)
print(json.dumps(out, sort_keys=True))
