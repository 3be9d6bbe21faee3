// janode over WebSocket against Switchboard: connect, info, create a session, attach the
// echotest, send a message and get its reply, a plugin error, trickle, hangup, detach,
// destroy, close. Prints one "ok - name" / "not ok - name" line per step.
// Usage: node janode_client.mjs <ws-port | ws:// or wss:// URL>
import Janode from 'janode';
import EchoTestPlugin from 'janode/plugins/echotest';

const url = process.argv[2].includes('://') ? process.argv[2] : `ws://127.0.0.1:${process.argv[2]}/`;
Janode.Logger.setLevel('warning');

let failed = 0;
async function step(name, fn) {
  try {
    const r = await fn();
    console.log(`ok - ${name}`);
    return r;
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}`);
    console.log(`#   ${String(e && e.stack || e).split('\n').join('\n#   ')}`);
    throw e;
  }
}

function assert(cond, what) {
  if (!cond) throw new Error(what);
}

const watchdog = setTimeout(() => {
  console.log('not ok - finished within 60s');
  process.exit(1);
}, 60000);

try {
  const conn = await step('connect', () => Janode.connect({
    address: { url },
    retry_time_secs: 1,
    max_retries: 3,
  }));
  await step('server info lists the echotest', async () => {
    const info = await conn.getInfo();
    assert(info.janus === 'server_info', `info: ${JSON.stringify(info)}`);
    assert(info.plugins && info.plugins['janus.plugin.echotest'], 'echotest listed');
  });
  const session = await step('create a session', async () => {
    const s = await conn.create();
    assert(Number.isSafeInteger(s.id) && s.id > 0, `session id ${s.id}`);
    return s;
  });
  const handle = await step('attach the echotest', async () => {
    const h = await session.attach(EchoTestPlugin);
    assert(Number.isSafeInteger(h.id) && h.id > 0, `handle id ${h.id}`);
    return h;
  });
  await step('message gets its reply with result ok', async () => {
    const resp = await handle.message({ audio: true, video: false });
    const data = resp && resp.plugindata && resp.plugindata.data;
    assert(data && data.echotest === 'event' && data.result === 'ok',
      `reply: ${JSON.stringify(resp)}`);
    assert(resp.sender === handle.id, 'sender is the handle');
  });
  await step('a bad message is rejected with the plugin error', async () => {
    let err = null;
    try {
      await handle.message({ audio: 'loud' });
    } catch (e) {
      err = e;
    }
    assert(err && /^4\d\d /.test(err.message), `error: ${err && err.message}`);
  });
  await step('trickle completed is acked', () => handle.trickleComplete());
  await step('hangup succeeds', () => handle.hangup());
  await step('detach', async () => {
    let detachedEvent = false;
    handle.once(Janode.EVENT.HANDLE_DETACHED, () => { detachedEvent = true; });
    await handle.detach();
    await new Promise((r) => setTimeout(r, 300));
    assert(detachedEvent, 'HANDLE_DETACHED emitted');
  });
  await step('destroy the session', () => session.destroy());
  await step('close the connection', () => conn.close());
} catch (e) {
  // already reported by step()
}
clearTimeout(watchdog);
process.exit(failed ? 1 : 0);
