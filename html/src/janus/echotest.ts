// The echo test: camera and microphone go to janus.plugin.echotest and come back, so
// the whole media path (ICE, DTLS, SRTP, RTP/RTCP) is proven with one PeerConnection.
import { JanusHandle, JanusSession } from './client';
import { CallIce } from './iceServers';
import { EMPTY_STATS, type LinkStats, StatsSampler } from '../media/stats';
import { describeError } from '../lib/errors';
import { withRemoteTrack } from '../media/remoteStream';

export const ECHOTEST = 'janus.plugin.echotest';

export type EchoPhase = 'idle' | 'connecting' | 'running' | 'failed';

export interface EchoSnapshot {
  phase: EchoPhase;
  error?: string;
  remoteStream: MediaStream | null;
  stats: LinkStats;
  audio: boolean;
  video: boolean;
  bitrate: number;
  history: { rtt?: number; send?: number; recv?: number }[];
}

export class EchoTestClient {
  private snap: EchoSnapshot = {
    phase: 'idle',
    remoteStream: null,
    stats: EMPTY_STATS,
    audio: true,
    video: true,
    bitrate: 0,
    history: [],
  };
  private listeners = new Set<() => void>();
  private session?: JanusSession;
  private handle?: JanusHandle;
  private pc?: RTCPeerConnection;
  private sampler?: StatsSampler;
  private timer?: ReturnType<typeof setInterval>;
  private pending: (RTCIceCandidateInit | null)[] = [];

  constructor(
    private server: string,
    private iceServers: RTCIceServer[],
  ) {}

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): EchoSnapshot => this.snap;

  private emit(patch: Partial<EchoSnapshot>): void {
    this.snap = { ...this.snap, ...patch };
    for (const l of this.listeners) l();
  }

  async start(local: MediaStream): Promise<void> {
    await this.stop();
    this.emit({ phase: 'connecting', error: undefined, remoteStream: null, stats: EMPTY_STATS, history: [] });
    try {
      this.session = await JanusSession.create(this.server, {
        onLost: () => this.emit({ phase: 'failed', error: 'The connection to the server was lost.' }),
      });
      const h = await this.session.attach(ECHOTEST);
      this.handle = h;
      const rtc = await new CallIce(this.server, this.iceServers).config();
      if (this.handle !== h) return; // stopped or restarted meanwhile
      const pc = new RTCPeerConnection(rtc);
      this.pc = pc;
      this.sampler = new StatsSampler(pc);
      h.on({
        onTrickle: (c) => {
          if (pc.remoteDescription) pc.addIceCandidate(c ?? undefined).catch(() => {});
          else this.pending.push(c);
        },
        onHangup: () => this.emit({ phase: 'failed', error: 'The server closed the connection.' }),
      });
      pc.onicecandidate = (e) => void h.trickle(e.candidate);
      pc.ontrack = (e) => {
        // Same stream object: the <video> keeps playing (see withRemoteTrack).
        this.emit({ remoteStream: withRemoteTrack(this.snap.remoteStream, e.track) });
      };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === 'connected') this.emit({ phase: 'running' });
        if (pc.connectionState === 'failed') this.emit({ phase: 'failed', error: 'The media connection to the server failed.' });
      };
      for (const t of local.getTracks()) pc.addTransceiver(t, { direction: 'sendrecv', streams: [local] });
      if (!local.getAudioTracks().length) pc.addTransceiver('audio', { direction: 'recvonly' });
      if (!local.getVideoTracks().length) pc.addTransceiver('video', { direction: 'recvonly' });
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const r = await h.send({ audio: this.snap.audio, video: this.snap.video, ...(this.snap.bitrate ? { bitrate: this.snap.bitrate } : {}) }, pc.localDescription!);
      if (!r.jsep) throw new Error('The server did not answer the offer');
      await pc.setRemoteDescription(r.jsep);
      for (const c of this.pending.splice(0)) pc.addIceCandidate(c ?? undefined).catch(() => {});
      this.timer = setInterval(() => void this.sample(), 1000);
    } catch (e) {
      await this.stop();
      this.emit({ phase: 'failed', error: describeError(e, 'echotest') });
    }
  }

  private async sample(): Promise<void> {
    if (!this.sampler) return;
    try {
      const stats = await this.sampler.sample();
      const history = [...this.snap.history, { rtt: stats.rttMs, send: stats.sendKbps, recv: stats.recvKbps }].slice(-60);
      this.emit({ stats, history });
    } catch {
      /* closed */
    }
  }

  async configure(patch: { audio?: boolean; video?: boolean; bitrate?: number }): Promise<void> {
    this.emit(patch);
    if (!this.handle) return;
    try {
      await this.handle.send(patch);
    } catch (e) {
      this.emit({ error: describeError(e, 'echotest') });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.pc?.close();
    this.pc = undefined;
    this.sampler = undefined;
    this.pending = [];
    this.handle = undefined;
    const s = this.session;
    this.session = undefined;
    await s?.destroy();
    if (this.snap.phase !== 'failed') this.emit({ phase: 'idle', remoteStream: null, stats: EMPTY_STATS });
  }
}
