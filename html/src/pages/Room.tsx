// A room: pre-join (when opened from a link or after a join error), the call itself
// (grid, controls, participant list), and the screens after leaving or when the room
// closes.
import { useCallback, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react';
import { Avatar } from '../components/Avatar';
import { Banner, Spinner } from '../components/Banner';
import { DeviceSetup } from '../components/DeviceSetup';
import { ArrowIcon, CamIcon, CamOffIcon, ChatIcon, CheckIcon, CloseIcon, GameIcon, HangupIcon, LinkIcon, LockIcon, MicIcon, MicOffIcon, ScreenIcon, SignalBars, UsersIcon } from '../components/Icons';
import { ChatPanel, useChat } from '../components/ChatPanel';
import { Tile } from '../components/Tile';
import { TopBar } from '../components/TopBar';
import { TextRoomClient } from '../janus/textroom';
import { RoomDirectory, VideoRoomClient, type RoomSnapshot } from '../janus/videoroom';
import { carriedParams, loadPrefs, savePrefs, serverUrl, sfuIceServers } from '../lib/config';
import { knownRoom, rememberRoom, takeHandoff } from '../lib/handoff';
import { navigate, roomLink } from '../lib/router';
import { describeStats } from '../media/stats';
import { usePreview } from '../media/usePreview';

interface JoinRequest {
  display: string;
  pin?: string;
  stream?: MediaStream | null;
  micOn: boolean;
  camOn: boolean;
}

type View = { kind: 'prejoin'; error?: string; needPin?: boolean } | { kind: 'room'; client: VideoRoomClient } | { kind: 'left' } | { kind: 'ended'; error: string };

const JOIN_ERRORS = new Set([426, 432, 433, 434, 436, 429, 430]);

export function RoomPage({ roomId }: { roomId: number }) {
  const [view, setView] = useState<View>(() => {
    const h = takeHandoff(roomId);
    if (h) return { kind: 'room', client: makeClient(roomId, { display: h.display, pin: h.pin, stream: h.stream, micOn: h.micOn, camOn: h.camOn }) };
    return { kind: 'prejoin' };
  });
  const [lastPin, setLastPin] = useState<string>();

  const join = useCallback(
    (req: JoinRequest) => {
      setLastPin(req.pin);
      setView({ kind: 'room', client: makeClient(roomId, req) });
    },
    [roomId],
  );

  // Start the client of the room view, and watch for join errors / the end.
  const client = view.kind === 'room' ? view.client : null;
  useEffect(() => {
    if (!client) return;
    // For diagnostics from the console (and the browser tests).
    (window as unknown as { sbRoom?: VideoRoomClient }).sbRoom = client;
    void client.start();
    const unsub = client.subscribe(() => {
      const s = client.getSnapshot();
      if (s.phase === 'failed') {
        void client.leave();
        if (s.errorCode !== undefined && JOIN_ERRORS.has(s.errorCode)) setView({ kind: 'prejoin', error: s.error, needPin: s.errorCode === 433 });
        else setView({ kind: 'ended', error: s.error ?? 'The call ended.' });
      }
    });
    const bye = () => void client.leave();
    window.addEventListener('pagehide', bye);
    return () => {
      unsub();
      window.removeEventListener('pagehide', bye);
      void client.leave();
    };
  }, [client]);

  if (view.kind === 'prejoin')
    return (
      <div className="app">
        <TopBar path="/room" />
        <PreJoin roomId={roomId} error={view.error} needPin={view.needPin} initialPin={lastPin} onJoin={join} />
      </div>
    );
  if (view.kind === 'left' || view.kind === 'ended')
    return (
      <div className="app">
      <TopBar path="/room" />
      <main className="page center-page">
        <section className="card end-card" data-testid="room-ended">
          <h2>{view.kind === 'left' ? 'You left the room' : 'The call ended'}</h2>
          {view.kind === 'ended' && <p className="muted-text">{view.error}</p>}
          <div className="btn-row">
            <button className="btn" onClick={() => setView({ kind: 'prejoin' })}>
              Rejoin
            </button>
            <button className="btn primary" onClick={() => navigate('/')}>
              Back to the lobby
            </button>
          </div>
        </section>
      </main>
      </div>
    );
  return <RoomView client={view.client} onLeft={() => setView({ kind: 'left' })} />;
}

function makeClient(roomId: number, req: JoinRequest): VideoRoomClient {
  const prefs = loadPrefs();
  const known = knownRoom(roomId);
  const recreate = known ?? { description: `Room ${roomId}`, publishers: 6, pin: req.pin };
  if (!known) rememberRoom(roomId, recreate);
  return new VideoRoomClient({
    server: serverUrl(),
    roomId,
    display: req.display,
    pin: req.pin,
    iceServers: sfuIceServers(),
    cameraId: prefs.cameraId || undefined,
    micId: prefs.micId || undefined,
    micOn: req.micOn,
    camOn: req.camOn,
    stream: req.stream,
    recreate,
  });
}

function PreJoin({ roomId, error, needPin, initialPin, onJoin }: { roomId: number; error?: string; needPin?: boolean; initialPin?: string; onJoin: (r: JoinRequest) => void }) {
  const preview = usePreview();
  const [name, setName] = useState(loadPrefs().name);
  const [pin, setPin] = useState(needPin ? '' : (initialPin ?? ''));
  const [nameError, setNameError] = useState<string>();
  const [info, setInfo] = useState<{ title?: string; pin?: boolean }>(() => ({ title: knownRoom(roomId)?.description }));
  // The room's name and whether it needs a PIN, when it is a public room.
  useEffect(() => {
    const dir = new RoomDirectory(serverUrl());
    dir.list().then(
      (list) => {
        const r = list.find((x) => Number(x.room) === roomId);
        if (r) setInfo({ title: r.description || undefined, pin: Boolean(r.pin_required) });
      },
      () => {},
    );
    return () => void dir.close();
  }, [roomId]);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    if (!n) {
      setNameError('Enter your name so the others know who you are.');
      return;
    }
    savePrefs({ name: n });
    onJoin({ display: n, pin: pin.trim() || undefined, stream: preview.take(), micOn: preview.micOn, camOn: preview.camOn });
  };
  return (
    <main className="page center-page">
      <form className="card prejoin-card" onSubmit={submit} data-testid="prejoin">
        <div className="card-head">
          <div>
            <h2>{info.title ? `Join “${info.title}”` : 'Join the room'}</h2>
            <span className="muted-text small">Room #{roomId}</span>
          </div>
          <button type="button" className="btn ghost small" onClick={() => navigate('/')}>
            Back to the lobby
          </button>
        </div>
        {error && (
          <Banner kind="error">
            <span data-testid="join-error">{error}</span>
          </Banner>
        )}
        <DeviceSetup preview={preview} name={name.trim()} compact />
        <div className="form-row">
          <label className="field grow">
            <span className="field-label">Your name</span>
            <input value={name} onChange={(e) => setName(e.target.value)} maxLength={48} placeholder="e.g. Alex Morgan" data-testid="prejoin-name" />
            {nameError && <span className="field-error">{nameError}</span>}
          </label>
          <label className="field pin-field">
            <span className="field-label">
              <LockIcon size={12} /> PIN
            </span>
            <input value={pin} onChange={(e) => setPin(e.target.value)} type="password" placeholder={needPin || info.pin ? 'Required' : 'If any'} autoFocus={needPin} data-testid="prejoin-pin" autoComplete="off" />
          </label>
        </div>
        <button className="btn primary wide" type="submit" data-testid="prejoin-join">
          Join now <ArrowIcon size={18} />
        </button>
      </form>
    </main>
  );
}

/** Columns and tile size that make n 16:9 tiles as large as possible in W×H. */
function layout(n: number, W: number, H: number, gap: number): { cols: number; w: number; h: number } {
  let best = { cols: 1, w: 0, h: 0 };
  for (let cols = 1; cols <= Math.max(1, n); cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.min((W - gap * (cols - 1)) / cols, ((H - gap * (rows - 1)) / rows) * (16 / 9));
    if (w > best.w) best = { cols, w, h: (w * 9) / 16 };
  }
  return best;
}

function useSize(ref: React.RefObject<HTMLElement | null>): { w: number; h: number } {
  const [size, setSize] = useState({ w: 0, h: 0 });
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setSize({ w: el.clientWidth, h: el.clientHeight }));
    ro.observe(el);
    setSize({ w: el.clientWidth, h: el.clientHeight });
    return () => ro.disconnect();
  }, [ref]);
  return size;
}

function RoomView({ client, onLeft }: { client: VideoRoomClient; onLeft: () => void }) {
  const s: RoomSnapshot = useSyncExternalStore(client.subscribe, client.getSnapshot);
  const [panel, setPanel] = useState<'people' | 'chat' | null>(() => (window.innerWidth >= 1440 ? 'people' : null));
  const people = panel === 'people';
  const setPeople = (open: boolean) => setPanel(open ? 'people' : null);
  const chat = useRoomChat(client, s);
  const chatSnap = useChat(chat);
  const [copied, setCopied] = useState(false);
  const [dismissed, setDismissed] = useState<string>();
  const stage = useRef<HTMLDivElement>(null);
  const size = useSize(stage);

  const publishers = s.feeds.filter((f) => f.publishing);
  const count = 1 + publishers.length;
  const gap = 12;
  const { w, h } = layout(count, Math.max(0, size.w), Math.max(0, size.h), gap);
  const tileStyle = { width: Math.floor(w), height: Math.floor(h) };

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(roomLink(s.roomId));
    } catch {
      /* a prompt-less fallback: nothing */
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1800);
  };

  const leave = async () => {
    await client.leave();
    onLeft();
  };

  const notice = s.notice && s.notice !== dismissed ? s.notice : undefined;
  const title = s.description || `Room ${s.roomId}`;
  useDocumentTitle(chatSnap.unread > 0 ? `(${chatSnap.unread}) ${title}` : title);

  return (
    <div className={`room ${panel ? 'with-panel' : ''}`} data-testid="room" data-phase={s.phase} data-joins={s.joins}>
      <header className="room-head">
        <div className="room-head-left">
          <a
            className="brand-mini"
            href="/"
            onClick={(e) => {
              e.preventDefault();
              void leave().then(() => navigate('/'));
            }}
            title="Leave and go back to the lobby"
          >
            <img src="/favicon.svg" alt="" width={26} height={26} />
          </a>
          <div>
            <div className="room-name" data-testid="room-title">{title}</div>
            <div className="muted-text small">
              #{s.roomId} · {count} {count === 1 ? 'person' : 'people'} with video
            </div>
          </div>
        </div>
        <div className="room-head-right">
          <span className={`status-pill ${s.phase === 'joined' && s.serverReachable ? 'ok' : 'warn'}`} data-testid="room-status">
            <span className="dot" />
            {s.phase === 'joined' ? (s.serverReachable ? 'Connected' : 'Reconnecting…') : s.phase === 'reconnecting' ? 'Reconnecting…' : 'Joining…'}
          </span>
          <button className="btn small" onClick={() => void copy()} data-testid="copy-link">
            {copied ? <CheckIcon size={16} /> : <LinkIcon size={16} />} <span>{copied ? 'Link copied' : 'Copy invite link'}</span>
          </button>
        </div>
      </header>

      {(notice || s.phase === 'reconnecting') && (
        <div className="room-banner">
          <Banner
            kind={s.phase === 'reconnecting' || !s.serverReachable ? 'warn' : 'info'}
            onClose={s.phase === 'joined' && s.serverReachable && !s.me.viewer ? () => setDismissed(s.notice) : undefined}
            action={
              s.me.viewer && s.phase === 'joined' ? (
                <button className="btn small" onClick={() => void client.retryPublish()} data-testid="retry-publish">
                  Try to share again
                </button>
              ) : undefined
            }
          >
            <span data-testid="room-notice">{notice ?? 'Lost the connection to the server. Reconnecting…'}</span>
          </Banner>
        </div>
      )}

      <div className="room-body">
        <div className="stage" ref={stage} data-testid="stage">
          {s.phase === 'connecting' ? (
            <div className="stage-wait">
              <Spinner size={32} />
              <span>Joining the room…</span>
            </div>
          ) : (
            <div className="grid" style={{ gap }}>
              <Tile
                name={s.me.display}
                self
                stream={s.me.stream}
                showVideo={(s.me.camOn || s.me.sharing) && !!s.me.stream?.getVideoTracks().length}
                audioMuted={!s.me.micOn}
                talking={s.me.talking}
                stats={s.me.stats}
                connecting={false}
                screen={s.me.sharing}
                note={s.me.viewer ? 'watching only' : s.me.sharing ? 'presenting' : undefined}
                feedId={s.me.id}
                style={tileStyle}
              />
              {publishers.map((f) => (
                <Tile
                  key={f.id}
                  name={f.display}
                  stream={f.stream}
                  showVideo={!f.videoOff && !!f.stream?.getVideoTracks().length}
                  audioMuted={f.audioMuted}
                  talking={f.talking && !f.audioMuted}
                  stats={f.stats}
                  connecting={f.connection === 'connecting' || f.connection === 'none'}
                  feedId={f.id}
                  style={tileStyle}
                />
              ))}
            </div>
          )}
        </div>
        {panel === 'chat' && <ChatPanel chat={chat} onClose={() => setPanel(null)} />}
        {people && (
          <aside className="panel" data-testid="people-panel">
            <div className="panel-head">
              <h3>People ({1 + s.feeds.length})</h3>
              <button className="icon-btn ghost small" onClick={() => setPeople(false)} aria-label="Close the list">
                <CloseIcon size={16} />
              </button>
            </div>
            <ul className="people">
              <li className="person">
                <Avatar name={s.me.display} size={32} />
                <div className="person-main">
                  <div className="person-name">{s.me.display} <span className="muted-text">(you)</span></div>
                  <div className="muted-text small">{describeStats(s.me.stats) || 'Connecting…'}</div>
                </div>
                <span className="person-icons">
                  {s.me.micOn ? <MicIcon size={16} /> : <MicOffIcon size={16} className="red" />}
                  <SignalBars quality={s.me.stats.quality} />
                </span>
              </li>
              {s.feeds.map((f) => (
                <li className={`person ${f.talking && !f.audioMuted ? 'talking' : ''}`} key={f.id} data-person={f.display}>
                  <Avatar name={f.display} size={32} />
                  <div className="person-main">
                    <div className="person-name">{f.display}</div>
                    <div className="muted-text small">{f.publishing ? describeStats(f.stats) || 'Connecting…' : 'Watching (no video)'}</div>
                  </div>
                  <span className="person-icons">
                    {f.publishing && (f.audioMuted ? <MicOffIcon size={16} className="red" /> : <MicIcon size={16} />)}
                    {f.publishing && <SignalBars quality={f.stats.quality} />}
                  </span>
                </li>
              ))}
            </ul>
          </aside>
        )}
      </div>

      <footer className="controls">
        <button className={`ctrl ${s.me.micOn ? '' : 'off'}`} onClick={() => void client.setMic(!s.me.micOn)} data-testid="toggle-mic" aria-pressed={!s.me.micOn} title={s.me.micOn ? 'Mute' : 'Unmute'}>
          {s.me.micOn ? <MicIcon /> : <MicOffIcon />}
          <span>{s.me.micOn ? 'Mute' : 'Unmute'}</span>
        </button>
        <button className={`ctrl ${s.me.camOn ? '' : 'off'}`} onClick={() => void client.setCamera(!s.me.camOn)} data-testid="toggle-cam" aria-pressed={!s.me.camOn} title={s.me.camOn ? 'Stop video' : 'Start video'}>
          {s.me.camOn ? <CamIcon /> : <CamOffIcon />}
          <span>{s.me.camOn ? 'Stop video' : 'Start video'}</span>
        </button>
        {'getDisplayMedia' in (navigator.mediaDevices ?? {}) && (
          <button className={`ctrl ${s.me.sharing ? 'active' : ''}`} onClick={() => void client.toggleScreenShare()} data-testid="toggle-screen" title={s.me.sharing ? 'Stop presenting' : 'Share your screen'}>
            <ScreenIcon />
            <span>{s.me.sharing ? 'Stop sharing' : 'Share screen'}</span>
          </button>
        )}
        <button className={`ctrl ${people ? 'active' : ''}`} onClick={() => setPeople(!people)} data-testid="toggle-people" title="People">
          <UsersIcon />
          <span>People</span>
          <span className="badge">{1 + s.feeds.length}</span>
        </button>
        <button className={`ctrl ${panel === 'chat' ? 'active' : ''}`} onClick={() => setPanel(panel === 'chat' ? null : 'chat')} data-testid="toggle-chat" title="Chat" aria-pressed={panel === 'chat'}>
          <ChatIcon />
          <span>Chat</span>
          {panel !== 'chat' && chatSnap.unread > 0 && (
            <span className="badge unread" data-testid="chat-unread">
              {chatSnap.unread > 99 ? '99+' : chatSnap.unread}
            </span>
          )}
        </button>
        <a className="ctrl" href={gameHref(s.roomId)} target="_blank" rel="noopener" data-testid="open-game" title="Play a game with this room (opens a new tab)">
          <GameIcon />
          <span>Game</span>
        </a>
        <button className="ctrl leave" onClick={() => void leave()} data-testid="leave" title="Leave the room">
          <HangupIcon />
          <span>Leave</span>
        </button>
      </footer>
    </div>
  );
}

/** The room's chat (janus.plugin.textroom, same room number, name and PIN), started once
 * the participant is in the room, so a wrong PIN or a missing room makes no chat. */
function useRoomChat(client: VideoRoomClient, s: RoomSnapshot): TextRoomClient | null {
  const [chat, setChat] = useState<TextRoomClient | null>(null);
  const joined = s.phase === 'joined';
  const description = s.description;
  useEffect(() => {
    if (!joined || chat) return;
    const o = client.options;
    const c = new TextRoomClient({
      server: o.server, room: o.roomId, display: o.display, pin: o.pin, iceServers: o.iceServers,
      description, callIce: () => client.callIce(),
    });
    (window as unknown as { sbChat?: TextRoomClient }).sbChat = c;
    setChat(c);
    void c.start();
  }, [client, joined, chat, description]);
  useEffect(() => {
    if (!chat) return;
    const bye = () => void chat.stop();
    window.addEventListener('pagehide', bye);
    return () => {
      window.removeEventListener('pagehide', bye);
      void chat.stop();
    };
  }, [chat]);
  return chat;
}

/** The room's game, in a new tab (the call goes on here), with this tab's server choices. */
function gameHref(roomId: number): string {
  const q = carriedParams();
  q.set('join', '1');
  return `/game/${roomId}?${q.toString()}`;
}

/** The tab's title while mounted (back to the app's name after). */
function useDocumentTitle(text: string): void {
  useEffect(() => {
    document.title = `${text} · Switchboard`;
  }, [text]);
  useEffect(() => () => void (document.title = 'Switchboard'), []);
}
