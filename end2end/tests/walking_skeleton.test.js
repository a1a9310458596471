import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, newPage, hydrated, login, noProblems } from './helpers.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the sign-in page renders and hydrates without console errors', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE}/login`);
  await hydrated(page);
  assert.equal(await page.title(), 'Sign in · Trellis');
  await page.screenshot({ path: `${SHOTS}/login.png` });
  noProblems(page);
});

test('a wrong password shows a clear error and stays on the sign-in page', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE}/login`);
  await hydrated(page);
  await page.fill('input[name=email]', 'manager@demo.trellis.dev');
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('button[type=submit]');
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /Wrong email or password/);
  assert.ok(page.url().endsWith('/login'));
});

test('a program manager signs in, sees the directory with counts and filters by status without a reload', async () => {
  const page = await newPage(browser);
  await login(page, 'manager@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.locator('table tbody tr').first().waitFor();
  const count = async (status) => Number(await page.locator(`a.tab[data-status=${status}] .count`).innerText());
  const all = await count('all');
  assert.ok(all >= 150, `the demo's 150 partners (plus any the other specs imported), got ${all}`);
  const parts = (await count('active')) + (await count('pending')) + (await count('paused')) + (await count('suspended'));
  assert.ok(parts > 0 && parts <= all);
  await page.screenshot({ path: `${SHOTS}/directory.png`, fullPage: false });

  await page.evaluate(() => { window.__noReload = true; });
  const pending = await count('pending');
  await page.click('a.tab[data-status=pending]');
  await page.waitForURL(/status=pending/);
  await page.waitForFunction(() => document.querySelector('a.tab.active')?.dataset.status === 'pending');
  await page.waitForFunction(() => [...document.querySelectorAll('table tbody tr .badge.status-pending')].length > 0);
  const statuses = await page.locator('table tbody tr td .badge[class*=status-]').allInnerTexts();
  assert.ok(statuses.length > 0 && statuses.length === Math.min(pending, 50));
  assert.ok(statuses.every((s) => s === 'Pending'), `only pending rows, got ${statuses}`);
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the filter navigated without a page reload');

  await page.fill('input[name=q]', 'ava');
  await page.click('form.filters button[type=submit]');
  await page.waitForURL(/q=ava/);
  await page.waitForFunction(() => [...document.querySelectorAll('table tbody tr .name')].every((n) => /ava/i.test(n.closest('tr').innerText)));
  noProblems(page);
});

test('a partner signs in and lands in the portal', async () => {
  const page = await newPage(browser);
  await login(page, 'ava.thompson@partners.example');
  await page.waitForURL(`${BASE}/portal`);
  await page.getByText('Welcome back, Ava Thompson').waitFor();
  assert.match(await page.locator('article.enrollment').first().innerText(), /Tier\s+(Bronze|Silver|Gold)/);
  await page.screenshot({ path: `${SHOTS}/portal.png` });
  const phone = await newPage(browser, { width: 375, height: 760 });
  await login(phone, 'ava.thompson@partners.example');
  await phone.waitForURL(`${BASE}/portal`);
  await phone.getByText('Welcome back').waitFor();
  await phone.screenshot({ path: `${SHOTS}/portal-phone.png` });
  noProblems(page);
  noProblems(phone);
});

test('a partner cannot open the team directory; signing out ends the session', async () => {
  const page = await newPage(browser);
  await login(page, 'ava.thompson@partners.example');
  await page.waitForURL(`${BASE}/portal`);
  await page.goto(`${BASE}/directory`);
  await page.waitForURL(`${BASE}/portal`);
  await hydrated(page);
  await page.click('.signout button');
  await page.waitForURL(`${BASE}/login`);
  await page.goto(`${BASE}/portal`);
  await page.waitForURL(`${BASE}/login`);
});
