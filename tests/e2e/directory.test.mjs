// The directory in a real browser against three real nodes: team records put through the API,
// the member directory and a team page, the edit form (a change saved on one node shows on
// another node's directory after federation), the coverage page with its map and charts, and
// the public /directory page; in English and Spanish, with screenshots of every page.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { launchBrowser, screenshot } from './lib/browser.mjs';
import { eventually, startNet } from './lib/net.mjs';

const PASSWORD = 'correct horse battery staple';

function team(id, country, shortName) {
  return {
    id,
    official_name: `${shortName} (e2e test team)`,
    short_name: shortName,
    country,
    team_type: 'national',
    website: 'https://csirt.example.org/',
    constituency: { types: ['National'], sectors: ['energy'], asns: [64512], domains: ['*.example.org'], ip_ranges: ['192.0.2.0/24'], countries: [country] },
    services: ['incident-coordination', 'communication'],
    business_hours: { hours: '09:00-18:00 Monday to Friday', timezone: 'America/Santiago' },
    available_24x7: true,
    emails: [
      { address: `incidentes@${id}.example.org`, usage: ['incident-report'], public: true },
      { address: `guardia@${id}.example.org`, usage: ['emergency'], public: false },
    ],
    phones: [
      { number: '+56 2 555 0100', usage: ['voice'], timezone: 'America/Santiago', public: true },
      { number: '+56 9 555 0199', usage: ['emergency'], timezone: 'America/Santiago', public: false },
    ],
    mandate: { disseminates_nationally: true, authorised_to_share: true, assists_other_teams: true },
    sim3: { assessed: '2026-01-10', levels: { 'O-1': 3, 'H-1': 2 } },
    member_notes: 'Member-only note 4711',
  };
}

async function login(page, node, username) {
  await page.goto(`${node.url}/console/login`);
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.match(page.url(), /\/console$/, `logged in at ${page.url()}`);
}

test('directory pages on three nodes, edit and federation, coverage, public page, two languages', { timeout: 300_000 }, async (t) => {
  const net = await startNet(['cl-csirt', 'mx-csirt']);
  t.after(() => net.stop());
  const cl = net.node('cl-csirt');
  const mx = net.node('mx-csirt');
  for (const [node, country, name] of [[cl, 'CL', 'CSIRT-CL'], [mx, 'MX', 'CERT-MX']]) {
    const { status, body } = await node.api('PUT', `/api/v1/teams/${node.id}`, team(node.id, country, name));
    assert.equal(status, 200, JSON.stringify(body));
  }
  for (const [node, user] of [[cl, 'lia'], [mx, 'mara']]) {
    node.cli(['user', 'add', '--username', user, '--name', `${user} (e2e)`, '--role', 'liaison', '--timezone', 'America/Santiago', '--password-stdin', '--no-mfa-demo-only'], { input: `${PASSWORD}\n` });
  }
  // Records federate: the Mexican node holds the Chilean team.
  await eventually('mx holds cl-csirt', async () => (await mx.api('GET', '/api/v1/teams/cl-csirt')).status === 200, { timeoutMs: 30_000 });

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const errors = [];
  const pages = {};
  for (const [key, locale] of [['en', 'en-US'], ['es', 'es-CL']]) {
    const p = await (await browser.newContext({ locale, viewport: { width: 1366, height: 900 } })).newPage();
    p.on('pageerror', (e) => errors.push(String(e)));
    p.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
    pages[key] = p;
  }
  const a = pages.en;
  const b = await (await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } })).newPage();
  await login(a, cl, 'lia');
  await login(b, mx, 'mara');
  await login(pages.es, cl, 'lia');

  await t.test('the member directory and a team page, in English and Spanish', async () => {
    for (const [lang, p] of Object.entries(pages)) {
      await p.goto(`${cl.url}/console/directory`);
      assert.equal(await p.getAttribute('html', 'lang'), lang);
      await p.waitForSelector('#dir-table tr[data-team="mx-csirt"]');
      assert.match(await p.textContent('h1'), lang === 'es' ? /Directorio de miembros/ : /Member directory/);
      assert.match(await p.textContent('#dir-table'), lang === 'es' ? /México/ : /Mexico/);
      await screenshot(p, `directory-${lang}`);
      await p.goto(`${cl.url}/console/directory?country=MX`);
      assert.equal(await p.locator('#dir-table tbody tr').count(), 1);
      await p.goto(`${cl.url}/console/directory/team/cl-csirt`);
      assert.match(await p.textContent('#phones'), /\+56 9 555 0199/);
      assert.match(await p.textContent('#member-notes'), /Member-only note 4711/);
      await screenshot(p, `team-${lang}`);
    }
  });

  await t.test('edit on one node, see it on another node', async () => {
    await a.goto(`${cl.url}/console/directory/team/cl-csirt/edit`);
    await screenshot(a, 'team-edit-en');
    await a.fill('#short_name', 'CSIRT-CHILE');
    await Promise.all([a.waitForNavigation(), a.click('#team-form button[type=submit]')]);
    assert.match(a.url(), /\/console\/directory\/team\/cl-csirt\?saved=1$/);
    assert.match(await a.textContent('h1'), /CSIRT-CHILE/);
    // A refused input is shown with its field, nothing published.
    await a.goto(`${cl.url}/console/directory/team/cl-csirt/edit`);
    await a.fill('#ip_ranges', '10.0.0.0/33');
    await Promise.all([a.waitForNavigation(), a.click('#team-form button[type=submit]')]);
    assert.match(await a.textContent('#problems'), /ip_ranges/);
    await screenshot(a, 'team-edit-problems-en');
    await eventually('the change reaches mx', async () => {
      await b.goto(`${mx.url}/console/directory`);
      return /CSIRT-CHILE/.test(await b.textContent('#dir-table'));
    }, { timeoutMs: 30_000, intervalMs: 1000 });
    await screenshot(b, 'directory-other-node-en');
  });

  await t.test('coverage with the map and charts', async () => {
    for (const [lang, p] of Object.entries(pages)) {
      await p.goto(`${cl.url}/console/coverage`);
      assert.ok(await p.isVisible('svg.americas.coverage'));
      assert.equal(await p.locator('svg.americas g.country').count(), 35);
      assert.ok((await p.locator('figure.chart svg').count()) >= 3, 'three charts');
      assert.ok(await p.isVisible('.legend .cov-none'));
      await screenshot(p, `coverage-${lang}`);
    }
  });

  await t.test('the public directory shows public fields only', async () => {
    const anon = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
    for (const lang of ['en', 'es']) {
      await anon.goto(`${mx.url}/directory?lang=${lang}`);
      const text = await anon.textContent('main');
      assert.match(text, /CSIRT-CHILE/);
      assert.match(text, /incidentes@cl-csirt\.example\.org/);
      assert.doesNotMatch(text, /555 0199|Member-only note|guardia@/);
      assert.match(await anon.textContent('h1'), lang === 'es' ? /Directorio de CSIRT/ : /CSIRT directory/);
      await screenshot(anon, `public-directory-${lang}`);
    }
  });

  assert.deepEqual(errors, [], 'no script errors');
});
