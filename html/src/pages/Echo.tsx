// The echo test: your camera and microphone go to the server and come back, with the
// round-trip time and bitrates measured from getStats().
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import { Banner, Spinner } from '../components/Banner';
import { DeviceSetup } from '../components/DeviceSetup';
import { WaveIcon } from '../components/Icons';
import { Video } from '../components/Video';
import { EchoTestClient } from '../janus/echotest';
import { serverUrl, sfuIceServers } from '../lib/config';
import { usePreview } from '../media/usePreview';

const BITRATES = [
  { label: 'No limit', value: 0 },
  { label: '2 Mb/s', value: 2_000_000 },
  { label: '1 Mb/s', value: 1_000_000 },
  { label: '500 kb/s', value: 500_000 },
  { label: '256 kb/s', value: 256_000 },
  { label: '128 kb/s', value: 128_000 },
];

function fmtKbps(v?: number): string {
  if (v === undefined) return '–';
  return v >= 1000 ? (v / 1000).toFixed(2) : Math.round(v).toString();
}

function Spark({ values, color }: { values: (number | undefined)[]; color: string }) {
  const pts = values.map((v, i) => ({ i, v })).filter((p): p is { i: number; v: number } => p.v !== undefined);
  if (pts.length < 2) return <svg className="spark" viewBox="0 0 100 28" />;
  const max = Math.max(...pts.map((p) => p.v), 1);
  const n = Math.max(values.length - 1, 1);
  const d = pts.map((p, k) => `${k ? 'L' : 'M'}${((p.i / n) * 100).toFixed(1)},${(26 - (p.v / max) * 24).toFixed(1)}`).join(' ');
  return (
    <svg className="spark" viewBox="0 0 100 28" preserveAspectRatio="none" aria-hidden="true">
      <path d={d} fill="none" stroke={color} strokeWidth="1.6" vectorEffect="non-scaling-stroke" />
    </svg>
  );
}

export function EchoPage() {
  const client = useMemo(() => new EchoTestClient(serverUrl(), sfuIceServers()), []);
  const s = useSyncExternalStore(client.subscribe, client.getSnapshot);
  const preview = usePreview();

  useEffect(() => () => void client.stop(), [client]);

  const running = s.phase === 'running' || s.phase === 'connecting';
  const start = () => {
    if (preview.stream) void client.start(preview.stream);
  };
  const st = s.stats;
  const mbps = (st.sendKbps ?? 0) >= 1000 || (st.recvKbps ?? 0) >= 1000;

  return (
    <main className="page echo-page" data-testid="echo-page" data-phase={s.phase}>
      <section className="hero">
        <h1>Echo test</h1>
        <p className="muted-text">Your camera and microphone travel to the server and straight back. If you see and hear yourself below, calls will work from here.</p>
      </section>
      <div className="echo-grid">
        <section className="card">
          <div className="card-head">
            <h2>Your devices</h2>
          </div>
          <DeviceSetup preview={preview} name="" compact />
        </section>
        <section className="card">
          <div className="card-head">
            <h2>Back from the server</h2>
            <span className={`status-pill ${s.phase === 'running' ? 'ok' : s.phase === 'failed' ? 'bad' : 'warn'}`}>
              <span className="dot" />
              {s.phase === 'running' ? 'Echoing' : s.phase === 'connecting' ? 'Connecting…' : s.phase === 'failed' ? 'Failed' : 'Not started'}
            </span>
          </div>
          <div className="echo-video" data-testid="echo-remote">
            {s.remoteStream ? (
              <Video stream={s.remoteStream} muted={false} mirror label="Echo" />
            ) : (
              <div className="preview-empty">
                {s.phase === 'connecting' ? <Spinner size={28} /> : <WaveIcon size={40} />}
                <span className="muted-text">{s.phase === 'connecting' ? 'Connecting…' : 'Start the test to see yourself come back'}</span>
              </div>
            )}
          </div>
          {s.error && <Banner kind="error">{s.error}</Banner>}
          <div className="btn-row">
            {running ? (
              <button className="btn danger" onClick={() => void client.stop()} data-testid="echo-stop">
                Stop
              </button>
            ) : (
              <button className="btn primary" onClick={start} disabled={!preview.stream} data-testid="echo-start">
                Start the test
              </button>
            )}
            <label className="check">
              <input type="checkbox" checked={s.audio} onChange={(e) => void client.configure({ audio: e.target.checked })} /> Audio back
            </label>
            <label className="check">
              <input type="checkbox" checked={s.video} onChange={(e) => void client.configure({ video: e.target.checked })} /> Video back
            </label>
            <label className="field inline">
              <span className="field-label">Bitrate cap</span>
              <select value={s.bitrate} onChange={(e) => void client.configure({ bitrate: Number(e.target.value) })}>
                {BITRATES.map((b) => (
                  <option key={b.value} value={b.value}>
                    {b.label}
                  </option>
                ))}
              </select>
            </label>
          </div>
        </section>
      </div>
      <section className="stats-row" data-testid="echo-stats">
        <div className="stat">
          <div className="stat-label">Round trip</div>
          <div className="stat-value" data-testid="echo-rtt">
            {st.rttMs !== undefined ? Math.round(st.rttMs) : '–'}
            <small>ms</small>
          </div>
          <Spark values={s.history.map((h) => h.rtt)} color="var(--accent)" />
        </div>
        <div className="stat">
          <div className="stat-label">Sending</div>
          <div className="stat-value" data-testid="echo-send">
            {fmtKbps(st.sendKbps)}
            <small>{mbps ? 'Mb/s' : 'kb/s'}</small>
          </div>
          <Spark values={s.history.map((h) => h.send)} color="var(--ok)" />
        </div>
        <div className="stat">
          <div className="stat-label">Receiving</div>
          <div className="stat-value" data-testid="echo-recv">
            {fmtKbps(st.recvKbps)}
            <small>{mbps ? 'Mb/s' : 'kb/s'}</small>
          </div>
          <Spark values={s.history.map((h) => h.recv)} color="var(--violet)" />
        </div>
        <div className="stat">
          <div className="stat-label">Video back</div>
          <div className="stat-value small-value">{st.width && st.height ? `${st.width}×${st.height}` : '–'}</div>
          <div className="muted-text small">
            {st.fps ? `${Math.round(st.fps)} fps` : ''} {st.codec ?? ''} {st.lossPct !== undefined ? `· ${st.lossPct.toFixed(1)}% loss` : ''}
          </div>
        </div>
      </section>
    </main>
  );
}
