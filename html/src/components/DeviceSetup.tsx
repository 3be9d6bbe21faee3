// Camera/microphone choice with a live preview and a microphone level meter.
import { useEffect } from 'react';
import { useAudioLevel, useDevices } from '../media/devices';
import type { Preview } from '../media/usePreview';
import { Avatar } from './Avatar';
import { Banner, Spinner } from './Banner';
import { CamIcon, CamOffIcon, MicIcon, MicOffIcon } from './Icons';
import { Video } from './Video';

export function DeviceSetup({ preview, name, compact = false }: { preview: Preview; name: string; compact?: boolean }) {
  const devices = useDevices();
  const level = useAudioLevel(preview.stream, preview.micOn);
  const { refresh } = devices;
  // Device names appear once access is granted: list again when the stream changes.
  useEffect(() => refresh(), [preview.stream, refresh]);
  const hasVideo = !!preview.stream?.getVideoTracks().length && preview.camOn;
  return (
    <div className={`device-setup ${compact ? 'compact' : ''}`}>
      <div className="preview" data-testid="preview">
        {hasVideo ? (
          <Video stream={preview.stream} mirror label="Your camera preview" />
        ) : (
          <div className="preview-empty">
            {preview.loading ? <Spinner size={28} /> : <Avatar name={name || 'You'} size={84} />}
            {!preview.loading && !preview.camOn && <span className="muted-text">Camera is off</span>}
          </div>
        )}
        <div className="preview-bar">
          <button
            className={`round-btn ${preview.micOn ? '' : 'off'}`}
            onClick={() => preview.setMicOn(!preview.micOn)}
            aria-label={preview.micOn ? 'Turn microphone off' : 'Turn microphone on'}
            title={preview.micOn ? 'Turn microphone off' : 'Turn microphone on'}
          >
            {preview.micOn ? <MicIcon /> : <MicOffIcon />}
          </button>
          <button
            className={`round-btn ${preview.camOn ? '' : 'off'}`}
            onClick={() => preview.setCamOn(!preview.camOn)}
            aria-label={preview.camOn ? 'Turn camera off' : 'Turn camera on'}
            title={preview.camOn ? 'Turn camera off' : 'Turn camera on'}
          >
            {preview.camOn ? <CamIcon /> : <CamOffIcon />}
          </button>
        </div>
        {name && <div className="preview-name">{name}</div>}
      </div>
      {preview.error && (
        <Banner kind="warn" action={<button className="btn small" onClick={preview.retry}>Try again</button>}>
          {preview.error}
        </Banner>
      )}
      <div className="device-fields">
        <label className="field">
          <span className="field-label">Camera</span>
          <select value={preview.cameraId} onChange={(e) => preview.setCameraId(e.target.value)} disabled={!devices.cameras.length}>
            <option value="">{devices.cameras.length ? 'Default camera' : 'No camera found'}</option>
            {devices.cameras.map((d, i) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label || `Camera ${i + 1}`}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">Microphone</span>
          <select value={preview.micId} onChange={(e) => preview.setMicId(e.target.value)} disabled={!devices.mics.length}>
            <option value="">{devices.mics.length ? 'Default microphone' : 'No microphone found'}</option>
            {devices.mics.map((d, i) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label || `Microphone ${i + 1}`}
              </option>
            ))}
          </select>
          <div className="meter" aria-label="Microphone level">
            <div className="meter-fill" style={{ width: `${Math.round(level * 100)}%` }} />
          </div>
        </label>
      </div>
    </div>
  );
}
