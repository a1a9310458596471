// The partner journey end to end: apply on the public page, confirm the email (the link is read
// from the outbox: no SMTP in tests), be approved by a team member, sign in, create a link,
// follow it, and see a conversion posted through the REST API appear with its pending commission.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BASE, SHOTS, PASSWORD, launch, newPage, hydrated, login, noProblems } from './helpers.js';

const DB = process.env.TRELLIS_E2E_DB ?? '/tmp/p.db';
const KEY = process.env.TRELLIS_E2E_API_KEY;

function sql(query) {
  return execFileSync('sqlite3', [DB, query], { encoding: 'utf8' }).trim();
}

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 375, height: 812 }]]) {
  test(`apply, verify, get approved, link, click and conversion (${name})`, { skip: !KEY && 'TRELLIS_E2E_API_KEY not set' }, async () => {
    const email = `e2e.${name}.${Date.now()}@apply.example`;
    const password = 'e2e-password-1';
    const page = await newPage(browser, viewport);
    await page.goto(`${BASE}/apply/1`);
    await hydrated(page);
    await page.getByRole('heading', { name: /Join the Northwind Partner Program/ }).waitFor();
    await page.screenshot({ path: `${SHOTS}/portal-apply-${name}.png`, fullPage: true });
    await page.fill('input[name=name]', `E2E ${name}`);
    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', password);
    await page.fill('input[name=company]', 'Trail Notes');
    // Required custom questions of the demo account, if any, get a valid answer.
    for (const sel of await page.locator('.apply-questions select').all()) {
      const values = await sel.locator('option').evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
      await sel.selectOption(values[0]);
    }
    for (const input of await page.locator('.apply-questions input').all()) {
      const type = await input.getAttribute('type');
      await input.fill(type === 'number' ? '1000' : type === 'date' ? '2026-01-01' : 'Outdoor blog');
    }
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('heading', { name: 'Application received' }).waitFor();

    // The verification link, from the outbox.
    const body = sql(`SELECT body_text FROM outbox WHERE kind = 'partner_verify_email' AND to_email = '${email}' ORDER BY id DESC LIMIT 1`);
    const link = body.match(/https?:\/\/\S+\/portal\/verify\/[0-9a-f]{64}/)[0];
    await page.goto(`${BASE}${new URL(link).pathname}`);
    await hydrated(page);
    await page.getByRole('button', { name: 'Confirm my email' }).click();
    await page.getByText(`${email} is confirmed`).waitFor();

    // A program manager approves the pending enrollment.
    const partnerId = sql(`SELECT id FROM partners WHERE email = '${email}'`);
    const team = await newPage(browser, viewport);
    await login(team, 'manager@demo.trellis.dev');
    await team.waitForURL(/\/directory/);
    const res = await team.request.post(`${BASE}/api/partners/enrollment`, {
      form: { partner_id: partnerId, program_id: '1', what: 'status', value: 'active' },
    });
    assert.equal(res.status(), 200);
    assert.equal(sql(`SELECT count(*) FROM outbox WHERE kind = 'application_approved' AND to_email = '${email}'`), '1');

    // Sign in as the new partner.
    await page.goto(`${BASE}/login`);
    await hydrated(page);
    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${BASE}/portal`);
    await page.getByRole('heading', { name: 'Your links' }).waitFor();
    assert.equal(await page.locator('.verify-notice').count(), 0, 'verified: no notice');

    await page.fill('input[name=destination]', 'https://shop.northwind.example/tents');
    await page.getByRole('button', { name: 'Create link' }).click();
    const url = (await page.locator('.notice code').innerText()).trim();
    // A person's browser (headless Chromium's user agent counts as a bot, which the dashboard leaves out).
    const visit = await page.request.get(url, { maxRedirects: 0, headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36' } });
    assert.equal(visit.status(), 302);
    await page.waitForTimeout(600); // the click buffer flushes every 250 ms
    await page.reload();
    await hydrated(page);
    const clicks = page.locator('.perf [data-kpi=clicks]').first();
    await clicks.waitFor();
    assert.equal(await clicks.innerText(), '1');
    assert.equal(await page.locator('.perf [data-bal=pending]').first().innerText(), '0.00 USD');

    const tierBefore = await page.locator('.tp-missing').first().innerText();
    assert.match(tierBefore, /5 more conversions .* to reach Silver/);
    // A conversion through the REST API.
    const conv = await page.request.post(`${BASE}/api/v1/conversions`, {
      headers: { authorization: `Bearer ${KEY}` },
      data: { program_id: 1, external_id: `e2e-${name}-${Date.now()}`, amount: '250.00', partner_id: Number(partnerId) },
    });
    assert.ok(conv.ok(), await conv.text());
    await page.reload();
    await hydrated(page);
    await page.locator('table.recent-conversions tbody tr').first().waitFor();
    assert.equal(await page.locator('.perf [data-kpi=conversions]').first().innerText(), '1');
    assert.notEqual(await page.locator('.perf [data-bal=pending]').first().innerText(), '0.00 USD');
    assert.match(await page.locator('table.recent-conversions tbody tr').first().innerText(), /250\.00 USD[\s\S]*pending/);
    assert.match(await page.locator('.tp-missing').first().innerText(), /4 more conversions .* to reach Silver/, 'the tier progress moved');
    await page.screenshot({ path: `${SHOTS}/portal-dashboard-${name}.png`, fullPage: true });
    noProblems(page);
  });
}
