// What the lobby hands to the room page when the user clicks Join: the PIN typed, the
// preview stream (so the camera is not reopened) and, for a room made here, its settings
// (to re-create it if a server restart loses it). Kept in memory only: a PIN never goes
// into the URL or storage.
import type { RoomSettings } from '../janus/videoroom';

export interface JoinHandoff {
  roomId: number;
  display: string;
  pin?: string;
  stream?: MediaStream | null;
  micOn: boolean;
  camOn: boolean;
  settings?: RoomSettings;
}

let pending: JoinHandoff | null = null;
const known = new Map<number, RoomSettings>();

export function setHandoff(h: JoinHandoff): void {
  pending = h;
  if (h.settings) known.set(h.roomId, h.settings);
}

export function takeHandoff(roomId: number): JoinHandoff | null {
  const h = pending && pending.roomId === roomId ? pending : null;
  pending = null;
  return h;
}

export function rememberRoom(roomId: number, s: RoomSettings): void {
  known.set(roomId, s);
}

export function knownRoom(roomId: number): RoomSettings | undefined {
  return known.get(roomId);
}
