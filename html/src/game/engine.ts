// "Catch the dot": a shared arena where every player steers a ball (arrow keys/WASD, or
// click/drag towards a point) and races the others to the dot.
//
// Transport: a data room (src/janus/dataroom.ts) in VideoRoom room gameRoomId(game): each
// player publishes a data-only PeerConnection with an unordered, maxRetransmits:0 "game"
// channel (its state, 30 times a second) and a reliable "events" channel (claims and
// awards), and receives every other player's channels through the SFU.
//
// Nothing is authoritative on the server. The dot's positions are a pure function of the
// game number and the dot's sequence number, so everyone agrees where dot N is; the
// player with the lowest id among those heard in the last two seconds owns the dot: it
// gives dot N to itself when it touches it, or to the first player whose claim for N
// reaches it, announces "taken" and moves on to N+1. Every player keeps its own score
// (incremented when the owner gives it a dot) and tells it in its state, so scores survive
// the owner leaving. Everyone follows the highest dot number it has heard of.
//
// Remote balls are drawn INTERP_MS in the past, interpolated between the states received
// (extrapolated for at most 100 ms when states are late), on the sender's clock mapped to
// ours by the smallest (arrival - send time) seen lately. Latency: each state echoes the
// last send time heard from (up to 3, in turn) other players with how long it was held, so
// each player gets the round trip to each other player through the SFU on its own clock;
// shown as RTT/2.
import { DataRoomClient, type DataRoomSnapshot } from '../janus/dataroom';
import { decode, encodeState, fromId36, id36, type GameMsg } from './protocol';

export const ARENA = { w: 960, h: 600 };
export const BALL_R = 22;
export const DOT_R = 12;
export const SPEED = 360; // arena units per second
export const TICK_HZ = 30;
export const MAX_PLAYERS = 8;
const INTERP_MS = 80;
const EXTRAPOLATE_MS = 100;
const HEARD_MS = 2000; // a player not heard for this long does not own the dot
const IDLE_MS = 3000; // ... and is shown as idle
const RATE_WINDOW_MS = 2000;
const CLAIM_RETRY_MS = 500;
const ECHOES_PER_STATE = 3;
const MAX_BUFFERED = 16 * 1024; // skip a state rather than queue behind a stuck channel
const VIEW_MS = 250;

const GAME_ROOM_BIT = 2 ** 52;

/** The VideoRoom room of game n: n with bit 52 flipped (a bijection of the JavaScript-safe
 * ids, never n itself, so a room's game never mixes with the room's own call). */
export function gameRoomId(n: number): number {
  return n >= GAME_ROOM_BIT ? n - GAME_ROOM_BIT : n + GAME_ROOM_BIT;
}

function mix(a: number): number {
  a = Math.imul(a ^ (a >>> 16), 0x7feb352d);
  a = Math.imul(a ^ (a >>> 15), 0x846ca68b);
  return (a ^ (a >>> 16)) >>> 0;
}

/** Where dot `seq` of game `game` is: the same for every player. */
export function dotPosition(game: number, seq: number): { x: number; y: number } {
  const lo = game % 2 ** 32;
  const hi = Math.floor(game / 2 ** 32);
  const h1 = mix(mix(lo ^ 0x9e3779b9) ^ mix(hi + 0x632be5ab) ^ mix(seq + 0x2545f491));
  const h2 = mix(h1 ^ 0x5bd1e995);
  const m = 48;
  return { x: m + (h1 / 2 ** 32) * (ARENA.w - 2 * m), y: m + (h2 / 2 ** 32) * (ARENA.h - 2 * m) };
}

const PALETTE = ['#5b8cff', '#ff6b6b', '#3ecf8e', '#ff9f43', '#c77dff', '#2fd4e0', '#ff7ac6', '#a3e635'];

/** A colour for each player, different for up to 8 and the same on every page: in id
 * order, each takes the palette slot its id hashes to, or the next free one. */
export function assignColors(ids: number[]): Map<number, string> {
  const out = new Map<number, string>();
  const used = new Set<number>();
  for (const id of [...ids].sort((a, b) => a - b)) {
    let slot = mix((id % 2 ** 32) ^ mix(Math.floor(id / 2 ** 32))) % PALETTE.length;
    if (used.size >= PALETTE.length) {
      out.set(id, `hsl(${Math.round(((id % 9973) * 137.508) % 360)} 78% 62%)`);
      continue;
    }
    while (used.has(slot)) slot = (slot + 1) % PALETTE.length;
    used.add(slot);
    out.set(id, PALETTE[slot]);
  }
  return out;
}

interface Sample {
  t: number; // sender's clock
  x: number;
  y: number;
}

interface Remote {
  id: number;
  samples: Sample[];
  lastSeq: number;
  offsets: number[]; // recent (arrival - send time)
  offset: number;
  score: number;
  echo?: { t: number; at: number }; // its last send time we heard, and when
  rtts: number[];
  recv: number[]; // arrival times of its states
  recvTotal: number;
  lastHeard: number;
  /** It has echoed one of our states: it hears us. */
  hearsUs: boolean;
  drawn?: { x: number; y: number; at: number };
}

export interface PlayerView {
  id: number;
  name: string;
  color: string;
  self: boolean;
  score: number;
  /** RTT/2 to this player through the SFU, ms (median of the last samples). */
  latencyMs?: number;
  /** States received from it per second (ours sent, for self). */
  rate: number;
  idle: boolean;
  owner: boolean;
}

export interface GameSnapshot {
  net: DataRoomSnapshot;
  myId?: number;
  players: PlayerView[];
  sendRate: number;
  stateBytes: number;
  dot: number;
}

export interface FrameBall {
  id: number;
  name: string;
  color: string;
  x: number;
  y: number;
  self: boolean;
  idle: boolean;
  latencyMs?: number;
}

export interface Frame {
  balls: FrameBall[];
  dot: { x: number; y: number; seq: number };
  flashes: { x: number; y: number; color: string; age: number; self: boolean }[];
}

export interface GameOptions {
  server: string;
  game: number;
  display: string;
  iceServers: RTCIceServer[];
}

const median = (v: number[]): number | undefined => {
  if (!v.length) return undefined;
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
};

export class GameEngine {
  readonly net: DataRoomClient;
  readonly game: number;
  readonly display: string;
  private snap: GameSnapshot;
  private listeners = new Set<() => void>();
  private unsubNet: () => void;
  private me = { x: 0, y: 0, vx: 0, vy: 0, score: 0 };
  private keys = { up: false, down: false, left: false, right: false };
  private target: { x: number; y: number } | null = null;
  private remotes = new Map<number, Remote>();
  private colors = new Map<number, string>();
  private seq = 0;
  private dot = 0;
  private taken = new Set<number>(); // dots whose "taken" we have applied
  private lastClaim = { d: -1, at: 0 };
  private claims: { from: number; d: number }[] = [];
  private flashes: { x: number; y: number; color: string; at: number; self: boolean }[] = [];
  private sent: number[] = [];
  private sentTotal = 0;
  private bytes = 0;
  private echoTurn = 0;
  private lastTick = 0;
  private nextTick = 0;
  private tickTimer?: ReturnType<typeof setTimeout>;
  private viewTimer?: ReturnType<typeof setInterval>;
  private stopped = false;

  constructor(o: GameOptions) {
    this.game = o.game;
    this.display = o.display;
    this.net = new DataRoomClient(
      {
        server: o.server,
        roomId: gameRoomId(o.game),
        display: o.display,
        iceServers: o.iceServers,
        channels: [
          { label: 'game', init: { ordered: false, maxRetransmits: 0 } },
          { label: 'events', init: { ordered: true } },
        ],
        create: { description: `Game ${o.game}`, publishers: MAX_PLAYERS, is_private: true, notify_joining: false },
      },
      { onMessage: (from, _label, data) => this.onMessage(from, data) },
    );
    this.me.x = BALL_R + Math.random() * (ARENA.w - 2 * BALL_R);
    this.me.y = BALL_R + Math.random() * (ARENA.h - 2 * BALL_R);
    this.snap = { net: this.net.getSnapshot(), players: [], sendRate: 0, stateBytes: 0, dot: 0 };
    this.unsubNet = this.net.subscribe(() => this.onNet());
  }

  // ---- store ------------------------------------------------------------------------

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): GameSnapshot => this.snap;

  private emit(): void {
    const now = performance.now();
    const net = this.net.getSnapshot();
    const myId = net.myId;
    const owner = this.owner(now);
    const players: PlayerView[] = [];
    if (myId !== undefined)
      players.push({ id: myId, name: this.displayName(), color: this.colorOf(myId), self: true, score: this.me.score, rate: this.sendRate(now), idle: false, owner: owner === myId });
    for (const p of net.peers) {
      const r = this.remotes.get(p.id);
      const lat = r ? median(r.rtts) : undefined;
      players.push({
        id: p.id,
        name: p.display,
        color: this.colorOf(p.id),
        self: false,
        score: r?.score ?? 0,
        latencyMs: lat === undefined ? undefined : lat / 2,
        rate: r ? rate(r.recv, now) : 0,
        idle: !r || now - r.lastHeard > IDLE_MS,
        owner: owner === p.id,
      });
    }
    this.snap = { net, myId, players, sendRate: this.sendRate(now), stateBytes: this.bytes, dot: this.dot };
    for (const l of this.listeners) l();
  }

  private displayName(): string {
    return this.display;
  }

  private onNet(): void {
    const net = this.net.getSnapshot();
    const peers = new Set(net.peers.map((p) => p.id));
    for (const id of this.remotes.keys()) if (!peers.has(id)) this.remotes.delete(id);
    this.colors = assignColors([...peers, ...(net.myId !== undefined ? [net.myId] : [])]);
    this.emit();
  }

  private colorOf(id: number): string {
    return this.colors.get(id) ?? PALETTE[0];
  }

  // ---- lifecycle --------------------------------------------------------------------

  async start(): Promise<void> {
    this.lastTick = this.nextTick = performance.now();
    this.scheduleTick();
    this.viewTimer = setInterval(() => this.emit(), VIEW_MS);
    await this.net.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.tickTimer);
    clearInterval(this.viewTimer);
    this.unsubNet();
    await this.net.leave();
  }

  // ---- input ------------------------------------------------------------------------

  setKey(dir: 'up' | 'down' | 'left' | 'right', down: boolean): void {
    this.keys[dir] = down;
    if (down) this.target = null;
  }

  clearKeys(): void {
    this.keys = { up: false, down: false, left: false, right: false };
  }

  /** Head for this arena point (null: stop following). */
  setTarget(p: { x: number; y: number } | null): void {
    this.target = p ? { x: clamp(p.x, BALL_R, ARENA.w - BALL_R), y: clamp(p.y, BALL_R, ARENA.h - BALL_R) } : null;
  }

  // ---- the 30 Hz loop ---------------------------------------------------------------

  private scheduleTick(): void {
    if (this.stopped) return;
    const now = performance.now();
    this.nextTick += 1000 / TICK_HZ;
    if (this.nextTick < now - 250) this.nextTick = now; // fell far behind (a throttled tab): skip
    this.tickTimer = setTimeout(() => {
      this.tick();
      this.scheduleTick();
    }, Math.max(0, this.nextTick - now));
  }

  private tick(): void {
    const now = performance.now();
    const dt = Math.min(0.1, (now - this.lastTick) / 1000);
    this.lastTick = now;
    this.move(dt);
    const myId = this.net.getSnapshot().myId;
    if (myId === undefined) return;
    this.play(now, myId);
    this.sendState(now, myId);
  }

  private move(dt: number): void {
    const k = this.keys;
    let dx = (k.right ? 1 : 0) - (k.left ? 1 : 0);
    let dy = (k.down ? 1 : 0) - (k.up ? 1 : 0);
    const me = this.me;
    if (dx || dy) {
      const n = Math.hypot(dx, dy);
      dx /= n;
      dy /= n;
      me.vx = dx * SPEED;
      me.vy = dy * SPEED;
    } else if (this.target) {
      const tx = this.target.x - me.x;
      const ty = this.target.y - me.y;
      const dist = Math.hypot(tx, ty);
      if (dist < 1) {
        me.vx = me.vy = 0;
      } else {
        const step = Math.min(dist, SPEED * dt);
        me.vx = dt > 0 ? ((tx / dist) * step) / dt : 0;
        me.vy = dt > 0 ? ((ty / dist) * step) / dt : 0;
      }
    } else {
      me.vx = me.vy = 0;
    }
    me.x = clamp(me.x + me.vx * dt, BALL_R, ARENA.w - BALL_R);
    me.y = clamp(me.y + me.vy * dt, BALL_R, ARENA.h - BALL_R);
  }

  /** The dot: owner's decisions, or our claim. */
  private play(now: number, myId: number): void {
    const owner = this.owner(now);
    const d = dotPosition(this.game, this.dot);
    const touching = Math.hypot(this.me.x - d.x, this.me.y - d.y) < BALL_R + DOT_R;
    if (owner === myId) {
      if (touching) this.award(myId, myId);
      for (const c of this.claims.splice(0)) if (c.d === this.dot) this.award(c.from, myId);
    } else {
      this.claims.length = 0;
      if (touching && (this.lastClaim.d !== this.dot || now - this.lastClaim.at > CLAIM_RETRY_MS)) {
        this.lastClaim = { d: this.dot, at: now };
        this.net.send('events', JSON.stringify({ k: 'claim', d: this.dot }));
      }
    }
  }

  private award(to: number, myId: number): void {
    const d = this.dot;
    this.net.send('events', JSON.stringify({ k: 'taken', d, by: id36(to) }));
    this.applyTaken(d, to, myId);
  }

  private applyTaken(d: number, by: number, myId: number): void {
    if (!this.taken.has(d)) {
      this.taken.add(d);
      if (this.taken.size > 256) this.taken.delete(Math.min(...this.taken));
      if (by === myId) this.me.score += 1;
      const at = dotPosition(this.game, d);
      this.flashes.push({ ...at, color: this.colorOf(by), at: performance.now(), self: by === myId });
    }
    this.dot = Math.max(this.dot, d + 1);
  }

  /** The lowest id among us and the players heard lately. */
  private owner(now: number): number | undefined {
    let best = this.net.getSnapshot().myId;
    for (const r of this.remotes.values()) if (now - r.lastHeard < HEARD_MS && (best === undefined || r.id < best)) best = r.id;
    return best;
  }

  private sendState(now: number, _myId: number): void {
    if (this.net.buffered('game') > MAX_BUFFERED) return;
    const e: Record<string, [number, number]> = {};
    const fresh = [...this.remotes.values()].filter((r) => r.echo && now - r.echo.at < 1000);
    if (fresh.length) {
      const n = Math.min(ECHOES_PER_STATE, fresh.length);
      for (let i = 0; i < n; i++) {
        const r = fresh[(this.echoTurn + i) % fresh.length];
        e[id36(r.id)] = [r.echo!.t, Math.round((now - r.echo!.at) * 10) / 10];
      }
      this.echoTurn = (this.echoTurn + n) % fresh.length;
    }
    const msg = encodeState({ n: ++this.seq, t: now, x: this.me.x, y: this.me.y, p: this.me.score, d: this.dot, e });
    if (this.net.send('game', msg)) {
      this.sent.push(now);
      this.sentTotal++;
      this.bytes = msg.length;
      while (this.sent.length && now - this.sent[0] > RATE_WINDOW_MS) this.sent.shift();
    }
  }

  private sendRate(now: number): number {
    return rate(this.sent, now);
  }

  // ---- receiving --------------------------------------------------------------------

  private onMessage(from: number, data: string | ArrayBuffer): void {
    const m: GameMsg | null = decode(data);
    if (!m) return;
    const now = performance.now();
    const myId = this.net.getSnapshot().myId;
    if (myId === undefined || from === myId) return;
    const r = this.remote(from, now);
    if (m.k === 's') {
      if (m.n <= r.lastSeq) return; // late or duplicate (unordered channel)
      r.lastSeq = m.n;
      r.lastHeard = now;
      r.offsets.push(now - m.t);
      if (r.offsets.length > 90) r.offsets.shift();
      r.offset = Math.min(...r.offsets);
      r.samples.push({ t: m.t, x: m.x, y: m.y });
      while (r.samples.length > 2 && r.samples[0].t < m.t - 1000) r.samples.shift();
      r.score = m.p;
      r.echo = { t: m.t, at: now };
      r.recv.push(now);
      r.recvTotal++;
      while (r.recv.length && now - r.recv[0] > RATE_WINDOW_MS) r.recv.shift();
      const mine = m.e?.[id36(myId)];
      if (mine && !r.hearsUs) {
        // A player that newly hears us gets our "events" channel opened now (the server
        // opens a relay channel on its first message), not at the first claim.
        r.hearsUs = true;
        this.net.send('events', JSON.stringify({ k: 'hi' }));
      }
      if (mine) {
        const rtt = now - mine[0] - mine[1];
        if (rtt >= 0 && rtt < 10000) {
          r.rtts.push(rtt);
          if (r.rtts.length > 30) r.rtts.shift();
        }
      }
      if (m.d > this.dot) this.dot = m.d;
    } else if (m.k === 'claim') {
      r.lastHeard = Math.max(r.lastHeard, now - HEARD_MS / 2);
      this.claims.push({ from, d: m.d });
    } else if (m.k === 'taken') {
      const by = fromId36(m.by);
      if (Number.isSafeInteger(by)) this.applyTaken(m.d, by, myId);
    }
  }

  private remote(id: number, now: number): Remote {
    let r = this.remotes.get(id);
    if (!r) {
      r = { id, samples: [], lastSeq: 0, offsets: [], offset: 0, score: 0, rtts: [], recv: [], recvTotal: 0, lastHeard: now - HEARD_MS, hearsUs: false };
      this.remotes.set(id, r);
    }
    return r;
  }

  /** Where a remote ball is drawn at `now` (ours: the latest state, moved on by its speed). */
  private remotePos(r: Remote, now: number): { x: number; y: number } | null {
    const s = r.samples;
    if (!s.length) return null;
    const rt = now - r.offset - INTERP_MS;
    if (rt <= s[0].t) return { x: s[0].x, y: s[0].y };
    for (let i = s.length - 1; i > 0; i--) {
      const a = s[i - 1];
      const b = s[i];
      if (rt >= a.t && rt <= b.t) {
        const f = b.t > a.t ? (rt - a.t) / (b.t - a.t) : 1;
        return { x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f };
      }
      if (i === s.length - 1 && rt > b.t) {
        const ahead = Math.min(rt - b.t, EXTRAPOLATE_MS);
        const span = b.t - a.t;
        const vx = span > 0 ? (b.x - a.x) / span : 0;
        const vy = span > 0 ? (b.y - a.y) / span : 0;
        return { x: clamp(b.x + vx * ahead, BALL_R, ARENA.w - BALL_R), y: clamp(b.y + vy * ahead, BALL_R, ARENA.h - BALL_R) };
      }
    }
    const last = s[s.length - 1];
    return { x: last.x, y: last.y };
  }

  // ---- drawing ----------------------------------------------------------------------

  /** Everything the canvas draws at `now`; marks what was drawn for the debug view. */
  frame(now: number): Frame {
    const net = this.net.getSnapshot();
    const balls: FrameBall[] = [];
    for (const p of net.peers) {
      const r = this.remotes.get(p.id);
      if (!r) continue;
      const pos = this.remotePos(r, now);
      if (!pos) continue;
      r.drawn = { ...pos, at: now };
      const lat = median(r.rtts);
      balls.push({ id: p.id, name: p.display, color: this.colorOf(p.id), ...pos, self: false, idle: now - r.lastHeard > IDLE_MS, latencyMs: lat === undefined ? undefined : lat / 2 });
    }
    if (net.myId !== undefined) {
      const ahead = Math.min((now - this.lastTick) / 1000, 0.05);
      balls.push({
        id: net.myId,
        name: this.displayName(),
        color: this.colorOf(net.myId),
        x: clamp(this.me.x + this.me.vx * ahead, BALL_R, ARENA.w - BALL_R),
        y: clamp(this.me.y + this.me.vy * ahead, BALL_R, ARENA.h - BALL_R),
        self: true,
        idle: false,
      });
    }
    this.flashes = this.flashes.filter((f) => now - f.at < 700);
    return {
      balls,
      dot: { ...dotPosition(this.game, this.dot), seq: this.dot },
      flashes: this.flashes.map((f) => ({ x: f.x, y: f.y, color: f.color, age: (now - f.at) / 700, self: f.self })),
    };
  }

  /** Plain data for tests and the console (window.__game.debug()). */
  debug(): Json {
    const now = performance.now();
    const net = this.net.getSnapshot();
    return {
      phase: net.phase,
      myId: net.myId,
      uplink: net.uplink,
      downlink: net.downlink,
      now,
      me: { x: this.me.x, y: this.me.y, score: this.me.score, sendRate: this.sendRate(now), stateBytes: this.bytes, sent: this.sentTotal },
      dot: { seq: this.dot, ...dotPosition(this.game, this.dot) },
      owner: this.owner(now),
      players: net.peers.map((p) => {
        const r = this.remotes.get(p.id);
        const lat = r ? median(r.rtts) : undefined;
        return {
          id: p.id,
          name: p.display,
          channels: this.net.relayChannels(p.id),
          heard: Boolean(r && r.samples.length),
          last: r?.samples.length ? r.samples[r.samples.length - 1] : null,
          drawn: r?.drawn ?? null,
          drawnAgoMs: r?.drawn ? now - r.drawn.at : null,
          score: r?.score ?? 0,
          latencyMs: lat === undefined ? null : lat / 2,
          rttSamples: r?.rtts.length ?? 0,
          rate: r ? rate(r.recv, now) : 0,
          received: r?.recvTotal ?? 0,
        };
      }),
    };
  }
}

type Json = Record<string, unknown>;

function rate(times: number[], now: number): number {
  const recent = times.filter((t) => now - t <= RATE_WINDOW_MS);
  if (recent.length < 2) return recent.length;
  return (recent.length * 1000) / RATE_WINDOW_MS;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
