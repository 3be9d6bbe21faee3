// Three participants of one VideoRoom in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): one browser, one context per participant, each loading
// web/videoroom_three.html. For each round of opts.rounds: the three pages join and publish
// at once, each subscribes to the other two (round.mode "perfeed" or "multi"); once every
// page decodes both remote feeds, two samples 2 s apart give the decoding rate and the box
// colour of every remote video; then the last page leaves (round.leave "leave" or
// "destroy") and the two others must see it go; then they must still decode each other
// (round.leave "none": no leave, the round ends after the decoding samples). round.codecs,
// when given, is each page's janus.js video codec (one per page).
// In a cluster (test_cluster_chromium.py), opts.pin is the balancer's admin URL: the pages
// start one after another, and each page's node stops taking new sessions (Admin API
// accept_new_sessions, through the balancer) before the next page starts, as long as another
// node takes them, so the pages' sessions land on different nodes; round.leave "kill" kills
// the third page's node (opts.nodePids) with SIGKILL instead of leaving.
// Prints one JSON line: {"rounds": [...]} or {"error": ..., "logs": [...]}; the test
// script (test_three_chromium.py) judges the data.
//
//   node three_pages.mjs '{"url": "...", "server": "...", "rounds": [...], "timeoutMs": N}'
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require(join(process.env.SB_NODE_MODULES, "playwright-core"));

const FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
];
const PEOPLE = [
    { name: "Red", rgb: [230, 40, 40] },
    { name: "Green", rgb: [40, 200, 40] },
    { name: "Blue", rgb: [40, 60, 230] },
];

const opts = JSON.parse(process.argv[2] || "{}");
const logs = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function states(pages) {
    return Promise.all(pages.map((p) => p.evaluate(() => window.sbState())));
}

/* Every page decodes every other one's video (decoded frames and a box colour). */
function allDecoding(sts, ids, min) {
    return sts.every((st, i) => ids.every((id, j) => i === j || (() => {
        const f = st.feeds[id];
        return f && f.tile && f.colour && f.video && f.video.decoded >= min;
    })()));
}

/* The decoding rate and colour of every (page, remote feed) pair between two samples. */
function rates(a, b, ids, who) {
    const out = [];
    for (const i of who) {
        for (const j of who) {
            if (i === j) continue;
            const fa = a[i].feeds[ids[j]] || {}, fb = b[i].feeds[ids[j]] || {};
            const da = fa.video ? fa.video.decoded : 0, db = fb.video ? fb.video.decoded : 0;
            out.push({ page: i, feed: ids[j], publisher: j, display: fb.display,
                       fps: (db - da) * 1000 / (b[i].now - a[i].now), decoded: db,
                       colour: fb.colour, video: fb.video,
                       sending: (b[j].sending || []).filter((x) => x.kind === "video") });
        }
    }
    return out;
}

const NODE_SHIFT = 2 ** 45; /* include/switchboard/id.h */
const nodeOf = (id) => Math.floor(id / NODE_SHIFT) % 256;

async function adminCall(node, body) {
    const res = await fetch(`${opts.pin}/node/${node}/admin`, { method: "POST",
        body: JSON.stringify(Object.assign({ transaction: "pin" }, body)) });
    return res.json();
}

/* Node n takes no new session until the balancer has taken it out of the pool. */
async function pinOut(n) {
    await adminCall(n, { janus: "accept_new_sessions", accept: false });
    await sleep(2500); /* two failed checks a second apart */
}

async function startPages(pages, r) {
    const cfg = (i) => Object.assign({ server: opts.server, room: r.room, mode: r.mode,
                                       legacyFeed: r.mode === "perfeed",
                                       codec: r.codecs ? r.codecs[i] : undefined }, PEOPLE[i]);
    if (!opts.pin)
        return Promise.all(pages.map((p, i) => p.evaluate((c) => window.sbStart(c), cfg(i))));
    const starts = [], out = [];
    for (let i = 0; i < pages.length; i++) {
        starts.push(await pages[i].evaluate((c) => window.sbStart(c), cfg(i)));
        const n = nodeOf(await pages[i].evaluate(() => window.sbSession()));
        starts[i].node = n;
        const live = (opts.liveNodes || []).filter((x) => !out.includes(x) && x !== n);
        if (i + 1 < pages.length && live.length) {
            out.push(n);
            await pinOut(n);
        }
    }
    for (const n of out)
        await adminCall(n, { janus: "accept_new_sessions", accept: true });
    return starts;
}

async function round(browser, r) {
    const res = { mode: r.mode, leave: r.leave, room: r.room, t: {} };
    const t0 = Date.now();
    const ctxs = [];
    const pages = [];
    try {
        for (let i = 0; i < 3; i++) {
            const ctx = await browser.newContext();
            ctxs.push(ctx);
            const page = await ctx.newPage();
            page.on("console", (m) => { if (m.type() !== "log" && m.type() !== "debug")
                logs.push(`${r.mode}/${i} ${m.type()}: ${m.text()}`); });
            page.on("pageerror", (e) => logs.push(`${r.mode}/${i} pageerror: ${e.message}`));
            await page.goto(opts.url);
            pages.push(page);
        }
        const starts = await startPages(pages, r);
        const ids = starts.map((s) => s.id);
        res.nodes = starts.map((s) => s.node);
        res.ids = ids;
        res.people = PEOPLE;
        res.t.published = Date.now() - t0;

        /* everyone decodes everyone else */
        let sts;
        const end = Date.now() + r.decodeMs;
        for (;;) {
            sts = await states(pages);
            if (allDecoding(sts, ids, 10) || Date.now() > end) break;
            await sleep(300);
        }
        res.t.allDecoding = Date.now() - t0;
        const a = await states(pages);
        await sleep(2000);
        const b = await states(pages);
        res.before = rates(a, b, ids, [0, 1, 2]);
        res.statesBefore = b;
        const list3 = await pages[0].evaluate(() => window.sbList());
        res.participantsBefore = list3.participants;

        if (r.leave === "none") { /* only the decoding was wanted */
            for (const p of pages)
                await p.evaluate(() => window.sbClose()).catch((e) => logs.push("close: " + e));
            res.t.total = Date.now() - t0;
            return res;
        }

        /* the third one goes */
        const gone = ids[2];
        const tLeave = Date.now();
        if (r.leave === "kill") {
            process.kill(opts.nodePids[res.nodes[2]], "SIGKILL");
            await pages[2].evaluate(() => window.sbAbandon());
            res.killed = res.nodes[2];
            opts.liveNodes = (opts.liveNodes || []).filter((n) => n !== res.killed);
        } else {
            res.leaveReply = (await pages[2].evaluate((how) => window.sbLeave(how),
                                                      r.leave)).reply;
        }
        const lend = Date.now() + r.leaveMs;
        let after;
        for (;;) {
            after = await states(pages.slice(0, 2));
            const done = after.every((st) => {
                const f = st.feeds[gone];
                if (!f || !f.gone || f.tile) return false;
                if (r.mode === "multi") {
                    const sub = st.subs[0];
                    return sub && !sub.streams.some((s) => s.feed === gone && s.active !== false);
                }
                return !st.subs.some((s) => s.feed === gone && !s.detached);
            });
            if (done || Date.now() > lend) break;
            await sleep(200);
        }
        res.t.leaveSeen = Date.now() - tLeave;
        res.tLeave = tLeave;
        res.statesAfter = after;
        await sleep(1000);
        const c = await states(pages.slice(0, 2));
        await sleep(2000);
        const d = await states(pages.slice(0, 2));
        res.afterLeave = rates(c, d, ids, [0, 1]);
        const list2 = await pages[0].evaluate(() => window.sbList());
        res.participantsAfter = list2.participants;
        for (const p of pages.slice(0, 2))
            await p.evaluate(() => window.sbClose()).catch((e) => logs.push("close: " + e));
        res.t.total = Date.now() - t0;
    } finally {
        for (const ctx of ctxs) await ctx.close().catch(() => {});
    }
    return res;
}

let browser;
let out;
const watchdog = setTimeout(() => {
    console.log(JSON.stringify({ error: "driver timeout", logs: logs.slice(-80) }));
    process.exit(1);
}, opts.timeoutMs || 180000);
try {
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
                                      args: FLAGS });
    const rounds = [];
    for (const r of opts.rounds) {
        try {
            rounds.push(await round(browser, r));
        } catch (e) {
            rounds.push({ mode: r.mode, leave: r.leave, error: String(e && e.message || e) });
        }
    }
    out = { rounds, logs: logs.slice(-80) };
} catch (e) {
    out = { error: String(e && e.message || e), logs: logs.slice(-80) };
} finally {
    if (browser) await browser.close().catch(() => {});
}
clearTimeout(watchdog);
console.log(JSON.stringify(out));
process.exit(out.error ? 1 : 0);
