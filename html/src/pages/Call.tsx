// 1:1 calls: go online under a name, see who else is online, call them; the media goes
// browser to browser (switchboard.plugin.p2pcall relays only the signaling).
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { Avatar } from '../components/Avatar';
import { Banner, Spinner } from '../components/Banner';
import { DeviceSetup } from '../components/DeviceSetup';
import { CamIcon, CamOffIcon, HangupIcon, MicIcon, MicOffIcon, PhoneIcon, SignalBars } from '../components/Icons';
import { Video } from '../components/Video';
import { P2PCallClient } from '../janus/p2pcall';
import { loadPrefs, savePrefs, serverUrl } from '../lib/config';
import { describeStats } from '../media/stats';
import { usePreview } from '../media/usePreview';

export function CallPage() {
  const client = useMemo(() => {
    const p = loadPrefs();
    return new P2PCallClient(serverUrl(), { cameraId: p.cameraId || undefined, micId: p.micId || undefined });
  }, []);
  const s = useSyncExternalStore(client.subscribe, client.getSnapshot);
  const [dismissed, setDismissed] = useState<string>();

  useEffect(() => {
    // For diagnostics from the console (and the browser tests).
    (window as unknown as { sbCall?: P2PCallClient }).sbCall = client;
    const bye = () => void client.close();
    window.addEventListener('pagehide', bye);
    return () => {
      window.removeEventListener('pagehide', bye);
      void client.close();
    };
  }, [client]);

  if (s.phase === 'offline' || s.phase === 'connecting') return <GoOnline client={client} busy={s.phase === 'connecting'} error={s.error} />;

  const inCall = s.phase === 'incall' || s.phase === 'calling';
  const notice = s.notice && s.notice !== dismissed ? s.notice : undefined;

  return (
    <main className={`page call-page ${inCall ? 'in-call' : ''}`} data-testid="call-page" data-phase={s.phase}>
      {notice && (
        <Banner kind={s.phase === 'reconnecting' ? 'warn' : 'info'} onClose={() => setDismissed(s.notice)}>
          <span data-testid="call-notice">{notice}</span>
        </Banner>
      )}
      {s.error && <Banner kind="error">{s.error}</Banner>}

      {inCall ? (
        <InCall client={client} />
      ) : (
        <div className="call-idle">
          <section className="card">
            <div className="card-head">
              <h2>People online</h2>
              <span className="status-pill ok" data-testid="online-as">
                <span className="dot" /> You are online as <b>{s.me}</b>
              </span>
            </div>
            {s.phase === 'reconnecting' && (
              <div className="empty">
                <Spinner /> Reconnecting…
              </div>
            )}
            {s.phase === 'idle' && s.users.length === 0 && (
              <div className="empty muted-text">
                Nobody else is online yet. Ask someone to open this page and go online, then call them from here.
              </div>
            )}
            <ul className="people big" data-testid="online-list">
              {s.users.map((u) => (
                <li className="person" key={u.username} data-user={u.username}>
                  <Avatar name={u.username} size={40} />
                  <div className="person-main">
                    <div className="person-name">{u.username}</div>
                    <div className="muted-text small">{u.busy ? 'In a call' : 'Available'}</div>
                  </div>
                  <button className="btn primary small" disabled={u.busy || s.phase !== 'idle'} onClick={() => void client.call(u.username)} data-testid={`call-${u.username}`}>
                    <PhoneIcon size={16} /> Call
                  </button>
                </li>
              ))}
            </ul>
          </section>
          <section className="card self-card">
            <div className="card-head">
              <h2>Your camera</h2>
            </div>
            <div className="self-preview">
              {s.localStream?.getVideoTracks().length ? <Video stream={s.localStream} mirror label="Your camera" /> : <Avatar name={s.me ?? '?'} size={84} />}
            </div>
            <div className="btn-row center">
              <button className={`round-btn ${s.micOn ? '' : 'off'}`} onClick={() => void client.setMic(!s.micOn)} aria-label={s.micOn ? 'Mute' : 'Unmute'}>
                {s.micOn ? <MicIcon /> : <MicOffIcon />}
              </button>
              <button className={`round-btn ${s.camOn ? '' : 'off'}`} onClick={() => void client.setCamera(!s.camOn)} aria-label={s.camOn ? 'Stop video' : 'Start video'}>
                {s.camOn ? <CamIcon /> : <CamOffIcon />}
              </button>
            </div>
          </section>
        </div>
      )}

      {s.phase === 'ringing' && (
        <div className="modal-back">
          <div className="modal ringing" role="dialog" aria-label="Incoming call" data-testid="incoming">
            <div className="ring-avatar">
              <Avatar name={s.peer ?? '?'} size={88} />
            </div>
            <h2>{s.peer}</h2>
            <p className="muted-text">is calling you</p>
            <div className="btn-row center">
              <button className="btn danger" onClick={() => void client.decline()} data-testid="decline">
                <HangupIcon size={18} /> Decline
              </button>
              <button className="btn success" onClick={() => void client.accept()} data-testid="accept">
                <PhoneIcon size={18} /> Accept
              </button>
            </div>
          </div>
        </div>
      )}
    </main>
  );
}

function GoOnline({ client, busy, error }: { client: P2PCallClient; busy: boolean; error?: string }) {
  const preview = usePreview();
  const [name, setName] = useState(loadPrefs().name);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    if (!n) return;
    savePrefs({ name: n });
    // The client opens its own tracks; release the preview's first.
    preview.take()?.getTracks().forEach((t) => t.stop());
    void client.goOnline(n);
  };
  return (
    <main className="page center-page">
      <form className="card prejoin-card" onSubmit={submit} data-testid="go-online">
        <div className="card-head">
          <h2>1:1 call</h2>
          <span className="muted-text small">Video goes straight between the two browsers</span>
        </div>
        {error && (
          <Banner kind="error">
            <span data-testid="call-error">{error}</span>
          </Banner>
        )}
        <DeviceSetup preview={preview} name={name.trim()} compact />
        <label className="field">
          <span className="field-label">Your name, as others will see it</span>
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={64} placeholder="e.g. Alex Morgan" data-testid="call-name" />
        </label>
        <button className="btn primary wide" type="submit" disabled={busy || !name.trim()} data-testid="go-online-btn">
          {busy ? <Spinner size={16} /> : <PhoneIcon size={18} />} Go online
        </button>
      </form>
    </main>
  );
}

function useElapsed(since?: number): string {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!since) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [since]);
  if (!since) return '';
  const sec = Math.max(0, Math.floor((now - since) / 1000));
  return `${Math.floor(sec / 60)}:${String(sec % 60).padStart(2, '0')}`;
}

function InCall({ client }: { client: P2PCallClient }) {
  const s = useSyncExternalStore(client.subscribe, client.getSnapshot);
  const elapsed = useElapsed(s.startedAt);
  const remoteRef = useRef<HTMLDivElement>(null);
  const showRemoteVideo = !!s.remoteStream?.getVideoTracks().length && !s.remoteVideoOff && s.connection === 'connected';
  return (
    <div className="call-stage" data-testid="in-call">
      <div className="call-remote" ref={remoteRef} data-testid="remote">
        {s.remoteStream && <Video stream={s.remoteStream} muted={false} className={showRemoteVideo ? '' : 'hidden-video'} label={`${s.peer} video`} />}
        {!showRemoteVideo && (
          <div className="call-wait">
            <Avatar name={s.peer ?? '?'} size={112} />
            <div className="call-wait-text">
              {s.phase === 'calling' ? (
                <>
                  <Spinner size={18} /> Calling {s.peer}…
                </>
              ) : s.connection === 'connected' ? (
                `${s.peer}'s camera is off`
              ) : (
                <>
                  <Spinner size={18} /> Connecting…
                </>
              )}
            </div>
          </div>
        )}
        <div className="call-top">
          <div className="call-peer">
            <b>{s.peer}</b>
            {s.remoteAudioMuted && s.connection === 'connected' && (
              <span className="muted-icon">
                <MicOffIcon size={15} />
              </span>
            )}
            {elapsed && <span className="muted-text">{elapsed}</span>}
          </div>
          {s.stats.quality !== 'unknown' && (
            <span className={`chip quality quality-${s.stats.quality}`} title={describeStats(s.stats)}>
              <SignalBars quality={s.stats.quality} size={14} />
              <span className="chip-text">{describeStats(s.stats)}</span>
            </span>
          )}
        </div>
        <div className="call-pip">
          {s.localStream?.getVideoTracks().length && s.camOn ? <Video stream={s.localStream} mirror label="You" /> : <Avatar name={s.me ?? '?'} size={48} />}
        </div>
      </div>
      <footer className="controls">
        <button className={`ctrl ${s.micOn ? '' : 'off'}`} onClick={() => void client.setMic(!s.micOn)} data-testid="call-mic">
          {s.micOn ? <MicIcon /> : <MicOffIcon />}
          <span>{s.micOn ? 'Mute' : 'Unmute'}</span>
        </button>
        <button className={`ctrl ${s.camOn ? '' : 'off'}`} onClick={() => void client.setCamera(!s.camOn)} data-testid="call-cam">
          {s.camOn ? <CamIcon /> : <CamOffIcon />}
          <span>{s.camOn ? 'Stop video' : 'Start video'}</span>
        </button>
        <button className="ctrl leave" onClick={() => void client.hangup()} data-testid="hangup">
          <HangupIcon />
          <span>{s.phase === 'calling' ? 'Cancel' : 'Hang up'}</span>
        </button>
      </footer>
    </div>
  );
}
