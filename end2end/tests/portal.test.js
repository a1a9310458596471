import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, newPage, login, hydrated, noProblems } from './helpers.js';

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

for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 375, height: 800 }]]) {
  test(`a partner keeps payout details, uploads a tax document and filters its earnings (${name})`, async () => {
    const page = await newPage(browser, viewport);
    await login(page, 'ava.thompson@partners.example');
    await page.waitForURL(`${BASE}/portal`);
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.waitForURL(`${BASE}/portal/profile`);
    await hydrated(page);
    await page.getByLabel('Payout method').selectOption('paypal');
    await page.getByLabel('Payout account (PayPal/Wise email or IBAN)').fill('ava.payouts@pay.example');
    await page.getByRole('button', { name: 'Save details' }).click();
    await page.getByText('Saved.').waitFor();
    // A file of the wrong kind is refused with a clear message; a PDF is accepted.
    await page.setInputFiles('input[type=file]', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/\/portal\/profile\?error=/);
    await page.getByRole('alert').filter({ hasText: 'not a PDF, PNG or JPEG' }).waitFor();
    await page.setInputFiles('input[type=file]', { name: `w9-${name}.pdf`, mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7\n%%EOF\n') });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(`${BASE}/portal/profile?uploaded=1`);
    await page.locator('.doc-list li', { hasText: `w9-${name}.pdf` }).waitFor();
    assert.equal(await page.locator('.compliance-summary').innerText(), 'Tax document under review');
    await page.screenshot({ path: `${SHOTS}/portal-profile-${name}.png`, fullPage: true });

    await page.getByRole('link', { name: 'Earnings' }).click();
    await page.waitForURL(`${BASE}/portal/earnings`);
    await page.locator('table.portal-conversions tbody tr').first().waitFor();
    await page.locator('select[name=status]').selectOption('paid');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=paid/);
    const statuses = await page.locator('table.portal-conversions tbody tr td:nth-child(5)').allInnerTexts();
    assert.ok(statuses.length > 0 && statuses.every((s) => s.trim() === 'paid'), statuses.join(','));
    const csv = await page.request.get(`${BASE}/portal/conversions.csv?status=paid`);
    assert.equal(csv.status(), 200);
    assert.match(await csv.text(), /^id,date,program,reference,amount,commission,commission_status,conversion_status\r\n/);
    await page.screenshot({ path: `${SHOTS}/portal-earnings-${name}.png`, fullPage: true });
    noProblems(page);
  });
}
