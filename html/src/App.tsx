import { useEffect, useState } from 'react';
import { JanusSession } from './janus/client';
import { serverUrl } from './lib/config';
import { navigate, roomIdFromPath, usePath } from './lib/router';
import { Lobby } from './pages/Lobby';
import { RoomPage } from './pages/Room';
import { CallPage } from './pages/Call';
import { EchoPage } from './pages/Echo';

const NAV = [
  { path: '/', label: 'Rooms' },
  { path: '/call', label: '1:1 call' },
  { path: '/echo', label: 'Echo test' },
];

/** Whether the server answers, checked every 5 s (shown in the top bar). */
function useServerUp(): boolean | null {
  const [up, setUp] = useState<boolean | null>(null);
  useEffect(() => {
    let alive = true;
    const check = () =>
      JanusSession.ping(serverUrl()).then(
        () => alive && setUp(true),
        () => alive && setUp(false),
      );
    void check();
    const t = setInterval(check, 5000);
    return () => {
      alive = false;
      clearInterval(t);
    };
  }, []);
  return up;
}

function TopBar({ path }: { path: string }) {
  const up = useServerUp();
  return (
    <header className="topbar">
      <a
        className="brand"
        href="/"
        onClick={(e) => {
          e.preventDefault();
          navigate('/');
        }}
      >
        <img src="/favicon.svg" alt="" width={28} height={28} />
        <span>Switchboard</span>
      </a>
      <nav className="nav">
        {NAV.map((n) => (
          <a
            key={n.path}
            href={n.path}
            className={path === n.path ? 'active' : ''}
            onClick={(e) => {
              e.preventDefault();
              navigate(n.path);
            }}
          >
            {n.label}
          </a>
        ))}
      </nav>
      <span className={`status-pill ${up === false ? 'bad' : up ? 'ok' : ''}`} title={serverUrl()} data-testid="server-status">
        <span className="dot" />
        {up === null ? 'Checking server…' : up ? 'Server online' : 'Server unreachable'}
      </span>
    </header>
  );
}

export function App() {
  const path = usePath();
  const roomId = roomIdFromPath(path);
  if (roomId !== null) return <RoomPage key={roomId} roomId={roomId} />;
  let page;
  if (path === '/call') page = <CallPage />;
  else if (path === '/echo') page = <EchoPage />;
  else if (path === '/' || path === '/index.html') page = <Lobby />;
  else
    page = (
      <main className="page center-page">
        <section className="card end-card">
          <h2>Page not found</h2>
          <p className="muted-text">There is nothing at {path}.</p>
          <button className="btn primary" onClick={() => navigate('/')}>
            Go to the lobby
          </button>
        </section>
      </main>
    );
  return (
    <div className="app">
      <TopBar path={path} />
      {page}
    </div>
  );
}
