import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, newPage, login, noProblems } from './helpers.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('finance approves commissions past their hold, batches them and marks the batch paid', async () => {
  const page = await newPage(browser);
  await login(page, 'finance@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.click('nav a[href="/finance"]');
  await page.waitForURL(`${BASE}/finance`);
  await page.locator('table tbody tr').first().waitFor();
  assert.ok(await page.locator('.badge.flag').count() > 0, 'self-referrals are held for review');
  await page.screenshot({ path: `${SHOTS}/finance-queue.png` });
  await page.getByLabel('Minimum age').selectOption('30');
  await page.waitForURL(/age=30/);
  await page.waitForFunction(() => [...document.querySelectorAll('table tbody tr td:nth-child(7) .sub')].every((d) => parseInt(d.innerText, 10) >= 30));
  await page.getByLabel('Minimum age').selectOption('');
  await page.waitForURL((u) => !u.search.includes('age='));

  await page.getByRole('button', { name: 'Select all approvable' }).click();
  const selected = Number((await page.locator('.actions .muted').first().innerText()).split(' ')[0]);
  assert.ok(selected > 0, 'some entries are past their hold period');
  await page.getByRole('button', { name: 'Approve selected' }).click();
  await page.getByRole('status').waitFor();
  assert.match(await page.getByRole('status').innerText(), new RegExp(`Approved ${selected}\\.`));

  await page.click('a.tab[href="/finance?view=batches"]');
  await page.waitForURL(/view=batches/);
  await page.locator('table tbody tr td', { hasText: '#1' }).waitFor();
  const rowsBefore = await page.locator('table tbody tr').count();
  await page.getByRole('button', { name: /Create payout batch/ }).click();
  await page.getByRole('status').filter({ hasText: 'Payout batch' }).waitFor();
  await page.waitForFunction((n) => document.querySelectorAll('table tbody tr').length === n + 1, rowsBefore);
  const open = page.locator('table tbody tr').first();
  assert.match(await open.innerText(), /open/);
  const csv = await page.request.get(BASE + await open.locator('a', { hasText: 'CSV' }).getAttribute('href'));
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /^batch_id,partner_id,partner_name/);
  await page.screenshot({ path: `${SHOTS}/finance-batches.png` });
  await open.getByRole('button', { name: 'Mark paid' }).click();
  await page.waitForFunction(() => /paid/.test(document.querySelector('table tbody tr td:nth-child(6)')?.innerText ?? ''));
  noProblems(page);
});

test('a conversion shows its click path and ledger entries', async () => {
  const page = await newPage(browser);
  await login(page, 'finance@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.goto(`${BASE}/finance`);
  const link = page.locator('table tbody a[href^="/conversions/"]').first();
  await link.click();
  await page.waitForURL(/\/conversions\/\d+/);
  await page.getByText('Click path').waitFor();
  assert.ok(await page.locator('.badge', { hasText: 'attributed click' }).count() === 1);
  await page.screenshot({ path: `${SHOTS}/conversion.png`, fullPage: true });
  noProblems(page);
});
