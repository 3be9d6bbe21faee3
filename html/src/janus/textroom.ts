// A room's chat over janus.plugin.textroom.
//
// Over the HTTP API: the handle checks that the TextRoom room exists ("exists") and makes
// it when it does not ("create", private, with the PIN given: the PIN of the VideoRoom room
// it goes with), then "setup": the server offers a PeerConnection with one data m-line, we
// answer with {"request":"ack"} + the answer. Everything else is JSON on our data channel
// "JanusDataChannel" (the server answers and sends its events on that label): "join" (a
// random username, the display name), "message", "leave"; requests carry a transaction
// and are answered with the same one. Events: message (text, from username, date),
// join/leave of the others, kicked, announcement, destroyed.
//
// The history kept is the last HISTORY entries in memory (messages and notices); the room
// is made without server history, and joins ask for none, so a rejoin after a reconnection
// repeats nothing. A lost session or a failed PeerConnection rebuilds everything and joins
// again under the same username (a new one if the old is still taken).
import { JanusError, JanusHandle, JanusSession, type Json } from './client';
import { CallIce } from './iceServers';

export const TEXTROOM = 'janus.plugin.textroom';
export const CHAT_LABEL = 'JanusDataChannel';
export const HISTORY = 500;
export const MAX_TEXT = 4000;

const REQUEST_TIMEOUT_MS = 10000;
const RETRY_MS = 2000;

export interface ChatEntry {
  /** Local, increasing: React key and the unread mark. */
  id: number;
  kind: 'message' | 'join' | 'leave' | 'info';
  /** The sender (message) or the subject (join/leave). */
  username?: string;
  name: string;
  text: string;
  /** HH:MM, local time, from the server's date when it gave one. */
  time: string;
  self: boolean;
  whisper?: boolean;
}

export type ChatPhase = 'connecting' | 'ready' | 'reconnecting' | 'failed' | 'closed';

export interface ChatSnapshot {
  phase: ChatPhase;
  error?: string;
  entries: ChatEntry[];
  /** Who is in the chat now, us included. */
  participants: { username: string; display: string }[];
  /** Messages of others after the last markRead(). */
  unread: number;
  /** How many times this client has joined (1 + rejoins after reconnections). */
  joins: number;
}

export interface ChatOptions {
  server: string;
  room: number;
  display: string;
  pin?: string;
  iceServers: RTCIceServer[];
  /** Used when the chat room has to be made. */
  description?: string;
  /** The call's TURN credentials (one fetch serves all of a call's PeerConnections); when
   * absent the chat fetches its own. */
  callIce?: () => CallIce;
}

interface Pending {
  resolve: (r: Json) => void;
  reject: (e: JanusError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** "2026-12-06T11:28:26+0000" (strftime %z) or any ISO date → HH:MM in local time. */
export function chatTime(date: unknown, fallback = new Date()): string {
  let d = fallback;
  if (typeof date === 'string') {
    const iso = date.replace(/([+-]\d\d)(\d\d)$/, '$1:$2');
    const t = Date.parse(iso);
    if (!Number.isNaN(t)) d = new Date(t);
  }
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function randomUsername(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return `sb-${[...b].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}

let txn = 0;
const transaction = () => `c${Date.now().toString(36)}${(++txn).toString(36)}`;

export class TextRoomClient {
  private o: ChatOptions;
  private snap: ChatSnapshot;
  private listeners = new Set<() => void>();
  private session?: JanusSession;
  private handle?: JanusHandle;
  private pc?: RTCPeerConnection;
  private ch?: RTCDataChannel;
  private pendingIce: (RTCIceCandidateInit | null)[] = [];
  private pending = new Map<string, Pending>();
  private entries: ChatEntry[] = [];
  private nextId = 1;
  private readMark = 0;
  /** Every username heard of → display name (kept after they leave, for their messages). */
  private names = new Map<string, string>();
  private present = new Set<string>();
  private username = randomUsername();
  private joinedOnce = false;
  private generation = 0;
  private stopped = false;
  private recovering = false;

  constructor(opts: ChatOptions) {
    this.o = opts;
    this.snap = { phase: 'connecting', entries: [], participants: [], unread: 0, joins: 0 };
  }

  // ---- store ------------------------------------------------------------------------

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): ChatSnapshot => this.snap;

  private emit(patch: Partial<ChatSnapshot> = {}): void {
    const unread = this.entries.filter((e) => e.id > this.readMark && e.kind === 'message' && !e.self).length;
    const participants = [...this.present].map((u) => ({ username: u, display: this.names.get(u) ?? u }));
    this.snap = { ...this.snap, ...patch, entries: this.entries, participants, unread };
    for (const l of this.listeners) l();
  }

  private push(e: Omit<ChatEntry, 'id'>): void {
    this.entries = [...this.entries, { ...e, id: this.nextId++ }];
    if (this.entries.length > HISTORY) this.entries = this.entries.slice(this.entries.length - HISTORY);
    this.emit();
  }

  /** Everything shown so far has been seen. */
  markRead(): void {
    const last = this.entries[this.entries.length - 1]?.id ?? 0;
    if (last === this.readMark && this.snap.unread === 0) return;
    this.readMark = last;
    this.emit();
  }

  get me(): string {
    return this.username;
  }

  // ---- lifecycle --------------------------------------------------------------------

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    try {
      await this.setup(gen);
    } catch (e) {
      if (gen !== this.generation || this.stopped) return;
      console.error('textroom: setting up the chat failed:', e instanceof JanusError ? `${e.kind} ${e.code} ${e.message}` : e);
      this.recovering = false;
      if (e instanceof JanusError && (e.kind === 'plugin' || e.kind === 'api') && e.code !== 0) {
        this.teardown();
        this.emit({ phase: 'failed', error: describeChatError(e) });
        return;
      }
      this.scheduleRecovery();
    }
  }

  private async setup(gen: number): Promise<void> {
    const session = await JanusSession.create(this.o.server, {
      // The server out of reach: say so (and stop sending) until it answers again; if it
      // lost our session meanwhile, onLost rebuilds everything.
      onConnection: (up) => {
        if (gen !== this.generation) return;
        if (!up && this.snap.phase === 'ready') this.emit({ phase: 'reconnecting' });
        else if (up && this.snap.phase === 'reconnecting' && !this.recovering && this.ch?.readyState === 'open') this.emit({ phase: 'ready' });
      },
      onLost: () => {
        if (gen === this.generation) this.scheduleRecovery();
      },
    });
    if (gen !== this.generation || this.stopped) {
      void session.destroy();
      return;
    }
    this.session = session;
    const handle = await session.attach(TEXTROOM);
    this.handle = handle;
    handle.on({
      onTrickle: (c) => {
        if (!this.pc || !this.pc.remoteDescription) this.pendingIce.push(c);
        else this.pc.addIceCandidate(c ?? undefined).catch(() => {});
      },
      onHangup: () => {
        if (gen === this.generation) this.scheduleRecovery();
      },
    });
    await this.ensureRoom(handle);
    const r = await handle.send({ request: 'setup' });
    if (gen !== this.generation) return;
    if (!r.jsep) throw new JanusError('plugin', 0, 'The server did not offer a data channel');
    const ice = this.o.callIce ? this.o.callIce() : new CallIce(this.o.server, this.o.iceServers);
    const rtc = await ice.config();
    if (gen !== this.generation) return;
    const pc = new RTCPeerConnection(rtc);
    this.pc = pc;
    pc.onicecandidate = (e) => void handle.trickle(e.candidate);
    pc.onconnectionstatechange = () => {
      if (gen === this.generation && pc.connectionState === 'failed') this.scheduleRecovery();
    };
    await pc.setRemoteDescription(r.jsep);
    const ch = pc.createDataChannel(CHAT_LABEL, { ordered: true });
    this.ch = ch;
    ch.onopen = () => {
      if (gen === this.generation) void this.join(gen);
    };
    ch.onmessage = (e) => {
      if (gen === this.generation && typeof e.data === 'string') this.onData(e.data);
    };
    ch.onclose = () => {
      if (gen === this.generation && !this.stopped) this.scheduleRecovery();
    };
    for (const c of this.pendingIce.splice(0)) pc.addIceCandidate(c ?? undefined).catch(() => {});
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await handle.send({ request: 'ack' }, pc.localDescription!);
  }

  /** Makes the chat room when it does not exist yet (someone may beat us to it: 418). */
  private async ensureRoom(handle: JanusHandle): Promise<void> {
    const r = await handle.send({ request: 'exists', room: this.o.room });
    if (r.data.exists) return;
    try {
      await handle.send({
        request: 'create',
        room: this.o.room,
        description: this.o.description ?? `Room ${this.o.room}`,
        is_private: true,
        ...(this.o.pin ? { pin: this.o.pin } : {}),
      });
    } catch (e) {
      if (!(e instanceof JanusError && e.code === 418)) throw e;
    }
  }

  private async join(gen: number): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const r = await this.request({
          textroom: 'join',
          room: this.o.room,
          username: this.username,
          display: this.o.display,
          history: false,
          ...(this.o.pin ? { pin: this.o.pin } : {}),
        });
        if (gen !== this.generation) return;
        this.present = new Set([this.username]);
        this.names.set(this.username, this.o.display);
        for (const p of Array.isArray(r.participants) ? r.participants : []) {
          const u = String(p.username);
          this.present.add(u);
          this.names.set(u, typeof p.display === 'string' && p.display ? p.display : u);
        }
        this.recovering = false;
        if (!this.joinedOnce) {
          const others = [...this.present].filter((u) => u !== this.username).map((u) => this.names.get(u) ?? u);
          this.push({ kind: 'info', name: '', text: others.length ? `You joined the chat. Also here: ${others.join(', ')}.` : 'You joined the chat.', time: chatTime(null), self: false });
        } else if (this.snap.phase === 'reconnecting') this.push({ kind: 'info', name: '', text: 'Reconnected to the chat.', time: chatTime(null), self: false });
        this.joinedOnce = true;
        this.emit({ phase: 'ready', error: undefined, joins: this.snap.joins + 1 });
        return;
      } catch (e) {
        if (gen !== this.generation) return;
        if (e instanceof JanusError && e.code === 420) {
          this.username = randomUsername(); // our old self may still be there
          continue;
        }
        if (e instanceof JanusError && e.code === 417 && this.handle) {
          try {
            await this.ensureRoom(this.handle); // gone meanwhile (server restart)
            continue;
          } catch {
            /* reported below */
          }
        }
        if (e instanceof JanusError && e.kind === 'plugin') {
          this.emit({ phase: 'failed', error: describeChatError(e) });
          return;
        }
        this.scheduleRecovery();
        return;
      }
    }
    this.emit({ phase: 'failed', error: 'Could not join the chat.' });
  }

  private scheduleRecovery(): void {
    if (this.stopped || this.recovering) return;
    this.recovering = true;
    const gen = ++this.generation;
    this.teardown();
    this.emit({ phase: this.joinedOnce ? 'reconnecting' : 'connecting' });
    const attempt = async () => {
      if (this.stopped || gen !== this.generation) return;
      try {
        await JanusSession.ping(this.o.server);
      } catch {
        setTimeout(() => void attempt(), RETRY_MS);
        return;
      }
      await this.connect();
    };
    setTimeout(() => void attempt(), RETRY_MS / 2);
  }

  private teardown(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new JanusError('network', 0, 'The chat connection closed'));
    }
    this.pending.clear();
    if (this.ch) {
      this.ch.onclose = null;
      this.ch.close();
    }
    this.ch = undefined;
    this.pc?.close();
    this.pc = undefined;
    this.pendingIce = [];
    this.handle = undefined;
    const s = this.session;
    this.session = undefined;
    void s?.destroy();
  }

  /** Leaves the chat (best effort) and closes everything. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    if (this.ch?.readyState === 'open' && this.snap.phase === 'ready') {
      try {
        this.ch.send(JSON.stringify({ textroom: 'leave', transaction: transaction(), room: this.o.room }));
      } catch {
        /* the hangup tells the others anyway */
      }
    }
    this.teardown();
    this.emit({ phase: 'closed' });
  }

  // ---- the data channel ------------------------------------------------------------

  private request(body: Json): Promise<Json> {
    const ch = this.ch;
    if (!ch || ch.readyState !== 'open') return Promise.reject(new JanusError('network', 0, 'The chat is not connected'));
    const tx = transaction();
    return new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(tx);
        reject(new JanusError('timeout', 0, 'The chat did not answer in time'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(tx, { resolve, reject, timer });
      try {
        ch.send(JSON.stringify({ ...body, transaction: tx }));
      } catch {
        clearTimeout(timer);
        this.pending.delete(tx);
        reject(new JanusError('network', 0, 'The chat is not connected'));
      }
    });
  }

  /** Sends a public message; it shows when the server relays it back (with its date). */
  async send(text: string): Promise<void> {
    const t = text.trim() ? text.replace(/\s+$/, '') : '';
    if (!t) return;
    try {
      await this.request({ textroom: 'message', room: this.o.room, text: t.slice(0, MAX_TEXT), ack: true });
    } catch (e) {
      this.push({ kind: 'info', name: '', text: `Your message could not be sent: ${describeChatError(e)}`, time: chatTime(null), self: true });
      throw e;
    }
  }

  private onData(raw: string): void {
    let m: Json;
    try {
      m = JSON.parse(raw);
    } catch {
      return;
    }
    if (!m || typeof m !== 'object') return;
    const tx = m.transaction;
    if (typeof tx === 'string' && this.pending.has(tx)) {
      const p = this.pending.get(tx)!;
      this.pending.delete(tx);
      clearTimeout(p.timer);
      if (m.textroom === 'error') p.reject(new JanusError('plugin', Number(m.error_code) || 0, String(m.error ?? 'error')));
      else p.resolve(m);
      return;
    }
    if (m.room !== undefined && String(m.room) !== String(this.o.room)) return;
    switch (m.textroom) {
      case 'message': {
        const from = String(m.from ?? '');
        this.push({
          kind: 'message',
          username: from,
          name: this.names.get(from) ?? from,
          text: String(m.text ?? ''),
          time: chatTime(m.date),
          self: from === this.username,
          whisper: m.whisper === true || undefined,
        });
        return;
      }
      case 'announcement':
        this.push({ kind: 'info', name: '', text: String(m.text ?? ''), time: chatTime(m.date), self: false });
        return;
      case 'join': {
        const u = String(m.username ?? '');
        const display = typeof m.display === 'string' && m.display ? m.display : u;
        this.names.set(u, display);
        if (u === this.username) return;
        const fresh = !this.present.has(u);
        this.present.add(u);
        if (fresh) this.push({ kind: 'join', username: u, name: display, text: `${display} joined`, time: chatTime(null), self: false });
        else this.emit();
        return;
      }
      case 'leave':
      case 'kicked': {
        const u = String(m.username ?? '');
        if (u === this.username) {
          if (m.textroom === 'kicked') {
            this.teardown();
            this.emit({ phase: 'failed', error: 'You were removed from the chat.' });
          }
          return;
        }
        const name = this.names.get(u) ?? u;
        if (this.present.delete(u)) this.push({ kind: 'leave', username: u, name, text: m.textroom === 'kicked' ? `${name} was removed` : `${name} left`, time: chatTime(null), self: false });
        return;
      }
      case 'destroyed':
        this.teardown();
        this.emit({ phase: 'failed', error: 'The chat was closed.' });
        return;
    }
  }
}

function describeChatError(e: unknown): string {
  if (e instanceof JanusError) {
    switch (e.code) {
      case 417:
        return 'The chat room does not exist.';
      case 419:
        return "The chat's PIN is not the room's PIN.";
      case 420:
        return 'That name is taken in the chat.';
      case 422:
        return 'You are not in the chat any more.';
    }
    if (e.kind === 'api') return 'The chat is not available on this server.';
    if (e.kind === 'network') return 'the chat is not connected.';
    if (e.kind === 'timeout') return 'the server did not answer in time.';
    return e.message;
  }
  return e instanceof Error ? e.message : 'Something went wrong.';
}
