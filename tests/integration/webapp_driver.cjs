// Drives the web app (html/dist served by the daemon) in headless Chromium, for
// test_webapp.py. Prints one JSON object per line: {"case":..., "ok":bool, "detail":...}
// or {"skip":..., "why":...}; screenshots go to the artifacts folder.
//
//   node webapp_driver.cjs <app-url> <artifacts-dir> <voice.wav> [room-server-url]
//
// room-server-url (optional) points the room pages at another Janus-compatible server
// (development against the reference server while the VideoRoom plugin is written).
// Environment: SB_WEBAPP_ONLY=room-call stops once two participants see each other (the
// HTTPS-origin test); SB_CHROMIUM_EXTRA_FLAGS adds Chromium flags (space separated).
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');

const here = __dirname;
const { chromium } = require(path.join(here, 'node_modules', 'playwright-core'));

const APP = process.argv[2];
const ART = process.argv[3];
const VOICE = process.argv[4];
const ROOM_SERVER = process.argv[5] || '';
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
  // getDisplayMedia picks the (fake) screen without asking.
  '--auto-select-desktop-capture-source=Entire screen',
  // A speech-like microphone (3 s on, 2 s off) so the talking events come and go.
  ...(VOICE ? [`--use-file-for-fake-audio-capture=${VOICE}`] : []),
  ...(process.env.SB_CHROMIUM_EXTRA_FLAGS || '').split(' ').filter(Boolean),
];
const ONLY = process.env.SB_WEBAPP_ONLY || '';

function report(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

let failures = 0;
const openPages = new Set();

async function step(name, fn) {
  try {
    await fn();
    report({ case: name, ok: true });
    return true;
  } catch (e) {
    report({ case: name, ok: false, detail: String((e && e.stack) || e).slice(0, 2000) });
    // What each open page showed at that moment, for the report.
    failures += 1;
    let i = 0;
    for (const p of openPages) {
      i += 1;
      await p.screenshot({ path: path.join(ART, `failure-${failures}-page${i}.png`) }).catch(() => {});
      const text = await p.evaluate(() => document.body.innerText.slice(0, 600)).catch(() => '');
      report({ note: `failure ${failures} page ${i} (${p.url()}): ${text.replace(/\s+/g, ' ')}` });
    }
    return false;
  }
}

// Asks test_webapp.py to do something to the server ("stop-server", "start-server") and
// waits for its one-line answer on stdin.
const stdinLines = [];
let stdinWaiter = null;
process.stdin.setEncoding('utf8');
let stdinBuf = '';
process.stdin.on('data', (chunk) => {
  stdinBuf += chunk;
  let i;
  while ((i = stdinBuf.indexOf('\n')) >= 0) {
    stdinLines.push(stdinBuf.slice(0, i));
    stdinBuf = stdinBuf.slice(i + 1);
    if (stdinWaiter) stdinWaiter();
  }
});
async function ask(action, timeoutMs = 60000) {
  report({ action });
  const end = Date.now() + timeoutMs;
  while (!stdinLines.length) {
    if (Date.now() > end) throw new Error(`no answer to ${action}`);
    await new Promise((r) => {
      stdinWaiter = r;
      setTimeout(r, 500);
    });
  }
  const answer = stdinLines.shift();
  if (answer !== 'ok') throw new Error(`${action}: ${answer}`);
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function until(fn, what, timeoutMs = 20000, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

// Video element state in the page: size and decoded frame count.
async function videoState(page, selector) {
  return page.evaluate((sel) => {
    const v = document.querySelector(sel);
    if (!v) return null;
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : { totalVideoFrames: 0 };
    return { w: v.videoWidth, h: v.videoHeight, frames: q.totalVideoFrames, t: v.currentTime, paused: v.paused };
  }, selector);
}

/** The video at selector has a size and its decoded frame count keeps growing. Chromium
 * restarts an element's counters when the stream it plays changes (a track added or
 * replaced early in a call): a count that went back is a new start, measured again (at most
 * four windows); a count that stands still fails. */
async function expectPlaying(page, selector, what) {
  let a = await until(async () => {
    const s = await videoState(page, selector);
    return s && s.w > 0 && s.frames > 0 ? s : null;
  }, `${what}: video with a size`, 30000);
  for (let tries = 1; ; tries++) {
    await page.waitForTimeout(1500);
    const b = await videoState(page, selector);
    if (b && b.frames > a.frames) return b;
    check(b && b.frames < a.frames && tries < 4, `${what}: frames advance (${a.frames} -> ${b && b.frames})`);
    a = b;
  }
}

async function main() {
  fs.mkdirSync(ART, { recursive: true });
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-webapp-'));
  const ctx = await chromium.launchPersistentContext(userDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
    permissions: ['camera', 'microphone', 'clipboard-read', 'clipboard-write'],
  });
  const logs = [];
  const open = async (label, url) => {
    const p = await ctx.newPage();
    openPages.add(p);
    p.on('close', () => openPages.delete(p));
    p.on('pageerror', (e) => logs.push(`${label} pageerror: ${e.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error') logs.push(`${label} console: ${m.text()}`);
    });
    await p.goto(url);
    return p;
  };
  const roomQuery = ROOM_SERVER ? `?server=${encodeURIComponent(ROOM_SERVER)}` : '';

  try {
    // ---- lobby --------------------------------------------------------------------
    const alice = await open('alice', `${APP}/${roomQuery}`);
    let haveRooms = true;
    await step('lobby renders with a camera preview', async () => {
      await alice.getByTestId('display-name').waitFor();
      await expectPlaying(alice, '[data-testid=preview] video', 'lobby preview');
      await alice.getByTestId('display-name').fill('Alice Martin');
      await until(() => alice.evaluate(() => document.querySelector('[data-testid=server-status]').textContent.includes('online')), 'server online');
    });
    const listState = await until(
      () => alice.evaluate(() => (document.querySelector('[data-testid=room-list]') ? 'list' : document.body.innerText.includes('No public rooms') ? 'empty' : document.body.innerText.includes('does not offer') ? 'missing' : null)),
      'room list',
      15000,
    ).catch(() => 'unknown');
    if (listState === 'missing') {
      haveRooms = false;
      report({ skip: 'room cases', why: 'the server has no janus.plugin.videoroom' });
    }

    // ---- rooms ----------------------------------------------------------------------
    if (haveRooms) {
      let bob, carol;
      const PIN = '2468';
      const aliceTile = '[data-testid=tile][data-name="Alice Martin"] video';
      const bobTile = '[data-testid=tile][data-name="Bob Chen"] video';
      let roomId;
      const joined = await step('create a room with a PIN and join it', async () => {
        await alice.getByTestId('create-desc').fill('Design review');
        await alice.getByTestId('create-max').fill('4');
        await alice.getByTestId('create-pin').fill(PIN);
        await alice.getByTestId('create-btn').click();
        await until(() => /\/room\/\d+$/.test(alice.url()), 'room URL');
        roomId = Number(/\/room\/(\d+)$/.exec(alice.url())[1]);
        await until(() => alice.evaluate(() => document.querySelector('[data-testid=room]')?.dataset.phase === 'joined'), 'joined');
        const title = await alice.getByTestId('room-title').textContent();
        check(title.includes('Design review'), `room title ${title}`);
      });
      if (joined) {
        await step('the room is listed in the lobby with a lock', async () => {
          bob = await open('bob', `${APP}/${roomQuery}`);
          await bob.getByTestId('display-name').fill('Bob Chen');
          const row = bob.locator(`[data-room="${roomId}"]`);
          await row.waitFor({ timeout: 15000 });
          const text = await row.textContent();
          check(text.includes('Design review'), `row text ${text}`);
          check((await row.locator('.lock').count()) === 1, 'lock icon');
        });
        await step('a second participant joins by number and PIN; both see each other', async () => {
          await bob.getByTestId('join-room').fill(String(roomId));
          await bob.getByTestId('join-pin').fill(PIN);
          await bob.getByTestId('join-btn').click();
          await until(() => bob.evaluate(() => document.querySelector('[data-testid=room]')?.dataset.phase === 'joined'), 'bob joined');
          await expectPlaying(bob, aliceTile, 'Bob sees Alice');
          await expectPlaying(alice, bobTile, 'Alice sees Bob');
        });
        if (ONLY === 'room-call') return;
        await step('screenshot: a room with two participants', async () => {
          await alice.bringToFront();
          await alice.waitForTimeout(2500); // let the quality chips fill in
          await alice.screenshot({ path: path.join(ART, 'room-two-participants.png') });
        });
        await step('mute shows on the other side, unmute clears it', async () => {
          await alice.getByTestId('toggle-mic').click();
          await until(() => bob.evaluate(() => document.querySelector('[data-testid=tile][data-name="Alice Martin"]')?.dataset.muted === 'true'), "Alice's tile muted on Bob's page", 15000);
          await alice.getByTestId('toggle-mic').click();
          await until(() => bob.evaluate(() => document.querySelector('[data-testid=tile][data-name="Alice Martin"]')?.dataset.muted === 'false'), "Alice's tile unmuted on Bob's page", 15000);
        });
        await step("the talking indicator follows the server's talking events", async () => {
          // The fake microphone speaks 3 s, then pauses 2 s: Alice's tile on Bob's page
          // lights up and goes dark again.
          const talking = (v) => () => bob.evaluate((want) => document.querySelector('[data-testid=tile][data-name="Alice Martin"]')?.dataset.talking === want, v);
          await until(talking('true'), "Alice's tile talking on Bob's page", 20000, 100);
          await until(talking('false'), "Alice's tile not talking in a pause", 20000, 100);
        });
        await step('screen share replaces the camera on the other side, and back', async () => {
          // The fake screen looks like the fake camera, so the proof is on the wire: Bob's
          // decoder gets a new keyframe (the encoder restarts on the new track) and the
          // frames keep coming, without a renegotiation.
          const keyframes = () => bob.evaluate(async () => {
            let n = 0;
            for (const sub of window.sbRoom.subs.values()) {
              const r = await sub.pc.getStats();
              r.forEach((x) => { if (x.type === 'inbound-rtp' && x.kind === 'video') n += x.keyFramesDecoded || 0; });
            }
            return n;
          });
          const before = await keyframes();
          await alice.getByTestId('toggle-screen').click();
          await until(() => alice.evaluate(() => document.querySelector('[data-testid=tile][data-self=true]')?.textContent.includes('presenting')), 'presenting label');
          await until(async () => (await keyframes()) > before, 'a keyframe of the screen on Bob\'s side', 20000);
          await expectPlaying(bob, aliceTile, 'Bob sees the shared screen');
          await alice.screenshot({ path: path.join(ART, 'room-screen-share.png') });
          await alice.getByTestId('toggle-screen').click();
          await until(() => alice.evaluate(() => !document.querySelector('[data-testid=tile][data-self=true]')?.textContent.includes('presenting')), 'presenting label gone');
          await expectPlaying(bob, aliceTile, 'Bob sees the camera again');
        });
        await step('when the server goes away both pages say so, and recover when it is back', async () => {
          await ask('stop-server');
          for (const [p, who] of [[alice, 'Alice'], [bob, 'Bob']]) {
            const text = await until(() => p.evaluate(() => document.querySelector('[data-testid=room-notice]')?.textContent), `${who}'s reconnecting notice`, 20000);
            check(/Lost the connection to the server/.test(text), `${who} notice: ${text}`);
          }
          await ask('start-server');
          for (const p of [alice, bob]) {
            await until(() => p.evaluate(() => {
              const r = document.querySelector('[data-testid=room]');
              return r?.dataset.phase === 'joined' && Number(r.dataset.joins) >= 2;
            }), 'joined again', 40000);
          }
          await expectPlaying(bob, aliceTile, 'Bob sees Alice again');
          await expectPlaying(alice, bobTile, 'Alice sees Bob again');
          const title = await alice.getByTestId('room-title').textContent();
          check(title.includes('Design review'), `room made again with its name: ${title}`);
        });
        await step('a wrong PIN shows the error in plain words', async () => {
          carol = await open('carol', `${APP}/${roomQuery}`);
          await carol.getByTestId('display-name').fill('Carol Diaz');
          await carol.getByTestId('join-room').fill(`${APP}/room/${roomId}`);
          await carol.getByTestId('join-pin').fill('1111');
          await carol.getByTestId('join-btn').click();
          const err = await until(() => carol.evaluate(() => document.querySelector('[data-testid=join-error]')?.textContent), 'the join error', 20000);
          check(/PIN isn't right/.test(err), `error text: ${err}`);
          await carol.screenshot({ path: path.join(ART, 'room-wrong-pin.png') });
        });
        await step('leaving removes the tile on the other side', async () => {
          await bob.getByTestId('leave').click();
          await bob.getByTestId('room-ended').waitFor({ timeout: 10000 });
          await until(() => alice.evaluate(() => !document.querySelector('[data-testid=tile][data-name="Bob Chen"]')), "Bob's tile gone from Alice's page", 15000);
        });
        await alice.getByTestId('leave').click().catch(() => {});
        for (const p of [bob, carol]) if (p) await p.close().catch(() => {});

        await step('a full room says so and lets the late comer watch', async () => {
          const dora = await open('dora', `${APP}/${roomQuery}`);
          await dora.getByTestId('display-name').fill('Dora Quinn');
          await dora.getByTestId('create-desc').fill('Solo talk');
          await dora.getByTestId('create-max').fill('1');
          await dora.getByTestId('create-btn').click();
          await until(() => dora.evaluate(() => document.querySelector('[data-testid=room]')?.dataset.phase === 'joined'), 'dora joined');
          const soloId = Number(/\/room\/(\d+)$/.exec(dora.url())[1]);
          const ed = await open('ed', `${APP}/${roomQuery}`);
          await ed.getByTestId('display-name').fill('Ed Park');
          await ed.getByTestId('join-room').fill(String(soloId));
          await ed.getByTestId('join-btn').click();
          const text = await until(() => ed.evaluate(() => document.querySelector('[data-testid=room-notice]')?.textContent), 'the room-full notice', 20000);
          check(/This room is full/.test(text), `notice: ${text}`);
          await expectPlaying(ed, '[data-testid=tile][data-name="Dora Quinn"] video', 'Ed watches Dora');
          await ed.close();
          await dora.close();
        });
      }
    }
    await alice.goto(`${APP}/`);
    await alice.waitForTimeout(500);
    await step('screenshot: the lobby', async () => {
      await alice.getByTestId('display-name').fill('Alice Martin');
      await expectPlaying(alice, '[data-testid=preview] video', 'lobby preview');
      await alice.waitForTimeout(1200);
      await alice.screenshot({ path: path.join(ART, 'lobby.png') });
    });
    await alice.close();

    // ---- 1:1 call -------------------------------------------------------------------
    const a = await open('call-a', `${APP}/call`);
    const b = await open('call-b', `${APP}/call`);
    const online = async (p, name) => {
      await p.getByTestId('call-name').fill(name);
      await p.getByTestId('go-online-btn').click();
      await p.getByTestId('online-as').waitFor({ timeout: 15000 });
    };
    await step('1:1: both go online and see each other in the list', async () => {
      await online(a, 'Alice');
      await online(b, 'Bob');
      await a.locator('[data-user="Bob"]').waitFor({ timeout: 10000 });
      await b.locator('[data-user="Alice"]').waitFor({ timeout: 10000 });
    });
    await step('1:1: the same name twice is refused in plain words', async () => {
      const c = await open('call-c', `${APP}/call`);
      await c.getByTestId('call-name').fill('Alice');
      await c.getByTestId('go-online-btn').click();
      const err = await until(() => c.evaluate(() => document.querySelector('[data-testid=call-error]')?.textContent), 'name taken error', 15000);
      check(/already online with that name/.test(err), `error: ${err}`);
      await c.close();
    });
    await step('1:1: a call is accepted and both see each other, peer to peer', async () => {
      await a.getByTestId('call-Bob').click();
      await b.getByTestId('incoming').waitFor({ timeout: 15000 });
      await b.getByTestId('accept').click();
      await expectPlaying(a, '[data-testid=remote] video', 'Alice sees Bob');
      await expectPlaying(b, '[data-testid=remote] video', 'Bob sees Alice');
      // The media path is browser to browser: the pair Alice's browser selected ends at a
      // candidate Bob's browser gathered (the server has no PeerConnection for this call).
      const pair = (p) => p.evaluate(async () => {
        const r = await window.sbCall.pc.getStats();
        let sel;
        r.forEach((x) => { if (x.type === 'transport' && x.selectedCandidatePairId) sel = r.get(x.selectedCandidatePairId); });
        if (!sel) return null;
        const l = r.get(sel.localCandidateId), rem = r.get(sel.remoteCandidateId);
        return { local: `${l.address}:${l.port}`, remote: `${rem.address}:${rem.port}` };
      });
      const pa = await until(() => pair(a), "Alice's selected pair");
      const pb = await until(() => pair(b), "Bob's selected pair");
      check(pa.remote === pb.local && pb.remote === pa.local, `pairs match end to end: ${JSON.stringify(pa)} vs ${JSON.stringify(pb)}`);
      await a.waitForTimeout(2500);
      await a.screenshot({ path: path.join(ART, 'call.png') });
    });
    await step('1:1: hang up ends the call on both sides', async () => {
      await a.getByTestId('hangup').click();
      await until(() => b.evaluate(() => document.querySelector('[data-testid=call-page]')?.dataset.phase === 'idle'), 'Bob back to idle', 15000);
      const notice = await b.evaluate(() => document.querySelector('[data-testid=call-notice]')?.textContent ?? '');
      check(/Alice ended the call/.test(notice), `notice: ${notice}`);
    });
    await a.close();
    await b.close();

    // ---- echo -----------------------------------------------------------------------
    const e = await open('echo', `${APP}/echo`);
    await step('echo: own video comes back, with RTT and bitrate', async () => {
      await until(() => e.evaluate(() => !document.querySelector('[data-testid=echo-start]')?.disabled), 'start enabled', 15000);
      await e.getByTestId('echo-start').click();
      await expectPlaying(e, '[data-testid=echo-remote] video', 'echoed video');
      const rtt = await until(() => e.evaluate(() => {
        const t = document.querySelector('[data-testid=echo-rtt]')?.textContent ?? '';
        return /^\d+/.test(t) ? t : null;
      }), 'an RTT figure', 15000);
      const recv = await until(() => e.evaluate(() => {
        const t = document.querySelector('[data-testid=echo-recv]')?.textContent ?? '';
        return /^[1-9]\d*/.test(t) || /^0\.\d*[1-9]/.test(t) ? t : null;
      }), 'a receive bitrate', 15000);
      report({ note: `echo RTT ${rtt}, receiving ${recv}` });
      await e.waitForTimeout(3000);
      await e.screenshot({ path: path.join(ART, 'echo.png') });
      await e.getByTestId('echo-stop').click();
    });
    await e.close();
  } finally {
    for (const l of logs.slice(0, 40)) report({ note: l });
    await ctx.close().catch(() => {});
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    report({ case: 'driver', ok: false, detail: String((e && e.stack) || e) });
    process.exit(1);
  },
);
