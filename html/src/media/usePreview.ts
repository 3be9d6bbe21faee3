// The local camera/microphone preview shown before joining, with the user's device
// choices remembered. The stream can be handed over to a room (take()) so the camera is
// not reopened.
import { useCallback, useEffect, useRef, useState } from 'react';
import { loadPrefs, savePrefs } from '../lib/config';
import { describeError } from '../lib/errors';
import { openMedia, stopStream } from './devices';

export interface Preview {
  stream: MediaStream | null;
  error?: string;
  loading: boolean;
  micOn: boolean;
  camOn: boolean;
  cameraId: string;
  micId: string;
  setMicOn: (on: boolean) => void;
  setCamOn: (on: boolean) => void;
  setCameraId: (id: string) => void;
  setMicId: (id: string) => void;
  /** Hands the stream to the caller: the preview will not stop it. */
  take: () => MediaStream | null;
  retry: () => void;
}

export function usePreview(onDevicesChanged?: () => void): Preview {
  const prefs = loadPrefs();
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [micOn, setMicOnState] = useState(!prefs.startMuted);
  const [camOn, setCamOnState] = useState(!prefs.startCameraOff);
  const [cameraId, setCameraIdState] = useState(prefs.cameraId);
  const [micId, setMicIdState] = useState(prefs.micId);
  const [attempt, setAttempt] = useState(0);
  const current = useRef<MediaStream | null>(null);
  const taken = useRef(false);

  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    openMedia({ audio: true, video: camOn, cameraId, micId }).then(
      (s) => {
        if (cancelled) {
          stopStream(s);
          return;
        }
        if (!taken.current) stopStream(current.current);
        taken.current = false;
        current.current = s;
        s.getAudioTracks().forEach((t) => (t.enabled = micOn));
        setStream(s);
        setError(undefined);
        setLoading(false);
        onDevicesChanged?.();
      },
      (e) => {
        if (cancelled) return;
        setError(describeError(e));
        setLoading(false);
        onDevicesChanged?.();
      },
    );
    return () => {
      cancelled = true;
    };
    // micOn is applied separately (no reopen)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [camOn, cameraId, micId, attempt]);

  useEffect(
    () => () => {
      if (!taken.current) stopStream(current.current);
    },
    [],
  );

  const setMicOn = useCallback((on: boolean) => {
    setMicOnState(on);
    savePrefs({ startMuted: !on });
    current.current?.getAudioTracks().forEach((t) => (t.enabled = on));
  }, []);
  const setCamOn = useCallback((on: boolean) => {
    setCamOnState(on);
    savePrefs({ startCameraOff: !on });
  }, []);
  const setCameraId = useCallback((id: string) => {
    setCameraIdState(id);
    savePrefs({ cameraId: id });
  }, []);
  const setMicId = useCallback((id: string) => {
    setMicIdState(id);
    savePrefs({ micId: id });
  }, []);
  const take = useCallback(() => {
    taken.current = true;
    return current.current;
  }, []);
  const retry = useCallback(() => setAttempt((a) => a + 1), []);

  return { stream, error, loading, micOn, camOn, cameraId, micId, setMicOn, setCamOn, setCameraId, setMicId, take, retry };
}
