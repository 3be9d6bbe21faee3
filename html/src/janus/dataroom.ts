// Everyone hears everyone over janus.plugin.videoroom data channels: a "data room".
//
// Each member joins a VideoRoom room as a publisher and publishes a data-only
// PeerConnection (no audio, no video) carrying the channels the caller asks for (e.g. an
// unordered, maxRetransmits:0 "game" channel and a reliable "events" channel). It receives
// every other member's data on ONE subscriber handle: all data sources share the one
// m=application of the subscriber's PeerConnection, and the subscription follows the room
// with "subscribe"/"unsubscribe" as members come and go (one request at a time, always
// towards the set of feeds the room has now).
//
// The server opens a channel towards the subscriber for each publisher it relays, labelled
// with that publisher's id in decimal, with the publisher channel's properties and the
// publisher's own channel label as its protocol (the reference server funnels everything
// into one reliable channel with an empty protocol: messages should say what they are).
// A subscriber also opens a channel of its own ("JanusDataChannel", as janus.js does): the
// reference server relays nothing to a subscriber until it has one; what a subscriber sends
// goes nowhere.
//
// Lost session (server restart, long network cut) or failed publisher PeerConnection: the
// whole thing is rebuilt (new session, join, publish, subscribe), creating the room again
// when it is gone. A failed subscriber PeerConnection is replaced on its own.
import { JanusError, JanusHandle, JanusSession, type Json } from './client';
import { CallIce } from './iceServers';
import { VIDEOROOM } from './videoroom';

export interface ChannelSpec {
  label: string;
  init?: RTCDataChannelInit;
}

export interface DataPeer {
  id: number;
  display: string;
  /** The data mid of its publisher PeerConnection. */
  mid: string;
  /** Channels from it that the server opened towards us, by protocol (its own label). */
  channels: string[];
}

/** A channel the server opened towards us, as the browser sees it. */
export interface RelayChannel {
  label: string;
  protocol: string;
  ordered: boolean;
  maxRetransmits: number | null;
  maxPacketLifeTime: number | null;
}

export type DataPhase = 'connecting' | 'joined' | 'reconnecting' | 'failed' | 'left';
export type LinkState = 'none' | 'connecting' | 'connected' | 'failed';

export interface DataRoomSnapshot {
  phase: DataPhase;
  error?: string;
  errorCode?: number;
  serverReachable: boolean;
  myId?: number;
  /** The other members that publish data, in the order they were seen. */
  peers: DataPeer[];
  /** Our publisher PeerConnection, and whether our channels are open. */
  uplink: LinkState;
  /** The subscriber PeerConnection (all the others' data). */
  downlink: LinkState;
  /** How many times this client has joined (1 + recoveries). */
  joins: number;
}

export interface DataRoomOptions {
  server: string;
  roomId: number;
  display: string;
  pin?: string;
  iceServers: RTCIceServer[];
  channels: ChannelSpec[];
  /** A "create" body (without "request"/"room") used when the room does not exist. */
  create?: Json;
}

export interface DataRoomHandlers {
  /** A message from member `from`; `label` is its channel's label (the channel protocol). */
  onMessage?: (from: number, label: string, data: string | ArrayBuffer) => void;
  /** A channel from member `from` opened (e.g. to send it what a newcomer must know). */
  onChannel?: (from: number, label: string) => void;
  /** One of our own channels opened. */
  onOpen?: (label: string) => void;
}

const RETRY_MS = 2000;
/** Our own channel on the subscriber PeerConnection (see the header). */
const SUBSCRIBER_LABEL = 'JanusDataChannel';

interface Downlink {
  handle: JanusHandle;
  pc?: RTCPeerConnection;
  pending: (RTCIceCandidateInit | null)[];
  /** feed id → data mid, as the server has it. */
  has: Map<number, string>;
  /** Our own channel on it (see the header). */
  own?: RTCDataChannel;
  closed: boolean;
}

export class DataRoomClient {
  private o: DataRoomOptions;
  private h: DataRoomHandlers;
  private snap: DataRoomSnapshot;
  private listeners = new Set<() => void>();
  private session?: JanusSession;
  private pub?: JanusHandle;
  private pubPc?: RTCPeerConnection;
  private pubPending: (RTCIceCandidateInit | null)[] = [];
  private out = new Map<string, RTCDataChannel>();
  private privateId?: number;
  /** The room's data publishers (us excluded): what the subscription should have. */
  private peers = new Map<number, DataPeer>();
  private down?: Downlink;
  private relays = new Map<number, RelayChannel[]>();
  private syncing = false;
  private syncAgain = false;
  private generation = 0;
  private stopped = false;
  private recovering = false;
  private ice: CallIce;

  constructor(opts: DataRoomOptions, handlers: DataRoomHandlers = {}) {
    this.o = opts;
    this.h = handlers;
    this.ice = new CallIce(opts.server, opts.iceServers);
    this.snap = { phase: 'connecting', serverReachable: true, peers: [], uplink: 'none', downlink: 'none', joins: 0 };
  }

  // ---- store ------------------------------------------------------------------------

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): DataRoomSnapshot => this.snap;

  private emit(patch: Partial<DataRoomSnapshot> = {}): void {
    this.snap = { ...this.snap, ...patch, peers: [...this.peers.values()] };
    for (const l of this.listeners) l();
  }

  // ---- sending ----------------------------------------------------------------------

  /** Sends on one of our channels; false when it is not open (nothing is queued). */
  send(label: string, data: string | ArrayBuffer): boolean {
    const ch = this.out.get(label);
    if (!ch || ch.readyState !== 'open') return false;
    try {
      ch.send(data as string); // (string | ArrayBuffer: both overloads exist)
      return true;
    } catch {
      return false;
    }
  }

  /** The channels the server opened towards us for member `from` (diagnostics). */
  relayChannels(from: number): RelayChannel[] {
    return this.relays.get(from) ?? [];
  }

  /** Bytes our channel still has to send (to skip a frame rather than queue behind). */
  buffered(label: string): number {
    return this.out.get(label)?.bufferedAmount ?? 0;
  }

  // ---- lifecycle --------------------------------------------------------------------

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    try {
      await this.joinAndPublish(gen);
    } catch (e) {
      if (gen !== this.generation || this.stopped) return;
      console.error('dataroom: joining or publishing failed:', e instanceof JanusError ? `${e.kind} ${e.code} ${e.message}` : e);
      if (e instanceof JanusError && (e.kind === 'network' || e.kind === 'timeout')) {
        this.recovering = false;
        this.scheduleRecovery();
        return;
      }
      await this.teardown();
      this.emit({ phase: 'failed', error: e instanceof Error ? e.message : String(e), errorCode: e instanceof JanusError ? e.code : undefined });
    }
  }

  private async joinAndPublish(gen: number): Promise<void> {
    this.ice = new CallIce(this.o.server, this.o.iceServers);
    const session = await JanusSession.create(this.o.server, {
      onConnection: (c) => {
        if (gen === this.generation) this.emit({ serverReachable: c });
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
    const pub = await session.attach(VIDEOROOM);
    this.pub = pub;
    pub.on({
      onEvent: (d) => this.onRoomEvent(d, gen),
      onTrickle: (c) => addCandidate(this.pubPc, this.pubPending, c),
    });
    const join = { request: 'join', ptype: 'publisher', room: this.o.roomId, display: this.o.display, ...(this.o.pin ? { pin: this.o.pin } : {}) };
    let joined;
    try {
      joined = await pub.send(join);
    } catch (e) {
      if (!(e instanceof JanusError && e.code === 426 && this.o.create)) throw e;
      // No such room: make it (someone else may beat us to it: 427, fine) and join.
      try {
        await pub.send({ ...this.o.create, request: 'create', room: this.o.roomId, ...(this.o.pin ? { pin: this.o.pin } : {}) });
      } catch (ce) {
        if (!(ce instanceof JanusError && ce.code === 427)) throw ce;
      }
      joined = await pub.send(join);
    }
    if (gen !== this.generation) return;
    const d = joined.data;
    this.privateId = d.private_id;
    this.recovering = false;
    this.emit({ phase: 'joined', myId: Number(d.id), joins: this.snap.joins + 1, error: undefined, errorCode: undefined, serverReachable: true });
    await this.publish(gen);
    for (const p of d.publishers ?? []) this.upsertPublisher(p);
    this.sync(gen);
  }

  private async publish(gen: number): Promise<void> {
    const pub = this.pub!;
    const rtc = await this.ice.config();
    if (gen !== this.generation) return;
    const pc = new RTCPeerConnection(rtc);
    this.pubPc = pc;
    for (const spec of this.o.channels) {
      const ch = pc.createDataChannel(spec.label, spec.init);
      ch.binaryType = 'arraybuffer';
      ch.onopen = () => {
        if (gen !== this.generation) return;
        this.refreshUplink();
        this.h.onOpen?.(spec.label);
      };
      ch.onclose = () => {
        if (gen === this.generation) this.refreshUplink();
      };
      this.out.set(spec.label, ch);
    }
    pc.onicecandidate = (e) => void pub.trickle(e.candidate);
    pc.onconnectionstatechange = () => {
      if (gen !== this.generation) return;
      this.refreshUplink();
      if (pc.connectionState === 'failed') this.scheduleRecovery();
    };
    this.emit({ uplink: 'connecting' });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const reply = await pub.send({ request: 'publish', display: this.o.display }, pc.localDescription!);
    if (gen !== this.generation) return;
    if (!reply.jsep) throw new JanusError('plugin', 0, 'The server did not answer the offer');
    await pc.setRemoteDescription(reply.jsep);
    for (const c of this.pubPending.splice(0)) pc.addIceCandidate(c ?? undefined).catch(() => {});
  }

  private refreshUplink(): void {
    const pc = this.pubPc;
    if (!pc) return this.emit({ uplink: 'none' });
    const allOpen = [...this.out.values()].every((c) => c.readyState === 'open');
    const st = pc.connectionState;
    this.emit({ uplink: st === 'failed' ? 'failed' : allOpen && st === 'connected' ? 'connected' : 'connecting' });
  }

  private scheduleRecovery(): void {
    if (this.stopped || this.recovering) return;
    this.recovering = true;
    const gen = ++this.generation;
    void this.teardown();
    this.peers.clear();
    this.emit({ phase: 'reconnecting', serverReachable: false, uplink: 'none', downlink: 'none' });
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

  private async teardown(): Promise<void> {
    this.closeDown();
    this.relays.clear();
    for (const ch of this.out.values()) ch.close();
    this.out.clear();
    this.pubPc?.close();
    this.pubPc = undefined;
    this.pubPending = [];
    this.pub = undefined;
    const s = this.session;
    this.session = undefined;
    if (s) await s.destroy();
  }

  /** Leaves the room (best effort) and closes everything. */
  async leave(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    try {
      if (this.pub && this.session && !this.session.isClosed) await this.pub.post({ request: 'leave' });
    } catch {
      /* destroying the session is enough */
    }
    await this.teardown();
    this.peers.clear();
    this.emit({ phase: 'left', uplink: 'none', downlink: 'none' });
  }

  // ---- the room -------------------------------------------------------------------

  private onRoomEvent(d: Json, gen: number): void {
    if (gen !== this.generation) return;
    if (d.videoroom === 'destroyed') {
      void this.teardown();
      this.peers.clear();
      this.emit({ phase: 'failed', error: 'The room was closed.' });
      return;
    }
    if (d.videoroom !== 'event') return;
    let changed = false;
    if (Array.isArray(d.publishers)) for (const p of d.publishers) changed = this.upsertPublisher(p) || changed;
    for (const key of ['leaving', 'unpublished', 'kicked']) {
      const v = d[key];
      if (v !== undefined && v !== 'ok' && this.peers.delete(Number(v))) {
        this.relays.delete(Number(v));
        changed = true;
      }
    }
    if (changed) {
      this.emit();
      this.sync(gen);
    }
  }

  /** A publisher of the room; true when the set of data sources changed. */
  private upsertPublisher(p: Json): boolean {
    const id = Number(p.id);
    if (!id || id === this.snap.myId) return false;
    const streams: Json[] = Array.isArray(p.streams) ? p.streams : [];
    const data = streams.find((s) => s.type === 'data' && !s.disabled);
    const known = this.peers.get(id);
    if (!data) {
      if (known) this.peers.delete(id);
      return Boolean(known);
    }
    const mid = String(data.mid);
    const display = typeof p.display === 'string' && p.display ? p.display : known?.display ?? `Player ${String(id).slice(-4)}`;
    this.peers.set(id, { id, display, mid, channels: known?.channels ?? [] });
    if (!known || known.mid !== mid) return true;
    if (known.display !== display) this.emit();
    return false;
  }

  // ---- the subscription -----------------------------------------------------------

  /** Brings the subscription to the room's current data sources, one request at a time. */
  private sync(gen: number): void {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    void (async () => {
      try {
        do {
          this.syncAgain = false;
          if (gen !== this.generation || this.stopped) return;
          await this.syncOnce(gen);
        } while (this.syncAgain);
      } finally {
        this.syncing = false;
      }
    })();
  }

  private async syncOnce(gen: number): Promise<void> {
    const want = new Map([...this.peers.values()].map((p) => [p.id, p.mid]));
    let down = this.down;
    if (!down) {
      if (!want.size) return;
      const session = this.session;
      if (!session) return;
      let handle: JanusHandle;
      try {
        handle = await session.attach(VIDEOROOM);
      } catch {
        return this.retrySync(gen);
      }
      if (gen !== this.generation) {
        void handle.detach();
        return;
      }
      down = { handle, pending: [], has: new Map(), closed: false };
      const d = down;
      this.down = d;
      handle.on({
        onEvent: (_ev, jsep) => {
          // An offer the server makes on its own (its sources changed).
          if (jsep?.type === 'offer') void this.answer(d, jsep, gen);
        },
        onTrickle: (c) => addCandidate(d.pc, d.pending, c),
        onHangup: () => {
          if (!d.closed) this.replaceDown(d, gen);
        },
      });
      this.emit({ downlink: 'connecting' });
      const streams = [...want].map(([feed, mid]) => ({ feed, mid }));
      try {
        const r = await handle.send({
          request: 'join',
          ptype: 'subscriber',
          room: this.o.roomId,
          streams,
          ...(this.privateId !== undefined ? { private_id: this.privateId } : {}),
          ...(this.o.pin ? { pin: this.o.pin } : {}),
        });
        for (const [feed, mid] of want) d.has.set(feed, mid);
        if (r.jsep) await this.answer(d, r.jsep, gen);
      } catch (e) {
        // A source that left meanwhile (428): start over with the room as it is now.
        if (d.closed) return;
        this.closeDown();
        this.emit({ downlink: 'none' });
        if (e instanceof JanusError && e.code === 428) this.syncAgain = true;
        else this.retrySync(gen);
      }
      return;
    }
    const gone = [...down.has.keys()].filter((id) => want.get(id) !== down!.has.get(id));
    const added = [...want].filter(([id, mid]) => down!.has.get(id) !== mid);
    if (gone.length) {
      try {
        const r = await down.handle.send({ request: 'unsubscribe', streams: gone.map((feed) => ({ feed })) });
        if (r.jsep) await this.answer(down, r.jsep, gen);
      } catch {
        /* a source that already left is no longer subscribed anyway */
      }
      for (const id of gone) down.has.delete(id);
    }
    if (added.length && !down.closed) {
      try {
        const r = await down.handle.send({ request: 'subscribe', streams: added.map(([feed, mid]) => ({ feed, mid })) });
        for (const [feed, mid] of added) down.has.set(feed, mid);
        if (r.jsep) await this.answer(down, r.jsep, gen);
      } catch (e) {
        // 428: one of them left meanwhile; the next round asks for the others.
        if (e instanceof JanusError && e.code === 428) this.syncAgain = true;
        else this.retrySync(gen);
      }
    }
  }

  private retrySync(gen: number): void {
    setTimeout(() => {
      if (gen === this.generation && !this.stopped) this.sync(gen);
    }, RETRY_MS);
  }

  private async answer(d: Downlink, offer: RTCSessionDescriptionInit, gen: number): Promise<void> {
    if (d.closed || gen !== this.generation) return;
    if (!d.pc) {
      const rtc = await this.ice.config();
      if (d.closed || gen !== this.generation) return;
      const pc = new RTCPeerConnection(rtc);
      d.pc = pc;
      pc.onicecandidate = (e) => void d.handle.trickle(e.candidate);
      pc.ondatachannel = (e) => this.onRemoteChannel(e.channel, gen);
      pc.onconnectionstatechange = () => {
        if (d.closed) return;
        const st = pc.connectionState;
        this.emit({ downlink: st === 'connected' ? 'connected' : st === 'failed' ? 'failed' : 'connecting' });
        if (st === 'failed') this.replaceDown(d, gen);
      };
    }
    const pc = d.pc;
    try {
      await pc.setRemoteDescription(offer);
      if (!d.own) d.own = pc.createDataChannel(SUBSCRIBER_LABEL);
      for (const c of d.pending.splice(0)) pc.addIceCandidate(c ?? undefined).catch(() => {});
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await d.handle.send({ request: 'start', room: this.o.roomId }, pc.localDescription!);
    } catch (e) {
      console.warn('dataroom: answering the subscription failed:', e);
      if (!d.closed) this.replaceDown(d, gen);
    }
  }

  private onRemoteChannel(ch: RTCDataChannel, gen: number): void {
    const from = Number(ch.label);
    if (!Number.isSafeInteger(from) || from <= 0) return; // not a relay channel
    const label = ch.protocol;
    ch.binaryType = 'arraybuffer';
    const info: RelayChannel = { label: ch.label, protocol: ch.protocol, ordered: ch.ordered, maxRetransmits: ch.maxRetransmits, maxPacketLifeTime: ch.maxPacketLifeTime };
    this.relays.set(from, [...(this.relays.get(from) ?? []).filter((c) => c.protocol !== label), info]);
    const opened = () => {
      if (gen !== this.generation) return;
      const p = this.peers.get(from);
      if (p && !p.channels.includes(label)) {
        this.peers.set(from, { ...p, channels: [...p.channels, label] });
        this.emit();
      }
      this.h.onChannel?.(from, label);
    };
    ch.onmessage = (e) => {
      if (gen === this.generation) this.h.onMessage?.(from, label, e.data);
    };
    ch.onclose = () => {
      const p = this.peers.get(from);
      if (p && p.channels.includes(label)) {
        this.peers.set(from, { ...p, channels: p.channels.filter((l) => l !== label) });
        this.emit();
      }
    };
    if (ch.readyState === 'open') opened();
    else ch.onopen = opened;
  }

  /** The subscriber PeerConnection failed or was hung up: a new one, same sources. */
  private replaceDown(d: Downlink, gen: number): void {
    if (d !== this.down) return;
    this.closeDown();
    this.emit({ downlink: 'none' });
    this.retrySync(gen);
  }

  private closeDown(): void {
    const d = this.down;
    if (!d) return;
    this.down = undefined;
    d.closed = true;
    d.pc?.close();
    void d.handle.detach();
  }
}

function addCandidate(pc: RTCPeerConnection | undefined, pending: (RTCIceCandidateInit | null)[], c: RTCIceCandidateInit | null): void {
  if (!pc || !pc.remoteDescription) {
    pending.push(c);
    return;
  }
  pc.addIceCandidate(c ?? undefined).catch(() => {});
}
