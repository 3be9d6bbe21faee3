// 1:1 calls through switchboard.plugin.p2pcall: the server only relays the offer, the
// answer and the ICE candidates; the media flows browser to browser over a
// PeerConnection whose STUN/TURN servers the plugin hands out (register reply).
//
// Candidates are plugin messages ({"request":"candidate"}), not the core's trickle. Ours
// are held until the server has queued the call/accept they belong to (its reply came),
// so they never overtake it; theirs are held until the remote description is set.
import { JanusError, JanusHandle, JanusSession, type Json } from './client';
import { CallIce } from './iceServers';
import { EMPTY_STATS, type LinkStats, StatsSampler } from '../media/stats';
import { cameraConstraints, micConstraints } from '../media/devices';
import { describeError } from '../lib/errors';
import { withRemoteTrack } from '../media/remoteStream';

export const P2PCALL = 'switchboard.plugin.p2pcall';

export type CallPhase = 'offline' | 'connecting' | 'idle' | 'calling' | 'ringing' | 'incall' | 'reconnecting';

export interface OnlineUser {
  username: string;
  busy: boolean;
}

export interface CallSnapshot {
  phase: CallPhase;
  me?: string;
  peer?: string;
  users: OnlineUser[];
  error?: string;
  notice?: string;
  localStream: MediaStream | null;
  remoteStream: MediaStream | null;
  micOn: boolean;
  camOn: boolean;
  remoteAudioMuted: boolean;
  remoteVideoOff: boolean;
  stats: LinkStats;
  connection: 'none' | 'connecting' | 'connected' | 'failed';
  startedAt?: number;
}

const LIST_MS = 3000;

export class P2PCallClient {
  private snap: CallSnapshot;
  private listeners = new Set<() => void>();
  private session?: JanusSession;
  private handle?: JanusHandle;
  private pc?: RTCPeerConnection;
  private sampler?: StatsSampler;
  private iceServers: RTCIceServer[] = [];
  private remoteOffer?: RTCSessionDescriptionInit;
  private remotePending: (RTCIceCandidateInit | null)[] = [];
  private localHeld: (RTCIceCandidateInit | null)[] | null = null;
  private mic: MediaStreamTrack | null = null;
  private cam: MediaStreamTrack | null = null;
  private listTimer?: ReturnType<typeof setInterval>;
  private statsTimer?: ReturnType<typeof setInterval>;
  private silentAudio = 0;
  private silentVideo = 0;
  private closed = false;

  constructor(
    private server: string,
    private devices: { cameraId?: string; micId?: string },
  ) {
    this.snap = {
      phase: 'offline',
      users: [],
      localStream: null,
      remoteStream: null,
      micOn: true,
      camOn: true,
      remoteAudioMuted: false,
      remoteVideoOff: false,
      stats: EMPTY_STATS,
      connection: 'none',
    };
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): CallSnapshot => this.snap;

  private emit(patch: Partial<CallSnapshot>): void {
    this.snap = { ...this.snap, ...patch };
    for (const l of this.listeners) l();
  }

  // ---- presence ----------------------------------------------------------------------

  /** Opens camera and microphone, connects and registers the name. */
  async goOnline(name: string): Promise<void> {
    this.emit({ phase: 'connecting', error: undefined, notice: undefined, me: name });
    try {
      await this.openLocal();
    } catch (e) {
      this.emit({ notice: describeError(e) });
    }
    try {
      const session = await JanusSession.create(this.server, {
        onConnection: (c) => this.emit({ notice: c ? undefined : 'Lost the connection to the server. Reconnecting…' }),
        onLost: () => void this.reconnect(name),
      });
      this.session = session;
      const h = await session.attach(P2PCALL);
      this.handle = h;
      h.on({ onEvent: (d, jsep) => void this.onEvent(d, jsep) });
      const r = await h.send({ request: 'register', username: name });
      this.iceServers = Array.isArray(r.data.result?.ice_servers) ? r.data.result.ice_servers : [];
      this.emit({ phase: 'idle', me: name, notice: undefined });
      this.listTimer = setInterval(() => void this.refreshList(), LIST_MS);
      void this.refreshList();
      this.statsTimer = setInterval(() => void this.sampleStats(), 1000);
    } catch (e) {
      const s = this.session;
      this.session = undefined;
      this.handle = undefined;
      void s?.destroy();
      this.emit({ phase: 'offline', error: describeError(e, 'p2pcall') });
    }
  }

  private async reconnect(name: string): Promise<void> {
    this.endCall();
    clearInterval(this.listTimer);
    clearInterval(this.statsTimer);
    this.session = undefined;
    this.handle = undefined;
    this.emit({ phase: 'reconnecting', users: [], notice: 'Lost the connection to the server. Reconnecting…' });
    while (!this.closed) {
      await new Promise((r) => setTimeout(r, 2000));
      try {
        await JanusSession.ping(this.server);
      } catch {
        continue;
      }
      await this.goOnline(name);
      if (this.snap.phase === 'idle' || this.closed) return;
      if (this.snap.phase === 'offline' && this.snap.error) return;
    }
  }

  async refreshList(): Promise<void> {
    if (!this.handle) return;
    try {
      const r = await this.handle.send({ request: 'list' });
      const users: OnlineUser[] = (r.data.result?.users ?? []).filter((u: OnlineUser) => u.username !== this.snap.me);
      this.emit({ users });
    } catch {
      /* next time */
    }
  }

  // ---- local media -------------------------------------------------------------------

  private async openLocal(): Promise<void> {
    if (this.mic && this.mic.readyState === 'live' && (!this.snap.camOn || (this.cam && this.cam.readyState === 'live'))) return;
    const needMic = !this.mic || this.mic.readyState !== 'live';
    const needCam = this.snap.camOn && (!this.cam || this.cam.readyState !== 'live');
    const s = await navigator.mediaDevices.getUserMedia({
      audio: needMic ? micConstraints(this.devices.micId) : false,
      video: needCam ? cameraConstraints(this.devices.cameraId) : false,
    });
    if (needMic) this.mic = s.getAudioTracks()[0] ?? null;
    if (needCam) this.cam = s.getVideoTracks()[0] ?? null;
    this.refreshLocal();
  }

  private refreshLocal(): void {
    if (this.mic) this.mic.enabled = this.snap.micOn;
    const tracks = [this.mic, this.snap.camOn ? this.cam : null].filter((t): t is MediaStreamTrack => !!t);
    this.emit({ localStream: tracks.length ? new MediaStream(tracks) : null });
  }

  private async applySenders(): Promise<void> {
    if (!this.pc) return;
    for (const t of this.pc.getTransceivers()) {
      const kind = t.receiver.track.kind;
      const track = kind === 'audio' ? (this.snap.micOn ? this.mic : null) : this.snap.camOn ? this.cam : null;
      try {
        await t.sender.replaceTrack(track);
      } catch {
        /* closed */
      }
    }
  }

  async setMic(on: boolean): Promise<void> {
    this.snap = { ...this.snap, micOn: on };
    if (on) await this.openLocal().catch((e) => this.emit({ notice: describeError(e) }));
    this.refreshLocal();
    await this.applySenders();
  }

  async setCamera(on: boolean): Promise<void> {
    this.snap = { ...this.snap, camOn: on };
    if (on) {
      try {
        await this.openLocal();
      } catch (e) {
        this.emit({ camOn: false, notice: describeError(e) });
        return;
      }
    } else if (this.cam) {
      this.cam.stop();
      this.cam = null;
    }
    this.refreshLocal();
    await this.applySenders();
  }

  // ---- the call ----------------------------------------------------------------------

  /** Fresh TURN credentials for the call about to start (the plugin's servers kept). */
  private rtcConfig(): Promise<RTCConfiguration> {
    return new CallIce(this.server, this.iceServers).config();
  }

  private makePc(rtc: RTCConfiguration): RTCPeerConnection {
    const pc = new RTCPeerConnection(rtc);
    this.pc = pc;
    this.sampler = new StatsSampler(pc);
    this.silentAudio = this.silentVideo = 0;
    pc.onicecandidate = (e) => {
      const c = e.candidate ? e.candidate.toJSON() : null;
      if (this.localHeld) this.localHeld.push(c);
      else void this.sendCandidates([c]);
    };
    pc.ontrack = (e) => {
      // Same stream object: the <video> keeps playing (see withRemoteTrack).
      this.emit({ remoteStream: withRemoteTrack(this.snap.remoteStream, e.track) });
    };
    pc.onconnectionstatechange = () => {
      const st = pc.connectionState;
      this.emit({ connection: st === 'connected' ? 'connected' : st === 'failed' ? 'failed' : 'connecting' });
      if (st === 'failed' && this.pc === pc) {
        void this.hangup('The connection to the other person failed.');
      }
    };
    this.emit({ connection: 'connecting' });
    return pc;
  }

  private async sendCandidates(cands: (RTCIceCandidateInit | null)[]): Promise<void> {
    if (!this.handle || !cands.length) return;
    const list = cands.map((c) => (c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : { completed: true }));
    try {
      await this.handle.post(list.length === 1 ? { request: 'candidate', candidate: list[0] } : { request: 'candidate', candidates: list });
    } catch {
      /* the call's own failure handling takes over */
    }
  }

  private releaseHeld(): void {
    const held = this.localHeld ?? [];
    this.localHeld = null;
    for (let i = 0; i < held.length; i += 32) void this.sendCandidates(held.slice(i, i + 32));
  }

  async call(username: string): Promise<void> {
    if (!this.handle || this.snap.phase !== 'idle') return;
    this.emit({ phase: 'calling', peer: username, error: undefined, notice: undefined, remoteStream: null });
    try {
      const [, rtc] = await Promise.all([this.openLocal().catch(() => {}), this.rtcConfig()]);
      if (this.getSnapshot().phase !== 'calling' || this.snap.peer !== username) return; // hung up meanwhile
      const pc = this.makePc(rtc);
      pc.addTransceiver(this.snap.micOn && this.mic ? this.mic : 'audio', { direction: 'sendrecv' });
      pc.addTransceiver(this.snap.camOn && this.cam ? this.cam : 'video', { direction: 'sendrecv' });
      this.localHeld = [];
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      await this.handle.send({ request: 'call', username }, pc.localDescription!);
      this.releaseHeld();
    } catch (e) {
      this.endCall();
      this.emit({ phase: 'idle', peer: undefined, error: describeError(e, 'p2pcall') });
    }
  }

  async accept(): Promise<void> {
    if (!this.handle || this.snap.phase !== 'ringing' || !this.remoteOffer) return;
    try {
      const offer = this.remoteOffer;
      const [, rtc] = await Promise.all([this.openLocal().catch(() => {}), this.rtcConfig()]);
      if (this.getSnapshot().phase !== 'ringing' || this.remoteOffer !== offer || this.pc) return; // hung up meanwhile, or accepted twice
      const pc = this.makePc(rtc);
      this.localHeld = [];
      await pc.setRemoteDescription(offer);
      this.flushRemote();
      for (const t of pc.getTransceivers()) {
        const kind = t.receiver.track.kind;
        t.direction = 'sendrecv';
        await t.sender.replaceTrack(kind === 'audio' ? (this.snap.micOn ? this.mic : null) : this.snap.camOn ? this.cam : null);
      }
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await this.handle.send({ request: 'accept' }, pc.localDescription!);
      this.releaseHeld();
      this.emit({ phase: 'incall', startedAt: Date.now() });
    } catch (e) {
      this.endCall();
      this.emit({ phase: 'idle', peer: undefined, error: describeError(e, 'p2pcall') });
      void this.handle?.send({ request: 'hangup' }).catch(() => {});
    }
  }

  async decline(): Promise<void> {
    await this.hangup();
  }

  async hangup(notice?: string): Promise<void> {
    const h = this.handle;
    this.endCall();
    this.emit({ phase: this.session ? 'idle' : 'offline', peer: undefined, notice });
    try {
      await h?.send({ request: 'hangup' });
    } catch {
      /* gone already */
    }
    void this.refreshList();
  }

  private endCall(): void {
    this.pc?.close();
    this.pc = undefined;
    this.sampler = undefined;
    this.remoteOffer = undefined;
    this.remotePending = [];
    this.localHeld = null;
    this.emit({ remoteStream: null, connection: 'none', stats: EMPTY_STATS, startedAt: undefined, remoteAudioMuted: false, remoteVideoOff: false });
  }

  private flushRemote(): void {
    if (!this.pc) return;
    for (const c of this.remotePending.splice(0)) this.pc.addIceCandidate(c ?? undefined).catch(() => {});
  }

  private addRemote(c: RTCIceCandidateInit | null): void {
    if (!this.pc || !this.pc.remoteDescription) this.remotePending.push(c);
    else this.pc.addIceCandidate(c ?? undefined).catch(() => {});
  }

  private async onEvent(d: Json, jsep?: RTCSessionDescriptionInit): Promise<void> {
    const r = d.result;
    if (!r || typeof r !== 'object') return;
    switch (r.event) {
      case 'incomingcall':
        this.remoteOffer = jsep;
        this.remotePending = [];
        this.emit({ phase: 'ringing', peer: r.username, error: undefined, notice: undefined });
        break;
      case 'accepted':
        if (this.pc && jsep) {
          try {
            await this.pc.setRemoteDescription(jsep);
            this.flushRemote();
            this.emit({ phase: 'incall', startedAt: Date.now() });
          } catch (e) {
            void this.hangup(describeError(e));
          }
        }
        break;
      case 'candidate':
        if (r.candidate) this.addRemote(r.candidate.completed ? null : r.candidate);
        for (const c of r.candidates ?? []) this.addRemote(c.completed ? null : c);
        break;
      case 'update':
        if (this.pc && jsep) {
          await this.pc.setRemoteDescription(jsep);
          if (jsep.type === 'offer') {
            const answer = await this.pc.createAnswer();
            await this.pc.setLocalDescription(answer);
            await this.handle?.send({ request: 'update' }, this.pc.localDescription!).catch(() => {});
          }
        }
        break;
      case 'hangup': {
        const who = r.username ?? this.snap.peer ?? 'The other person';
        const why =
          r.reason === 'Declined' ? `${who} declined the call.` : r.reason === 'Peer left' ? `${who} left.` : `${who} ended the call.`;
        const wasInCall = this.snap.phase !== 'idle';
        this.endCall();
        this.emit({ phase: 'idle', peer: undefined, notice: wasInCall ? why : this.snap.notice });
        void this.refreshList();
        break;
      }
    }
  }

  private async sampleStats(): Promise<void> {
    if (!this.sampler) return;
    try {
      const st = await this.sampler.sample();
      const live = this.snap.connection === 'connected';
      this.silentAudio = live && st.audioPackets === 0 ? this.silentAudio + 1 : st.audioPackets > 0 ? 0 : this.silentAudio;
      this.silentVideo = live && st.videoPackets === 0 ? this.silentVideo + 1 : st.videoPackets > 0 ? 0 : this.silentVideo;
      this.emit({ stats: st, remoteAudioMuted: this.silentAudio >= 2, remoteVideoOff: this.silentVideo >= 2 });
    } catch {
      /* closed */
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.listTimer);
    clearInterval(this.statsTimer);
    if (this.pc && this.handle) void this.handle.send({ request: 'hangup' }).catch(() => {});
    this.endCall();
    this.mic?.stop();
    this.cam?.stop();
    this.mic = this.cam = null;
    const s = this.session;
    this.session = undefined;
    this.handle = undefined;
    await s?.destroy();
  }
}

export { JanusError };
