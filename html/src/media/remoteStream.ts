/** Adds a remote track to the stream a <video> already plays, replacing any track of the same
 * kind. The stream object stays the same, so the element keeps playing: assigning a new
 * MediaStream to srcObject restarts playback (a blank frame, decoded-frame counters reset). */
export function withRemoteTrack(stream: MediaStream | null, track: MediaStreamTrack): MediaStream {
  if (!stream) return new MediaStream([track]);
  for (const t of stream.getTracks()) {
    if (t.kind === track.kind && t !== track) stream.removeTrack(t);
  }
  if (!stream.getTracks().includes(track)) stream.addTrack(track);
  return stream;
}

/** Takes an ended remote track out of the stream, keeping the stream object (see above). */
export function withoutRemoteTrack(stream: MediaStream, track: MediaStreamTrack): MediaStream {
  stream.removeTrack(track);
  return stream;
}
