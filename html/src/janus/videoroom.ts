// A participant in a janus.plugin.videoroom room: one publisher handle (join, publish,
// room events) and one subscriber handle per remote feed (each its own PeerConnection,
// subscribed with "streams":[{"feed":id}]). The state the page renders is an immutable
// snapshot rebuilt on every change (useSyncExternalStore).
//
// Mute and camera-off stop the RTP of that sender (replaceTrack(null)); the other side
// shows a stream as muted/off when its packets stop arriving for two stats intervals, so
// it works with any server that forwards packets and needs no extra protocol. Talking
// comes from the room's "talking"/"stopped-talking" events.
//
// When the session is lost (server restarted, network back after a long cut) the client
// rebuilds everything: a new session, join again, publish again, resubscribe. A room that
// no longer exists after a server restart is created again with the settings this
// participant knows (description, publishers, pin), so a room made from the lobby
// survives restarts of a server that keeps rooms in memory only.
import { JanusError, JanusHandle, JanusSession, type Json } from './client';
import { CallIce } from './iceServers';
import { EMPTY_STATS, type LinkStats, StatsSampler } from '../media/stats';
import { cameraConstraints, micConstraints } from '../media/devices';
import { describeError } from '../lib/errors';
import { withRemoteTrack, withoutRemoteTrack } from '../media/remoteStream';

export const VIDEOROOM = 'janus.plugin.videoroom';

export interface RoomSettings {
  description: string;
  publishers: number;
  pin?: string;
}

export interface RemoteFeed {
  id: number;
  display: string;
  publishing: boolean;
  stream: MediaStream | null;
  hasAudio: boolean;
  hasVideo: boolean;
  talking: boolean;
  audioMuted: boolean;
  videoOff: boolean;
  stats: LinkStats;
  connection: 'none' | 'connecting' | 'connected' | 'failed';
  joinedAt: number;
}

export interface LocalState {
  id?: number;
  display: string;
  stream: MediaStream | null;
  micOn: boolean;
  camOn: boolean;
  sharing: boolean;
  talking: boolean;
  stats: LinkStats;
  connection: 'none' | 'connecting' | 'connected' | 'failed';
  /** Joined without publishing: the room's publisher limit was reached. */
  viewer: boolean;
}

export type RoomPhase = 'connecting' | 'joined' | 'reconnecting' | 'failed' | 'left';

export interface RoomSnapshot {
  phase: RoomPhase;
  error?: string;
  errorCode?: number;
  notice?: string;
  serverReachable: boolean;
  roomId: number;
  description?: string;
  me: LocalState;
  feeds: RemoteFeed[];
  /** How many times this client has joined (1 + successful recoveries). */
  joins: number;
}

export interface RoomOptions {
  server: string;
  roomId: number;
  display: string;
  pin?: string;
  iceServers: RTCIceServer[];
  cameraId?: string;
  micId?: string;
  micOn: boolean;
  camOn: boolean;
  /** What to create the room with if it is gone after a server restart. */
  recreate?: RoomSettings;
  /** A stream already opened (the lobby preview); the room takes ownership. */
  stream?: MediaStream | null;
}

interface Subscription {
  feedId: number;
  handle: JanusHandle;
  pc?: RTCPeerConnection;
  sampler?: StatsSampler;
  pendingRemote: (RTCIceCandidateInit | null)[];
  silentAudio: number;
  silentVideo: number;
  closed: boolean;
}

const STATS_MS = 1000;
const RETRY_MS = 2000;

export function roomCreateBody(s: RoomSettings): Json {
  return {
    request: 'create',
    description: s.description,
    publishers: s.publishers,
    ...(s.pin ? { pin: s.pin } : {}),
    is_private: false,
    bitrate: 1024000,
    fir_freq: 10,
    audiolevel_event: true,
    audio_active_packets: 50,
    audio_level_average: 45,
    notify_joining: true,
  };
}

export class VideoRoomClient {
  private o: RoomOptions;
  private snap: RoomSnapshot;
  private listeners = new Set<() => void>();
  private session?: JanusSession;
  private pub?: JanusHandle;
  private pubPc?: RTCPeerConnection;
  private pubSampler?: StatsSampler;
  private pubPending: (RTCIceCandidateInit | null)[] = [];
  private privateId?: number;
  private feeds = new Map<number, RemoteFeed>();
  private subs = new Map<number, Subscription>();
  private mic: MediaStreamTrack | null = null;
  private cam: MediaStreamTrack | null = null;
  private screen: MediaStreamTrack | null = null;
  private statsTimer?: ReturnType<typeof setInterval>;
  private generation = 0; // bumps on every rebuild: stale async work checks it
  private stopped = false;
  private recovering = false;
  /** TURN credentials of this join, shared by the publisher, every subscriber and the
   * room's chat (callIce). */
  private ice: CallIce;

  /** The TURN credentials of the current join, for the room's other PeerConnections. */
  callIce(): CallIce {
    return this.ice;
  }

  constructor(opts: RoomOptions) {
    this.o = opts;
    this.ice = new CallIce(opts.server, opts.iceServers);
    this.mic = opts.stream?.getAudioTracks()[0] ?? null;
    this.cam = opts.stream?.getVideoTracks()[0] ?? null;
    this.snap = {
      phase: 'connecting',
      serverReachable: true,
      roomId: opts.roomId,
      me: {
        display: opts.display,
        stream: null,
        micOn: opts.micOn,
        camOn: opts.camOn,
        sharing: false,
        talking: false,
        stats: EMPTY_STATS,
        connection: 'none',
        viewer: false,
      },
      feeds: [],
      joins: 0,
    };
    this.refreshLocalStream();
  }

  // ---- store ------------------------------------------------------------------------

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): RoomSnapshot => this.snap;

  /** What this participant joined with (display name, PIN, ...). */
  get options(): Readonly<RoomOptions> {
    return this.o;
  }

  private emit(patch: Partial<RoomSnapshot> = {}): void {
    const feeds = [...this.feeds.values()].sort((a, b) => a.joinedAt - b.joinedAt);
    this.snap = { ...this.snap, ...patch, feeds };
    for (const l of this.listeners) l();
  }

  private setMe(patch: Partial<LocalState>): void {
    this.snap = { ...this.snap, me: { ...this.snap.me, ...patch } };
    this.emit();
  }

  private setFeed(id: number, patch: Partial<RemoteFeed>): void {
    const f = this.feeds.get(id);
    if (!f) return;
    this.feeds.set(id, { ...f, ...patch });
    this.emit();
  }

  // ---- lifecycle ---------------------------------------------------------------------

  async start(): Promise<void> {
    this.statsTimer = setInterval(() => void this.sampleStats(), STATS_MS);
    try {
      await this.ensureLocalTracks();
    } catch (e) {
      // No devices: join anyway, receive only.
      this.emit({ notice: describeError(e) });
    }
    await this.connect();
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    try {
      await this.joinAndPublish(gen);
    } catch (e) {
      if (gen !== this.generation || this.stopped) return;
      console.error('videoroom: joining or publishing failed:', e instanceof JanusError ? `${e.kind} ${e.code} ${e.message}` : e);
      if (e instanceof JanusError && (e.kind === 'network' || e.kind === 'timeout')) {
        this.recovering = false;
        this.scheduleRecovery();
        return;
      }
      await this.teardownSession();
      this.emit({
        phase: 'failed',
        error: describeError(e, 'videoroom'),
        errorCode: e instanceof JanusError ? e.code : undefined,
      });
    }
  }

  private async joinAndPublish(gen: number): Promise<void> {
    this.ice = new CallIce(this.o.server, this.o.iceServers); // fetched anew for every join
    const session = await JanusSession.create(this.o.server, {
      onConnection: (c) => {
        if (gen !== this.generation) return;
        this.emit({
          serverReachable: c,
          notice: c ? undefined : 'Lost the connection to the server. Reconnecting…',
        });
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
      onTrickle: (c) => this.addRemoteCandidate(this.pubPc, this.pubPending, c),
    });
    const join = { request: 'join', ptype: 'publisher', room: this.o.roomId, display: this.o.display, ...(this.o.pin ? { pin: this.o.pin } : {}) };
    let joined;
    try {
      joined = await pub.send(join);
    } catch (e) {
      if (!(e instanceof JanusError && e.code === 426 && this.recovering && this.o.recreate)) throw e;
      // The room vanished with a server restart: make it again (another participant may
      // beat us to it: 427, fine) and join.
      try {
        await pub.send({ ...roomCreateBody(this.o.recreate), room: this.o.roomId });
      } catch (ce) {
        if (!(ce instanceof JanusError && ce.code === 427)) throw ce;
      }
      joined = await pub.send(join);
    }
    if (gen !== this.generation) return;
    const d = joined.data;
    this.privateId = d.private_id;
    this.recovering = false;
    this.snap = { ...this.snap, me: { ...this.snap.me, id: Number(d.id) } };
    this.emit({
      phase: 'joined',
      joins: this.snap.joins + 1,
      error: undefined,
      errorCode: undefined,
      notice: undefined,
      serverReachable: true,
      description: d.description ?? this.o.recreate?.description ?? this.snap.description,
    });
    for (const p of d.publishers ?? []) this.upsertPublisher(p, gen);
    for (const a of d.attendees ?? []) this.upsertAttendee(a);
    void this.fetchParticipants(gen);
    await this.publishOrWatch(gen);
  }

  /** Publishes; a full room (432) leaves us in it as a viewer instead of failing. */
  private async publishOrWatch(gen: number): Promise<void> {
    try {
      await this.publish(gen);
      if (this.snap.me.viewer) this.setMe({ viewer: false });
    } catch (e) {
      if (!(e instanceof JanusError && e.code === 432) || gen !== this.generation) throw e;
      this.pubPc?.close();
      this.pubPc = undefined;
      this.pubSampler = undefined;
      this.pubPending = [];
      this.snap = { ...this.snap, me: { ...this.snap.me, viewer: true, connection: 'none', stats: EMPTY_STATS } };
      this.emit({ notice: `${describeError(e, 'videoroom')} You can watch and listen, and share your video when a place frees up.` });
    }
  }

  /** A viewer tries to publish again (a place may have freed up). */
  async retryPublish(): Promise<void> {
    if (!this.snap.me.viewer || !this.pub || this.snap.phase !== 'joined') return;
    const gen = this.generation;
    try {
      await this.publishOrWatch(gen);
      if (!this.snap.me.viewer) this.emit({ notice: undefined });
    } catch (e) {
      this.emit({ notice: describeError(e, 'videoroom') });
    }
  }

  /** Non-publishing participants are only known from listparticipants. */
  private async fetchParticipants(gen: number): Promise<void> {
    try {
      const r = await this.pub!.send({ request: 'listparticipants', room: this.o.roomId });
      if (gen !== this.generation) return;
      for (const p of r.data.participants ?? []) {
        if (Number(p.id) === this.snap.me.id || this.feeds.has(Number(p.id))) continue;
        this.upsertAttendee(p);
      }
    } catch {
      /* optional */
    }
  }

  private scheduleRecovery(): void {
    if (this.stopped || this.recovering) return;
    this.recovering = true;
    const gen = ++this.generation;
    void this.teardownSession();
    this.feeds.clear();
    this.setMe({ connection: 'none', talking: false, stats: EMPTY_STATS });
    this.emit({ phase: 'reconnecting', serverReachable: false, notice: 'Lost the connection to the server. Reconnecting…' });
    const attempt = async () => {
      if (this.stopped || gen !== this.generation) return;
      try {
        await JanusSession.ping(this.o.server);
      } catch {
        setTimeout(() => void attempt(), RETRY_MS);
        return;
      }
      this.generation = gen; // connect() bumps it again
      this.recovering = true;
      await this.connect();
    };
    setTimeout(() => void attempt(), RETRY_MS / 2);
  }

  private async teardownSession(): Promise<void> {
    for (const s of this.subs.values()) this.closeSub(s);
    this.subs.clear();
    this.pubPc?.close();
    this.pubPc = undefined;
    this.pubSampler = undefined;
    this.pubPending = [];
    this.pub = undefined;
    const s = this.session;
    this.session = undefined;
    if (s) await s.destroy();
  }

  /** Leaves the room and releases camera and microphone. */
  async leave(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    clearInterval(this.statsTimer);
    try {
      if (this.pub && this.session && !this.session.isClosed) await this.pub.post({ request: 'leave' });
    } catch {
      /* destroying the session is enough */
    }
    await this.teardownSession();
    for (const t of [this.mic, this.cam, this.screen]) t?.stop();
    this.mic = this.cam = this.screen = null;
    this.feeds.clear();
    this.refreshLocalStream();
    this.emit({ phase: 'left' });
  }

  // ---- publishing --------------------------------------------------------------------

  private async ensureLocalTracks(): Promise<void> {
    const needMic = !this.mic || this.mic.readyState === 'ended';
    const needCam = this.snap.me.camOn && (!this.cam || this.cam.readyState === 'ended');
    if (!needMic && !needCam) return;
    const s = await navigator.mediaDevices.getUserMedia({
      audio: needMic ? micConstraints(this.o.micId) : false,
      video: needCam ? cameraConstraints(this.o.cameraId) : false,
    });
    if (needMic) this.mic = s.getAudioTracks()[0] ?? null;
    if (needCam) this.cam = s.getVideoTracks()[0] ?? null;
    this.refreshLocalStream();
  }

  private outgoingVideo(): MediaStreamTrack | null {
    if (this.screen) return this.screen;
    return this.snap.me.camOn ? this.cam : null;
  }

  private outgoingAudio(): MediaStreamTrack | null {
    return this.snap.me.micOn ? this.mic : null;
  }

  private refreshLocalStream(): void {
    const tracks = [this.mic, this.outgoingVideo()].filter((t): t is MediaStreamTrack => !!t);
    if (this.mic) this.mic.enabled = this.snap.me.micOn;
    this.snap = { ...this.snap, me: { ...this.snap.me, stream: tracks.length ? new MediaStream(tracks) : null } };
  }

  private async publish(gen: number): Promise<void> {
    const pub = this.pub!;
    const rtc = await this.ice.config();
    if (gen !== this.generation || pub !== this.pub) return;
    const pc = new RTCPeerConnection(rtc);
    this.pubPc = pc;
    this.pubSampler = new StatsSampler(pc);
    const local = new MediaStream();
    pc.addTransceiver(this.mic ?? 'audio', { direction: 'sendonly', streams: [local] });
    pc.addTransceiver(this.cam ?? 'video', { direction: 'sendonly', streams: [local] });
    await this.applySenders();
    let gathered = 0;
    pc.onicecandidate = (e) => {
      if (e.candidate) gathered++;
      void pub.trickle(e.candidate);
    };
    // Gathering that ends with no candidate at all (relay-only with TURN refused or
    // unreachable) never reaches 'failed': say so instead of 'connecting' forever.
    pc.onicegatheringstatechange = () => {
      if (gen !== this.generation || pc.iceGatheringState !== 'complete' || gathered > 0) return;
      this.setMe({ connection: 'failed' });
      this.emit({ notice: rtc.iceTransportPolicy === 'relay'
        ? 'No way to reach the server: the relay (TURN) server refused this browser or cannot be reached.'
        : 'No network path to the server was found.' });
    };
    pc.onconnectionstatechange = () => {
      if (gen !== this.generation) return;
      const st = pc.connectionState;
      this.setMe({ connection: st === 'connected' ? 'connected' : st === 'failed' ? 'failed' : 'connecting' });
      // A failed publisher PeerConnection while the session lives: start over.
      if (st === 'failed') this.scheduleRecovery();
    };
    this.setMe({ connection: 'connecting' });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const reply = await pub.send(
      {
        request: 'publish',
        descriptions: [
          { mid: pc.getTransceivers()[0].mid ?? '0', description: 'Microphone' },
          { mid: pc.getTransceivers()[1].mid ?? '1', description: 'Camera' },
        ],
      },
      pc.localDescription!,
    );
    if (gen !== this.generation) return;
    if (!reply.jsep) throw new JanusError('plugin', 0, 'The server did not answer the offer');
    await pc.setRemoteDescription(reply.jsep);
    this.flushCandidates(pc, this.pubPending);
  }

  /** Puts the current tracks on the senders (null stops that stream's RTP). */
  private async applySenders(): Promise<void> {
    const pc = this.pubPc;
    if (!pc) return;
    const [a, v] = pc.getTransceivers();
    try {
      await a?.sender.replaceTrack(this.outgoingAudio());
      await v?.sender.replaceTrack(this.outgoingVideo());
    } catch {
      /* closed meanwhile */
    }
  }

  async setMic(on: boolean): Promise<void> {
    this.snap = { ...this.snap, me: { ...this.snap.me, micOn: on } };
    if (on) {
      try {
        await this.ensureLocalTracks();
      } catch (e) {
        this.emit({ notice: describeError(e) });
      }
    }
    this.refreshLocalStream();
    await this.applySenders();
    if (!on) this.snap = { ...this.snap, me: { ...this.snap.me, talking: false } };
    this.emit();
  }

  async setCamera(on: boolean): Promise<void> {
    this.snap = { ...this.snap, me: { ...this.snap.me, camOn: on } };
    if (on) {
      try {
        await this.ensureLocalTracks();
      } catch (e) {
        this.snap = { ...this.snap, me: { ...this.snap.me, camOn: false } };
        this.emit({ notice: describeError(e) });
        return;
      }
    } else if (this.cam) {
      // Release the camera (its light goes off), not just mute it.
      this.cam.stop();
      this.cam = null;
    }
    this.refreshLocalStream();
    await this.applySenders();
    this.emit();
  }

  async toggleScreenShare(): Promise<void> {
    if (this.screen) {
      this.stopScreen();
      return;
    }
    let s: MediaStream;
    try {
      s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    } catch (e) {
      if ((e as Error).name !== 'NotAllowedError') this.emit({ notice: describeError(e) });
      return;
    }
    const t = s.getVideoTracks()[0];
    if (!t) return;
    t.contentHint = 'detail';
    t.addEventListener('ended', () => this.stopScreen());
    this.screen = t;
    this.snap = { ...this.snap, me: { ...this.snap.me, sharing: true } };
    this.refreshLocalStream();
    await this.applySenders();
    this.emit();
  }

  private stopScreen(): void {
    if (!this.screen) return;
    this.screen.stop();
    this.screen = null;
    this.snap = { ...this.snap, me: { ...this.snap.me, sharing: false } };
    this.refreshLocalStream();
    void this.applySenders();
    this.emit();
  }

  async switchDevices(cameraId?: string, micId?: string): Promise<void> {
    if (micId !== undefined && micId !== this.o.micId) {
      this.o.micId = micId;
      this.mic?.stop();
      this.mic = null;
    }
    if (cameraId !== undefined && cameraId !== this.o.cameraId) {
      this.o.cameraId = cameraId;
      this.cam?.stop();
      this.cam = null;
    }
    try {
      await this.ensureLocalTracks();
    } catch (e) {
      this.emit({ notice: describeError(e) });
    }
    this.refreshLocalStream();
    await this.applySenders();
    this.emit();
  }

  // ---- room events -------------------------------------------------------------------

  private onRoomEvent(d: Json, gen: number): void {
    if (gen !== this.generation) return;
    const kind = d.videoroom;
    if (kind === 'talking' || kind === 'stopped-talking') {
      const talking = kind === 'talking';
      const id = Number(d.id);
      if (id === this.snap.me.id) this.setMe({ talking: talking && this.snap.me.micOn });
      else this.setFeed(id, { talking });
      return;
    }
    if (kind === 'destroyed') {
      void this.teardownSession();
      this.feeds.clear();
      this.emit({ phase: 'failed', error: 'The room was closed by its owner.' });
      return;
    }
    if (kind !== 'event') return;
    if (Array.isArray(d.publishers)) for (const p of d.publishers) this.upsertPublisher(p, gen);
    if (d.joining) this.upsertAttendee(d.joining);
    if (d.leaving !== undefined && d.leaving !== 'ok') {
      const was = this.feeds.get(Number(d.leaving))?.publishing;
      this.removeFeed(Number(d.leaving));
      if (was && this.snap.me.viewer) void this.retryPublish();
    }
    if (d.kicked !== undefined) this.removeFeed(Number(d.kicked));
    if (d.unpublished !== undefined && d.unpublished !== 'ok') {
      const id = Number(d.unpublished);
      this.closeSubById(id);
      this.setFeed(id, { publishing: false, stream: null, talking: false, connection: 'none', stats: EMPTY_STATS });
      if (this.snap.me.viewer) void this.retryPublish();
    }
    if (d.id !== undefined && typeof d.display === 'string' && !d.publishers) {
      this.setFeed(Number(d.id), { display: d.display });
    }
    if (d.error_code !== undefined) this.emit({ notice: describeError(new JanusError('plugin', d.error_code, d.error), 'videoroom') });
  }

  private upsertAttendee(a: Json): void {
    const id = Number(a.id);
    if (!id || id === this.snap.me.id) return;
    const f = this.feeds.get(id);
    if (f) {
      if (a.display) this.setFeed(id, { display: a.display });
      return;
    }
    this.feeds.set(id, newFeed(id, a.display, false));
    this.emit();
  }

  private upsertPublisher(p: Json, gen: number): void {
    const id = Number(p.id);
    if (!id || id === this.snap.me.id) return;
    const streams: Json[] = Array.isArray(p.streams) ? p.streams : [];
    const live = streams.filter((s) => !s.disabled);
    const hasAudio = streams.length ? live.some((s) => s.type === 'audio') : Boolean(p.audio_codec);
    const hasVideo = streams.length ? live.some((s) => s.type === 'video') : Boolean(p.video_codec);
    const f = this.feeds.get(id) ?? newFeed(id, p.display, true);
    this.feeds.set(id, { ...f, display: p.display ?? f.display, publishing: true, hasAudio, hasVideo, talking: Boolean(p.talking) });
    this.emit();
    if (!this.subs.has(id)) void this.subscribeFeed(id, gen);
  }

  private removeFeed(id: number): void {
    this.closeSubById(id);
    if (this.feeds.delete(id)) this.emit();
  }

  // ---- subscriptions -----------------------------------------------------------------

  private async subscribeFeed(feedId: number, gen: number): Promise<void> {
    const session = this.session;
    if (!session) return;
    let handle: JanusHandle;
    try {
      handle = await session.attach(VIDEOROOM);
    } catch {
      return;
    }
    if (gen !== this.generation || !this.feeds.has(feedId) || this.subs.has(feedId)) {
      void handle.detach();
      return;
    }
    const sub: Subscription = { feedId, handle, pendingRemote: [], silentAudio: 0, silentVideo: 0, closed: false };
    this.subs.set(feedId, sub);
    this.setFeed(feedId, { connection: 'connecting' });
    handle.on({
      onEvent: (d, jsep) => {
        if (jsep?.type === 'offer') void this.answerSubscription(sub, jsep, gen);
        if (d.videoroom === 'event' && d.error_code !== undefined) this.setFeed(feedId, { connection: 'failed' });
      },
      onTrickle: (c) => this.addRemoteCandidate(sub.pc, sub.pendingRemote, c),
      onHangup: () => {
        if (!sub.closed) this.setFeed(feedId, { connection: 'failed' });
      },
    });
    try {
      const r = await handle.send({
        request: 'join',
        ptype: 'subscriber',
        room: this.o.roomId,
        streams: [{ feed: feedId }],
        ...(this.privateId !== undefined ? { private_id: this.privateId } : {}),
        ...(this.o.pin ? { pin: this.o.pin } : {}),
      });
      if (r.jsep) await this.answerSubscription(sub, r.jsep, gen);
    } catch {
      if (sub.closed || gen !== this.generation) return;
      this.closeSubById(feedId);
      // The feed may have left meanwhile; if it is still there, try once more later.
      setTimeout(() => {
        const f = this.feeds.get(feedId);
        if (gen === this.generation && f?.publishing && !this.subs.has(feedId)) void this.subscribeFeed(feedId, gen);
      }, RETRY_MS);
    }
  }

  private async answerSubscription(sub: Subscription, offer: RTCSessionDescriptionInit, gen: number): Promise<void> {
    if (sub.closed || gen !== this.generation) return;
    const rtc = sub.pc ? undefined : await this.ice.config();
    if (sub.closed || gen !== this.generation) return;
    if (!sub.pc) {
      const pc = new RTCPeerConnection(rtc);
      sub.pc = pc;
      sub.sampler = new StatsSampler(pc);
      pc.onicecandidate = (e) => void sub.handle.trickle(e.candidate);
      pc.ontrack = (e) => {
        const f = this.feeds.get(sub.feedId);
        // Same stream object: the tile's <video> keeps playing (see withRemoteTrack).
        this.setFeed(sub.feedId, { stream: withRemoteTrack(f?.stream ?? null, e.track) });
        e.track.addEventListener('ended', () => {
          const cur = this.feeds.get(sub.feedId)?.stream;
          if (cur?.getTracks().includes(e.track)) {
            this.setFeed(sub.feedId, { stream: withoutRemoteTrack(cur, e.track) });
          }
        });
      };
      pc.onconnectionstatechange = () => {
        if (sub.closed) return;
        const st = pc.connectionState;
        this.setFeed(sub.feedId, { connection: st === 'connected' ? 'connected' : st === 'failed' ? 'failed' : 'connecting' });
        if (st === 'failed') this.resubscribe(sub.feedId, gen);
      };
    }
    const pc = sub.pc;
    try {
      await pc.setRemoteDescription(offer);
      this.flushCandidates(pc, sub.pendingRemote);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await sub.handle.send({ request: 'start', room: this.o.roomId }, pc.localDescription!);
    } catch {
      if (!sub.closed) this.setFeed(sub.feedId, { connection: 'failed' });
    }
  }

  private resubscribe(feedId: number, gen: number): void {
    this.closeSubById(feedId);
    setTimeout(() => {
      const f = this.feeds.get(feedId);
      if (gen === this.generation && f?.publishing && !this.subs.has(feedId)) void this.subscribeFeed(feedId, gen);
    }, RETRY_MS);
  }

  private closeSub(s: Subscription): void {
    s.closed = true;
    s.pc?.close();
    void s.handle.detach();
  }

  private closeSubById(id: number): void {
    const s = this.subs.get(id);
    if (!s) return;
    this.subs.delete(id);
    this.closeSub(s);
  }

  private addRemoteCandidate(pc: RTCPeerConnection | undefined, pending: (RTCIceCandidateInit | null)[], c: RTCIceCandidateInit | null): void {
    if (!pc || !pc.remoteDescription) {
      pending.push(c);
      return;
    }
    pc.addIceCandidate(c ?? undefined).catch(() => {});
  }

  private flushCandidates(pc: RTCPeerConnection, pending: (RTCIceCandidateInit | null)[]): void {
    for (const c of pending.splice(0)) pc.addIceCandidate(c ?? undefined).catch(() => {});
  }

  // ---- statistics --------------------------------------------------------------------

  private async sampleStats(): Promise<void> {
    if (this.pubSampler) {
      try {
        const stats = await this.pubSampler.sample();
        this.snap = { ...this.snap, me: { ...this.snap.me, stats } };
      } catch {
        /* closed */
      }
    }
    for (const s of this.subs.values()) {
      if (!s.sampler || s.closed) continue;
      let st: LinkStats;
      try {
        st = await s.sampler.sample();
      } catch {
        continue;
      }
      const f = this.feeds.get(s.feedId);
      if (!f) continue;
      const live = f.connection === 'connected';
      s.silentAudio = live && st.audioPackets === 0 ? s.silentAudio + 1 : st.audioPackets > 0 ? 0 : s.silentAudio;
      s.silentVideo = live && st.videoPackets === 0 ? s.silentVideo + 1 : st.videoPackets > 0 ? 0 : s.silentVideo;
      const hasAudioTrack = !!f.stream?.getAudioTracks().length;
      const hasVideoTrack = !!f.stream?.getVideoTracks().length;
      this.feeds.set(s.feedId, {
        ...f,
        stats: st,
        audioMuted: !f.hasAudio || !hasAudioTrack ? live : s.silentAudio >= 2,
        videoOff: !f.hasVideo || !hasVideoTrack ? live : s.silentVideo >= 2,
        talking: s.silentAudio >= 2 ? false : f.talking,
      });
    }
    this.emit();
  }
}

function newFeed(id: number, display: unknown, publishing: boolean): RemoteFeed {
  return {
    id,
    display: typeof display === 'string' && display ? display : `Guest ${String(id).slice(-4)}`,
    publishing,
    stream: null,
    hasAudio: false,
    hasVideo: false,
    talking: false,
    audioMuted: false,
    videoOff: false,
    stats: EMPTY_STATS,
    connection: 'none',
    joinedAt: performance.now(),
  };
}

/** A short-lived session for the lobby: list and create rooms. */
export class RoomDirectory {
  private session?: JanusSession;
  private handle?: JanusHandle;
  constructor(private server: string) {}

  private async ensure(): Promise<JanusHandle> {
    if (this.handle && this.session && !this.session.isClosed) return this.handle;
    this.session = await JanusSession.create(this.server, {
      onLost: () => {
        this.session = undefined;
        this.handle = undefined;
      },
    });
    this.handle = await this.session.attach(VIDEOROOM);
    return this.handle;
  }

  async list(): Promise<Json[]> {
    const h = await this.ensure();
    const r = await h.send({ request: 'list' });
    return Array.isArray(r.data.list) ? r.data.list : [];
  }

  async create(s: RoomSettings): Promise<number> {
    const h = await this.ensure();
    const r = await h.send(roomCreateBody(s));
    return Number(r.data.room);
  }

  async exists(room: number): Promise<boolean> {
    const h = await this.ensure();
    const r = await h.send({ request: 'exists', room });
    return Boolean(r.data.exists);
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    this.handle = undefined;
    await s?.destroy();
  }
}
