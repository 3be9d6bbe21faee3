// The game page (/game/<n>): "Catch the dot" for 2–8 players, state through the SFU's
// data channels (src/game/engine.ts). A name first (skipped when opened with ?join=1 and a
// saved name: the lobby's Play and the room's Game button), then the arena and the
// players with their score, latency (RTT/2 through the SFU) and the rate their states
// arrive at.
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { Banner, Spinner } from '../components/Banner';
import { fmtMs, GameCanvas } from '../components/GameCanvas';
import { ArrowIcon, CheckIcon, GameIcon, HangupIcon, LinkIcon } from '../components/Icons';
import { TopBar } from '../components/TopBar';
import { GameEngine, MAX_PLAYERS, type GameSnapshot } from '../game/engine';
import { loadPrefs, savePrefs, serverUrl, sfuIceServers } from '../lib/config';
import { gameLink, navigate } from '../lib/router';

type View = { kind: 'prejoin'; error?: string } | { kind: 'playing'; engine: GameEngine } | { kind: 'left' };

function autoJoinName(): string | null {
  const q = new URLSearchParams(window.location.search);
  if (q.get('join') !== '1') return null;
  const name = loadPrefs().name.trim();
  return name || null;
}

function makeEngine(gameId: number, display: string): GameEngine {
  return new GameEngine({ server: serverUrl(), game: gameId, display, iceServers: sfuIceServers() });
}

function describeGameError(s: GameSnapshot): string {
  switch (s.net.errorCode) {
    case 432:
      return `This game is full: ${MAX_PLAYERS} players are already in it. Try another game number.`;
    case 433:
      return 'This game needs a PIN.';
    case 436:
      return 'You are already in this game from another tab.';
  }
  return s.net.error ? `The game could not start: ${s.net.error}` : 'The game ended.';
}

export function GamePage({ gameId }: { gameId: number }) {
  const [view, setView] = useState<View>(() => {
    const name = autoJoinName();
    return name ? { kind: 'playing', engine: makeEngine(gameId, name) } : { kind: 'prejoin' };
  });

  // Drop ?join=1 so that a reload asks again (other parameters are kept for the tab).
  useEffect(() => {
    if (new URLSearchParams(window.location.search).has('join')) navigate(`/game/${gameId}`, true);
  }, [gameId]);

  const engine = view.kind === 'playing' ? view.engine : null;
  useEffect(() => {
    if (!engine) return;
    (window as unknown as { __game?: GameEngine }).__game = engine;
    void engine.start();
    const unsub = engine.subscribe(() => {
      const s = engine.getSnapshot();
      if (s.net.phase === 'failed') {
        void engine.stop();
        setView({ kind: 'prejoin', error: describeGameError(s) });
      }
    });
    const bye = () => void engine.stop();
    window.addEventListener('pagehide', bye);
    return () => {
      unsub();
      window.removeEventListener('pagehide', bye);
      void engine.stop();
    };
  }, [engine]);

  if (view.kind === 'playing') return <GameView engine={view.engine} onLeave={() => setView({ kind: 'left' })} />;
  return (
    <div className="app">
      <TopBar path="/game" />
      <main className="page center-page">
        {view.kind === 'left' ? (
          <section className="card end-card" data-testid="game-ended">
            <h2>You left the game</h2>
            <div className="btn-row">
              <button className="btn" onClick={() => setView({ kind: 'prejoin' })}>
                Play again
              </button>
              <button className="btn primary" onClick={() => navigate('/')}>
                Back to the lobby
              </button>
            </div>
          </section>
        ) : (
          <GamePreJoin gameId={gameId} error={view.error} onPlay={(name) => setView({ kind: 'playing', engine: makeEngine(gameId, name) })} />
        )}
      </main>
    </div>
  );
}

function GamePreJoin({ gameId, error, onPlay }: { gameId: number; error?: string; onPlay: (name: string) => void }) {
  const [name, setName] = useState(loadPrefs().name);
  const [nameError, setNameError] = useState<string>();
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    if (!n) {
      setNameError('Enter your name so the others know who you are.');
      return;
    }
    savePrefs({ name: n });
    onPlay(n);
  };
  return (
    <form className="card prejoin-card" onSubmit={submit} data-testid="game-prejoin">
      <div className="card-head">
        <div>
          <h2>Catch the dot</h2>
          <span className="muted-text small">Game #{gameId} · 2 to {MAX_PLAYERS} players</span>
        </div>
        <button type="button" className="btn ghost small" onClick={() => navigate('/')}>
          Back to the lobby
        </button>
      </div>
      {error && (
        <Banner kind="error">
          <span data-testid="game-error">{error}</span>
        </Banner>
      )}
      <p className="muted-text">Steer your ball with the arrow keys or WASD, or click (or drag) where it should go. The first to touch the yellow dot scores.</p>
      <label className="field">
        <span className="field-label">Your name</span>
        <input value={name} onChange={(e) => setName(e.target.value)} maxLength={48} placeholder="e.g. Alex Morgan" autoFocus data-testid="game-name" />
        {nameError && <span className="field-error">{nameError}</span>}
      </label>
      <button className="btn primary wide" type="submit" data-testid="game-play">
        Play <ArrowIcon size={18} />
      </button>
    </form>
  );
}

function GameView({ engine, onLeave }: { engine: GameEngine; onLeave: () => void }) {
  const s = useSyncExternalStore(engine.subscribe, engine.getSnapshot);
  const [copied, setCopied] = useState(false);
  const phase = s.net.phase;
  const ready = phase === 'joined' && s.net.uplink === 'connected';
  const status = phase === 'reconnecting' || (phase === 'joined' && !s.net.serverReachable) ? 'Reconnecting…' : phase !== 'joined' ? 'Joining…' : ready ? 'Connected' : 'Connecting…';
  const players = useMemo(() => [...s.players].sort((a, b) => b.score - a.score || (a.self ? -1 : b.self ? 1 : a.name.localeCompare(b.name))), [s.players]);
  const others = s.players.filter((p) => !p.self).length;

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(gameLink(engine.game));
    } catch {
      /* nothing to fall back to */
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1800);
  };
  const leave = async () => {
    await engine.stop();
    onLeave();
  };

  return (
    <div className="room game" data-testid="game" data-phase={phase} data-my-id={s.myId ?? ''} data-joins={s.net.joins}>
      <header className="room-head">
        <div className="room-head-left">
          <a
            className="brand-mini"
            href="/"
            onClick={(e) => {
              e.preventDefault();
              void engine.stop().then(() => navigate('/'));
            }}
            title="Leave and go back to the lobby"
          >
            <img src="/favicon.svg" alt="" width={26} height={26} />
          </a>
          <GameIcon size={22} />
          <div>
            <div className="room-name" data-testid="game-title">Catch the dot</div>
            <div className="muted-text small">
              Game #{engine.game} · {s.players.length} of {MAX_PLAYERS} players
            </div>
          </div>
        </div>
        <div className="room-head-right">
          <span className={`status-pill ${status === 'Connected' ? 'ok' : 'warn'}`} data-testid="game-status">
            <span className="dot" />
            {status}
          </span>
          <button className="btn small" onClick={() => void copy()} data-testid="game-copy-link">
            {copied ? <CheckIcon size={16} /> : <LinkIcon size={16} />} <span>{copied ? 'Link copied' : 'Copy invite link'}</span>
          </button>
          <button className="btn small danger" onClick={() => void leave()} data-testid="game-leave">
            <HangupIcon size={16} /> <span>Leave</span>
          </button>
        </div>
      </header>
      {phase === 'reconnecting' && (
        <div className="room-banner">
          <Banner kind="warn">Lost the connection to the server. Reconnecting…</Banner>
        </div>
      )}
      <div className="room-body">
        <div className="stage game-stage">
          {phase === 'connecting' ? (
            <div className="stage-wait">
              <Spinner size={32} />
              <span>Joining the game…</span>
            </div>
          ) : (
            <>
              <GameCanvas engine={engine} />
              {ready && others === 0 && <div className="arena-hint">Waiting for other players: send them the invite link. You can warm up meanwhile.</div>}
            </>
          )}
        </div>
        <aside className="panel game-panel" data-testid="scoreboard">
          <div className="panel-head">
            <h3>Players</h3>
            <span className="muted-text small">latency · states/s</span>
          </div>
          <ul className="people">
            {players.map((p) => (
              <li
                key={p.id}
                className={`person player ${p.idle ? 'idle' : ''}`}
                data-testid="player-row"
                data-id={p.id}
                data-name={p.name}
                data-self={p.self}
                data-score={p.score}
                data-latency={p.latencyMs === undefined ? '' : p.latencyMs.toFixed(1)}
                data-rate={p.rate.toFixed(1)}
              >
                <span className="player-dot" style={{ background: p.color }} />
                <div className="person-main">
                  <div className="person-name">
                    {p.name} {p.self && <span className="muted-text">(you)</span>}
                    {p.owner && (
                      <span className="owner-tag" title="Decides who caught the dot">
                        host
                      </span>
                    )}
                  </div>
                  <div className="muted-text small player-net">
                    {p.self ? (
                      <>sending {Math.round(p.rate)}/s · {s.stateBytes} B</>
                    ) : p.idle ? (
                      'not heard from'
                    ) : (
                      <>
                        {p.latencyMs === undefined ? '–' : `${fmtMs(p.latencyMs)} ms`} · {Math.round(p.rate)}/s
                      </>
                    )}
                  </div>
                </div>
                <span className="player-score">{p.score}</span>
              </li>
            ))}
          </ul>
          <div className="game-help muted-text small">
            <p>
              <kbd>↑</kbd> <kbd>↓</kbd> <kbd>←</kbd> <kbd>→</kbd> or <kbd>W</kbd> <kbd>A</kbd> <kbd>S</kbd> <kbd>D</kbd> to move, or click where to go.
            </p>
            <p>Latency is half the round trip to each player through the server.</p>
          </div>
        </aside>
      </div>
    </div>
  );
}
