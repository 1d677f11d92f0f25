#!/usr/bin/env node
// Generates crates/atalaya-web/assets/americas-map.json: one SVG path per OAS member state,
// from Natural Earth 1:50m (public domain) as packaged by the npm `world-atlas` package.
//
//   npm ci && node gen.mjs           # regenerate the committed file
//   npm ci && node gen.mjs --check   # exit 1 if the committed file is out of date
//
// The output is deterministic: countries sorted by ISO alpha-2, every coordinate rounded to
// 0.1 view-box units and computed in integer tenths, so the same inputs give the same bytes.

import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { feature } from "topojson-client";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const CSV_PATH = resolve(ROOT, "data/oas_member_states.csv");
const OUT_PATH = resolve(ROOT, "crates/atalaya-web/assets/americas-map.json");
const require = createRequire(import.meta.url);
const ATLAS_VERSION = require("world-atlas/package.json").version;
const ATLAS_PATH = require.resolve("world-atlas/countries-50m.json");

// Map window (degrees) and projection: equirectangular with x scaled by cos(15°).
const LON_MIN = -170;
const LON_MAX = -30;
const LAT_MIN = -57;
const LAT_MAX = 72;
const WIDTH = 1000;
const X_SCALE = Math.cos((15 * Math.PI) / 180);
const K = WIDTH / ((LON_MAX - LON_MIN) * X_SCALE); // view-box units per degree of latitude
const HEIGHT = Math.ceil((LAT_MAX - LAT_MIN) * K);

const MIN_RING_AREA = 1; // unit²; smaller rings are dropped (a country's largest ring is kept)
const SMALL_BOX = 12; // units; a country whose bbox is smaller in both dimensions is "small"

const project = ([lon, lat]) => [(lon - LON_MIN) * X_SCALE * K, (LAT_MAX - lat) * K];

// --- member states -------------------------------------------------------------------------

function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      field = "";
      if (row.some((f) => f !== "")) rows.push(row);
      row = [];
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f !== "")) rows.push(row);
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""])));
}

// --- geometry (float, projected) -----------------------------------------------------------

// Sutherland–Hodgman clip of one ring against the view box.
function clipRing(ring) {
  const edges = [
    [(p) => p[0] >= 0, (a, b) => at(a, b, 0, 0)],
    [(p) => p[0] <= WIDTH, (a, b) => at(a, b, 0, WIDTH)],
    [(p) => p[1] >= 0, (a, b) => at(a, b, 1, 0)],
    [(p) => p[1] <= HEIGHT, (a, b) => at(a, b, 1, HEIGHT)],
  ];
  function at(a, b, axis, v) {
    const t = (v - a[axis]) / (b[axis] - a[axis]);
    const p = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
    p[axis] = v;
    return p;
  }
  let pts = ring;
  for (const [inside, cross] of edges) {
    if (pts.length === 0) break;
    const out = [];
    for (let i = 0; i < pts.length; i++) {
      const cur = pts[i];
      const prev = pts[(i + pts.length - 1) % pts.length];
      const ci = inside(cur);
      const pi = inside(prev);
      if (ci) {
        if (!pi) out.push(cross(prev, cur));
        out.push(cur);
      } else if (pi) out.push(cross(prev, cur));
    }
    pts = out;
  }
  return pts;
}

// --- geometry (integer tenths of a unit) ---------------------------------------------------

function quantize(ring) {
  const q = [];
  for (const [x, y] of ring) {
    const p = [Math.round(x * 10), Math.round(y * 10)];
    const last = q[q.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) q.push(p);
  }
  while (q.length > 1 && q[0][0] === q[q.length - 1][0] && q[0][1] === q[q.length - 1][1]) q.pop();
  // Drop exactly collinear middle points (e.g. runs along a clip edge); repeat until stable.
  let changed = true;
  let r = q;
  while (changed && r.length > 3) {
    changed = false;
    const out = [];
    for (let i = 0; i < r.length; i++) {
      const a = out.length ? out[out.length - 1] : r[r.length - 1];
      const b = r[i];
      const c = r[(i + 1) % r.length];
      const cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
      if (cross === 0) changed = true;
      else out.push(b);
    }
    r = out;
  }
  return r.length >= 3 ? r : null;
}

// Signed area (tenths²) and area-weighted centroid (tenths) of a ring.
function areaCentroid(r) {
  let a = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < r.length; i++) {
    const [x0, y0] = r[i];
    const [x1, y1] = r[(i + 1) % r.length];
    const f = x0 * y1 - x1 * y0;
    a += f;
    cx += (x0 + x1) * f;
    cy += (y0 + y1) * f;
  }
  a /= 2;
  return a === 0 ? { area: 0, c: r[0] } : { area: a, c: [cx / (6 * a), cy / (6 * a)] };
}

function insideRing(r, [x, y]) {
  let inside = false;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i];
    const [xj, yj] = r[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// Label point: the centroid of the ring if it lies inside it; otherwise the midpoint of the
// longest interior stretch of the horizontal line through the centroid (concave rings).
function labelPoint(r) {
  const { c } = areaCentroid(r);
  if (insideRing(r, c)) return c;
  const y = c[1] + 0.5; // between integer rows, so no vertex lies exactly on the line
  const xs = [];
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i];
    const [xj, yj] = r[j];
    if (yi > y !== yj > y) xs.push(((xj - xi) * (y - yi)) / (yj - yi) + xi);
  }
  xs.sort((a, b) => a - b);
  let best = null;
  for (let i = 0; i + 1 < xs.length; i += 2) {
    if (!best || xs[i + 1] - xs[i] > best[1] - best[0]) best = [xs[i], xs[i + 1]];
  }
  return best ? [(best[0] + best[1]) / 2, y] : c;
}

// --- output formatting ---------------------------------------------------------------------

// Integer tenths -> shortest decimal text ("12.3", "-0.4", "7").
function fmt(t) {
  const n = Math.round(t);
  const s = n < 0 ? "-" : "";
  const a = Math.abs(n);
  const whole = Math.floor(a / 10);
  const frac = a % 10;
  return a === 0 ? "0" : s + whole + (frac ? "." + frac : "");
}

function pair(x, y) {
  const ys = fmt(y);
  return fmt(x) + (ys.startsWith("-") ? "" : ",") + ys;
}

// Absolute move, then relative line-tos (implicit repetition), closed.
function ringPath(r) {
  let d = "M" + pair(r[0][0], r[0][1]) + "l";
  const parts = [];
  for (let i = 1; i < r.length; i++) parts.push(pair(r[i][0] - r[i - 1][0], r[i][1] - r[i - 1][1]));
  return d + parts.join(" ") + "z";
}

// --- main ----------------------------------------------------------------------------------

function generate() {
  const members = parseCsv(readFileSync(CSV_PATH, "utf8"));
  const topo = JSON.parse(readFileSync(ATLAS_PATH, "utf8"));
  const byId = new Map();
  for (const f of feature(topo, topo.objects.countries).features) {
    // A few disputed areas have no id, and some ids (e.g. 036) label several features.
    if (f.id !== undefined) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
  }

  const countries = [];
  const problems = [];
  for (const m of members) {
    const found = (byId.get(m.m49.padStart(3, "0")) ?? []).filter((f) => f.geometry);
    if (found.length !== 1) {
      problems.push(
        `${m.iso2} (${m.name_en}, m49 ${m.m49}) has ${found.length} features in countries-50m.json`,
      );
      continue;
    }
    const f = found[0];
    const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    // Every ring (exteriors and holes alike) clipped and quantized; orientation is preserved,
    // so holes keep the opposite winding of their exterior (nonzero and evenodd both work).
    const rings = [];
    for (const poly of polys) {
      for (const ring of poly) {
        const q = quantize(clipRing(ring.map(project)));
        if (q) rings.push({ r: q, area: Math.abs(areaCentroid(q).area) / 100 });
      }
    }
    if (rings.length === 0) {
      problems.push(`${m.iso2} (${m.name_en}) lies entirely outside the map window`);
      continue;
    }
    let largest = rings[0];
    for (const g of rings) if (g.area > largest.area) largest = g;
    const kept = rings.filter((g) => g === largest || g.area >= MIN_RING_AREA);

    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const { r } of kept) {
      for (const [x, y] of r) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
    const small = (x1 - x0) / 10 < SMALL_BOX && (y1 - y0) / 10 < SMALL_BOX;
    const [lx, ly] = labelPoint(largest.r);
    const clampT = (v, max) => Math.min(Math.max(Math.round(v), 0), max * 10);

    countries.push({
      code: m.iso2,
      name: m.name_en,
      d: kept.map((g) => ringPath(g.r)).join(""),
      label: [clampT(lx, WIDTH) / 10, clampT(ly, HEIGHT) / 10],
      small,
    });
  }
  if (problems.length) throw new Error(problems.join("\n"));
  countries.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));

  const source =
    `Natural Earth 1:50m (public domain) via world-atlas ${ATLAS_VERSION}; ` +
    `generated by tools/americas-map/gen.mjs`;
  const lines = countries.map((c) => "  " + JSON.stringify(c));
  return (
    "{\n" +
    `"source": ${JSON.stringify(source)},\n` +
    `"view_box": [${WIDTH}, ${HEIGHT}],\n` +
    `"countries": [\n${lines.join(",\n")}\n]\n}\n`
  );
}

const check = process.argv.includes("--check");
const unknown = process.argv.slice(2).filter((a) => a !== "--check");
if (unknown.length) {
  console.error(`usage: node gen.mjs [--check]   (unknown argument: ${unknown.join(" ")})`);
  process.exit(2);
}

let out;
try {
  out = generate();
} catch (e) {
  console.error(`americas-map: ${e.message}`);
  process.exit(2);
}
const rel = relative(process.cwd(), OUT_PATH) || OUT_PATH;
if (check) {
  let current = null;
  try {
    current = readFileSync(OUT_PATH, "utf8");
  } catch {
    // fall through: a missing file is drift too
  }
  if (current !== out) {
    console.error(
      `americas-map: ${rel} is out of date (or missing); regenerate it with ` +
        "`cd tools/americas-map && npm ci && node gen.mjs` and commit the result.",
    );
    process.exit(1);
  }
  console.log(`americas-map: ${rel} is up to date (${Buffer.byteLength(out)} bytes)`);
} else {
  mkdirSync(dirname(OUT_PATH), { recursive: true });
  writeFileSync(OUT_PATH, out);
  console.log(`americas-map: wrote ${rel} (${Buffer.byteLength(out)} bytes)`);
}
