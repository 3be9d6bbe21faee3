import { useEffect, useRef } from 'react';

/** A <video> bound to a MediaStream. Muted by default (local previews); remote audio
 * plays through it when muted is false. */
export function Video({ stream, muted = true, mirror = false, fit = 'cover', className = '', label }: {
  stream: MediaStream | null;
  muted?: boolean;
  mirror?: boolean;
  fit?: 'cover' | 'contain';
  className?: string;
  label?: string;
}) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const v = ref.current;
    if (!v) return;
    if (v.srcObject !== stream) v.srcObject = stream;
    if (stream) v.play().catch(() => {});
  }, [stream]);
  return (
    <video
      ref={ref}
      className={`video ${mirror ? 'mirror' : ''} fit-${fit} ${className}`}
      autoPlay
      playsInline
      muted={muted}
      aria-label={label}
      data-label={label}
    />
  );
}

/** Plays a stream's audio only (remote participants whose video tile is not shown). */
export function Audio({ stream }: { stream: MediaStream | null }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const a = ref.current;
    if (!a) return;
    a.srcObject = stream;
    if (stream) a.play().catch(() => {});
  }, [stream]);
  return <audio ref={ref} autoPlay />;
}
