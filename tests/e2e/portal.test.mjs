// The public portal in a real browser against a real node: the home page lists a public
// advisory (and never a GREEN one), the search narrows the list, the advisory's page renders
// its Markdown with the author's HTML escaped; the report form is filled in, the portal's own
// script solves the proof of work in the page, the report is sent and its reference shown, and
// the node lists it in its API. In English and Spanish, with screenshots.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { launchBrowser, screenshot } from './lib/browser.mjs';
import { startNet } from './lib/net.mjs';

test('portal: advisories, search, an advisory, and a report form with proof of work, two languages', { timeout: 300_000 }, async (t) => {
  const net = await startNet(['cl-csirt']);
  t.after(() => net.stop());
  const cl = net.node('cl-csirt');
  const clear = await cl.publish({
    tlp: 'CLEAR',
    kind: 'vulnerability-advisory',
    severity: 'critical',
    title: 'Critical flaw in municipal web portals',
    summary: 'Attackers exploit a flaw in a widely used portal product.',
    body: '## What to do\n\nUpdate **now**.\n\n<script>window.__xss = 1</script>\n\n[Vendor](https://vendor.example/fix)',
    sectors: ['government'],
  });
  await cl.publish({ tlp: 'CLEAR', kind: 'informational', severity: 'low', title: 'Quarterly phishing trends', summary: 'Trends.' });
  await cl.publish({ tlp: 'GREEN', title: 'Green community-only warning', summary: 'Not public.' });

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const errors = [];
  const pages = {};
  for (const [key, locale] of [['en', 'en-US'], ['es', 'es-CL']]) {
    const p = await (await browser.newContext({ locale, viewport: { width: 1280, height: 900 } })).newPage();
    p.on('pageerror', (e) => errors.push(String(e)));
    p.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
    pages[key] = p;
  }

  await t.test('the home page, search, and an advisory', async () => {
    for (const [lang, p] of Object.entries(pages)) {
      await p.goto(`${cl.url}/`);
      assert.equal(await p.getAttribute('html', 'lang'), lang, 'the browser language is used');
      assert.match(await p.textContent('h1'), lang === 'es' ? /Avisos de seguridad públicos/ : /Public security advisories/);
      const list = await p.textContent('ul.advisories');
      assert.match(list, /Critical flaw in municipal web portals/);
      assert.match(list, /Quarterly phishing trends/);
      assert.doesNotMatch(list, /Green community-only warning/);
      await screenshot(p, `portal-home-${lang}`);
      await p.fill('#q', 'municipal');
      await Promise.all([p.waitForNavigation(), p.click('#search button[type=submit]')]);
      assert.equal(await p.locator('li.card.advisory').count(), 1);
      await Promise.all([p.waitForNavigation(), p.click('li.card.advisory h2 a')]);
      assert.match(p.url(), new RegExp(`/advisories/${clear}`));
      assert.match(await p.textContent('#body h2'), lang === 'es' ? /What to do/ : /What to do/);
      assert.match(await p.textContent('#body'), /<script>window.__xss = 1<\/script>/, 'shown as text');
      assert.equal(await p.evaluate(() => window.__xss), undefined, 'never run');
      await screenshot(p, `portal-advisory-${lang}`);
    }
  });

  await t.test('the report form, its proof of work solved by the page, a reference', async () => {
    for (const [lang, p] of Object.entries(pages)) {
      await p.goto(`${cl.url}/report?lang=${lang}`);
      assert.equal(await p.locator('section.card.state').count(), 35);
      await screenshot(p, `portal-report-index-${lang}`);
      await p.click('section[data-country="CL"] a.button');
      await p.waitForSelector('#report-form');
      await p.fill('#what', `A phishing e-mail impersonating the tax office (${lang}) <b>bold?</b>`);
      await p.fill('#when', 'today 10:00');
      await p.fill('#contact', 'person@example.org');
      await p.selectOption('#rsit', 'fraud');
      await screenshot(p, `portal-report-form-${lang}`);
      await Promise.all([p.waitForNavigation({ timeout: 120_000 }), p.click('#send')]);
      const reference = (await p.textContent('#reference')).trim();
      assert.match(reference, /^IR-CL-[0-9A-F]{10}$/);
      await screenshot(p, `portal-report-sent-${lang}`);
      const { status, body } = await cl.api('GET', '/api/v1/reports');
      assert.equal(status, 200);
      const held = body.reports.find((r) => r.reference === reference);
      assert.ok(held, `the node holds ${reference}`);
      assert.equal(held.language, lang);
      assert.match(held.what, /<b>bold\?<\/b>/, 'kept as typed, escaped only when shown');
    }
  });

  await t.test('an awareness page', async () => {
    const p = pages.es;
    await p.goto(`${cl.url}/pages/staying-safe-online`);
    assert.match(await p.textContent('h1'), /Seguridad en línea/);
    await screenshot(p, 'portal-page-es');
  });

  assert.deepEqual(errors, [], 'no script errors');
});
