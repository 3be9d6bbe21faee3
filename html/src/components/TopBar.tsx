import { useEffect, useState } from 'react';
import { JanusSession } from '../janus/client';
import { serverUrl } from '../lib/config';
import { navigate } from '../lib/router';

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

export function TopBar({ path }: { path: string }) {
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

