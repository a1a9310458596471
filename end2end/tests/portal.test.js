import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, newPage, login, noProblems } from './helpers.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 375, height: 800 }]]) {
  test(`a partner creates a link, follows it and sees the click (${name})`, async () => {
    const page = await newPage(browser, viewport);
    await login(page, 'ava.thompson@partners.example');
    await page.waitForURL(`${BASE}/portal`);
    await page.getByText('Your links').waitFor();
    await page.fill('input[name=destination]', 'https://shop.northwind.example/tents');
    await page.getByRole('button', { name: 'Create link' }).click();
    const notice = page.getByRole('status');
    await notice.waitFor();
    const url = (await notice.locator('code').innerText()).trim();
    assert.match(url, /\/r\/[A-Za-z0-9]{8}$/);
    const row = page.locator('table.links tbody tr', { hasText: url });
    await row.waitFor();
    const clicksBefore = Number(await row.locator('td').nth(2).innerText());
    const visit = await page.request.get(url, { maxRedirects: 0 });
    assert.equal(visit.status(), 302);
    assert.match(visit.headers()['location'], /^https:\/\/shop\.northwind\.example\/tents\?trellis_click=/);
    await page.waitForTimeout(600); // the click buffer flushes every 250 ms
    await page.reload();
    await page.locator('table.links tbody tr', { hasText: url }).waitFor();
    assert.equal(Number(await page.locator('table.links tbody tr', { hasText: url }).locator('td').nth(2).innerText()), clicksBefore + 1);
    await page.screenshot({ path: `${SHOTS}/portal-links-${name}.png`, fullPage: true });
    noProblems(page);
  });
}
