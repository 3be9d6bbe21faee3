// A tiny history router: the daemon answers every unknown path with index.html, so
// /room/1234 links work when opened directly.
import { useSyncExternalStore } from 'react';

function subscribe(fn: () => void): () => void {
  window.addEventListener('popstate', fn);
  return () => window.removeEventListener('popstate', fn);
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

export function navigate(path: string, replace = false): void {
  if (path === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState({}, '', path);
  else window.history.pushState({}, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** /room/<digits> → the number, else null. */
export function roomIdFromPath(path: string): number | null {
  const m = /^\/room\/(\d{1,16})\/?$/.exec(path);
  return m ? Number(m[1]) : null;
}

/** /game/<digits> → the game number, else null. */
export function gameIdFromPath(path: string): number | null {
  const m = /^\/game\/(\d{1,16})\/?$/.exec(path);
  if (!m) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** A game number typed or pasted as a link ("…/game/42", "42"; a room's link: its game). */
export function parseGameInput(text: string): number | null {
  const t = text.trim();
  const m = /^(\d{1,16})$/.exec(t) ?? /\/(?:game|room)\/(\d{1,16})(?:[/?#]|$)/.exec(t);
  if (!m) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export function gameLink(id: number): string {
  return `${window.location.origin}/game/${id}`;
}

/** A room number typed or pasted as a link ("…/room/1234", "1234"). */
export function parseRoomInput(text: string): number | null {
  const t = text.trim();
  if (/^\d{1,16}$/.test(t)) return Number(t);
  const m = /\/room\/(\d{1,16})(?:[/?#]|$)/.exec(t);
  return m ? Number(m[1]) : null;
}

export function roomLink(id: number): string {
  return `${window.location.origin}/room/${id}`;
}
