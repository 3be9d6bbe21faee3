// The lobby: who you are (name, camera, microphone, preview), the public rooms, join by
// number or link, and create a room.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { DeviceSetup } from '../components/DeviceSetup';
import { Banner, Spinner } from '../components/Banner';
import { ArrowIcon, GameIcon, LockIcon, PlusIcon, RefreshIcon, UsersIcon } from '../components/Icons';
import { gameRoomId } from '../game/engine';
import { RoomDirectory, type RoomSettings } from '../janus/videoroom';
import type { Json } from '../janus/client';
import { loadPrefs, savePrefs, serverUrl } from '../lib/config';
import { describeError } from '../lib/errors';
import { setHandoff } from '../lib/handoff';
import { navigate, parseGameInput, parseRoomInput } from '../lib/router';
import { usePreview } from '../media/usePreview';

const LIST_MS = 5000;

export function Lobby() {
  const server = serverUrl();
  const dir = useMemo(() => new RoomDirectory(server), [server]);
  const preview = usePreview();
  const [name, setName] = useState(loadPrefs().name);
  const [nameError, setNameError] = useState<string>();
  const [rooms, setRooms] = useState<Json[] | null>(null);
  const [listError, setListError] = useState<string>();
  const [refreshing, setRefreshing] = useState(false);
  const [joinText, setJoinText] = useState('');
  const [joinPin, setJoinPin] = useState('');
  const [joinError, setJoinError] = useState<string>();
  const [desc, setDesc] = useState('');
  const [maxPub, setMaxPub] = useState(6);
  const [newPin, setNewPin] = useState('');
  const [createError, setCreateError] = useState<string>();
  const [creating, setCreating] = useState(false);
  const [pinFor, setPinFor] = useState<number | null>(null);
  const [rowPin, setRowPin] = useState('');
  const [gameText, setGameText] = useState('');
  const [gameError, setGameError] = useState<string>();
  const [starting, setStarting] = useState(false);
  const nameRef = useRef<HTMLInputElement>(null);

  const refresh = useCallback(async () => {
    setRefreshing(true);
    try {
      const list = await dir.list();
      list.sort((a, b) => String(a.description ?? '').localeCompare(String(b.description ?? '')));
      setRooms(list);
      setListError(undefined);
    } catch (e) {
      setListError(describeError(e, 'videoroom'));
    } finally {
      setRefreshing(false);
    }
  }, [dir]);

  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), LIST_MS);
    return () => {
      clearInterval(t);
      void dir.close();
    };
  }, [dir, refresh]);

  const checkName = (): string | null => {
    const n = name.trim();
    if (!n) {
      setNameError('Enter your name so the others know who you are.');
      nameRef.current?.focus();
      return null;
    }
    setNameError(undefined);
    savePrefs({ name: n });
    return n;
  };

  const go = (roomId: number, pin?: string, settings?: RoomSettings) => {
    const display = checkName();
    if (!display) return;
    // What this participant knows of the room, to make it again after a server restart.
    const row = rooms?.find((r) => Number(r.room) === roomId);
    if (!settings && row) settings = { description: String(row.description || `Room ${roomId}`), publishers: Number(row.max_publishers) || 6, pin: pin || undefined };
    setHandoff({ roomId, display, pin: pin || undefined, stream: preview.take(), micOn: preview.micOn, camOn: preview.camOn, settings });
    navigate(`/room/${roomId}`);
  };

  const onJoin = (e: React.FormEvent) => {
    e.preventDefault();
    const id = parseRoomInput(joinText);
    if (id === null) {
      setJoinError('Enter a room number, or paste an invitation link.');
      return;
    }
    setJoinError(undefined);
    go(id, joinPin.trim());
  };

  const onPlay = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!checkName()) return;
    let id: number | null;
    if (gameText.trim()) {
      id = parseGameInput(gameText);
      if (id === null) {
        setGameError('Enter a game number, or leave it empty to start a new game.');
        return;
      }
    } else {
      // A new game: a 6-digit number nobody is playing (as far as the server knows).
      setStarting(true);
      id = null;
      for (let i = 0; i < 5 && id === null; i++) {
        const n = 100000 + Math.floor(Math.random() * 900000);
        try {
          if (!(await dir.exists(gameRoomId(n)))) id = n;
        } catch {
          id = n; // the game page will say what is wrong
        }
      }
      setStarting(false);
      if (id === null) {
        setGameError('Could not find a free game number. Try again.');
        return;
      }
    }
    setGameError(undefined);
    navigate(`/game/${id}?join=1`);
  };

  const onCreate = async (e: React.FormEvent) => {
    e.preventDefault();
    const n = checkName();
    if (!n) return;
    const settings: RoomSettings = {
      description: desc.trim() || `${n}'s room`,
      publishers: Math.max(1, Math.min(100, Math.round(maxPub) || 6)),
      pin: newPin.trim() || undefined,
    };
    setCreating(true);
    setCreateError(undefined);
    try {
      const id = await dir.create(settings);
      go(id, settings.pin, settings);
    } catch (err) {
      setCreateError(describeError(err, 'videoroom'));
    } finally {
      setCreating(false);
    }
  };

  return (
    <main className="page lobby">
      <section className="hero">
        <h1>Meet face to face, right in the browser</h1>
        <p className="muted-text">Join a room or start your own. Nothing to install.</p>
      </section>
      <div className="lobby-grid">
        <section className="card setup-card">
          <div className="card-head">
            <h2>You</h2>
            <span className="muted-text small">Check how you look and sound</span>
          </div>
          <label className="field">
            <span className="field-label">Your name</span>
            <input
              ref={nameRef}
              value={name}
              onChange={(e) => setName(e.target.value)}
              onBlur={() => name.trim() && savePrefs({ name: name.trim() })}
              placeholder="e.g. Alex Morgan"
              maxLength={48}
              autoComplete="name"
              data-testid="display-name"
              aria-invalid={!!nameError}
            />
            {nameError && <span className="field-error">{nameError}</span>}
          </label>
          <DeviceSetup preview={preview} name={name.trim()} />
        </section>

        <div className="lobby-side">
          <section className="card">
            <div className="card-head">
              <h2>Join a room</h2>
            </div>
            <form className="form-row" onSubmit={onJoin}>
              <label className="field grow">
                <span className="field-label">Room number or invitation link</span>
                <input value={joinText} onChange={(e) => setJoinText(e.target.value)} placeholder="1234 or https://…/room/1234" data-testid="join-room" inputMode="url" />
              </label>
              <label className="field pin-field">
                <span className="field-label">PIN</span>
                <input value={joinPin} onChange={(e) => setJoinPin(e.target.value)} placeholder="if any" type="password" data-testid="join-pin" autoComplete="off" />
              </label>
              <button className="btn primary" type="submit" data-testid="join-btn">
                Join <ArrowIcon size={18} />
              </button>
            </form>
            {joinError && <span className="field-error">{joinError}</span>}
          </section>

          <section className="card">
            <div className="card-head">
              <h2>Play a game</h2>
              <span className="muted-text small">Catch the dot · 2 to 8 players</span>
            </div>
            <form className="form-row" onSubmit={(e) => void onPlay(e)}>
              <label className="field grow">
                <span className="field-label">Game number</span>
                <input value={gameText} onChange={(e) => setGameText(e.target.value)} placeholder="Empty for a new game" data-testid="game-number" inputMode="numeric" />
              </label>
              <button className="btn primary" type="submit" disabled={starting} data-testid="play-btn">
                {starting ? <Spinner size={16} /> : <GameIcon size={18} />} Play
              </button>
            </form>
            {gameError && <span className="field-error">{gameError}</span>}
          </section>

          <section className="card">
            <div className="card-head">
              <h2>Create a room</h2>
            </div>
            <form className="form-grid" onSubmit={onCreate}>
              <label className="field span-2">
                <span className="field-label">Room name</span>
                <input value={desc} onChange={(e) => setDesc(e.target.value)} placeholder={name.trim() ? `${name.trim()}'s room` : 'Weekly sync'} maxLength={80} data-testid="create-desc" />
              </label>
              <label className="field">
                <span className="field-label">People with video</span>
                <input type="number" min={1} max={100} value={maxPub} onChange={(e) => setMaxPub(Number(e.target.value))} data-testid="create-max" />
              </label>
              <label className="field">
                <span className="field-label">PIN (optional)</span>
                <input value={newPin} onChange={(e) => setNewPin(e.target.value)} placeholder="No PIN" maxLength={32} autoComplete="off" data-testid="create-pin" />
              </label>
              <button className="btn primary span-2" type="submit" disabled={creating} data-testid="create-btn">
                {creating ? <Spinner size={16} /> : <PlusIcon size={18} />} Create and join
              </button>
            </form>
            {createError && <Banner kind="error">{createError}</Banner>}
          </section>
        <section className="card rooms-card">
          <div className="card-head">
            <h2>Public rooms</h2>
            <button className="icon-btn ghost" onClick={() => void refresh()} aria-label="Refresh the list" title="Refresh">
              <RefreshIcon size={18} className={refreshing ? 'spin' : ''} />
            </button>
          </div>
          {listError && <Banner kind="error">{listError}</Banner>}
          {rooms === null && !listError && (
            <div className="empty">
              <Spinner />
            </div>
          )}
          {rooms && rooms.length === 0 && <div className="empty muted-text">No public rooms yet. Create the first one.</div>}
          {rooms && rooms.length > 0 && (
            <ul className="room-list" data-testid="room-list">
              {rooms.map((r) => {
                const id = Number(r.room);
                const n = Number(r.num_participants ?? 0);
                return (
                  <li key={id} className="room-row" data-room={id}>
                    <div className="room-icon">{String(r.description ?? '#').trim().charAt(0).toUpperCase() || '#'}</div>
                    <div className="room-main">
                      <div className="room-title">
                        {r.description || `Room ${id}`}
                        {r.pin_required && (
                          <span className="lock" title="PIN required">
                            <LockIcon size={14} />
                          </span>
                        )}
                      </div>
                      <div className="room-meta muted-text small">
                        #{id} · <UsersIcon size={13} /> {n} {n === 1 ? 'person' : 'people'} · up to {r.max_publishers ?? '?'} with video
                      </div>
                    </div>
                    {pinFor === id ? (
                      <form
                        className="row-pin"
                        onSubmit={(e) => {
                          e.preventDefault();
                          go(id, rowPin.trim());
                        }}
                      >
                        <input autoFocus type="password" placeholder="PIN" value={rowPin} onChange={(e) => setRowPin(e.target.value)} aria-label="Room PIN" />
                        <button className="btn primary small" type="submit">
                          Join
                        </button>
                      </form>
                    ) : (
                      <button
                        className="btn small"
                        onClick={() => {
                          if (r.pin_required) {
                            setRowPin('');
                            setPinFor(id);
                          } else go(id);
                        }}
                      >
                        Join
                      </button>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
        </section>
        </div>
      </div>

    </main>
  );
}
