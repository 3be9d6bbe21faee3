// janode's VideoRoom plugin over the daemon's WebSocket, signaling only (janode has no
// WebRTC): room management (create with options, an existing room, exists, list, edit,
// allowed, listparticipants, kick, destroy, wrong secrets) and the notifications between
// janode participants (joining, attendees, publishers, unpublished, leaving, kicked,
// destroyed). The one publisher with media is an aiortc peer that the test script runs on
// request: this script prints "@publish {...}" / "@unpublish" / "@leave" and reads one
// "@done {...}" line from stdin for each.
// Prints "ok - step" / "not ok - step" lines (and "# ..." notes); exits non-zero on failure.
//
// Usage: node janode_videoroom.mjs <ws-port>
import { createInterface } from 'node:readline';
import Janode from 'janode';
import VideoRoom from 'janode/plugins/videoroom';

const port = Number(process.argv[2]);
const ROOM = 4321;
const PRIVATE_ROOM = 4322;
const SECRET = 'adm1n';
const PIN = 'p1n';
Janode.Logger.setLevel('none');

let failed = 0;
const t0 = Date.now();
function ok(cond, name, detail) {
  console.log(`${cond ? 'ok' : 'not ok'} - ${name}`);
  if (!cond) {
    failed++;
    if (detail !== undefined)
      console.log(`#   ${String(typeof detail === 'string' ? detail : JSON.stringify(detail))
        .split('\n').join('\n#   ')}`);
  }
  return cond;
}
async function step(name, fn) {
  try {
    const r = await fn();
    ok(true, name);
    return r;
  } catch (e) {
    ok(false, name, String(e && e.stack || e));
    return undefined;
  }
}
function assert(cond, what) {
  if (!cond) throw new Error(what);
}
function eq(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: got ${g}, want ${w}`);
}
/* A request that must fail with this VideoRoom error code. */
async function fails(code, fn) {
  let err = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert(err, `no error (want ${code})`);
  assert(err._code === code || String(err.message).startsWith(`${code} `),
    `error ${err.message} (code ${err._code}), want ${code}`);
  return err;
}

/* Every VideoRoom event a handle emits, queued for waitEvent(). */
function collect(h) {
  h.queue = [];
  for (const name of Object.values(VideoRoom.EVENT))
    h.on(name, (data) => h.queue.push({ event: name, data, t: Date.now() }));
  return h;
}
async function waitEvent(h, name, pred = () => true, ms = 8000) {
  const end = Date.now() + ms;
  for (;;) {
    const i = h.queue.findIndex((e) => e.event === name && pred(e.data));
    if (i >= 0) return h.queue.splice(i, 1)[0].data;
    if (Date.now() > end)
      throw new Error(`${name} not received in ${ms} ms; queue: ${JSON.stringify(h.queue)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
/* The aiortc side of the test script. */
const stdin = createInterface({ input: process.stdin });
const replies = [];
stdin.on('line', (line) => { if (line.startsWith('@done')) replies.push(JSON.parse(line.slice(6))); });
async function ask(what, args = {}) {
  console.log(`@${what} ${JSON.stringify(args)}`);
  const end = Date.now() + 30000;
  while (!replies.length) {
    if (Date.now() > end) throw new Error(`no answer to @${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const r = replies.shift();
  if (r.error) throw new Error(`@${what}: ${r.error}`);
  return r;
}

async function participant(display) {
  const conn = await Janode.connect({ address: { url: `ws://127.0.0.1:${port}/` },
                                      retry_time_secs: 1, max_retries: 3 });
  const session = await conn.create();
  const h = collect(await session.attach(VideoRoom));
  return { conn, session, h, display };
}

const watchdog = setTimeout(() => {
  console.log('not ok - finished within 120 s');
  process.exit(1);
}, 120000);

const people = [];
try {
  // ---- room management --------------------------------------------------------------------
  const admin = await step('admin connects over WebSocket and attaches the videoroom',
    () => participant('admin'));
  const adm = admin.h;
  people.push(admin);
  const OPTIONS = { room: ROOM, description: 'janode room', secret: SECRET, pin: PIN,
                    max_publishers: 4, bitrate: 128000, fir_freq: 10, audiocodec: 'opus',
                    videocodec: 'vp8', notify_joining: true, is_private: false,
                    talking_events: false };
  await step('create a room with options', async () => {
    const r = await adm.create(OPTIONS);
    eq([r.room, r.permanent], [ROOM, false], 'created');
  });
  await step('creating it again fails: 427', () => fails(427, () => adm.create(OPTIONS)));
  await step('create with a non-numeric room id fails: 430',
    () => fails(430, () => adm.create({ room: 'not-a-number' })));
  let autoRoom;
  await step('create without an id: the plugin picks one', async () => {
    const r = await adm.create({ description: 'auto' });
    autoRoom = r.room;
    assert(Number.isSafeInteger(autoRoom) && autoRoom > 0 && autoRoom !== ROOM, `id ${autoRoom}`);
  });
  await step('create a private room', async () => {
    const r = await adm.create({ room: PRIVATE_ROOM, is_private: true, description: 'hidden' });
    eq(r.room, PRIVATE_ROOM, 'created');
  });
  await step('exists: yes for the room, no for an unknown one', async () => {
    eq((await adm.exists({ room: ROOM })).exists, true, 'exists');
    eq((await adm.exists({ room: 987654 })).exists, false, 'unknown');
    eq((await adm.exists({ room: PRIVATE_ROOM })).exists, true, 'private exists');
  });
  const listed = async (room) => (await adm.list()).list.find((x) => x.room === room);
  await step('list shows the options; the private room is hidden', async () => {
    const r = await listed(ROOM);
    assert(r, 'room listed');
    eq([r.description, r.pin_required, r.is_private, r.max_publishers, r.bitrate, r.fir_freq,
        r.audiocodec, r.videocodec, r.notify_joining, r.num_participants],
       ['janode room', true, false, 4, 128000, 10, 'opus', 'vp8', true, 0], 'listed room');
    assert(!(await listed(PRIVATE_ROOM)), 'private room not listed');
    assert(await listed(autoRoom), 'auto room listed');
  });
  await step('edit with a wrong secret fails: 433', () => fails(433, () => adm.message(
    { request: 'edit', room: ROOM, secret: 'wrong', new_description: 'x' })));
  await step('edit without the secret fails: 429', () => fails(429, () => adm.message(
    { request: 'edit', room: ROOM, new_description: 'x' })));
  await step('edit: description, publishers, bitrate', async () => {
    const r = await adm.message({ request: 'edit', room: ROOM, secret: SECRET,
                                  new_description: 'renamed', new_publishers: 3,
                                  new_bitrate: 64000 });
    const d = r.plugindata.data;
    eq([d.videoroom, d.room], ['edited', ROOM], 'edited');
    const l = await listed(ROOM);
    eq([l.description, l.max_publishers, l.bitrate], ['renamed', 3, 64000], 'list after edit');
  });
  await step('allowed with a wrong secret fails: 433', () => fails(433, () => adm.allow(
    { room: ROOM, action: 'add', list: ['tokA'], secret: 'nope' })));
  await step('allowed: add two tokens, enable the check', async () => {
    const r = await adm.allow({ room: ROOM, action: 'add', list: ['tokA', 'tokB'],
                                secret: SECRET });
    eq([...r.list].sort(), ['tokA', 'tokB'], 'allowed after add');
    const e = await adm.allow({ room: ROOM, action: 'enable', secret: SECRET });
    assert(e.room === ROOM, `enable: ${JSON.stringify(e)}`);
  });

  // ---- participants -----------------------------------------------------------------------
  const bob = await step('Bob connects (his own WebSocket)', () => participant('Bob'));
  people.push(bob);
  await step('Bob without a token is refused: 433', () => fails(433, () =>
    bob.h.joinPublisher({ room: ROOM, pin: PIN, display: 'Bob' })));
  await step('Bob with a wrong pin is refused: 433', () => fails(433, () =>
    bob.h.joinPublisher({ room: ROOM, pin: 'bad', token: 'tokA', display: 'Bob' })));
  const bobJoined = await step('Bob joins with the pin and a token', async () => {
    const r = await bob.h.joinPublisher({ room: ROOM, pin: PIN, token: 'tokA', display: 'Bob' });
    assert(Number.isSafeInteger(r.feed) && r.feed > 0, `feed ${r.feed}`);
    eq([r.room, r.description, r.publishers], [ROOM, 'renamed', []], 'joined');
    return r;
  });
  await step('allowed: remove a token, disable the check', async () => {
    const r = await adm.allow({ room: ROOM, action: 'remove', list: ['tokB'], secret: SECRET });
    eq(r.list, ['tokA'], 'allowed after remove');
    // "disable" answers without the "allowed" list (videoroom.html: the list comes "only
    // for enable|add|remove"), which janode's allow() rejects: send it raw.
    const d = (await adm.message({ request: 'allowed', room: ROOM, action: 'disable',
                                   secret: SECRET })).plugindata.data;
    eq([d.videoroom, d.room], ['success', ROOM], 'disable');
  });
  const carol = await step('Carol connects', () => participant('Carol'));
  people.push(carol);
  const carolJoined = await step('Carol joins (no token needed now); Bob is an attendee',
    async () => {
      const r = await carol.h.message({ request: 'join', ptype: 'publisher', room: ROOM,
                                        pin: PIN, display: 'Carol' });
      const d = r.plugindata.data;
      eq([d.videoroom, d.publishers], ['joined', []], 'joined');
      eq(d.attendees, [{ id: bobJoined.feed, display: 'Bob' }], 'attendees');
      assert(carol.h.feed === d.id, 'janode keeps the feed id');
      return { feed: d.id };
    });
  await step('Bob hears Carol joining (notify_joining)', async () => {
    const e = await waitEvent(bob.h, VideoRoom.EVENT.VIDEOROOM_PUB_PEER_JOINED);
    eq([e.room, e.feed, e.display], [ROOM, carolJoined.feed, 'Carol'], 'joining');
  });
  await step('listparticipants: Bob and Carol, not publishing', async () => {
    const r = await adm.listParticipants({ room: ROOM });
    eq(r.participants.map((p) => [p.feed, p.display, p.publisher]).sort(),
       [[bobJoined.feed, 'Bob', false], [carolJoined.feed, 'Carol', false]].sort(),
       'participants');
    eq((await listed(ROOM)).num_participants, 2, 'num_participants');
  });

  // ---- an aiortc publisher ----------------------------------------------------------------
  const alice = await step('an aiortc publisher (Alice) joins and publishes audio and video',
    () => ask('publish', { room: ROOM, pin: PIN, display: 'Alice' }));
  const aliceFeed = alice && alice.id;
  for (const p of [bob, carol]) {
    await step(`${p.display} hears Alice joining, then publishing (audio opus, video vp8)`,
      async () => {
        const j = await waitEvent(p.h, VideoRoom.EVENT.VIDEOROOM_PUB_PEER_JOINED,
          (d) => d.feed === aliceFeed);
        eq(j.display, 'Alice', 'joining display');
        const e = await waitEvent(p.h, VideoRoom.EVENT.VIDEOROOM_PUB_LIST,
          (d) => d.publishers.some((x) => x.feed === aliceFeed));
        eq(e.publishers.length, 1, 'one publisher in the event');
        const pub = e.publishers[0];
        eq(pub.display, 'Alice', 'display');
        eq(pub.streams.map((s) => [s.type, s.codec]), [['audio', 'opus'], ['video', 'vp8']],
           'streams');
      });
  }
  await step('listparticipants: Alice is publishing', async () => {
    const r = await adm.listParticipants({ room: ROOM });
    const a = r.participants.find((p) => p.feed === aliceFeed);
    eq(a && [a.display, a.publisher], ['Alice', true], 'Alice');
  });
  const dave = await step('Dave connects', () => participant('Dave'));
  people.push(dave);
  await step('Dave joins: publishers list (Alice), attendees; Bob and Carol hear him', async () => {
    const r = await dave.h.message({ request: 'join', ptype: 'publisher', room: ROOM, pin: PIN,
                                     display: 'Dave' });
    const d = r.plugindata.data;
    eq(d.publishers.map((p) => [p.id, p.display, p.streams.map((s) => s.type)]),
       [[aliceFeed, 'Alice', ['audio', 'video']]], 'publishers');
    eq(d.attendees.map((a) => a.display).sort(), ['Bob', 'Carol'], 'attendees');
    for (const p of [bob, carol]) {
      const e = await waitEvent(p.h, VideoRoom.EVENT.VIDEOROOM_PUB_PEER_JOINED,
        (x) => x.display === 'Dave');
      eq(e.feed, d.id, `${p.display} hears Dave joining`);
    }
  });
  const subscribe = async (params) => {
    const h = collect(await dave.session.attach(VideoRoom));
    const r = await h.joinSubscriber(Object.assign({ room: ROOM, pin: PIN }, params));
    eq(r.room, ROOM, 'attached');
    eq(r.streams.map((s) => [s.type, s.feed_id, s.feed_display, s.active !== false]),
       [['audio', aliceFeed, 'Alice', true], ['video', aliceFeed, 'Alice', true]], 'streams');
    assert(r.jsep && r.jsep.type === 'offer' && /m=audio/.test(r.jsep.sdp)
           && /m=video/.test(r.jsep.sdp), 'offer with audio and video');
    return { h, r };
  };
  const subs = [];
  await step('Dave subscribes to Alice with "streams": attached, with an offer', async () => {
    subs.push((await subscribe({ streams: [{ feed: aliceFeed }] })).h);
  });
  await step('Dave subscribes to Alice with the legacy "feed": attached names the feed (id)',
    async () => {
      const { h, r } = await subscribe({ feed: aliceFeed });
      subs.push(h);
      // The reference adds "id" (and a "deprecated_api" warning) to the "attached" of a
      // legacy subscription; janode takes its handle's feed from it.
      eq([r.feed, h.feed], [aliceFeed, aliceFeed], 'feed of the attached event / handle');
    });
  await step('listparticipants does not list the subscriber', async () => {
    const r = await adm.listParticipants({ room: ROOM });
    eq(r.participants.length, 4, 'Alice, Bob, Carol, Dave');
  });
  await step('Dave\'s subscriptions leave ("left") and detach', async () => {
    for (const h of subs) {
      const r = await h.leave();
      eq(r.room, ROOM, 'left');
      await h.detach();
    }
    assert(subs.length === 2, `${subs.length} subscriptions`);
  });
  await step('Alice unpublishes: Bob, Carol and Dave hear "unpublished"', async () => {
    await ask('unpublish');
    for (const p of [bob, carol, dave]) {
      const e = await waitEvent(p.h, VideoRoom.EVENT.VIDEOROOM_UNPUBLISHED,
        (d) => d.feed === aliceFeed);
      eq(e.room, ROOM, 'room');
    }
  });
  await step('Alice leaves: Bob, Carol and Dave hear "leaving"', async () => {
    await ask('leave');
    for (const p of [bob, carol, dave])
      await waitEvent(p.h, VideoRoom.EVENT.VIDEOROOM_LEAVING, (d) => d.feed === aliceFeed);
  });

  // ---- leaving, kick, destroy ---------------------------------------------------------------
  await step('Carol leaves: answered "leaving" ok; Bob and Dave hear it', async () => {
    const r = await carol.h.leave();
    eq([r.room, r.feed], [ROOM, carolJoined.feed], 'leaving');
    for (const p of [bob, dave]) {
      const e = await waitEvent(p.h, VideoRoom.EVENT.VIDEOROOM_LEAVING,
        (d) => d.feed === carolJoined.feed);
      eq(e.room, ROOM, 'room');
    }
  });
  await step('Carol\'s handle cannot be used after leaving: 425 to a new join',
    () => fails(425, () => carol.h.joinPublisher({ room: ROOM, pin: PIN })));
  await step('kick with a wrong secret fails: 433', () => fails(433, () =>
    adm.kick({ room: ROOM, feed: bobJoined.feed, secret: 'nope' })));
  await step('kick an unknown participant fails: 428', () => fails(428, () =>
    adm.kick({ room: ROOM, feed: 123456789, secret: SECRET })));
  await step('kick Bob: he hears "leaving" (kicked), Dave hears "kicked"', async () => {
    await adm.kick({ room: ROOM, feed: bobJoined.feed, secret: SECRET });
    const e = await waitEvent(bob.h, VideoRoom.EVENT.VIDEOROOM_LEAVING);
    eq([e.feed, e.reason], [bobJoined.feed, 'kicked'], 'Bob\'s leaving');
    const k = await waitEvent(dave.h, VideoRoom.EVENT.VIDEOROOM_KICKED);
    eq([k.room, k.feed], [ROOM, bobJoined.feed], 'kicked');
  });
  await step('listparticipants: only Dave is left', async () => {
    const r = await adm.listParticipants({ room: ROOM });
    eq(r.participants.map((p) => p.display), ['Dave'], 'participants');
  });
  await step('destroy with a wrong secret fails: 433', () => fails(433, () =>
    adm.destroy({ room: ROOM, secret: 'nope' })));
  await step('destroy: Dave hears "destroyed"; the room is gone', async () => {
    const r = await adm.destroy({ room: ROOM, secret: SECRET });
    eq(r.room, ROOM, 'destroyed');
    const e = await waitEvent(dave.h, VideoRoom.EVENT.VIDEOROOM_DESTROYED);
    eq(e.room, ROOM, 'destroyed event');
    eq((await adm.exists({ room: ROOM })).exists, false, 'exists after destroy');
    assert(!(await listed(ROOM)), 'not listed');
  });
  await step('destroy an unknown room fails: 426', () => fails(426, () =>
    adm.destroy({ room: ROOM, secret: SECRET })));
  await step('destroy the other rooms', async () => {
    await adm.destroy({ room: PRIVATE_ROOM });
    await adm.destroy({ room: autoRoom });
    eq((await adm.list()).list.filter((x) => [autoRoom, PRIVATE_ROOM].includes(x.room)), [],
       'list');
  });
  await step('no stray events', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const stray = people.flatMap((p) => p.h.queue.map((e) => [p.display, e.event, e.data]));
    eq(stray, [], 'events left unread');
  });
  await step('detach, destroy the sessions, close the connections', async () => {
    for (const p of people) {
      await p.h.detach().catch(() => {});
      await p.session.destroy();
      await p.conn.close();
    }
  });
} catch (e) {
  ok(false, 'the script ran to its end', String(e && e.stack || e));
}
clearTimeout(watchdog);
console.log(`# janode script: ${Date.now() - t0} ms`);
process.exit(failed ? 1 : 0);
