// Drive headless Chromium through web/echo_media.html (served by the daemon under test):
// run window.sbEcho(cfg) (or window[opts.fn](cfg)) and print one JSON object on stdout with
// its result plus what went over the wire (every Janus request the page sent, in order,
// over HTTP or WebSocket). With opts.serverPid the page can read the server's CPU time
// (window.sbCpu: utime+stime ticks of /proc/PID/stat and the on-CPU nanoseconds summed over
// /proc/PID/task/*/schedstat).
//
//   node echo_media.mjs '{"url":"http://127.0.0.1:18088/echo_media.html",
//                            "cfg":{"server":"http://127.0.0.1:18088/janus"},"timeoutMs":60000}'
//
// Chromium: Debian's /usr/bin/chromium with the flags of TESTING.md (plus opts.args, e.g.
// --unsafely-treat-insecure-origin-as-secure=...), a fresh user-data-dir removed afterwards.
// Exit status 0 when the page ran to the end (the caller judges the figures), 1 with
// {"error": ...} otherwise.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
];

const opts = JSON.parse(process.argv[2] || "{}");
const t0 = Date.now();
const wire = []; // {t, via, janus, candidate?, completed?, jsep?}
const logs = [];

function noteRequest(text, via) {
    let msgs;
    try {
        msgs = JSON.parse(text);
    } catch {
        return;
    }
    for (const m of Array.isArray(msgs) ? msgs : [msgs]) {
        if (!m || typeof m !== "object" || !m.janus) continue;
        const e = { t: Date.now() - t0, via, janus: m.janus };
        if (m.jsep) e.jsep = m.jsep.type;
        if (m.janus === "trickle") {
            const c = m.candidate || {};
            if (c.completed) e.completed = true;
            else if (c.candidate) e.candidate = c.candidate;
            if (m.candidates) e.candidates = m.candidates.length;
        }
        wire.push(e);
    }
}

function serverCpu(pid) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
            ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
        } catch {
            /* thread gone */
        }
    }
    return { ticks: Number(f[11]) + Number(f[12]), ns, wall: Date.now() };
}

const userDataDir = mkdtempSync(join(tmpdir(), "sb-chromium-"));
let context;
let status = 0;
const out = {};
try {
    context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: "/usr/bin/chromium",
        headless: true,
        args: CHROMIUM_FLAGS.concat(opts.args || []), // opts.args: extra flags
    });
    const page = context.pages()[0] || (await context.newPage());
    if (opts.serverPid) await page.exposeFunction("sbCpu", () => serverCpu(opts.serverPid));
    page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`.slice(0, 500)));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
    page.on("request", (r) => {
        if (r.method() === "POST" && r.postData()) noteRequest(r.postData(), "http");
    });
    page.on("websocket", (ws) => {
        ws.on("framesent", (f) => noteRequest(f.payload.toString(), "ws"));
    });
    await page.goto(opts.url, { waitUntil: "load" });
    await page.waitForFunction(() => window.sbReady === true, null, { timeout: 10000 });
    const timeoutMs = opts.timeoutMs || 60000;
    out.result = await Promise.race([
        page.evaluate(([fn, cfg]) => window[fn](cfg), [opts.fn || "sbEcho", opts.cfg || {}]),
        new Promise((_, reject) =>
            setTimeout(() => reject(new Error(`page did not finish in ${timeoutMs} ms`)), timeoutMs)),
    ]);
    out.browserVersion = context.browser() ? context.browser().version() : null;
} catch (e) {
    out.error = String(e && e.stack ? e.stack : e);
    status = 1;
} finally {
    if (context) await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
}
out.wire = wire;
out.logs = logs.slice(-200);
// Exit only once the whole line is out: a pipe takes 64 KiB at a time.
process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(status));
