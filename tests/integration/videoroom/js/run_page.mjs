// Load one page of the VideoRoom tests in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core) and run window[opts.fn](opts.cfg); print one JSON line:
// {"result": ...} or {"error": ..., "logs": [...]}.
//
//   node run_page.mjs '{"url":"http://127.0.0.1:PORT/videoroom_simulcast.html",
//                       "fn":"sbSimulcast","cfg":{...},"timeoutMs":90000}'
//
// Flags as TESTING.md says; a fresh user-data-dir, removed afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require(join(process.env.SB_NODE_MODULES, "playwright-core"));

const FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
];

const opts = JSON.parse(process.argv[2] || "{}");
const logs = [];
const dir = mkdtempSync(join(tmpdir(), "sb-vr-chromium-"));
let ctx;
let out;
try {
    ctx = await chromium.launchPersistentContext(dir, {
        executablePath: "/usr/bin/chromium", headless: true, args: FLAGS,
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on("console", (m) => logs.push(m.type() + ": " + m.text()));
    page.on("pageerror", (e) => logs.push("pageerror: " + e.message));
    await page.goto(opts.url);
    const result = await page.evaluate(
        ([fn, cfg, ms]) => Promise.race([
            window[fn](cfg),
            new Promise((_, rej) => setTimeout(() => rej(new Error("page timeout")), ms)),
        ]), [opts.fn, opts.cfg, opts.timeoutMs || 90000]);
    out = { result };
} catch (e) {
    out = { error: String(e && e.message || e), logs: logs.slice(-60) };
} finally {
    if (ctx) await ctx.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
process.exit(out.error ? 1 : 0);
