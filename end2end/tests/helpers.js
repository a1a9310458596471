// Shared Playwright setup: Debian's Chromium, console errors and hydration warnings fail the test.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';

export const BASE = process.env.TRELLIS_E2E_URL ?? 'http://127.0.0.1:3000';
export const PASSWORD = 'trellis-demo';
export const SHOTS = new URL('../screenshots/', import.meta.url).pathname;
fs.mkdirSync(SHOTS, { recursive: true });

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** A page that records every console error or warning and uncaught exception. */
export async function newPage(browser, viewport = { width: 1360, height: 860 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (msg) => {
    const t = msg.type();
    const text = msg.text();
    if (t === 'error' || (t === 'warning' && /hydrat/i.test(text))) page.problems.push(`${t}: ${text}`);
  });
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  return page;
}

/** Waits until the wasm has hydrated the page. */
export async function hydrated(page) {
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('.wasm')));
  await page.waitForLoadState('networkidle');
}

export async function login(page, email) {
  await page.goto(`${BASE}/login`);
  await hydrated(page);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
}

export function noProblems(page) {
  // A 401 from `me` on the sign-in page is expected for a visitor; the browser logs the status.
  const real = page.problems.filter((p) => !/status of 401/.test(p));
  assert.deepEqual(real, [], 'console errors or hydration warnings');
}
