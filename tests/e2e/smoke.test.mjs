// Smoke test of the browser test machinery: two real nodes (the coordinator and cl-csirt), Debian's
// Chromium, and federation between them, end to end.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { launchBrowser, screenshot } from './lib/browser.mjs';
import { eventually, startNet } from './lib/net.mjs';

test('two nodes: health in the browser, a CLEAR bulletin reaches the other node\'s public list', { timeout: 180_000 }, async (t) => {
  const net = await startNet(['cl-csirt']);
  t.after(() => net.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage();

  const a = net.node('cl-csirt');
  const b = net.coordinator;

  await t.test('both nodes answer /healthz in Chromium', async () => {
    for (const node of [a, b]) {
      const response = await page.goto(`${node.url}/healthz`);
      assert.equal(response.status(), 200, `${node.id} /healthz`);
      assert.equal((await page.textContent('body')).trim(), 'ok', `${node.id} /healthz body`);
    }
    // The page as a user sees it (the coordinator's, visited last).
    await screenshot(page, 'smoke-healthz');
  });

  await t.test('a CLEAR bulletin published on cl-csirt shows in the coordinator\'s public list', async (st) => {
    const title = `E2E smoke ${Date.now()}`;
    const id = await a.publish({ tlp: 'CLEAR', kind: 'informational', severity: 'low', title, summary: 'Published by the browser smoke test.' });

    const listed = await eventually(
      `${b.id} /public/v1/bulletins lists ${id}`,
      async () => {
        const response = await page.goto(`${b.url}/public/v1/bulletins`);
        if (response.status() !== 200) return null;
        const body = await response.json();
        return body.bulletins.find((x) => x.id === id) ?? null;
      },
      { timeoutMs: 20_000, intervalMs: 250, signal: st.signal },
    ).catch((e) => {
      throw new Error(`${e.message}\n${net.logTails()}`);
    });
    assert.equal(listed.tlp, 'CLEAR');
    assert.equal(listed.origin, a.id);
    assert.equal(listed.title, title);
    // What the browser shows, not only what it received.
    const shown = await page.textContent('body');
    assert.ok(shown.includes(id) && shown.includes(title), `the page shows the bulletin:\n${shown}`);
    await screenshot(page, 'smoke-public-bulletins');
  });
});
