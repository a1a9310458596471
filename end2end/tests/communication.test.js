import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, newPage, login, hydrated, noProblems } from './helpers.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a team member and a partner exchange messages; unread counts follow', async () => {
  const subject = `Banner sizes ${Date.now()}`;
  // The manager starts a conversation from Ava's profile.
  const team = await newPage(browser);
  await login(team, 'manager@demo.trellis.dev');
  await team.waitForURL(`${BASE}/directory`);
  await team.goto(`${BASE}/directory?q=ava.thompson`);
  await team.locator('table tbody tr a[href^="/partners/"]').first().click();
  await team.getByRole('link', { name: 'Message' }).click();
  await team.waitForURL(/\/communication\?partner=\d+/);
  await hydrated(team);
  await team.fill('input[name=subject]', subject);
  await team.fill('textarea[name=body]', 'Hi Ava, which banner sizes work best on your blog?');
  await team.getByRole('button', { name: 'Send' }).click();
  await team.waitForURL(/\/communication\?thread=\d+/);
  await team.locator('.messages li.mine', { hasText: 'which banner sizes' }).waitFor();

  // Ava sees it unread in the portal, reads it and answers.
  const partner = await newPage(browser, { width: 375, height: 812 });
  await login(partner, 'ava.thompson@partners.example');
  await partner.waitForURL(`${BASE}/portal`);
  await partner.getByRole('link', { name: 'Messages' }).click();
  await partner.waitForURL(`${BASE}/portal/messages`);
  const row = partner.locator('.thread-list a', { hasText: subject });
  await row.waitFor();
  assert.equal(await row.locator('.unread-count').innerText(), '1');
  await row.click();
  await partner.locator('.messages li', { hasText: 'which banner sizes' }).waitFor();
  await hydrated(partner);
  await partner.fill('textarea[name=body]', '300×250 and 728×90, thanks!');
  await partner.getByRole('button', { name: 'Send' }).click();
  await partner.locator('.messages li.mine', { hasText: '728×90' }).waitFor();
  await partner.screenshot({ path: `${SHOTS}/portal-messages-phone.png`, fullPage: true });

  // The reply is unread for the team, and on Ava's timeline.
  await team.goto(`${BASE}/communication`);
  const teamRow = team.locator('.thread-list a', { hasText: subject });
  await teamRow.waitFor();
  assert.equal(await teamRow.locator('.unread-count').innerText(), '1');
  await teamRow.click();
  await team.locator('.messages li:not(.mine)', { hasText: '728×90' }).waitFor();
  await team.screenshot({ path: `${SHOTS}/communication-thread.png` });
  await team.locator('.conversation-head a', { hasText: 'Ava Thompson' }).click();
  await team.waitForURL(/\/partners\/\d+$/);
  await team.getByText(`Message “${subject}”`).first().waitFor();
  noProblems(team);
  noProblems(partner);
});

test('Settings → Email shows the outbox with each email and its state', async () => {
  const page = await newPage(browser);
  await login(page, 'admin@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.goto(`${BASE}/settings?tab=email`);
  await page.locator('table.outbox tbody tr').first().waitFor();
  await page.getByText('TRELLIS_SMTP_URL is not set').waitFor();
  const notice = page.locator('table.outbox tbody tr', { hasText: 'New message:' }).first();
  await notice.waitFor();
  await notice.locator('summary').click();
  await notice.locator('.email-body').waitFor();
  await page.screenshot({ path: `${SHOTS}/settings-email.png` });
  noProblems(page);
});

test('a manager sends a broadcast to a segment and sees its counts', async () => {
  const page = await newPage(browser);
  await login(page, 'manager@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  await page.goto(`${BASE}/communication?view=broadcasts`);
  await hydrated(page);
  const audience = page.getByLabel('Audience');
  const segment = (await audience.locator('optgroup[label=Segments] option').first().innerText()).trim();
  await audience.selectOption({ label: segment });
  const preview = page.locator('.preview');
  await preview.waitFor();
  const recipients = Number((await preview.locator('strong').innerText()).split(' ')[0]);
  assert.ok(recipients > 0, 'the segment has members');
  const subject = `December news ${Date.now()}`;
  await page.getByLabel('Subject').fill(subject);
  await page.getByLabel('Message').fill('Hi {{name}}, new creatives are in {{program}}.');
  await page.getByRole('button', { name: 'Send now' }).click();
  const row = page.locator('table.broadcasts tbody tr', { hasText: subject });
  await row.waitFor();
  assert.equal(Number(await row.locator('td').nth(2).innerText()), recipients, 'one email per member');
  assert.equal(await row.locator('td').nth(5).innerText(), '—', 'nothing delivered without SMTP yet');
  await page.screenshot({ path: `${SHOTS}/communication-broadcasts.png` });
  noProblems(page);
});

test('a manager builds a sequence and sees each partner\'s progress; templates preview with a real partner', async () => {
  const page = await newPage(browser);
  await login(page, 'manager@demo.trellis.dev');
  await page.waitForURL(`${BASE}/directory`);
  // The demo's welcome sequence shows who is where.
  await page.goto(`${BASE}/communication?view=sequences`);
  await page.locator('table.sequences a', { hasText: 'Welcome series' }).click();
  await page.waitForURL(/seq=\d+/);
  await page.locator('table.runs tbody tr').first().waitFor();
  assert.match(await page.locator('table.runs tbody tr').first().innerText(), /2 of 3 sent/);
  await page.screenshot({ path: `${SHOTS}/communication-sequence.png`, fullPage: true });

  // A new sequence with two emails.
  await page.goto(`${BASE}/communication?view=sequences&seq=new`);
  await hydrated(page);
  const name = `First sale follow-up ${Date.now()}`;
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Trigger').selectOption('first_conversion');
  await page.getByLabel('Subject of email 1').fill('Your first sale, {{partner_name}}!');
  await page.getByLabel('Text of email 1').fill('Congratulations. You earn {{rate}} as {{tier}}.');
  await page.getByRole('button', { name: 'Add an email' }).click();
  await page.getByLabel('Subject of email 2').fill('Keep it going');
  await page.getByLabel('Text of email 2').fill('{{next_tier_missing}}');
  await page.getByRole('button', { name: 'Save sequence' }).click();
  await page.waitForURL(/seq=\d+/);
  await page.getByText('No partner has entered yet.').waitFor();
  await page.goto(`${BASE}/communication?view=sequences`);
  const row = page.locator('table.sequences tbody tr', { hasText: name });
  await row.waitFor();
  assert.match(await row.innerText(), /First conversion/);

  // Templates: reword the tier upgrade email and preview it with a partner's data.
  await page.goto(`${BASE}/communication?view=templates`);
  await hydrated(page);
  const tpl = page.locator('section.template[data-kind=tier_upgraded]');
  await tpl.getByLabel('Subject of tier_upgraded').fill('{{partner_name}}, you are {{tier}} now');
  await tpl.getByRole('button', { name: 'Preview' }).click();
  const subjectShown = await tpl.locator('.preview-subject').innerText();
  assert.ok(!subjectShown.includes('{{') && subjectShown.includes(', you are '), subjectShown);
  await tpl.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Template saved.').waitFor();
  await page.screenshot({ path: `${SHOTS}/communication-templates.png`, fullPage: true });
  noProblems(page);
});
