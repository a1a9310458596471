import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, newPage, login, hydrated, noProblems } from './helpers.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a manager sees KPIs with their change, the cohort chart with its table, and at-risk partners with the reason', async () => {
  const page = await newPage(browser, { width: 1440, height: 900 });
  await login(page, 'manager@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.click('nav a[href="/analytics"]');
  await page.waitForURL(`${BASE}/analytics`);
  await page.locator('.an-kpi[data-kpi=revenue]').waitFor();
  assert.match(await page.locator('.an-kpi[data-kpi=revenue] .an-kpi-value').innerText(), /\d/);
  assert.match(await page.locator('.an-kpi[data-kpi=revenue] .an-change').innerText(), /^[+-]\d+(\.\d)?%$|^new$/);
  assert.equal(await page.locator('.an-cohort svg').count(), 1, 'the cohort chart is rendered');
  assert.equal(await page.locator('.an-cohort table tbody tr').count(), 12, 'twelve weeks beside it');
  assert.ok(await page.locator('.an-svg svg').count() >= 3, 'cohort, revenue and tier mix charts');
  await hydrated(page);
  const atRisk = page.locator('section[data-list="At risk"] tbody tr');
  if (await atRisk.count() > 0) {
    assert.ok((await atRisk.first().locator('td').nth(3).innerText()).length > 10, 'a reason in words');
  }
  await page.screenshot({ path: `${SHOTS}/analytics-dashboard.png`, fullPage: true });

  // A 90-day window keeps the program filter in the URL.
  await page.selectOption('select[name=days]', '90');
  await page.click('.an-toolbar button[type=submit]');
  await page.waitForURL(/days=90/);
  await page.locator('.an-kpi[data-kpi=revenue]').waitFor();
  assert.match(await page.locator('header.page-head p').innerText(), /Last 90 days/);

  // Downloads answer with files.
  const svg = await page.request.get(`${BASE}/analytics/charts/cohort.svg`);
  assert.equal(svg.status(), 200);
  assert.match(await svg.text(), /^<svg/);
  const csv = await page.request.get(`${BASE}/analytics/tables/cohorts.csv`);
  assert.match(await csv.text(), /^week_start,tier,revenue,conversions,partners/);
  noProblems(page);
});

test('leadership opens the executive view, which prints on one clean page set', async () => {
  const page = await newPage(browser, { width: 1280, height: 900 });
  await login(page, 'analyst@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.goto(`${BASE}/analytics/executive?days=90`);
  await page.locator('.an-exec .an-svg svg').first().waitFor();
  await hydrated(page);
  assert.ok(await page.locator('.an-exec .an-svg svg').count() >= 3);
  assert.equal(await page.locator('.an-exec a.an-dl[href^="/analytics/charts/"]').count(), 3, 'every chart downloadable');
  await page.screenshot({ path: `${SHOTS}/analytics-executive.png`, fullPage: true });
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('.sidebar').isVisible(), false, 'no navigation on paper');
  await page.screenshot({ path: `${SHOTS}/analytics-executive-print.png`, fullPage: true });
  await page.emulateMedia({ media: 'screen' });
  noProblems(page);
});

test('a manager composes a dashboard, shares it with leadership, and leadership sees it', async () => {
  const page = await newPage(browser, { width: 1360, height: 900 });
  await login(page, 'manager@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.goto(`${BASE}/analytics/dashboards`);
  await page.locator('.an-widget').first().waitFor();
  await hydrated(page);
  await page.click('.an-editor summary');
  await page.getByLabel('Dashboard name').fill('Gold watch');
  await page.getByLabel('Share with role').selectOption('analytics_viewer');
  await page.getByLabel('Widget kind').selectOption('cohort_chart');
  await page.getByLabel('Widget days').fill('56');
  await page.getByRole('button', { name: 'Add widget' }).click();
  await page.getByLabel('Widget kind').selectOption('at_risk');
  await page.getByRole('button', { name: 'Add widget' }).click();
  await page.getByRole('button', { name: 'Save dashboard' }).click();
  await page.waitForURL(/\/analytics\/dashboards\?id=\d+/);
  await page.locator('h1', { hasText: 'Gold watch' }).waitFor();
  await page.locator('.an-widget[data-widget=cohort_chart] svg').waitFor();
  await page.screenshot({ path: `${SHOTS}/analytics-custom.png`, fullPage: true });
  const url = page.url();
  noProblems(page);

  const lead = await newPage(browser, { width: 1360, height: 900 });
  await login(lead, 'analyst@demo.trellis.dev');
  await lead.waitForURL(`${BASE}/directory`);
  await lead.goto(url);
  await lead.locator('h1', { hasText: 'Gold watch' }).waitFor();
  await lead.locator('.an-widget[data-widget=cohort_chart] svg').waitFor();
  await hydrated(lead);
  assert.equal(await lead.getByRole('button', { name: 'Delete' }).count(), 0, 'only its owner may delete it');
  noProblems(lead);
});
