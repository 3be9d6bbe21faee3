// Drives the web app's data-channel features in headless Chromium, for
// test_webapp_data.py: the room chat (janus.plugin.textroom) between three participants,
// and the game (VideoRoom data channels) between three players. Each person is a browser
// context of their own (own storage, as separate people would be). Prints one JSON object
// per line: {"case":..., "ok":bool, "detail":...} or {"note":...}; screenshots go to the
// artifacts folder.
//
//   node webapp_data_driver.cjs <app-url> <artifacts-dir>
//
// Environment: SB_WEBAPP_DATA_ONLY=chat|game runs one half; SB_CHROMIUM_EXTRA_FLAGS adds
// Chromium flags (space separated).
'use strict';
const path = require('path');
const fs = require('fs');

const { chromium } = require(path.join(__dirname, 'node_modules', 'playwright-core'));

const APP = process.argv[2];
const ART = process.argv[3];
const ONLY = process.env.SB_WEBAPP_DATA_ONLY || '';
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
  ...(process.env.SB_CHROMIUM_EXTRA_FLAGS || '').split(' ').filter(Boolean),
];
// The game's figures on loopback: a latency (RTT/2 through the SFU) under this, and each
// player's states (about 30 per second) received by every other player.
const MAX_LATENCY_MS = 50;
const SENT_FLOOR = 20; // a page's own rate when the machine slows its timers (it aims at 30)
const RATE_MAX = 35;
const RATE_WINDOW_MS = 5000;

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
    failures += 1;
    let i = 0;
    for (const p of openPages) {
      i += 1;
      await p.screenshot({ path: path.join(ART, `failure-data-${failures}-page${i}.png`) }).catch(() => {});
      const text = await p.evaluate(() => document.body.innerText.slice(0, 600)).catch(() => '');
      report({ note: `failure ${failures} page ${i} (${p.url()}): ${text.replace(/\s+/g, ' ')}` });
    }
    return false;
  }
}

// Asks test_webapp_data.py to do something to the server ("stop-server", "start-server")
// and waits for its one-line answer on stdin.
const stdinLines = [];
let stdinBuf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  stdinBuf += chunk;
  let i;
  while ((i = stdinBuf.indexOf('\n')) >= 0) {
    stdinLines.push(stdinBuf.slice(0, i));
    stdinBuf = stdinBuf.slice(i + 1);
  }
});
async function ask(action, timeoutMs = 60000) {
  report({ action });
  const end = Date.now() + timeoutMs;
  while (!stdinLines.length) {
    if (Date.now() > end) throw new Error(`no answer to ${action}`);
    await sleep(200);
  }
  const answer = stdinLines.shift();
  if (answer !== 'ok') throw new Error(`${action}: ${answer}`);
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(fn, what, timeoutMs = 20000, everyMs = 200) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

// ---- chat helpers ----------------------------------------------------------------------

/** What the chat list shows: [{kind, from, self, time, text}] (messages and notices). */
function chatItems(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('[data-testid=chat-list] > li')].map((li) =>
      li.dataset.testid === 'chat-message'
        ? { kind: 'message', from: li.dataset.from, self: li.dataset.self === 'true', time: li.dataset.time, text: li.querySelector('.msg-text')?.textContent ?? '' }
        : { kind: li.dataset.kind || 'other', name: li.dataset.name, text: li.textContent }));
}

async function openChat(page) {
  if (!(await page.locator('[data-testid=chat-panel]').count())) await page.getByTestId('toggle-chat').click();
  await until(() => page.evaluate(() => document.querySelector('[data-testid=chat-panel]')?.dataset.phase === 'ready'), 'the chat connected', 20000);
}

async function say(page, text) {
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-input').press('Enter');
}

async function seesMessage(page, from, text, who) {
  return until(async () => (await chatItems(page)).find((m) => m.kind === 'message' && m.from === from && m.text === text), `${who} sees ${from}'s message "${text.slice(0, 30)}"`, 15000);
}

// ---- game helpers ----------------------------------------------------------------------

const gameState = (page) => page.evaluate(() => window.__game && window.__game.debug());
const gameId = (page) => page.evaluate(() => window.__game?.debug().myId);

/** Clicks the arena at arena coordinates (960×600 units). */
async function clickArena(page, x, y) {
  const box = await page.getByTestId('arena').boundingBox();
  check(box && box.width > 100, `arena on screen: ${JSON.stringify(box)}`);
  await page.mouse.click(box.x + (x / 960) * box.width, box.y + (y / 600) * box.height);
}

/** The scoreboard rows: [{id, name, self, score, latency, rate}]. */
function scoreboard(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('[data-testid=player-row]')].map((r) => ({
      id: Number(r.dataset.id),
      name: r.dataset.name,
      self: r.dataset.self === 'true',
      score: Number(r.dataset.score),
      latency: r.dataset.latency === '' ? null : Number(r.dataset.latency),
      rate: Number(r.dataset.rate),
    })));
}

async function main() {
  fs.mkdirSync(ART, { recursive: true });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
  const logs = [];
  const person = async (label) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['camera', 'microphone', 'clipboard-read', 'clipboard-write'] });
    const p = await ctx.newPage();
    openPages.add(p);
    p.on('close', () => openPages.delete(p));
    p.on('pageerror', (e) => logs.push(`${label} pageerror: ${e.message}`));
    p.on('console', (m) => {
      // (Requests failing while the server is down are expected.)
      if (m.type() === 'error' && !/Failed to load resource: net::ERR_CONNECTION_(REFUSED|RESET)/.test(m.text())) logs.push(`${label} console: ${m.text()}`);
    });
    return p;
  };
  const joinedRoom = (p) => p.evaluate(() => document.querySelector('[data-testid=room]')?.dataset.phase === 'joined');

  try {
    // ---- chat -----------------------------------------------------------------------
    let roomId;
    let alice;
    let chatPeer; // Carol, still in the room for the restart case
    if (ONLY !== 'game') {
      const PIN = '8642';
      alice = await person('alice');
      const bob = await person('bob');
      let carol;
      const ready = await step('chat: two participants in a room with a PIN both get the chat', async () => {
        await alice.goto(`${APP}/`);
        await alice.getByTestId('display-name').fill('Alice Martin');
        await alice.getByTestId('create-desc').fill('Chat and play');
        await alice.getByTestId('create-pin').fill(PIN);
        await alice.getByTestId('create-btn').click();
        await until(() => /\/room\/\d+$/.test(alice.url()), 'room URL');
        roomId = Number(/\/room\/(\d+)$/.exec(alice.url())[1]);
        await until(() => joinedRoom(alice), 'Alice joined');
        await bob.goto(`${APP}/room/${roomId}`);
        await bob.getByTestId('prejoin-name').fill('Bob Chen');
        await bob.getByTestId('prejoin-pin').fill(PIN);
        await bob.getByTestId('prejoin-join').click();
        await until(() => joinedRoom(bob), 'Bob joined');
        await openChat(alice);
        // Bob's panel stays closed: his chat connects anyway (the unread badge needs it).
        await until(() => bob.evaluate(() => window.sbChat?.getSnapshot().phase === 'ready'), "Bob's chat connected", 20000);
        const notice = await until(async () => (await chatItems(alice)).find((m) => m.kind === 'join' && m.name === 'Bob Chen'), "Alice sees 'Bob Chen joined'", 15000);
        check(/Bob Chen joined/.test(notice.text), `notice text: ${notice.text}`);
      });
      if (ready) {
        const hello = 'Hello Bob! Can you see the slides?';
        await step("chat: Alice's message reaches Bob with her name and time; his unread badge counts it", async () => {
          await say(alice, hello);
          const own = await seesMessage(alice, 'Alice Martin', hello, 'Alice');
          check(own.self, 'Alice sees her own message marked as hers');
          check(/^\d\d:\d\d$/.test(own.time), `HH:MM time: ${own.time}`);
          const badge = await until(() => bob.evaluate(() => document.querySelector('[data-testid=chat-unread]')?.textContent), "Bob's unread badge", 15000);
          check(badge === '1', `Bob's badge says ${badge}`);
          await openChat(bob);
          const got = await seesMessage(bob, 'Alice Martin', hello, 'Bob');
          check(!got.self, 'not marked as Bob\'s own');
          check(got.time === own.time || /^\d\d:\d\d$/.test(got.time), `time on Bob's side: ${got.time}`);
          await until(() => bob.evaluate(() => !document.querySelector('[data-testid=chat-unread]')), "Bob's badge gone once the chat is open", 5000);
        });
        const long = 'A long answer that has to wrap inside the chat panel: ' + 'lorem ipsum dolor sit amet '.repeat(12) + 'and_a_very_long_word_without_any_space_' + 'x'.repeat(80);
        await step('chat: Bob answers with a long message; Alice sees it wrapped, with his name', async () => {
          await say(bob, 'Yes, all good.');
          await seesMessage(alice, 'Bob Chen', 'Yes, all good.', 'Alice');
          await say(bob, long);
          await seesMessage(alice, 'Bob Chen', long, 'Alice');
          const geo = await alice.evaluate(() => {
            const list = document.querySelector('[data-testid=chat-list]');
            const msgs = [...list.querySelectorAll('.msg-text')];
            const last = msgs[msgs.length - 1].getBoundingClientRect();
            const box = list.getBoundingClientRect();
            return { lastW: last.width, lastH: last.height, left: last.left, right: last.right, boxL: box.left, boxR: box.right, scrollW: list.scrollWidth, clientW: list.clientWidth };
          });
          check(geo.left >= geo.boxL - 1 && geo.right <= geo.boxR + 1, `the long message stays inside the panel: ${JSON.stringify(geo)}`);
          check(geo.scrollW <= geo.clientW + 1, `no horizontal scrolling: ${JSON.stringify(geo)}`);
          check(geo.lastH > 80, `it wraps onto several lines: ${JSON.stringify(geo)}`);
        });
        await step('chat: a third participant joining later shows as a join notice and is told who is here; her messages reach both', async () => {
          carol = await person('carol');
          await carol.goto(`${APP}/room/${roomId}`);
          await carol.getByTestId('prejoin-name').fill('Carol Diaz');
          await carol.getByTestId('prejoin-pin').fill(PIN);
          await carol.getByTestId('prejoin-join').click();
          await until(() => joinedRoom(carol), 'Carol joined');
          for (const [p, who] of [[alice, 'Alice'], [bob, 'Bob']])
            await until(async () => (await chatItems(p)).find((m) => m.kind === 'join' && m.name === 'Carol Diaz'), `${who} sees 'Carol Diaz joined'`, 20000);
          await openChat(carol);
          const before = await chatItems(carol);
          check(!before.some((m) => m.kind === 'message'), `Carol gets no earlier messages: ${JSON.stringify(before)}`);
          const here = before.find((m) => m.kind === 'info');
          check(here && /Also here: .*(Alice Martin.*Bob Chen|Bob Chen.*Alice Martin)/.test(here.text), `Carol is told who is here: ${JSON.stringify(before)}`);
          await say(carol, 'Hi both, sorry I am late');
          await seesMessage(alice, 'Carol Diaz', 'Hi both, sorry I am late', 'Alice');
          await seesMessage(bob, 'Carol Diaz', 'Hi both, sorry I am late', 'Bob');
          await say(alice, 'Welcome Carol');
          await seesMessage(carol, 'Alice Martin', 'Welcome Carol', 'Carol');
        });
        await step('screenshot: the room chat', async () => {
          await alice.waitForTimeout(800);
          await alice.screenshot({ path: path.join(ART, 'room-chat.png') });
        });
        await step('chat: a participant leaving shows as a leave notice', async () => {
          await bob.getByTestId('leave').click();
          await bob.getByTestId('room-ended').waitFor({ timeout: 10000 });
          for (const [p, who] of [[alice, 'Alice'], [carol, 'Carol']])
            await until(async () => (await chatItems(p)).find((m) => m.kind === 'leave' && m.name === 'Bob Chen'), `${who} sees 'Bob Chen left'`, 15000);
        });
      }
      await bob.context().close().catch(() => {});
      chatPeer = carol;
    }

    // ---- game -----------------------------------------------------------------------
    if (ONLY !== 'chat') {
      const GAME = 4242;
      const g = [];
      const names = ['Gina Park', 'Hugo Lind', 'Ines Roy'];
      const ids = [];
      const joined = await step('game: three players join the same game (lobby Play twice, a link once)', async () => {
        for (let i = 0; i < 3; i++) g.push(await person(`game-${i}`));
        for (let i = 0; i < 2; i++) {
          await g[i].goto(`${APP}/`);
          await g[i].getByTestId('display-name').fill(names[i]);
          await g[i].getByTestId('game-number').fill(String(GAME));
          await g[i].getByTestId('play-btn').click();
          await until(() => g[i].url().endsWith(`/game/${GAME}`), `${names[i]} on /game/${GAME}`);
        }
        await g[2].goto(`${APP}/game/${GAME}`);
        await g[2].getByTestId('game-name').fill(names[2]);
        await g[2].getByTestId('game-play').click();
        for (let i = 0; i < 3; i++) {
          ids[i] = await until(() => gameId(g[i]), `${names[i]} joined`, 20000);
          await until(async () => {
            const s = await gameState(g[i]);
            return s.uplink === 'connected' && s.players.length === 2 && s.players.every((p) => p.heard) ? s : null;
          }, `${names[i]} hears the two others`, 30000);
          const rows = await scoreboard(g[i]);
          check(rows.length === 3, `${names[i]}'s scoreboard has 3 rows: ${JSON.stringify(rows)}`);
          const want = names.slice().sort().join(',');
          const got = rows.map((r) => r.name).sort().join(',');
          check(got === want, `${names[i]}'s scoreboard names: ${got}`);
        }
      });
      if (joined) {
        const seen = async (page, id) => (await gameState(page)).players.find((p) => p.id === id);
        await step('game: arrow keys move a player; the two others draw it moving', async () => {
          const start = (await gameState(g[0])).me;
          const key = start.x < 480 ? 'ArrowRight' : 'ArrowLeft';
          const sign = key === 'ArrowRight' ? 1 : -1;
          const before = [];
          for (const i of [1, 2]) before[i] = (await until(async () => (await seen(g[i], ids[0]))?.drawn, `${names[i]} draws ${names[0]}`, 10000)).x;
          await g[0].bringToFront();
          await g[0].keyboard.down(key);
          // Held until she has gone 150 px (0.5 s at the game's speed; longer when a loaded
          // machine fires the page's timers late), at most 4 s.
          await until(async () => ((await gameState(g[0])).me.x - start.x) * sign > 150, `${names[0]} moving while the key is held`, 4000, 50).catch(() => {});
          await g[0].keyboard.up(key);
          await g[0].waitForTimeout(100);
          const after = (await gameState(g[0])).me;
          check((after.x - start.x) * sign > 150, `${names[0]} moved on her own page: ${start.x.toFixed(0)} -> ${after.x.toFixed(0)}`);
          for (const i of [1, 2]) {
            const d = await until(async () => {
              const p = await seen(g[i], ids[0]);
              return p && p.drawn && Math.abs(p.drawn.x - after.x) < 2 && Math.abs(p.drawn.y - after.y) < 2 ? p.drawn : null;
            }, `${names[i]} draws ${names[0]} where she stopped (${after.x.toFixed(0)},${after.y.toFixed(0)})`, 5000);
            check((d.x - before[i]) * sign > 150, `${names[i]} saw ${names[0]} move: ${before[i].toFixed(0)} -> ${d.x.toFixed(0)}`);
          }
        });
        await step('game: a click in the arena sends a player there; the others draw it there', async () => {
          const me = (await gameState(g[1])).me;
          const target = { x: me.x < 480 ? 760 : 200, y: me.y < 300 ? 460 : 140 };
          await g[1].bringToFront();
          await clickArena(g[1], target.x, target.y);
          await until(async () => {
            const m = (await gameState(g[1])).me;
            return Math.hypot(m.x - target.x, m.y - target.y) < 8 ? m : null;
          }, `${names[1]} reaches the click on her page`, 5000);
          for (const i of [0, 2])
            await until(async () => {
              const p = await seen(g[i], ids[1]);
              return p && p.drawn && Math.hypot(p.drawn.x - target.x, p.drawn.y - target.y) < 8;
            }, `${names[i]} draws ${names[1]} at the click (${target.x},${target.y})`, 5000);
        });
        await step(`game: latency under ${MAX_LATENCY_MS} ms and about 30 states/s between every pair`, async () => {
          // Rates over a 5 s window (state counters at both ends, on each page's clock);
          // latency: the median of the figures each page shows every 500 ms meanwhile (one
          // figure is itself the median of the last 30 round trips), so that a moment of a
          // loaded machine does not decide. A page's timers can stall on a loaded 2-core
          // machine (three browsers and the server): a window fails only if two more fail too.
          for (let attempt = 1; ; attempt++) {
            try {
              await gameWindow();
              break;
            } catch (e) {
              if (attempt === 3) throw e;
              report({ note: `game window ${attempt} of 3 missed: ${e.message}` });
            }
          }
        });
        async function gameWindow() {
          await sleep(1000);
          const a = [];
          for (let i = 0; i < 3; i++) a.push(await gameState(g[i]));
          const shown = new Map(); // "i->id" -> [latency figures]
          const t0 = Date.now();
          while (Date.now() - t0 < RATE_WINDOW_MS) {
            for (let i = 0; i < 3; i++)
              for (const p of (await gameState(g[i])).players)
                if (p.latencyMs !== null) shown.set(`${i}->${p.id}`, [...(shown.get(`${i}->${p.id}`) ?? []), p.latencyMs]);
            await sleep(500);
          }
          const med = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
          const lines = [];
          const b = [];
          for (let i = 0; i < 3; i++) b.push(await gameState(g[i]));
          // Each page's own rate on its own clock: a browser on a loaded machine fires its
          // timers late and sends less (the game then sends at its pace); what the others
          // receive is held to what it sent, so the SFU is what the check is about.
          const sentRate = b.map((s, i) => (s.me.sent - a[i].me.sent) / ((s.now - a[i].now) / 1000));
          for (let i = 0; i < 3; i++) {
            const s = b[i];
            const secs = (s.now - a[i].now) / 1000;
            const sent = sentRate[i];
            check(sent >= SENT_FLOOR && sent <= RATE_MAX, `${names[i]} sent ${sent.toFixed(1)}/s over ${secs.toFixed(1)} s`);
            check(s.me.stateBytes > 40 && s.me.stateBytes < 200, `${names[i]}'s state is ${s.me.stateBytes} B`);
            const rows = await scoreboard(g[i]);
            for (const p of s.players) {
              const j = ids.indexOf(p.id);
              const before = a[i].players.find((x) => x.id === p.id);
              const got = (p.received - (before ? before.received : 0)) / secs;
              const figs = shown.get(`${i}->${p.id}`) ?? [];
              const lat = figs.length ? med(figs) : null;
              check(figs.length >= 5 && lat > 0 && lat < MAX_LATENCY_MS, `${names[i]} -> ${names[j]} latency ${lat} (figures shown: ${figs.map((x) => x.toFixed(1)).join(' ')})`);
              check(p.rttSamples >= 10, `${names[i]} -> ${names[j]}: ${p.rttSamples} round trips measured`);
              check(got >= 0.85 * sentRate[j] && got <= RATE_MAX, `${names[i]} received ${got.toFixed(1)}/s from ${names[j]}, who sent ${sentRate[j].toFixed(1)}/s, over ${secs.toFixed(1)} s`);
              const row = rows.find((r) => r.id === p.id);
              check(row && row.latency !== null && row.latency > 0 && row.rate > 0, `${names[i]}'s scoreboard row for ${names[j]}: ${JSON.stringify(row)}`);
              lines.push(`${names[i]} -> ${names[j]}: ${lat.toFixed(1)} ms RTT/2 (median of ${figs.length} figures, ${Math.min(...figs).toFixed(1)}-${Math.max(...figs).toFixed(1)}), ${got.toFixed(1)}/s received; scoreboard ${row.latency} ms, ${row.rate}/s`);
            }
            lines.push(`${names[i]} sends ${sent.toFixed(1)}/s, ${s.me.stateBytes} B per state`);
          }
          for (const l of lines) report({ note: l });
        }
        // Scores: first a player who does not own the dot (its claim goes to the owner on
        // the reliable "events" channel; the owner's "taken" comes back), then the owner.
        const catchDot = async (k, want, how) => {
          const s = await gameState(g[k]);
          const seq = s.dot.seq;
          await g[k].bringToFront();
          await clickArena(g[k], s.dot.x, s.dot.y);
          await until(async () => (await gameState(g[k])).me.score === want, `${names[k]} scores on her page (${how})`, 8000);
          for (let i = 0; i < 3; i++)
            await until(async () => (await scoreboard(g[i])).find((x) => x.id === ids[k])?.score === want, `${names[i]}'s scoreboard gives ${names[k]} ${want}`, 8000);
          const dots = [];
          for (let i = 0; i < 3; i++)
            dots.push(await until(async () => {
              const d = (await gameState(g[i])).dot;
              return d.seq === seq + 1 ? d : null;
            }, `${names[i]} moves on to dot ${seq + 1}`, 5000));
          check(dots.every((d) => Math.abs(d.x - dots[0].x) < 0.01 && Math.abs(d.y - dots[0].y) < 0.01), `the same next dot everywhere: ${JSON.stringify(dots)}`);
        };
        await step("game: a player's claim for the dot goes to its owner, who gives it; the score shows on every page", async () => {
          const owner = Math.min(...ids);
          for (let i = 0; i < 3; i++) {
            const o = (await gameState(g[i])).owner;
            check(o === owner, `${names[i]} agrees on the owner (${o} vs ${owner})`);
          }
          await catchDot(ids.findIndex((id) => id !== owner), 1, 'claimed');
        });
        await step('game: the owner catching the dot scores too', async () => {
          await catchDot(ids.indexOf(Math.min(...ids)), 1, 'owner');
        });
        await step('game: the channels from each player keep their properties through the SFU', async () => {
          for (let i = 0; i < 3; i++) {
            for (const p of (await gameState(g[i])).players) {
              const game = p.channels.find((c) => c.protocol === 'game');
              const events = p.channels.find((c) => c.protocol === 'events');
              const j = ids.indexOf(p.id);
              check(game && game.label === String(p.id) && game.ordered === false && game.maxRetransmits === 0,
                `${names[i]} gets ${names[j]}'s states on an unordered, maxRetransmits 0 channel labelled with her id: ${JSON.stringify(p.channels)}`);
              check(events && events.label === String(p.id) && events.ordered === true && events.maxRetransmits === null && events.maxPacketLifeTime === null,
                `${names[i]} gets ${names[j]}'s events on a reliable, ordered channel: ${JSON.stringify(p.channels)}`);
            }
          }
        });
        await step('screenshot: the game', async () => {
          await g[0].bringToFront();
          await g[0].waitForTimeout(500);
          await g[0].screenshot({ path: path.join(ART, 'game.png') });
        });
        await step('game: a player who leaves disappears from the others', async () => {
          await g[2].getByTestId('game-leave').click();
          await g[2].getByTestId('game-ended').waitFor({ timeout: 10000 });
          for (const i of [0, 1])
            await until(async () => (await scoreboard(g[i])).length === 2, `${names[i]}'s scoreboard down to 2`, 15000);
        });
        // The two left unsubscribed from her on their subscriber handles; when she comes
        // back (a new id) they subscribe to her again on the same handles.
        // Each page hears every other at the rate that one sends (states counted at both ends
        // over the same 3 s): a loaded machine slows the browsers' timers, and the SFU is
        // held to forwarding what was sent, with a floor that shows the game is running.
        const hearsAll = async (active) => {
          const snap = async () => Promise.all(active.map((i) => gameState(g[i])));
          const s0 = await snap();
          await sleep(3000);
          const s1 = await snap();
          const sentBy = new Map(active.map((i, k) => [s1[k].myId,
            (s1[k].me.sent - s0[k].me.sent) / ((s1[k].now - s0[k].now) / 1000)]));
          active.forEach((i, k) => {
            const secs = (s1[k].now - s0[k].now) / 1000;
            check(s1[k].players.length === active.length - 1, `${names[i]} sees ${s1[k].players.length} others, not ${active.length - 1}`);
            for (const p of s1[k].players) {
              const b = s0[k].players.find((x) => x.id === p.id);
              const r = (p.received - (b ? b.received : 0)) / secs;
              const sent = sentBy.get(p.id) ?? 0;
              check(sent >= 15 && r >= 0.85 * sent, `${names[i]} receives ${r.toFixed(1)}/s from ${p.name}, who sends ${sent.toFixed(1)}/s`);
            }
          });
        };
        await step('game: the two left keep hearing each other; she plays again and all three hear each other', async () => {
          await hearsAll([0, 1]);
          await g[2].getByRole('button', { name: 'Play again' }).click();
          await g[2].getByTestId('game-play').click();
          const again = await until(() => gameId(g[2]), `${names[2]} joined again`, 20000);
          check(again !== ids[2], 'a new id for the new join');
          for (let i = 0; i < 3; i++)
            await until(async () => {
              const st = await gameState(g[i]);
              return st.players.length === 2 && st.players.every((p) => p.heard && p.rate > 0);
            }, `${names[i]} hears the two others again`, 20000);
          await sleep(1000);
          await hearsAll([0, 1, 2]);
          await g[2].getByTestId('game-leave').click();
          await g[2].getByTestId('game-ended').waitFor({ timeout: 10000 });
        });
        await step('game: Play with no number in the lobby starts a new game', async () => {
          await g[2].getByRole('button', { name: 'Back to the lobby' }).click();
          await g[2].getByTestId('display-name').fill(names[2]);
          await g[2].getByTestId('play-btn').click();
          await until(() => /\/game\/\d{6}$/.test(g[2].url()), `a new game's URL (now ${g[2].url()})`, 15000);
          check(!g[2].url().endsWith(`/game/${GAME}`), 'not the game already being played');
          await until(async () => {
            const st = await gameState(g[2]);
            return st && st.phase === 'joined' && st.uplink === 'connected' && st.players.length === 0;
          }, 'alone in the new game, publishing', 20000);
        });
        await step('game: on a phone-sized screen the arena and the players fit without sideways scrolling', async () => {
          await g[0].setViewportSize({ width: 390, height: 844 });
          await g[0].waitForTimeout(600);
          const geo = await g[0].evaluate(() => {
            const a = document.querySelector('[data-testid=arena]').getBoundingClientRect();
            const b = document.querySelector('[data-testid=scoreboard]').getBoundingClientRect();
            return { scrollW: document.documentElement.scrollWidth, w: window.innerWidth, arena: [a.left, a.right, a.width, a.height], board: [b.left, b.right, b.top, a.bottom] };
          });
          check(geo.scrollW <= geo.w, `no sideways scrolling: ${JSON.stringify(geo)}`);
          check(geo.arena[0] >= 0 && geo.arena[1] <= geo.w && geo.arena[2] > 300, `arena on screen: ${JSON.stringify(geo)}`);
          check(geo.board[2] >= geo.board[3] - 1, `players listed under the arena: ${JSON.stringify(geo)}`);
          await g[0].screenshot({ path: path.join(ART, 'game-phone.png') });
          await g[0].setViewportSize({ width: 1280, height: 800 });
        });
      }
      for (const p of g) await p.context().close().catch(() => {});
    }

    // ---- the room's game button, a server restart ----------------------------------------
    let gameTab;
    if (alice && roomId) {
      await step("room: the Game button opens the room's game in a new tab, apart from the call", async () => {
        const feedsBefore = await alice.evaluate(() => window.sbRoom.getSnapshot().feeds.length);
        const [tab] = await Promise.all([alice.context().waitForEvent('page'), alice.getByTestId('open-game').click()]);
        openPages.add(tab);
        await until(() => tab.url().endsWith(`/game/${roomId}`), `the tab at /game/${roomId} (now ${tab.url()})`, 10000);
        await until(() => tab.evaluate(() => document.querySelector('[data-testid=game]')?.dataset.phase === 'joined'), 'joined the game without asking again', 20000);
        const title = await tab.evaluate(() => document.querySelector('[data-testid=game]')?.textContent ?? '');
        check(title.includes(`Game #${roomId}`), `game number shown: ${title.slice(0, 200)}`);
        const rows = await scoreboard(tab);
        check(rows.length === 1 && rows[0].self && rows[0].name === 'Alice Martin', `the game tab plays as Alice: ${JSON.stringify(rows)}`);
        await alice.bringToFront();
        await alice.waitForTimeout(1500);
        const feedsAfter = await alice.evaluate(() => window.sbRoom.getSnapshot().feeds.length);
        check(feedsAfter === feedsBefore, `the game's player is not a participant of the call (${feedsBefore} -> ${feedsAfter})`);
        gameTab = tab;
      });
    }
    if (alice && chatPeer && gameTab) {
      await step('chat and game come back after a server restart (rooms made again, with the PIN)', async () => {
        await openChat(alice);
        await ask('stop-server');
        await until(() => alice.evaluate(() => ['reconnecting', 'connecting'].includes(document.querySelector('[data-testid=chat-panel]')?.dataset.phase)), "Alice's chat says it is reconnecting", 20000);
        await until(() => gameTab.evaluate(() => document.querySelector('[data-testid=game]')?.dataset.phase === 'reconnecting'), 'the game tab says it is reconnecting', 20000);
        await ask('start-server');
        await until(() => gameTab.evaluate(() => {
          const g = document.querySelector('[data-testid=game]');
          return g?.dataset.phase === 'joined' && Number(g.dataset.joins) >= 2 && window.__game.debug().uplink === 'connected';
        }), 'the game joined again and publishes', 40000);
        for (const [p, who] of [[alice, 'Alice'], [chatPeer, 'Carol']]) {
          await until(() => p.evaluate(() => {
            const c = window.sbChat?.getSnapshot();
            return c && c.phase === 'ready' && c.joins >= 2;
          }), `${who}'s chat joined again`, 40000);
        }
        await openChat(chatPeer);
        await say(alice, 'Back after the restart?');
        await seesMessage(chatPeer, 'Alice Martin', 'Back after the restart?', 'Carol');
        await say(chatPeer, 'Yes, still here');
        await seesMessage(alice, 'Carol Diaz', 'Yes, still here', 'Alice');
      });
    }
    if (gameTab) await gameTab.close().catch(() => {});
    if (chatPeer) await chatPeer.context().close().catch(() => {});
    if (alice) await alice.context().close().catch(() => {});
  } finally {
    for (const l of logs.slice(0, 40)) report({ note: l });
    await browser.close().catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    report({ case: 'driver', ok: false, detail: String((e && e.stack) || e) });
    process.exit(1);
  },
);
