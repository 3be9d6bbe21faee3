// Connection figures from RTCPeerConnection.getStats(): round-trip time, loss, bitrate,
// frame rate and resolution, and a one-word quality for the UI. One sampler per
// PeerConnection keeps the previous report so rates are computed over the last interval.

export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

export interface LinkStats {
  quality: Quality;
  rttMs?: number;
  lossPct?: number;
  sendKbps?: number;
  recvKbps?: number;
  fps?: number;
  width?: number;
  height?: number;
  jitterMs?: number;
  codec?: string;
  /** Audio/video RTP packets received in the last interval (-1: not known yet). */
  audioPackets: number;
  videoPackets: number;
  framesDecoded?: number;
}

export const EMPTY_STATS: LinkStats = { quality: 'unknown', audioPackets: -1, videoPackets: -1 };

interface Prev {
  at: number;
  sent: number;
  recv: number;
  lost: number;
  got: number;
  audioPackets: number;
  videoPackets: number;
}

export class StatsSampler {
  private prev?: Prev;
  constructor(private pc: RTCPeerConnection) {}

  async sample(): Promise<LinkStats> {
    if (this.pc.connectionState === 'closed') return EMPTY_STATS;
    const report = await this.pc.getStats();
    const now = performance.now();
    let sent = 0, recv = 0, lost = 0, got = 0;
    let audioPackets = -1, videoPackets = -1;
    let rtt: number | undefined;
    let remoteLoss: number | undefined;
    let fps: number | undefined, width: number | undefined, height: number | undefined;
    let jitter: number | undefined, framesDecoded: number | undefined;
    let codecId: string | undefined;
    const codecs = new Map<string, string>();
    report.forEach((s: any) => {
      switch (s.type) {
        case 'outbound-rtp':
          sent += s.bytesSent ?? 0;
          if (s.kind === 'video') {
            fps = s.framesPerSecond ?? fps;
            width = s.frameWidth ?? width;
            height = s.frameHeight ?? height;
            codecId = s.codecId ?? codecId;
          }
          break;
        case 'inbound-rtp':
          recv += s.bytesReceived ?? 0;
          lost += Math.max(0, s.packetsLost ?? 0);
          got += s.packetsReceived ?? 0;
          if (s.kind === 'audio') audioPackets = Math.max(audioPackets, 0) + (s.packetsReceived ?? 0);
          if (s.kind === 'video') {
            videoPackets = Math.max(videoPackets, 0) + (s.packetsReceived ?? 0);
            fps = s.framesPerSecond ?? fps;
            width = s.frameWidth ?? width;
            height = s.frameHeight ?? height;
            framesDecoded = s.framesDecoded ?? framesDecoded;
            codecId = s.codecId ?? codecId;
          }
          if (typeof s.jitter === 'number') jitter = Math.max(jitter ?? 0, s.jitter * 1000);
          break;
        case 'remote-inbound-rtp':
          if (typeof s.roundTripTime === 'number') rtt = Math.max(rtt ?? 0, s.roundTripTime * 1000);
          if (typeof s.fractionLost === 'number') remoteLoss = Math.max(remoteLoss ?? 0, s.fractionLost * 100);
          break;
        case 'candidate-pair':
          if ((s.nominated || s.selected) && s.state === 'succeeded' && typeof s.currentRoundTripTime === 'number') {
            rtt = s.currentRoundTripTime * 1000;
          }
          break;
        case 'codec':
          codecs.set(s.id, String(s.mimeType ?? '').split('/')[1] ?? '');
          break;
      }
    });
    const p = this.prev;
    const out: LinkStats = {
      quality: 'unknown',
      rttMs: rtt,
      fps,
      width,
      height,
      jitterMs: jitter,
      framesDecoded,
      codec: codecId ? codecs.get(codecId) : undefined,
      audioPackets: -1,
      videoPackets: -1,
    };
    if (p) {
      const dt = (now - p.at) / 1000;
      if (dt > 0) {
        if (sent || p.sent) out.sendKbps = Math.max(0, ((sent - p.sent) * 8) / 1000 / dt);
        if (recv || p.recv) out.recvKbps = Math.max(0, ((recv - p.recv) * 8) / 1000 / dt);
      }
      const dGot = got - p.got, dLost = lost - p.lost;
      if (dGot + dLost > 0) out.lossPct = (100 * Math.max(0, dLost)) / (dGot + Math.max(0, dLost));
      // No inbound stats for a kind yet means nothing of it ever arrived: 0 packets.
      out.audioPackets = audioPackets < 0 ? 0 : Math.max(0, audioPackets - Math.max(0, p.audioPackets));
      out.videoPackets = videoPackets < 0 ? 0 : Math.max(0, videoPackets - Math.max(0, p.videoPackets));
    }
    if (out.lossPct === undefined && remoteLoss !== undefined) out.lossPct = remoteLoss;
    out.quality = rate(out, this.pc);
    this.prev = { at: now, sent, recv, lost, got, audioPackets, videoPackets };
    return out;
  }
}

function rate(s: LinkStats, pc: RTCPeerConnection): Quality {
  const st = pc.connectionState;
  if (st === 'failed' || st === 'disconnected') return 'poor';
  if (st !== 'connected') return 'unknown';
  const loss = s.lossPct ?? 0;
  const rtt = s.rttMs ?? 0;
  if (loss > 8 || rtt > 450) return 'poor';
  if (loss > 2 || rtt > 220 || (s.jitterMs ?? 0) > 60) return 'fair';
  return 'good';
}

export function describeStats(s: LinkStats): string {
  const parts: string[] = [];
  if (s.rttMs !== undefined) parts.push(`${Math.round(s.rttMs)} ms`);
  if (s.lossPct !== undefined) parts.push(`${s.lossPct.toFixed(1)}% loss`);
  const kbps = s.recvKbps ?? s.sendKbps;
  if (kbps !== undefined) parts.push(kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mb/s` : `${Math.round(kbps)} kb/s`);
  if (s.width && s.height) parts.push(`${s.width}×${s.height}`);
  if (s.fps) parts.push(`${Math.round(s.fps)} fps`);
  return parts.join(' · ');
}
