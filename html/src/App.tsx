import { TopBar } from './components/TopBar';
import { gameIdFromPath, navigate, roomIdFromPath, usePath } from './lib/router';
import { Lobby } from './pages/Lobby';
import { RoomPage } from './pages/Room';
import { CallPage } from './pages/Call';
import { EchoPage } from './pages/Echo';
import { GamePage } from './pages/Game';


export function App() {
  const path = usePath();
  const roomId = roomIdFromPath(path);
  if (roomId !== null) return <RoomPage key={roomId} roomId={roomId} />;
  const gameId = gameIdFromPath(path);
  if (gameId !== null) return <GamePage key={gameId} gameId={gameId} />;
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
