// One headless Chromium page driven step by step from a parent process (lib/pagerpc.py):
// load opts.url, then read one JSON request a line on stdin and answer each with one JSON
// line on stdout, so that the parent can act between steps (move an address, read the
// server log) while the page keeps its state (janus.js session, PeerConnections).
//
//   node page_rpc.mjs '{"url":"http://198.18.3.1:18088/ice_restart.html","args":[...]}'
//   stdin:  {"id":1,"fn":"sbEchoStart","arg":{...},"timeoutMs":30000}
//   stdout: {"ev":"ready"} once the page is loaded (window.sbReady), then
//           {"id":1,"result":...} or {"id":1,"error":"..."} per request.
//   {"id":N,"fn":"__logs"} answers with the page's console lines so far; {"fn":"__quit"}
//   (or end of stdin) closes the browser and exits.
//
// Chromium: Debian's /usr/bin/chromium with the flags of TESTING.md plus opts.args, a fresh
// user-data-dir removed afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
];

const opts = JSON.parse(process.argv[2] || "{}");
const t0 = Date.now();
const logs = [];

function send(obj) {
    return new Promise((resolve) => process.stdout.write(JSON.stringify(obj) + "\n", resolve));
}

const dir = mkdtempSync(join(tmpdir(), "sb-rpc-chromium-"));
let ctx;
let status = 0;
try {
    ctx = await chromium.launchPersistentContext(dir, {
        executablePath: "/usr/bin/chromium", headless: true,
        args: FLAGS.concat(opts.args || []),
    });
    const page = ctx.pages()[0] || (await ctx.newPage());
    page.on("console", (m) => {
        const line = `${Date.now() - t0} ${m.type()}: ${m.text()}`;
        if (logs.length < 2000) logs.push(line.slice(0, 600));
    });
    page.on("pageerror", (e) => logs.push(`${Date.now() - t0} pageerror: ${e.message}`));
    await page.goto(opts.url, { waitUntil: "load", timeout: 20000 });
    await page.waitForFunction(() => window.sbReady === true, null, { timeout: 10000 });
    await send({ ev: "ready", browserVersion: ctx.browser() ? ctx.browser().version() : null });
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
        let req;
        try {
            req = JSON.parse(line);
        } catch {
            continue;
        }
        if (req.fn === "__quit") break;
        if (req.fn === "__logs") {
            await send({ id: req.id, result: logs.slice() });
            continue;
        }
        const ms = req.timeoutMs || 60000;
        try {
            const result = await page.evaluate(
                ([fn, arg, ms]) => Promise.race([
                    window[fn](arg),
                    new Promise((_, rej) => setTimeout(
                        () => rej(new Error(`${fn} did not finish in ${ms} ms`)), ms)),
                ]), [req.fn, req.arg === undefined ? {} : req.arg, ms]);
            await send({ id: req.id, result: result === undefined ? null : result });
        } catch (e) {
            const msg = String(e && e.message ? e.message : e);
            await send({ id: req.id, error: msg.slice(0, 4000) });
        }
    }
} catch (e) {
    status = 1;
    await send({ ev: "fatal", error: String(e && e.stack ? e.stack : e).slice(0, 4000),
                 logs: logs.slice(-50) });
} finally {
    if (ctx) await ctx.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
