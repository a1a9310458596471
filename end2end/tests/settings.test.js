import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, newPage, login, hydrated, noProblems } from './helpers.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const RUN = Date.now().toString(36);
const MEMBER = `e2e.member.${RUN}@example.com`;
const PROGRAM = `Creator Collective ${RUN}`;
const KEY = `Creator shop backend ${RUN}`;

test('an admin invites a member with a role; the member accepts and sees only what the role allows; a role change applies at once', async () => {
  const admin = await newPage(browser);
  await login(admin, 'admin@demo.trellis.dev');
  await admin.waitForURL(`${BASE}/directory`);
  await admin.click('nav a[href="/settings"]');
  await admin.waitForURL(`${BASE}/settings?tab=team`);
  await admin.getByLabel('Invite email').fill(MEMBER);
  await admin.getByLabel('Invite name').fill('Erin Example');
  await admin.getByLabel('Invite: Analytics viewer').check();
  await admin.getByRole('button', { name: 'Send invitation' }).click();
  const link = await admin.getByLabel('Link to send').inputValue();
  assert.match(link, /\/invite\/[0-9a-f]{64}$/);
  await admin.locator('table.members tbody tr', { hasText: MEMBER }).getByText('invited').waitFor();
  await admin.screenshot({ path: `${SHOTS}/settings-team-invited.png`, fullPage: true });

  const member = await newPage(browser);
  await member.goto(link);
  await hydrated(member);
  await member.getByRole('heading', { name: 'Join Northwind Outfitters' }).waitFor();
  await member.screenshot({ path: `${SHOTS}/invite-accept.png` });
  await member.getByLabel('Password').fill('erin-password-1');
  await member.getByRole('button', { name: 'Accept invitation' }).click();
  await member.waitForURL(`${BASE}/directory`);
  await member.locator('.me-roles', { hasText: 'Analytics viewer' }).waitFor();

  // Settings shows an analytics viewer only their profile; finance is refused.
  await member.click('nav a[href="/settings"]');
  await member.waitForURL(`${BASE}/settings?tab=profile`);
  await member.getByRole('heading', { name: 'Password' }).waitFor();
  assert.deepEqual(await member.locator('nav.tabs a').allInnerTexts(), ['Profile']);
  await member.screenshot({ path: `${SHOTS}/settings-profile.png`, fullPage: true });
  await member.goto(`${BASE}/finance`);
  await member.getByRole('alert').filter({ hasText: 'You do not have permission' }).first().waitFor();

  // The admin adds Finance approver; the member's next request has the right.
  await admin.reload();
  await hydrated(admin);
  const row = admin.locator('table.members tbody tr', { hasText: MEMBER });
  await row.getByText('active').waitFor();
  await row.getByLabel(`${MEMBER}: Finance approver`).check();
  await row.getByRole('button', { name: `Save roles of ${MEMBER}` }).click();
  await admin.getByRole('status').filter({ hasText: 'Roles saved' }).waitFor();
  await member.goto(`${BASE}/finance`);
  await hydrated(member);
  await member.getByRole('button', { name: 'Approve selected' }).waitFor();
  noProblems(admin);
  noProblems(member);
});

test('an admin creates a program and an API key, and posts a conversion with that key', async () => {
  const page = await newPage(browser);
  await login(page, 'admin@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.goto(`${BASE}/settings?tab=programs`);
  await hydrated(page);
  await page.locator('details.program-card summary', { hasText: 'New program' }).click();
  await page.getByLabel('Name (new program)', { exact: true }).fill(PROGRAM);
  await page.getByLabel('Currency (new program)', { exact: true }).fill('EUR');
  await page.getByLabel('Website (new program)', { exact: true }).fill('https://creators.example');
  await page.getByLabel('Allowed domains (new program)', { exact: true }).fill('shop.creators.example');
  await page.getByLabel('Commission (new program)', { exact: true }).fill('12.5');
  await page.getByLabel('Eligibility (new program)', { exact: true }).selectOption('auto');
  // A bad value is refused with the field named.
  await page.getByLabel('Cookie window (days) (new program)', { exact: true }).fill('0');
  await page.getByRole('button', { name: 'Create program' }).click();
  await page.getByRole('alert').filter({ hasText: 'cookie_days' }).waitFor();
  await page.getByLabel('Cookie window (days) (new program)', { exact: true }).fill('45');
  await page.getByRole('button', { name: 'Create program' }).click();
  const created = await page.getByRole('status').filter({ hasText: /Program #\d+ created/ }).innerText();
  const programId = Number(created.match(/#(\d+)/)[1]);
  await page.locator('details.program-card summary', { hasText: PROGRAM }).waitFor();
  await page.locator('details.program-card summary', { hasText: PROGRAM }).click();
  await page.screenshot({ path: `${SHOTS}/settings-programs.png`, fullPage: true });

  await page.click('nav.tabs a[href="/settings?tab=keys"]');
  await page.waitForURL(`${BASE}/settings?tab=keys`);
  await page.getByLabel('Key name').fill(KEY);
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = await page.getByLabel('New API key').inputValue();
  assert.match(key, /^trl_[0-9a-f]{12}_[0-9a-f]+$/);
  await page.locator('table.keys tbody tr', { hasText: KEY }).waitFor();
  await page.screenshot({ path: `${SHOTS}/settings-keys.png`, fullPage: true });

  const res = await page.request.post(`${BASE}/api/v1/conversions`, {
    headers: { Authorization: `Bearer ${key}` },
    data: { program_id: programId, external_id: `e2e-settings-${Date.now()}`, amount: '49.90', currency: 'EUR' },
  });
  assert.equal(res.status(), 201, await res.text());
  await page.reload();
  await hydrated(page);
  const keyRow = page.locator('table.keys tbody tr', { hasText: KEY });
  assert.doesNotMatch(await keyRow.locator('td').nth(3).innerText(), /never/, 'last used is shown');

  await page.click('nav.tabs a[href="/settings?tab=audit"]');
  await page.waitForURL(`${BASE}/settings?tab=audit`);
  await page.getByLabel('Kind').selectOption('program_created');
  await page.waitForURL(/kind=program_created/);
  await page.locator('table.audit tbody tr', { hasText: PROGRAM }).waitFor();
  await page.getByLabel('Kind').selectOption('');
  await page.waitForURL(`${BASE}/settings?tab=audit`);
  await page.locator('table.audit tbody tr', { hasText: 'api key created' }).first().waitFor();
  await page.screenshot({ path: `${SHOTS}/settings-audit.png`, fullPage: true });
  const csv = await page.request.get(`${BASE}/settings/audit.csv?kind=api_key_created`);
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /^at,actor,kind,subject,before,after\r\n/);
  // The one refused form above answered 422 on purpose; the browser logs that status.
  page.problems = page.problems.filter((p) => !/status of 422/.test(p));
  noProblems(page);
});
