// Server and browser errors in plain words.
import { JanusError } from '../janus/client';

const videoroom: Record<number, string> = {
  421: 'The server got an empty request.',
  422: 'The server could not read the request.',
  423: 'The server did not understand the request.',
  424: 'You need to join the room first.',
  425: 'You have already joined this room.',
  426: "This room doesn't exist. It may have been closed, or the link is wrong.",
  427: 'A room with this number already exists.',
  428: "That participant isn't in the room any more.",
  429: 'Something is missing in the request.',
  430: 'Something in the request is not valid.',
  432: 'This room is full: the most people allowed are already sharing video.',
  433: "That PIN isn't right for this room.",
  434: 'You are already sharing video in this room.',
  436: 'You are already in this room from another tab.',
  437: 'Your browser offered media the server cannot use.',
};

const p2pcall: Record<number, string> = {
  443: 'That name is not valid: use letters, digits, spaces, _ - . or @ (up to 64).',
  444: 'Go online with a name first.',
  445: 'You are already online.',
  446: 'Someone is already online with that name. Pick another one.',
  447: 'That person is not online any more.',
  448: 'They are in another call right now.',
  449: 'There is no call to answer.',
  451: 'Too many people are online right now.',
};

const core: Record<number, string> = {
  403: 'The server refused the request (not authorised).',
  458: 'The connection to the server was reset.',
  460: 'This server does not offer that feature.',
  490: 'The server refused the request.',
};

export function describeError(e: unknown, plugin?: 'videoroom' | 'p2pcall' | 'echotest'): string {
  if (e instanceof JanusError) {
    if (e.kind === 'network') return "Can't reach the server. Check your connection; we'll keep trying.";
    if (e.kind === 'timeout') return 'The server is taking too long to answer. Try again.';
    if (e.kind === 'plugin') {
      const table = plugin === 'p2pcall' ? p2pcall : plugin === 'videoroom' ? videoroom : {};
      return table[e.code] ?? sentence(e.message);
    }
    return core[e.code] ?? sentence(e.message);
  }
  if (e instanceof DOMException || (e instanceof Error && e.name)) {
    const err = e as Error;
    switch (err.name) {
      case 'NotAllowedError':
        return 'Camera and microphone access was blocked. Allow it in the browser, then try again.';
      case 'NotFoundError':
        return 'No camera or microphone was found.';
      case 'NotReadableError':
        return 'Your camera or microphone is busy in another application.';
      case 'OverconstrainedError':
        return 'The selected device is not available any more.';
    }
    return sentence(err.message || 'Something went wrong.');
  }
  return 'Something went wrong.';
}

function sentence(s: string): string {
  if (!s) return 'Something went wrong.';
  const t = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
