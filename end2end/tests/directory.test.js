import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, newPage, login, noProblems, hydrated } from './helpers.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a manager filters by tier and status, opens a profile and adds a note', async () => {
  const page = await newPage(browser);
  await login(page, 'manager@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.locator('table tbody tr').first().waitFor();
  await page.getByLabel('Tier', { exact: true }).selectOption('Gold');
  await page.click('a.tab[data-status=active]');
  await page.waitForURL(/status=active/);
  await page.getByLabel('Tier', { exact: true }).selectOption('Gold');
  await page.getByLabel('Sort by').selectOption('revenue');
  await page.check('input[name=desc]');
  await page.click('form.filters button[type=submit]');
  await page.waitForURL(/tier=Gold/);
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('table tbody tr')];
    return rows.length > 0 && rows.every((r) => /Gold/.test(r.innerText) && /Active/.test(r.innerText));
  });
  assert.match(page.url(), /status=active/);
  assert.match(page.url(), /sort=revenue/);
  await page.screenshot({ path: `${SHOTS}/directory-gold-active.png` });

  await page.locator('table tbody tr a.name').first().click();
  await page.waitForURL(/\/partners\/\d+/);
  await page.getByText('Activity timeline').waitFor();
  await hydrated(page);
  await page.fill('textarea[name=text]', 'Called about the autumn campaign');
  await page.click('form.note-form button[type=submit]');
  await page.locator('ol.timeline li.ev-note', { hasText: 'Called about the autumn campaign' }).waitFor();
  await page.screenshot({ path: `${SHOTS}/partner-profile.png`, fullPage: true });
  noProblems(page);
});

test('a manager pauses two partners in bulk and sees the report', async () => {
  const page = await newPage(browser);
  await login(page, 'manager@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.goto(`${BASE}/directory?status=active`);
  await hydrated(page);
  const before = Number(await page.locator('a.tab[data-status=paused] .count').innerText());
  const boxes = page.locator('table tbody tr input[type=checkbox]');
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.getByLabel('Bulk action').selectOption('status');
  await page.getByLabel('New status').selectOption('paused');
  await page.getByLabel('Reason').fill('Seasonal break');
  await page.locator('.bulk-bar button', { hasText: 'Apply' }).click();
  await page.getByRole('status').filter({ hasText: '2 changed' }).waitFor();
  await page.waitForFunction((n) => Number(document.querySelector('a.tab[data-status=paused] .count').innerText) === n + 2, before);
  await page.screenshot({ path: `${SHOTS}/directory-bulk.png` });
  noProblems(page);
});

test('a manager imports a small CSV through the mapping screen', async () => {
  const page = await newPage(browser);
  await login(page, 'manager@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.goto(`${BASE}/directory/import`);
  await hydrated(page);
  const csv = 'E-mail address,Partner name,Organisation,Niche,Program\n' +
    'e2e.one@partners.example,Eve Import,Import Co,Travel,Northwind Partner Program\n' +
    'e2e.two@partners.example,Sam Import,,Tech,Northwind Partner Program\n' +
    'not-an-email,Broken Row,,Tech,Northwind Partner Program\n';
  await page.setInputFiles('input[type=file]', { name: 'partners.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.click('form[action="/directory/import"] button[type=submit]');
  await page.waitForURL(/\/directory\/import\/\d+/);
  await hydrated(page);
  assert.equal(await page.locator('select[data-column="E-mail address"]').inputValue(), 'email');
  assert.equal(await page.locator('select[data-column="Partner name"]').inputValue(), 'name');
  await page.locator('select[data-column="Organisation"]').selectOption('company');
  await page.screenshot({ path: `${SHOTS}/import-mapping.png`, fullPage: true });
  await page.getByRole('button', { name: 'Dry run' }).click();
  await page.locator('.report', { hasText: 'Dry run' }).waitFor();
  assert.match(await page.locator('.report').innerText(), /2 new, 0 updated, 0 unchanged, 1 refused/);
  assert.match(await page.locator('.report').innerText(), /not an email address/);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.locator('.report', { hasText: 'Imported' }).waitFor();
  assert.match(await page.locator('.report').innerText(), /2 new/);
  await page.screenshot({ path: `${SHOTS}/import-done.png`, fullPage: true });
  await page.goto(`${BASE}/directory?q=import`);
  await page.locator('table tbody tr', { hasText: 'Eve Import' }).waitFor();
  noProblems(page);
});
