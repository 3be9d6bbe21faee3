// Cameras, microphones and the local stream.
import { useCallback, useEffect, useState } from 'react';

export interface DeviceLists {
  cameras: MediaDeviceInfo[];
  mics: MediaDeviceInfo[];
}

export async function listDevices(): Promise<DeviceLists> {
  if (!navigator.mediaDevices?.enumerateDevices) return { cameras: [], mics: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === 'videoinput' && d.deviceId),
    mics: all.filter((d) => d.kind === 'audioinput' && d.deviceId),
  };
}

/** Device lists, refreshed when devices change (labels appear once access is granted). */
export function useDevices(): DeviceLists & { refresh: () => void } {
  const [lists, setLists] = useState<DeviceLists>({ cameras: [], mics: [] });
  const refresh = useCallback(() => {
    listDevices().then(setLists, () => {});
  }, []);
  useEffect(() => {
    refresh();
    navigator.mediaDevices?.addEventListener?.('devicechange', refresh);
    return () => navigator.mediaDevices?.removeEventListener?.('devicechange', refresh);
  }, [refresh]);
  return { ...lists, refresh };
}

export const VIDEO_CONSTRAINTS = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

export function cameraConstraints(cameraId?: string): MediaTrackConstraints {
  return { ...VIDEO_CONSTRAINTS, ...(cameraId ? { deviceId: { exact: cameraId } } : {}) };
}

export function micConstraints(micId?: string): MediaTrackConstraints {
  return { echoCancellation: true, noiseSuppression: true, autoGainControl: true, ...(micId ? { deviceId: { exact: micId } } : {}) };
}

/** Opens camera and/or microphone; falls back to the default device when a remembered one
 * is gone, and to audio only when there is no camera. */
export async function openMedia(opts: {
  audio: boolean;
  video: boolean;
  cameraId?: string;
  micId?: string;
}): Promise<MediaStream> {
  const want = (camId?: string, mId?: string): MediaStreamConstraints => ({
    audio: opts.audio ? micConstraints(mId) : false,
    video: opts.video ? cameraConstraints(camId) : false,
  });
  if (!opts.audio && !opts.video) return new MediaStream();
  try {
    return await navigator.mediaDevices.getUserMedia(want(opts.cameraId, opts.micId));
  } catch (e) {
    const name = (e as Error).name;
    if (name === 'OverconstrainedError' || name === 'NotFoundError') {
      if (opts.cameraId || opts.micId) {
        try {
          return await navigator.mediaDevices.getUserMedia(want(undefined, undefined));
        } catch {
          /* fall through */
        }
      }
      if (opts.video && opts.audio) {
        return await navigator.mediaDevices.getUserMedia({ audio: micConstraints(), video: false });
      }
    }
    throw e;
  }
}

export function stopStream(s?: MediaStream | null): void {
  s?.getTracks().forEach((t) => t.stop());
}

/** Microphone level 0..1 of a stream, sampled ~15 times a second. */
export function useAudioLevel(stream?: MediaStream | null, enabled = true): number {
  const [level, setLevel] = useState(0);
  useEffect(() => {
    const track = stream?.getAudioTracks()[0];
    if (!track || !enabled) {
      setLevel(0);
      return;
    }
    const AC = window.AudioContext;
    if (!AC) return;
    const ctx = new AC();
    const src = ctx.createMediaStreamSource(new MediaStream([track]));
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    src.connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      setLevel(Math.min(1, rms * 6));
    }, 66);
    return () => {
      clearInterval(timer);
      src.disconnect();
      void ctx.close();
    };
  }, [stream, enabled]);
  return level;
}
