// A network of real `atalaya` processes on loopback, built with the CLI as a user would.
//
// This mirrors `crates/atalaya/tests/common/mod.rs` (`TestNet::new`, `TestNode::start`): the
// coordinator (index 0) and the members are created with `atalaya init`, admitted with
// `atalaya roster add`, the signed roster is copied to every member, and each node is started
// with `atalaya serve` and the same fast-federation environment, then awaited on `/readyz`.
//
//   const net = await startNet(['cl-csirt']);   // coordinator + cl-csirt, started
//   t.after(() => net.stop());                  // always: kills every process, removes the dir
//   const { status, body } = await net.node('cl-csirt').api('GET', '/api/v1/status');
//
// The binary comes from `ATALAYA_BIN` (set by `cargo xtask e2e`). Set `ATALAYA_E2E_KEEP=1` to keep
// the temporary directory (configs, SQLite files, `node.log` of every node) after the run.
//
// Running nodes do not keep the test file's process alive (their child handles are unref'd): when
// its tests are over, whether they stopped their network or not (a failure, a timeout), the file
// exits and an 'exit' hook SIGKILLs every node and removes every network directory left. So a
// test must not wait for a node's exit other than through `stop()` / `kill9()`.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The environment every node is started with (as `TestNode::start`). */
export const NODE_ENV = Object.freeze({
  ATALAYA_LOG: 'info',
  ATALAYA_FEDERATION__PULL_INTERVAL_MS: '400',
  ATALAYA_FEDERATION__BACKOFF_BASE_MS: '100',
  ATALAYA_FEDERATION__BACKOFF_MAX_MS: '500',
  ATALAYA_FEDERATION__REQUEST_TIMEOUT_MS: '2000',
  ATALAYA_STORE__SYNCHRONOUS: 'normal',
  ATALAYA_FEDERATION__CHECKPOINT_INTERVAL_MS: '300',
});

/** Country codes given to members in order (as `TestNet::new`). */
const MEMBER_COUNTRIES = ['CL', 'MX', 'AR', 'BR', 'CO'];

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const CLI_TIMEOUT_MS = 60_000;
const HTTP_TIMEOUT_MS = 10_000;

/** The `atalaya` binary from `ATALAYA_BIN`; throws a clear error when unset or missing. */
export function atalayaBin() {
  const bin = process.env.ATALAYA_BIN;
  if (!bin) {
    throw new Error(
      'ATALAYA_BIN is not set: it must name the atalaya binary to test. ' +
        'Run the browser tests with `cargo xtask e2e` (which builds it and sets it), or ' +
        '`cargo build -p atalaya && ATALAYA_BIN=$PWD/target/debug/atalaya ' +
        'node --test --test-concurrency=1 tests/e2e/`.',
    );
  }
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`ATALAYA_BIN=${bin}: no executable file there (build it: cargo build -p atalaya)`);
  }
  return bin;
}

/**
 * Runs `atalaya ...args`; resolves to `{ code, stdout, stderr }`. Rejects (with both outputs in
 * the message) when it exits unsuccessfully, unless `allowFailure`.
 * Options: `input` (written to stdin), `env` (added to the environment), `allowFailure`,
 * `timeoutMs`.
 */
export function atalaya(args, { input, env = {}, allowFailure = false, timeoutMs = CLI_TIMEOUT_MS } = {}) {
  const bin = atalayaBin();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${bin}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if ((code !== 0 || signal) && !allowFailure) {
        const how = signal ? `killed by ${signal}${signal === 'SIGKILL' ? ' (timeout?)' : ''}` : `exit ${code}`;
        reject(new Error(`atalaya ${JSON.stringify(args)} failed (${how})\n${stdout}\n${stderr}`));
        return;
      }
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the CLI may exit without reading its input
    child.stdin.end(input ?? '');
  });
}

// Ports for the nodes, reserved rather than found free: the same scheme, in the same claims
// directory, as `crates/atalaya/tests/common/ports.rs` (read its header for why). A port below the
// kernel's ephemeral range (so no bind(0) or outgoing connection gets it), claimed by a lock file
// `<port>.lock` created exclusively (written aside, then hard-linked into place) holding
// `<pid> <start time>`; a dead owner's claim is reclaimed under a `<port>.reclaim` guard. The
// claims last this process's life (a restarted node comes back on its port) and are removed when
// it exits. `ATALAYA_TEST_PORTS_DIR` and `ATALAYA_TEST_PORTS_RANGE` (`LOW-HIGH`) override the
// directory and the range (for the allocator's own tests).

const PORT_SPAN = 4_000; // as SPAN in ports.rs: clear of the demo's and bench's fixed ports
const claimedPorts = new Set();
let claimTmpCounter = 0;

function portsDir() {
  const dir = process.env.ATALAYA_TEST_PORTS_DIR || path.join(os.tmpdir(), 'atalaya-test-ports');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function portRange() {
  const override = process.env.ATALAYA_TEST_PORTS_RANGE;
  if (override) {
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(override);
    if (!m) throw new Error(`ATALAYA_TEST_PORTS_RANGE=${override}: expected LOW-HIGH`);
    return [Number(m[1]), Number(m[2])];
  }
  let low = 32768;
  let high = 60999;
  try {
    [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    // the usual Linux default
  }
  if (low >= 1024 + PORT_SPAN) return [low - PORT_SPAN, low - 1];
  if (high <= 65535 - PORT_SPAN) return [high + 1, high + PORT_SPAN];
  throw new Error(`the ephemeral port range ${low}-${high} leaves no room for test ports`);
}

/** A process's start time (field 22 of /proc/<pid>/stat), or null if it is gone or a zombie. */
function startTime(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(/\s+/);
    return fields[0] === 'Z' ? null : fields[19] ?? null;
  } catch {
    return null;
  }
}

function ownerLine() {
  return `${process.pid} ${startTime(process.pid) ?? ''}\n`;
}

function ownerAlive(held) {
  const [pid, start] = held.trim().split(/\s+/);
  if (!/^\d+$/.test(pid ?? '')) return true; // not a claim we understand: leave it alone
  const now = startTime(Number(pid));
  return now !== null && (!start || start === now);
}

/** Creates `file` holding `content` only if it does not exist; never seen half-written. */
function linkNew(dir, file, content) {
  const tmp = path.join(dir, `.${process.pid}.${claimTmpCounter++}.tmp`);
  fs.writeFileSync(tmp, content);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if (e.code === 'EEXIST') return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function readOrNull(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function claimPort(dir, port) {
  const lock = path.join(dir, `${port}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (linkNew(dir, lock, ownerLine())) {
      claimedPorts.add(port);
      return true;
    }
    const held = readOrNull(lock);
    if (held === null) continue; // removed meanwhile
    if (ownerAlive(held)) return false;
    // A dead owner's claim: remove it under the guard, unless someone else is already at it.
    const guard = path.join(dir, `${port}.reclaim`);
    if (!linkNew(dir, guard, ownerLine())) return false;
    let removed = false;
    try {
      const now = readOrNull(lock);
      if (now === null) removed = true;
      else if (now === held) {
        fs.rmSync(lock, { force: true });
        removed = true;
      }
    } finally {
      fs.rmSync(guard, { force: true });
    }
    if (!removed) return false;
  }
  return false;
}

function releasePort(dir, port) {
  const lock = path.join(dir, `${port}.lock`);
  if (readOrNull(lock) === ownerLine()) fs.rmSync(lock, { force: true });
  claimedPorts.delete(port);
}

/**
 * A TCP port on 127.0.0.1 reserved for this process's life (see above): no other test process,
 * Rust or Node, gets it, and the kernel never hands it out. Throws when none is left.
 */
export function reservePort() {
  const dir = portsDir();
  const [low, high] = portRange();
  const len = high - low + 1;
  const first = (process.pid * 7919 + Math.floor(Math.random() * len)) % len;
  for (let k = 0; k < len; k++) {
    const port = low + ((first + k) % len);
    if (claimPort(dir, port)) return port;
  }
  throw new Error(`no free port left in ${low}-${high} (claims in ${dir})`);
}

/** The same as `reservePort()` (the name the tests used before ports were reserved). */
export async function freePort() {
  return reservePort();
}

process.on('exit', () => {
  let dir;
  try {
    dir = portsDir();
  } catch {
    return;
  }
  for (const port of [...claimedPorts]) {
    try {
      releasePort(dir, port);
    } catch {
      // best effort: a claim left behind is reclaimed once this process is gone
    }
  }
});

/**
 * Waits until `fn()` (may be async) returns a truthy value, which it returns; else throws after
 * `timeoutMs`. Pass the test's `t.signal` as `signal` to stop polling when the test is cancelled
 * (e.g. timed out).
 */
export async function eventually(what, fn, { timeoutMs = 15_000, intervalMs = 50, signal } = {}) {
  const start = Date.now();
  let lastError;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() - start > timeoutMs) {
      const cause = lastError ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}

// Every node process started by this module, so that none outlives the test file, whatever
// happens (a failed assertion, an exception, a timed-out test, a test without `net.stop()`);
// and every network directory not yet removed by `stop()`.
const live = new Set();
const liveDirs = new Set();

function killAllNow() {
  const killed = [];
  for (const child of live) {
    try {
      child.kill('SIGKILL');
      killed.push(child.pid);
    } catch {
      // already gone
    }
  }
  live.clear();
  if (!process.env.ATALAYA_E2E_KEEP && liveDirs.size > 0) {
    // Synchronously (this runs on 'exit'): wait until the killed nodes are dead (gone or zombie),
    // or they may still write into the directories being removed.
    const deadline = Date.now() + 3_000;
    while (killed.some(isAlive) && Date.now() < deadline) {
      // busy-wait: no timers on 'exit'
    }
    for (const dir of liveDirs) {
      try {
        fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // best effort
      }
    }
  }
  liveDirs.clear();
}

/** Whether `pid` runs (neither gone nor a zombie), from /proc. */
function isAlive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  // Kept installed while cleaning up: a second signal (the test runner may send more than one)
  // must not kill this process halfway. Then die of the signal, as without this handler.
  const onSignal = () => {
    killAllNow();
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  };
  process.on(signal, onSignal);
}

export class Node {
  constructor({ id, dir, port, token }) {
    /** Node id, e.g. `coordinator`, `cl-csirt`. */
    this.id = id;
    /** Its directory (config.toml, keys/, the SQLite file, node.log). */
    this.dir = dir;
    this.port = port;
    /** The API token written by `atalaya init` (`cli.token`). */
    this.token = token;
    /** Extra environment for `serve` (set before `start()`). */
    this.env = {};
    /** The `serve` process while running. */
    this.child = null;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get config() {
    return path.join(this.dir, 'config.toml');
  }

  /** `node.log`: the node's stderr (all `serve` runs, appended). */
  log() {
    try {
      return fs.readFileSync(path.join(this.dir, 'node.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** The last `lines` lines of `node.log`. */
  logTail(lines = 40) {
    return this.log().split('\n').slice(-lines - 1).join('\n');
  }

  /** `atalaya serve --config <config>` with the fast-federation environment; waits for `/readyz`. */
  async start() {
    if (this.child) throw new Error(`${this.id} already running`);
    const logFd = fs.openSync(path.join(this.dir, 'node.log'), 'a');
    let child;
    try {
      child = spawn(atalayaBin(), ['serve', '--config', this.config], {
        env: { ...process.env, ...NODE_ENV, ...this.env },
        stdio: ['ignore', 'ignore', logFd],
      });
    } finally {
      fs.closeSync(logFd);
    }
    live.add(child);
    // A running node does not keep the test file alive: once its tests are over (passed, failed
    // or timed out, with or without `stop()`), the file exits and the 'exit' hook kills the node.
    child.unref();
    this.child = child;
    child.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        live.delete(child);
        child.exitStatus = signal ? `signal ${signal}` : `exit code ${code}`;
        resolve();
      });
    });
    child.on('error', (e) => {
      live.delete(child);
      child.exitStatus = `cannot start: ${e.message}`;
    });
    await this.#waitReady();
  }

  async #waitReady() {
    const start = Date.now();
    for (;;) {
      try {
        const r = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        await r.arrayBuffer();
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      if (this.child?.exitStatus) {
        const status = this.child.exitStatus;
        this.child = null;
        throw new Error(`${this.id} exited (${status}) before it was ready\n${this.log()}`);
      }
      if (Date.now() - start > READY_TIMEOUT_MS) {
        throw new Error(`${this.id} not ready after ${READY_TIMEOUT_MS} ms\n${this.log()}`);
      }
      await sleep(25);
    }
  }

  get running() {
    return this.child !== null && !this.child.exitStatus;
  }

  /** SIGTERM and wait (SIGKILL after 15 s, then throws: a node must stop on SIGTERM). */
  async stop() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitStatus) return;
    child.ref();
    child.kill('SIGTERM');
    const timer = new AbortController();
    const stopped = await Promise.race([
      child.exited.then(() => true),
      sleep(STOP_TIMEOUT_MS, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort(); // or the pending timer keeps the test file alive for STOP_TIMEOUT_MS
    if (!stopped) {
      child.kill('SIGKILL');
      await child.exited;
      throw new Error(`${this.id} did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
    }
  }

  /** SIGKILL: no chance to flush or say goodbye. */
  async kill9() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitStatus) return;
    child.ref();
    child.kill('SIGKILL');
    await child.exited;
  }

  /**
   * `fetch` of this node's API with its bearer token: `body` (if given) is sent as JSON, or as
   * is when it is a string. Resolves to `{ status, body, text, headers }` (`body`: parsed JSON,
   * or null).
   */
  async api(method, urlPath, body, { token = this.token, headers = {} } = {}) {
    const init = {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    };
    if (body !== undefined) {
      init.headers['content-type'] ??= 'application/json';
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const r = await fetch(`${this.url}${urlPath}`, init);
    const text = await r.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: r.status, body: json, text, headers: r.headers };
  }

  /**
   * Publishes a bulletin through the API (by default, as `TestNode::publish`, a GREEN attack
   * warning to the whole network; `fields` override or add); returns its id.
   */
  async publish(fields = {}) {
    const draft = {
      tlp: 'GREEN',
      kind: 'attack-warning',
      severity: 'high',
      title: 'Test warning',
      summary: 'Test warning.',
      ...fields,
    };
    const { status, text, body } = await this.api('POST', '/api/v1/bulletins', draft);
    if (status !== 201) throw new Error(`${this.id}: publish answered ${status}: ${text}`);
    return body.bulletin.id;
  }

  /**
   * Runs `atalaya ...args` against this node's configuration: `--config <config>` is added
   * (before a `--`, if any) unless `args` already has one, e.g.
   * `await node.cli(['user', 'add', 'ana', '--role', 'officer'], { input: 'secret\n' })`.
   * Options as `atalaya()`; resolves to `{ code, stdout, stderr }`.
   */
  cli(args, options) {
    let full = [...args];
    if (!full.some((a) => a === '--config' || a.startsWith('--config='))) {
      const sep = full.indexOf('--');
      const at = sep === -1 ? full.length : sep;
      full.splice(at, 0, '--config', this.config);
    }
    return atalaya(full, options);
  }
}

export class Net {
  constructor(dir, nodes) {
    /** The temporary directory holding every node's directory. */
    this.dir = dir;
    /** Coordinator first, then the members in order. */
    this.nodes = nodes;
  }

  node(id) {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id} (have: ${this.nodes.map((x) => x.id).join(', ')})`);
    return n;
  }

  get coordinator() {
    return this.nodes[0];
  }

  /** Starts the nodes one after the other (as `start_all`), each awaited on `/readyz`. */
  async startAll() {
    for (const n of this.nodes) {
      if (!n.child) await n.start();
    }
  }

  /** The tail of every node's log, for a failure message. */
  logTails(lines = 30) {
    return this.nodes.map((n) => `--- ${n.id} (${n.dir}/node.log) ---\n${n.logTail(lines)}`).join('\n');
  }

  /**
   * Stops every node (SIGTERM, SIGKILL if it lingers) and removes the directory, unless
   * `ATALAYA_E2E_KEEP` is set. Safe to call more than once, and when a start failed.
   */
  async stop() {
    const results = await Promise.allSettled(this.nodes.map((n) => n.stop()));
    if (process.env.ATALAYA_E2E_KEEP) {
      console.error(`ATALAYA_E2E_KEEP: node directories kept in ${this.dir}`);
    } else {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
    liveDirs.delete(this.dir);
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length) throw failed[0].reason;
  }
}

/**
 * A coordinator (`coordinator`, index 0) and `members` member nodes, created with `atalaya init`
 * and admitted with `atalaya roster add`, in a new temporary directory. Started (each awaited on
 * `/readyz`) unless `start: false`; `env` is added to every node's `serve` environment. On any
 * failure, whatever was started is stopped before the error is thrown.
 */
export async function startNet(members = ['cl-csirt'], { start = true, env = {} } = {}) {
  atalayaBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atalaya-e2e-'));
  liveDirs.add(dir);
  const network = new Net(dir, []);
  try {
    const mk = async (id, cc, extra) => {
      const port = reservePort();
      const d = path.join(dir, id);
      await atalaya([
        'init',
        '--dir', d,
        '--id', id,
        '--country', cc,
        '--team', id,
        '--listen', `127.0.0.1:${port}`,
        '--allow-private-peers',
        ...extra,
      ]);
      const token = fs.readFileSync(path.join(d, 'cli.token'), 'utf8').trim();
      const node = new Node({ id, dir: d, port, token });
      node.env = { ...env };
      return node;
    };
    network.nodes.push(await mk('coordinator', 'US', ['--coordinator']));
    const record = JSON.parse(fs.readFileSync(path.join(network.nodes[0].dir, 'node.json'), 'utf8'));
    const ckey = record.signing_key;
    for (const [i, id] of members.entries()) {
      network.nodes.push(await mk(id, MEMBER_COUNTRIES[i % MEMBER_COUNTRIES.length], ['--coordinator-key', ckey]));
    }
    const coordConfig = network.nodes[0].config;
    for (const n of network.nodes.slice(1)) {
      await atalaya(['roster', 'add', '--config', coordConfig, path.join(n.dir, 'node.json')]);
    }
    const roster = fs.readFileSync(path.join(network.nodes[0].dir, 'roster.json'));
    for (const n of network.nodes.slice(1)) {
      fs.writeFileSync(path.join(n.dir, 'roster.json'), roster);
    }
    if (start) await network.startAll();
    return network;
  } catch (e) {
    await network.stop().catch(() => {});
    throw e;
  }
}
