// Puts web app pages (html/dist served by the daemon) into one VideoRoom room in headless
// Chromium and reports what their PeerConnections did, for test_turn_chromium.py and
// bench/relay_join.py. It judges nothing: the Python side does.
//
//   node turn_driver.cjs '<json spec>'
//
// spec: {
//   app: "http://127.0.0.1:18088", room: 4321,
//   pages: [{ name: "alice", relay: true,          // ?relay=1 (else ?relay=0)
//             iceReply: {...},                     // optional: the page's GET /ice-servers
//                                                  //   is answered with this instead
//             transport: "udp" }],                 // optional: the server's reply, with
//                                                  //   only the TURN URIs of this transport
//   mode: "connect" | "fail" | "bench",
//   waitMs: 45000,     // connect: the most to wait for every page to decode every other
//                      // fail: how long to watch (the calls must not come up meanwhile)
//                      // bench: the most to wait for one run's PeerConnections
//   sampleMs: 2000,    // connect: two getStats samples this far apart
//   runs: [{relay, transport}],  // bench: one page each, joining the room where `pages`
//                      //   already are, then leaving; timed from the recorded events
//   artifacts: "dir",  // optional: a screenshot per page when something went wrong
// }
//
// Every PeerConnection a page makes is recorded by a script that wraps RTCPeerConnection
// before the app loads (its configuration, connection/ICE state changes with times, the
// local candidates it gathered, when the offer was set). Output, one JSON object per line:
//   {"ev":"ice-servers","page":..., "status":200, "body":{...}, "url":...}  each fetch
//   {"ev":"run", ...}                                                       bench: each run
//   {"ev":"result","pages":{name:{joined, samples:[...], logs:[...]}}, "ok":bool, "why":...}
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');

const { chromium } = require(path.join(__dirname, 'node_modules', 'playwright-core'));

const spec = JSON.parse(process.argv[2]);
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
];

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(fn, timeoutMs, everyMs = 200) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let v;
    try {
      v = await fn();
    } catch {
      v = null;
    }
    if (v) return v;
    if (Date.now() > end) return null;
    await sleep(everyMs);
  }
}

// Runs in every page before the app: records each PeerConnection in window.__pcs.
function recorder() {
  const Native = window.RTCPeerConnection;
  const pcs = [];
  window.__pcs = pcs;
  class Recorded extends Native {
    constructor(config, ...rest) {
      super(config, ...rest);
      const rec = {
        id: pcs.length,
        created: performance.now(),
        config: JSON.parse(JSON.stringify(config || {})),
        states: [],
        ice: [],
        candidates: [],
        gatheringDone: null,
        offerSet: null,
        remoteOfferSet: null,
        connected: null,
        role: null,
      };
      this.__rec = rec;
      pcs.push({ rec, pc: this });
      this.addEventListener('connectionstatechange', () => {
        const t = performance.now();
        rec.states.push([this.connectionState, Math.round(t)]);
        if (this.connectionState === 'connected' && rec.connected === null) rec.connected = t;
      });
      this.addEventListener('iceconnectionstatechange', () => rec.ice.push([this.iceConnectionState, Math.round(performance.now())]));
      this.addEventListener('icecandidate', (e) => {
        if (e.candidate && e.candidate.candidate) rec.candidates.push(e.candidate.candidate);
        else if (!e.candidate) rec.gatheringDone = performance.now();
      });
    }
    async setLocalDescription(d) {
      const r = await super.setLocalDescription(d);
      if (this.localDescription && this.localDescription.type === 'offer' && this.__rec.offerSet === null) {
        this.__rec.offerSet = performance.now();
        this.__rec.role = 'offerer';
      }
      return r;
    }
    async setRemoteDescription(d) {
      if (d && d.type === 'offer' && this.__rec.remoteOfferSet === null) {
        this.__rec.remoteOfferSet = performance.now();
        this.__rec.role = 'answerer';
      }
      return super.setRemoteDescription(d);
    }
  }
  window.RTCPeerConnection = Recorded;
}

// In the page: every recorded PeerConnection with its selected pair and counters now.
async function snapshot(page) {
  return page.evaluate(async () => {
    const list = [];
    for (const { rec, pc } of window.__pcs || []) {
      const o = {
        id: rec.id,
        role: rec.role,
        policy: rec.config.iceTransportPolicy || 'all',
        iceServers: (rec.config.iceServers || []).map((s) => ({ urls: s.urls, username: s.username })),
        connectionState: pc.connectionState,
        iceConnectionState: pc.iceConnectionState,
        states: rec.states,
        ice: rec.ice,
        candidates: rec.candidates,
        gatheringDone: rec.gatheringDone !== null,
        joinMs: rec.connected !== null && (rec.offerSet ?? rec.remoteOfferSet) !== null ? rec.connected - (rec.offerSet ?? rec.remoteOfferSet) : null,
        createdToConnectedMs: rec.connected !== null ? rec.connected - rec.created : null,
        selected: null,
        localCandidates: [],
        inbound: {},
        outbound: {},
      };
      if (pc.connectionState !== 'closed') {
        let r;
        try {
          r = await pc.getStats();
        } catch {
          r = null;
        }
        if (r) {
          let pairId = null;
          r.forEach((x) => {
            if (x.type === 'transport' && x.selectedCandidatePairId) pairId = x.selectedCandidatePairId;
            if (x.type === 'local-candidate') {
              o.localCandidates.push({ type: x.candidateType, protocol: x.protocol, relayProtocol: x.relayProtocol || null, address: x.address, port: x.port, url: x.url || null });
            }
            if (x.type === 'inbound-rtp') o.inbound[x.kind] = { packets: x.packetsReceived, bytes: x.bytesReceived, framesDecoded: x.framesDecoded, w: x.frameWidth, h: x.frameHeight };
            if (x.type === 'outbound-rtp' && !o.outbound[x.kind]) o.outbound[x.kind] = { packets: x.packetsSent, bytes: x.bytesSent };
          });
          o.pairs = [];
          r.forEach((x) => {
            if (x.type !== 'candidate-pair') return;
            const l = r.get(x.localCandidateId);
            const rem = r.get(x.remoteCandidateId);
            o.pairs.push({
              selected: x.id === pairId,
              state: x.state,
              nominated: Boolean(x.nominated),
              local: l ? `${l.candidateType}/${l.relayProtocol || l.protocol} ${l.address}:${l.port}` : null,
              remote: rem ? `${rem.candidateType}/${rem.protocol} ${rem.address}:${rem.port}` : null,
              requestsSent: x.requestsSent,
              responsesReceived: x.responsesReceived,
              requestsReceived: x.requestsReceived,
              bytesSent: x.bytesSent,
              bytesReceived: x.bytesReceived,
              lastRequest: x.lastPacketSentTimestamp ? Math.round(x.lastPacketSentTimestamp) : null,
            });
          });
          const sel = pairId && r.get(pairId);
          if (sel) {
            const l = r.get(sel.localCandidateId);
            const rem = r.get(sel.remoteCandidateId);
            o.selected = {
              state: sel.state,
              local: l && { type: l.candidateType, protocol: l.protocol, relayProtocol: l.relayProtocol || null, address: l.address, port: l.port, url: l.url || null },
              remote: rem && { type: rem.candidateType, protocol: rem.protocol, address: rem.address, port: rem.port },
              bytesSent: sel.bytesSent,
              bytesReceived: sel.bytesReceived,
            };
          }
        }
      }
      list.push(o);
    }
    const room = window.sbRoom && window.sbRoom.getSnapshot ? window.sbRoom.getSnapshot() : null;
    return {
      phase: room ? room.phase : null,
      feeds: room ? room.feeds.map((f) => ({ id: f.id, display: f.display, publishing: f.publishing, connection: f.connection })) : [],
      me: room ? { id: room.me.id, connection: room.me.connection } : null,
      notice: room ? room.notice || null : null,
      pcs: list,
    };
  });
}

/** Every page's publisher is connected and each page decodes video from all the others. */
function decodingAll(snaps, n) {
  return snaps.every((s) => {
    const pub = s.pcs.find((p) => p.role === 'offerer' && p.connectionState === 'connected');
    const subs = s.pcs.filter((p) => p.role === 'answerer' && p.connectionState === 'connected' && p.inbound.video && p.inbound.video.framesDecoded > 0);
    return pub && subs.length >= n - 1;
  });
}

/** A new page with the recorder, its console kept in logs[name], its /ice-servers
 * fetches reported (and answered or filtered as p asks). */
// Each person gets a browser context of their own, as different people have different
// browsers: in one context the pages would share Chromium's six HTTP/1.1 connections per
// host, and a room page holds two long-polls (the room's session and its chat's).
async function openPage(browser, p, logs) {
  const ctx = await browser.newContext({ viewport: { width: 960, height: 600 }, permissions: ['camera', 'microphone'] });
  const page = await ctx.newPage();
  logs[p.name] = [];
  await page.addInitScript(recorder);
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') logs[p.name].push(`${m.type()}: ${m.text()}`.slice(0, 400));
  });
  page.on('pageerror', (e) => logs[p.name].push(`pageerror: ${e.message}`.slice(0, 400)));
  if (p.iceReply) {
    await page.route('**/ice-servers*', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(p.iceReply) }));
  } else if (p.transport) {
    await page.route('**/ice-servers*', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      for (const e of body.iceServers || []) {
        if (Array.isArray(e.urls)) e.urls = e.urls.filter((u) => !/^turns?:/.test(u) || u.endsWith(`transport=${p.transport}`));
      }
      await route.fulfill({ response: res, body: JSON.stringify(body) });
    });
  }
  page.on('response', async (res) => {
    if (!new URL(res.url()).pathname.endsWith('/ice-servers')) return;
    let body = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    out({ ev: 'ice-servers', page: p.name, status: res.status(), url: res.url(), body });
  });
  return page;
}

/** Goes to the room link, names itself, joins; true once the room says joined. Returns
 * the page's clock when it clicked, or null. */
async function join(page, p) {
  await page.goto(`${spec.app}/room/${spec.room}?relay=${p.relay ? 1 : 0}`);
  await page.getByTestId('prejoin-name').fill(p.name);
  const clicked = await page.evaluate(() => performance.now());
  await page.getByTestId('prejoin-join').click();
  const ok = await until(() => page.evaluate(() => document.querySelector('[data-testid=room]')?.dataset.phase === 'joined'), 20000);
  return ok ? clicked : null;
}

async function main() {
  let browser;
  const pages = {};
  const logs = {};
  const joined = {};
  let ok = true;
  let why = null;
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
    for (const p of spec.pages) pages[p.name] = await openPage(browser, p, logs);
    // Join one page after the other.
    for (const p of spec.pages) {
      joined[p.name] = (await join(pages[p.name], p)) !== null;
      if (!joined[p.name]) {
        ok = false;
        why = `${p.name} did not get into the room`;
      }
    }
    const names = spec.pages.map((p) => p.name);
    const snapAll = async () => Promise.all(names.map((n) => snapshot(pages[n])));
    let samples = [];
    if (ok && spec.mode === 'connect') {
      const first = await until(async () => {
        const s = await snapAll();
        return decodingAll(s, names.length) ? s : null;
      }, spec.waitMs || 45000, 500);
      if (!first) {
        ok = false;
        why = 'not every page decoded every other page in time';
        samples.push(await snapAll());
      } else {
        samples.push(first);
        await sleep(spec.sampleMs || 2000);
        samples.push(await snapAll());
      }
    } else if (ok && spec.mode === 'fail') {
      // Watch for the whole time: a call that comes up is a result too.
      const end = Date.now() + (spec.waitMs || 15000);
      while (Date.now() < end) await sleep(500);
      samples.push(await snapAll());
    } else if (ok && spec.mode === 'bench') {
      // The resident pages publish first, so that each run's page also subscribes.
      await until(async () => (await snapAll()).every((x) => x.pcs.some((q) => q.role === 'offerer' && q.connectionState === 'connected')), spec.waitMs || 30000);
      const want = names.length;
      for (let i = 0; i < spec.runs.length; i++) {
        const r = { name: `run${i}`, ...spec.runs[i] };
        const page = await openPage(browser, r, logs);
        const rec = { ev: 'run', i, relay: Boolean(r.relay), transport: r.transport || null, ok: false };
        try {
          const clicked = await join(page, r);
          if (clicked === null) throw new Error('did not get into the room');
          const s = await until(async () => {
            const x = await snapshot(page);
            const pub = x.pcs.find((q) => q.role === 'offerer' && q.joinMs !== null);
            const subs = x.pcs.filter((q) => q.role === 'answerer' && q.joinMs !== null);
            return pub && subs.length >= want ? x : null;
          }, spec.waitMs || 30000, 20);
          if (!s) throw new Error('the PeerConnections did not all connect in time');
          const pub = s.pcs.find((q) => q.role === 'offerer' && q.joinMs !== null);
          const subs = s.pcs.filter((q) => q.role === 'answerer' && q.joinMs !== null);
          const connectedAt = await page.evaluate(() => Math.max(...window.__pcs.filter((x) => x.rec.role === 'offerer' && x.rec.connected !== null).map((x) => x.rec.connected)));
          Object.assign(rec, {
            ok: true,
            pubMs: pub.joinMs,
            subMs: subs.map((q) => q.joinMs),
            clickToPubMs: connectedAt - clicked,
            pub: pub.selected && pub.selected.local,
            subs: subs.map((q) => q.selected && q.selected.local),
            policy: pub.policy,
          });
        } catch (e) {
          rec.why = String(e && e.message);
          rec.snapshot = await snapshot(page).catch(() => null);
        }
        out(rec);
        await page.evaluate(() => window.sbRoom && window.sbRoom.leave()).catch(() => {});
        await page.close().catch(() => {});
        await sleep(spec.pauseMs || 700);
      }
    }
    if (!ok && spec.artifacts) {
      fs.mkdirSync(spec.artifacts, { recursive: true });
      for (const n of names) await pages[n].screenshot({ path: path.join(spec.artifacts, `turn-${spec.tag || 'run'}-${n}.png`) }).catch(() => {});
    }
    const result = {};
    names.forEach((n, i) => {
      result[n] = { joined: Boolean(joined[n]), samples: samples.map((s) => s[i]), logs: logs[n].slice(0, 30) };
    });
    // Leave properly: the allocations end (coturn logs their usage) and the server is told.
    for (const n of names) await pages[n].evaluate(() => window.sbRoom && window.sbRoom.leave()).catch(() => {});
    out({ ev: 'result', ok, why, pages: result });
  } finally {
    if (browser) await browser.close().catch(() => {});
  }
}

const watchdog = setTimeout(() => {
  out({ ev: 'result', ok: false, why: 'driver watchdog fired', pages: {} });
  process.exit(3);
}, (spec.watchdogMs || 150000));
watchdog.unref();

main().then(
  () => process.exit(0),
  (e) => {
    out({ ev: 'result', ok: false, why: `driver error: ${String((e && e.stack) || e).slice(0, 2000)}`, pages: {} });
    process.exit(1);
  },
);
