// Browser tests of the staff pages, in headless Debian Chromium driven by
// playwright-core (never a downloaded browser). Started by
// crates/cli/tests/browser.rs against a running `gatehouse demo`:
//
//   node tests/browser/run.mjs http://127.0.0.1:PORT
//
// Environment: GATEHOUSE_HEALTH_KEY (the demo's lei-health key, to publish
// fixtures through the API), SCREENSHOT_DIR (default target/screenshots).
// Uses the demo's published staff accounts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.argv[2] || process.env.GATEHOUSE_BASE_URL;
if (!BASE) {
  console.error('usage: node tests/browser/run.mjs <base-url>');
  process.exit(2);
}
const HEALTH_KEY = process.env.GATEHOUSE_HEALTH_KEY || '';
const SHOTS = process.env.SCREENSHOT_DIR || path.resolve('target/screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const PN = 'E5678FG';
const RUN = Date.now().toString(36);
const CANARY = `CANARY-browser-clinical-${RUN}`;
const OFFICER = { username: 'officer.leeds', password: 'demo-officer-leeds' };
const NURSE = { username: 'nurse.leeds', password: 'demo-nurse-leeds' };
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

fs.mkdirSync(SHOTS, { recursive: true });
const contexts = [];
const externalRequests = [];

/** A browser of its own (fresh user-data-dir), so two staff members have separate sessions. */
async function browser(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gatehouse-chromium-${name}-`));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
  });
  context.on('request', (r) => {
    if (!r.url().startsWith(BASE) && !r.url().startsWith('data:') && !r.url().startsWith('about:')) {
      externalRequests.push(r.url());
    }
  });
  contexts.push({ context, dir });
  const page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (e) => { throw e; });
  return page;
}

async function signIn(page, who) {
  await page.goto(`${BASE}/`);
  assert.match(page.url(), /\/sign-in/);
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
  assert.ok(!page.url().includes('/sign-in'), `signed in as ${who.username}`);
}

function reviewBy() {
  const d = new Date(Date.now() + 90 * 24 * 3600 * 1000);
  return d.toISOString().slice(0, 10);
}

/** Publishes a notice through the API as the Leeds healthcare unit. */
async function publishApi(instruction, audience) {
  assert.ok(HEALTH_KEY, 'GATEHOUSE_HEALTH_KEY is needed to publish fixtures');
  const r = await fetch(`${BASE}/v1/people/${PN}/safety-notices`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${HEALTH_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      category: 'observation-required', instruction, audience,
      clinicalDetail: `Sertraline 100mg OD. ${CANARY}`,
      lawfulBasis: 'direct-care', reviewBy: reviewBy(),
      author: { role: 'Registered nurse', registration: { body: 'NMC', number: '12A3456E' } },
    }),
  });
  assert.equal(r.status, 201, await r.text());
}

const WING_INSTRUCTION = `Check through the door at every roll check (${RUN}).`;
const ESCORT_INSTRUCTION = `Constant observation during the journey; no ligature points (${RUN}).`;
const WING_ONLY = `Wing only: offer a listener each evening (${RUN}).`;

before(async () => {
  await publishApi(WING_INSTRUCTION, ['all-staff']);
  await publishApi(ESCORT_INSTRUCTION, ['escort']);
  await publishApi(WING_ONLY, ['wing']);
});

after(async () => {
  for (const { context, dir } of contexts) {
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(externalRequests, [], 'the pages make no external requests');
});

test('an officer signs in, finds a person, and sees the instruction but not the clinical detail', async () => {
  const page = await browser('officer1');
  await signIn(page, OFFICER);
  await page.getByLabel('Prison number').fill(PN);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Find' }).click()]);
  assert.equal(new URL(page.url()).pathname, `/people/${PN}`);
  await page.getByText(WING_INSTRUCTION).waitFor();
  const text = await page.locator('main').innerText();
  assert.ok(text.includes(WING_INSTRUCTION));
  assert.ok(text.includes('Custody and location'));
  const html = await page.content();
  assert.ok(!html.includes(CANARY), 'no clinical detail on the officer page');
  assert.ok(!html.includes('Sertraline'));
  // Keyboard: the skip link is the first thing focused and leads to the main content.
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.textContent);
  assert.equal(focused, 'Skip to main content');
  await page.screenshot({ path: path.join(SHOTS, 'officer-person-page.png'), fullPage: true });
});

test('a nurse publishes a notice and the officer\'s open page shows it within 2 seconds, without a reload', async () => {
  const officer = await browser('officer2');
  await signIn(officer, OFFICER);
  await officer.goto(`${BASE}/people/${PN}`);
  await officer.evaluate(() => { window.__gatehouseNoReload = 'still-here'; });

  const nurse = await browser('nurse');
  await signIn(nurse, NURSE);
  await nurse.goto(`${BASE}/people/${PN}`);
  await Promise.all([nurse.waitForNavigation(), nurse.getByRole('button', { name: 'Publish a safety notice' }).click()]);
  const instruction = `Seizure risk. Look through the door at every roll check. If fitting: call code blue and note the time (${RUN}).`;
  await nurse.getByLabel('Category').selectOption('seizure-risk');
  await nurse.getByLabel('Instruction for staff').fill(instruction);
  await nurse.getByLabel('Wing staff').check();
  await nurse.getByLabel('Escort staff').check();
  await nurse.getByLabel('Clinical detail (healthcare only, optional)').fill(`Levetiracetam 750mg BD. ${CANARY}`);
  await nurse.getByLabel('Your role').fill('Registered nurse');
  await nurse.getByLabel('Professional register').selectOption('NMC');
  await nurse.getByLabel('Registration number').fill('12A3456E');
  await Promise.all([nurse.waitForNavigation(), nurse.getByRole('button', { name: 'Preview what staff will see' }).click()]);
  assert.equal(await nurse.locator('.gh-error-summary').count(), 0, await nurse.locator('main').innerText());
  const wingPreview = nurse.locator('[data-reader="Wing officers"] .gh-notice__body');
  assert.ok((await wingPreview.innerText()).includes(instruction), 'the preview shows the instruction');
  assert.ok(!(await wingPreview.innerHTML()).includes(CANARY), 'the preview has no clinical detail');
  const previewBody = (await wingPreview.innerText()).trim();
  await nurse.screenshot({ path: path.join(SHOTS, 'nurse-preview.png'), fullPage: true });

  await Promise.all([nurse.waitForNavigation(), nurse.getByRole('button', { name: 'Publish notice' }).click()]);
  const published = Date.now();
  assert.match(nurse.url(), /done=published/);

  const card = officer.locator('.gh-notice__body', { hasText: instruction });
  await card.waitFor({ timeout: 2000 });
  const elapsed = Date.now() - published;
  assert.ok(elapsed <= 2000, `shown after ${elapsed} ms`);
  assert.equal(await officer.evaluate(() => window.__gatehouseNoReload), 'still-here', 'the page was not reloaded');
  assert.equal((await card.innerText()).trim(), previewBody, 'the officer sees what the nurse previewed');
  assert.ok(!(await officer.content()).includes(CANARY));
  await officer.screenshot({ path: path.join(SHOTS, 'officer-live-update.png'), fullPage: true });
});

test('the handover sheet prints the active escort instructions and no clinical detail', async () => {
  const page = await browser('nurse-print');
  await signIn(page, NURSE);
  await page.goto(`${BASE}/people/${PN}/handover`);
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('header.gh-header').isVisible(), false, 'the header is not printed');
  const printed = await page.locator('main').innerText();
  assert.ok(printed.includes(ESCORT_INSTRUCTION), 'escort instruction printed');
  assert.ok(printed.includes(WING_INSTRUCTION), 'all-staff instruction printed');
  assert.ok(!printed.includes(WING_ONLY), 'wing-only instruction not on the escort sheet');
  assert.ok(!(await page.content()).includes(CANARY), 'no clinical detail');
  assert.ok(printed.includes('Active alerts'));
  await page.screenshot({ path: path.join(SHOTS, 'handover-print.png'), fullPage: true });
  const pdf = await page.pdf({ path: path.join(SHOTS, 'handover.pdf'), format: 'A4', printBackground: false });
  assert.ok(pdf.length > 1000, 'a PDF was printed');
});

test('the attendance dashboard draws its charts as inline SVG, DNA and WNB apart, and offers the CSV', async () => {
  const page = await browser('dashboard');
  await signIn(page, NURSE);
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Healthcare attendance dashboard' }).click()]);
  assert.equal(new URL(page.url()).pathname, '/attendance');
  await page.locator('svg.gh-chart').first().waitFor();
  // Every chart is drawn with a real size, and names itself for assistive technology.
  const charts = await page.locator('svg.gh-chart').evaluateAll((svgs) => svgs.map((s) => {
    const r = s.getBoundingClientRect();
    return { id: s.id, w: r.width, h: r.height, title: s.querySelector('title')?.textContent || '', role: s.getAttribute('role') };
  }));
  assert.ok(charts.length >= 6, `six or more charts: ${JSON.stringify(charts)}`);
  for (const c of charts) {
    assert.ok(c.w > 100 && c.h > 50, `chart ${c.id} is drawn: ${JSON.stringify(c)}`);
    assert.ok(c.title.length > 0 && c.role === 'img', `chart ${c.id} has a title`);
  }
  // The trend: three separate lines, each with points from the demo's year of appointments.
  for (const key of ['attended', 'did-not-attend', 'was-not-brought']) {
    const d = await page.locator(`#chart-trend [data-series="${key}"] path`).getAttribute('d');
    const points = (d.match(/[ML]/g) || []).length;
    assert.ok(points >= 4, `the ${key} line has points: ${d.slice(0, 80)}`);
  }
  // DNA and WNB reasons are separate charts; neither holds the other's reasons.
  const dna = await page.locator('#chart-dna-reasons').textContent();
  const wnb = await page.locator('#chart-wnb-reasons').textContent();
  assert.ok(!dna.includes('No escort staff') && !dna.includes('Lockdown'), 'no WNB reason among DNA reasons');
  assert.ok(!wnb.includes('Refused') && !wnb.includes('Declined at door'), 'no DNA reason among WNB reasons');
  // The data tables are there for each chart.
  assert.equal(await page.locator('details.gh-chart-table').count(), charts.length);
  // The CSV, with this browser's session.
  const href = await page.locator('#download-csv').getAttribute('href');
  const csv = await page.request.get(`${BASE}${href}`);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /^text\/csv/);
  assert.ok((await csv.text()).length > 100, 'the CSV has rows');
  await page.screenshot({ path: path.join(SHOTS, 'attendance-dashboard.png'), fullPage: true });
});

test('an officer opens today\'s unlock list, records an outcome from it, and it prints', async () => {
  const page = await browser('unlock');
  await signIn(page, OFFICER);
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Unlock and escort list' }).click()]);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Show the list' }).click()]);
  assert.match(new URL(page.url()).pathname, /^\/establishments\/LEI\/appointments$/);
  await page.getByRole('heading', { name: /Unlock and escort list/ }).waitFor();
  const entries = page.locator('tr.gh-unlock__entry');
  const count = await entries.count();
  if (count > 0) {
    // In time order.
    const times = await page.locator('.gh-unlock__time').allInnerTexts();
    const starts = times.map((t) => t.trim().slice(0, 5));
    assert.deepEqual(starts, [...starts].sort(), 'entries are in time order');
    const form = page.locator('form.gh-unlock__form[action$="/attendance"]').first();
    if (await form.count() > 0) {
      const id = await form.evaluate((f) => f.closest('tr').dataset.appointment);
      // DNA and WNB reasons sit in separate groups of the select.
      const groups = await form.locator('optgroup').evaluateAll((gs) => gs.map((g) => g.label));
      assert.ok(groups.some((g) => g.startsWith('Did not attend')) && groups.some((g) => g.startsWith('Was not brought')));
      await form.locator('select').selectOption('was-not-brought:regime-curtailed');
      const correction = form.locator('input[name="correction-reason"]');
      if (await correction.count() > 0) await correction.fill('Recorded from the browser test');
      await Promise.all([page.waitForNavigation(), form.getByRole('button').click()]);
      assert.match(page.url(), /done=recorded/);
      assert.ok((await page.locator(`#appt-${id}`).innerText()).includes('Was not brought: regime curtailed'));
    }
  } else {
    await page.locator('#no-appointments').waitFor();
  }
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('header.gh-header').isVisible(), false, 'the header is not printed');
  assert.equal(await page.locator('form.gh-unlock__form').first().isVisible().catch(() => false), false, 'the forms are not printed');
  await page.screenshot({ path: path.join(SHOTS, 'unlock-list-print.png'), fullPage: true });
  const pdf = await page.pdf({ path: path.join(SHOTS, 'unlock-list.pdf'), landscape: true, printBackground: false });
  assert.ok(pdf.length > 1000, 'a PDF was printed');
});
