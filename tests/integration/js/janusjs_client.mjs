// janus.js (Debian's, unchanged) in headless Chromium driven by playwright-core: opens
// web/janus_echotest.html once per scenario and checks the states the page reached.
// Usage: node janusjs_client.mjs <scenario-name>=<page-url> ...
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const WANT = ['init', 'connected', 'attached', 'sent', 'result-ok', 'destroyed'];
const scenarios = process.argv.slice(2).map((a) => {
  const i = a.indexOf('=');
  return { name: a.slice(0, i), url: a.slice(i + 1) };
});

const userDataDir = mkdtempSync(join(tmpdir(), 'sb-chromium-'));
let failed = 0;
let context = null;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
    ],
  });
  console.log('ok - chromium starts');
} catch (e) {
  console.log('not ok - chromium starts');
  console.log('#   ' + String(e.stack || e).split('\n').join('\n#   '));
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}

for (const sc of scenarios) {
  const page = await context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => logs.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  let states = [];
  let error = null;
  try {
    await page.goto(sc.url, { timeout: 15000 });
    await page.waitForFunction(
      () => window.sbError || (window.sbStates && window.sbStates.includes('destroyed')),
      null, { timeout: 30000 });
  } catch (e) {
    error = String(e.message || e).split('\n')[0];
  }
  try {
    states = await page.evaluate(() => window.sbStates || []);
    error = (await page.evaluate(() => window.sbError)) || error;
  } catch (e) {
    error = error || String(e);
  }
  for (const s of WANT) {
    const ok = states.includes(s);
    console.log(`${ok ? 'ok' : 'not ok'} - ${sc.name}: page reached '${s}'`);
    if (!ok) failed++;
  }
  if (error) {
    failed++;
    console.log(`not ok - ${sc.name}: no error on the page`);
    console.log(`#   ${error}`);
    console.log(`#   states: ${JSON.stringify(states)}`);
    for (const l of logs.slice(-25))
      console.log(`#   ${l}`);
  } else {
    console.log(`ok - ${sc.name}: no error on the page`);
  }
  await page.close();
}
await context.close();
rmSync(userDataDir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
