// The census in a real browser against real node processes: the coordinator's administrator
// opens a round in the console; on a member node the liaison officer sees it arrive, finds the
// census form filled in from the team's directory record, completes and sends it; the
// coordinator's report then shows one response. In English and in Spanish, with screenshots of
// the form and the report in both languages in target/screenshots/.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { launchBrowser, screenshot } from './lib/browser.mjs';
import { eventually, startNet } from './lib/net.mjs';

const PASSWORD = 'correct horse battery staple';

async function login(page, node, username) {
  await page.goto(`${node.url}/console/login`);
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.match(page.url(), /\/console$/, `logged in at ${page.url()}`);
}

async function setLanguage(page, lang) {
  await Promise.all([page.waitForNavigation(), page.selectOption('#lang-switch', lang)]);
  assert.equal(await page.getAttribute('html', 'lang'), lang);
}

function teamRecord(id, country) {
  return {
    id,
    official_name: 'Equipo de Respuesta de Prueba (e2e)',
    short_name: 'ERP-E2E',
    country,
    team_type: 'national',
    host_organisation: 'Ministerio Ficticio',
    established: '2015-03-01',
    constituency: { types: ['National'], sectors: ['energy'] },
    services: ['incident-coordination', 'communication'],
    available_24x7: true,
    emails: [{ address: 'incidentes@csirt.example.org', usage: ['incident-report'], public: true }],
    mandate: { disseminates_nationally: true, authorised_to_share: true, assists_other_teams: false },
  };
}

test('the coordinator opens a census round, a member answers it in the form, the report counts it', { timeout: 300_000 }, async (t) => {
  const net = await startNet(['cl-csirt']);
  t.after(() => net.stop());
  const coordinator = net.coordinator;
  const member = net.node('cl-csirt');
  // The coordinator's administrator runs rounds (a second factor is exercised in console.test.mjs).
  await coordinator.cli(['user', 'add', '--username', 'olivia', '--name', 'Olivia Reyes', '--role', 'admin', '--timezone', 'America/New_York', '--password-stdin', '--no-mfa-demo-only'], { input: `${PASSWORD}\n` });
  await member.cli(['user', 'add', '--username', 'luis', '--name', 'Luis Soto', '--role', 'liaison', '--timezone', 'America/Santiago', '--password-stdin'], { input: `${PASSWORD}\n` });
  const put = await member.api('PUT', '/api/v1/teams/cl-csirt', teamRecord('cl-csirt', 'CL'));
  assert.equal(put.status, 200, put.text);
  // The coordinator holds the record too, so it expects the team's response.
  await eventually('the record reaches the coordinator', async () => (await coordinator.api('GET', '/api/v1/teams/cl-csirt')).status === 200, { signal: t.signal });

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const a = await (await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } })).newPage();
  const b = await (await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } })).newPage();
  const errors = [];
  for (const p of [a, b]) {
    p.on('pageerror', (e) => errors.push(String(e)));
    p.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  }
  await login(a, coordinator, 'olivia');
  await login(b, member, 'luis');
  const title = `Census ${Date.now()}`;
  let roundId;

  await t.test('the coordinator opens a round in the console', async () => {
    await a.click('nav a[href="/console/census"]');
    await a.waitForSelector('#open-round');
    await a.fill('#round-title', title);
    await Promise.all([a.waitForNavigation(), a.click('#open-round')]);
    roundId = a.url().split('/').pop();
    assert.match(roundId, /^[0-9a-f-]{36}$/);
    assert.equal((await a.textContent('#round-title')).trim(), title);
    await a.goto(`${coordinator.url}/console/census`);
    assert.equal(await a.getAttribute(`tr[data-round="${roundId}"]`, 'data-open'), 'true');
    await screenshot(a, 'census-rounds-en');
  });

  await t.test('the round arrives at the member; the liaison finds the form filled in', async () => {
    await eventually('the round reaches cl-csirt', async () => {
      await b.goto(`${member.url}/console/census`);
      return (await b.locator(`tr[data-round="${roundId}"]`).count()) === 1;
    }, { timeoutMs: 20_000, signal: t.signal });
    assert.equal(await b.locator('#open-round').count(), 0, 'a member does not open rounds');
    await Promise.all([b.waitForNavigation(), b.click(`tr[data-round="${roundId}"] a[href="/console/census/${roundId}"]`)]);
    assert.ok(await b.isVisible('#census-form'));
    assert.ok(await b.isVisible('#prefill-note'));
    assert.equal(await b.inputValue('#q-official_name'), 'Equipo de Respuesta de Prueba (e2e)');
    assert.equal(await b.inputValue('#q-short_name'), 'ERP-E2E');
    assert.ok(await b.isChecked('input[name="q-available_24x7"][value="true"]'));
    assert.ok(await b.isChecked('input[name="q-services"][value="incident-coordination"]'));
    assert.ok(await b.isVisible('#question-official_name .prefilled'));
    await screenshot(b, 'census-form-en');
  });

  await t.test('a bad answer comes back at its question; a good one is sent', async () => {
    await b.fill('#q-full_time_staff', '-4');
    await Promise.all([b.waitForNavigation(), b.click('#send-census')]);
    assert.ok(await b.isVisible('#census-problems'));
    assert.equal(await b.getAttribute('#question-full_time_staff .problem', 'data-code'), 'out-of-range');
    assert.equal(await b.inputValue('#q-short_name'), 'ERP-E2E', 'what was entered is kept');
    await screenshot(b, 'census-form-problem-en');
    await b.fill('#q-full_time_staff', '9');
    await b.fill('#q-priority_need', 'More analysts for the night shift.');
    await Promise.all([b.waitForNavigation(), b.click('#send-census')]);
    assert.match(await b.textContent('#census-sent'), /Sent to the coordinator \(coordinator\) at .* America\/Santiago/);
  });

  await t.test('the coordinator\'s report shows one response', async () => {
    await eventually('the response reaches the coordinator', async () => {
      await a.goto(`${coordinator.url}/console/census/${roundId}/report`);
      return /^1 \/ 1/.test((await a.textContent('#responded-teams')).trim());
    }, { timeoutMs: 20_000, signal: t.signal });
    assert.equal((await a.textContent('#report-full_time_staff .median')).trim(), '9');
    assert.ok(await a.isVisible('#report-services svg.chart'));
    await screenshot(a, 'census-report-en');
  });

  await t.test('in Spanish: the form and the report', async () => {
    await setLanguage(b, 'es');
    await b.goto(`${member.url}/console/census/${roundId}`);
    assert.match(await b.textContent('#census-last-sent'), /envió por última vez al coordinador/);
    assert.match(await b.textContent('#question-official_name label'), /Nombre oficial del equipo/);
    assert.equal((await b.textContent('#send-census')).trim(), 'Enviar al coordinador');
    assert.equal(await b.inputValue('#q-full_time_staff'), '9', 'the form shows what was sent');
    await screenshot(b, 'census-form-es');
    await setLanguage(a, 'es');
    await a.goto(`${coordinator.url}/console/census/${roundId}/report`);
    assert.match(await a.textContent('h1'), /Informe/);
    assert.match((await a.textContent('#responded-teams')).trim(), /^1 \/ 1/);
    await screenshot(a, 'census-report-es');
  });

  assert.deepEqual(errors.filter((e) => !/\/answer$/.test(e)), [], 'no page errors');
});
