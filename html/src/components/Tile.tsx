// One participant in the grid: video (or an avatar), name, mic state, talking ring,
// connection quality.
import { Avatar } from './Avatar';
import { MicOffIcon, SignalBars } from './Icons';
import { Video } from './Video';
import { Spinner } from './Banner';
import { describeStats, type LinkStats } from '../media/stats';

export interface TileProps {
  name: string;
  self?: boolean;
  stream: MediaStream | null;
  showVideo: boolean;
  audioMuted: boolean;
  talking: boolean;
  stats: LinkStats;
  connecting: boolean;
  screen?: boolean;
  note?: string;
  feedId?: number;
  style?: React.CSSProperties;
}

export function Tile(p: TileProps) {
  const cls = ['tile', p.talking ? 'talking' : '', p.self ? 'self' : ''].join(' ');
  return (
    <div className={cls} style={p.style} data-testid="tile" data-name={p.name} data-self={p.self ? 'true' : 'false'} data-muted={p.audioMuted ? 'true' : 'false'} data-talking={p.talking ? 'true' : 'false'} data-feed={p.feedId}>
      {p.stream && p.showVideo ? (
        <Video stream={p.stream} muted={p.self} mirror={p.self && !p.screen} fit={p.screen ? 'contain' : 'cover'} label={p.name} />
      ) : (
        <>
          <div className="tile-placeholder">
            <Avatar name={p.name} size={72} />
          </div>
          {/* keep remote audio playing while the video is off */}
          {p.stream && !p.self && <Video stream={p.stream} muted={false} className="hidden-video" label={p.name} />}
        </>
      )}
      {p.connecting && (
        <div className="tile-overlay">
          <Spinner /> <span>Connecting…</span>
        </div>
      )}
      <div className="tile-top">
        {p.stats.quality !== 'unknown' && (
          <span className={`chip quality quality-${p.stats.quality}`} title={describeStats(p.stats)} data-quality={p.stats.quality}>
            <SignalBars quality={p.stats.quality} size={14} />
            <span className="chip-text">{p.stats.rttMs !== undefined ? `${Math.round(p.stats.rttMs)} ms` : p.stats.quality}</span>
          </span>
        )}
      </div>
      <div className="tile-name">
        {p.audioMuted && (
          <span className="muted-icon" title="Microphone off" data-testid="muted-icon">
            <MicOffIcon size={15} />
          </span>
        )}
        <span className="name-text">{p.name}{p.self ? ' (you)' : ''}</span>
        {p.note && <span className="name-note">{p.note}</span>}
      </div>
    </div>
  );
}
