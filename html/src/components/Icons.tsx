// Line icons drawn for this app: 24×24 viewBox, stroke = currentColor.
import type { ReactNode, SVGProps } from 'react';

type P = SVGProps<SVGSVGElement> & { size?: number };

function Svg({ size = 20, children, ...rest }: P & { children: ReactNode }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={1.9} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" {...rest}>
      {children}
    </svg>
  );
}

export const MicIcon = (p: P) => (
  <Svg {...p}>
    <rect x="9" y="3" width="6" height="11" rx="3" />
    <path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7" />
  </Svg>
);
export const MicOffIcon = (p: P) => (
  <Svg {...p}>
    <path d="M15 9.5V6a3 3 0 0 0-5.8-1.1M9 9v2a3 3 0 0 0 4.6 2.5" />
    <path d="M5.5 11a6.5 6.5 0 0 0 10.6 5M18.4 12.6c.07-.5.1-1 .1-1.6M12 17.5V21M8.5 21h7M3.5 3.5l17 17" />
  </Svg>
);
export const CamIcon = (p: P) => (
  <Svg {...p}>
    <rect x="2.5" y="6" width="13" height="12" rx="2.5" />
    <path d="M15.5 10.2 21 7v10l-5.5-3.2" />
  </Svg>
);
export const CamOffIcon = (p: P) => (
  <Svg {...p}>
    <path d="M9 6h4a2.5 2.5 0 0 1 2.5 2.5v3M15.5 15.5A2.5 2.5 0 0 1 13 18H5a2.5 2.5 0 0 1-2.5-2.5v-7A2.5 2.5 0 0 1 5 6" />
    <path d="M15.5 10.2 21 7v10l-3-1.7M3.5 3.5l17 17" />
  </Svg>
);
export const ScreenIcon = (p: P) => (
  <Svg {...p}>
    <rect x="2.5" y="4" width="19" height="13" rx="2" />
    <path d="M8 21h8M12 17v4M12 13.5V7.5M9.2 10.2 12 7.4l2.8 2.8" />
  </Svg>
);
export const PhoneIcon = (p: P) => (
  <Svg {...p}>
    <path d="M5 3.5h3.2l1.6 4.2-2.1 1.4a11 11 0 0 0 7.2 7.2l1.4-2.1 4.2 1.6V19a2 2 0 0 1-2.2 2A16.5 16.5 0 0 1 3 5.7 2 2 0 0 1 5 3.5Z" />
  </Svg>
);
export const HangupIcon = (p: P) => (
  <Svg {...p}>
    <path d="M3 13.6c4.9-4.3 13.1-4.3 18 0l-1.6 2.9-3.9-1.2v-2.6a11 11 0 0 0-7 0v2.6l-3.9 1.2Z" />
  </Svg>
);
export const UsersIcon = (p: P) => (
  <Svg {...p}>
    <circle cx="9" cy="8" r="3.5" />
    <path d="M2.5 20a6.5 6.5 0 0 1 13 0M16 4.7a3.5 3.5 0 0 1 0 6.6M18 14.2a6.5 6.5 0 0 1 3.5 5.8" />
  </Svg>
);
export const LinkIcon = (p: P) => (
  <Svg {...p}>
    <path d="M10 14a4.5 4.5 0 0 0 6.4 0l3-3a4.5 4.5 0 0 0-6.4-6.4l-1 1" />
    <path d="M14 10a4.5 4.5 0 0 0-6.4 0l-3 3a4.5 4.5 0 0 0 6.4 6.4l1-1" />
  </Svg>
);
export const LockIcon = (p: P) => (
  <Svg {...p}>
    <rect x="4.5" y="10.5" width="15" height="10" rx="2.5" />
    <path d="M8 10.5V7.5a4 4 0 0 1 8 0v3" />
  </Svg>
);
export const RefreshIcon = (p: P) => (
  <Svg {...p}>
    <path d="M20 11.5A8 8 0 0 0 6 6.3L4 8.5M4 12.5a8 8 0 0 0 14 5.2l2-2.2" />
    <path d="M4 4v4.5h4.5M20 20v-4.5h-4.5" />
  </Svg>
);
export const PlusIcon = (p: P) => (
  <Svg {...p}>
    <path d="M12 5v14M5 12h14" />
  </Svg>
);
export const ArrowIcon = (p: P) => (
  <Svg {...p}>
    <path d="M5 12h14M13 6l6 6-6 6" />
  </Svg>
);
export const CheckIcon = (p: P) => (
  <Svg {...p}>
    <path d="m5 12.5 4.5 4.5L19 7.5" />
  </Svg>
);
export const CloseIcon = (p: P) => (
  <Svg {...p}>
    <path d="M6 6l12 12M18 6 6 18" />
  </Svg>
);
export const WaveIcon = (p: P) => (
  <Svg {...p}>
    <path d="M3 12h2.5l2-6 3.5 13 3-10 2 5h5" />
  </Svg>
);
export const AlertIcon = (p: P) => (
  <Svg {...p}>
    <path d="M12 3.5 21.5 20h-19Z" />
    <path d="M12 10v4.5M12 17.3v.2" />
  </Svg>
);
export const RoomsIcon = (p: P) => (
  <Svg {...p}>
    <rect x="3" y="4" width="8" height="7" rx="2" />
    <rect x="13" y="4" width="8" height="7" rx="2" />
    <rect x="3" y="13" width="8" height="7" rx="2" />
    <rect x="13" y="13" width="8" height="7" rx="2" />
  </Svg>
);

export const ChatIcon = (p: P) => (
  <Svg {...p}>
    <path d="M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 4v-4A2.5 2.5 0 0 1 3 13.5v-8Z" />
    <path d="M8 8.5h8M8 12h5" />
  </Svg>
);
export const GameIcon = (p: P) => (
  <Svg {...p}>
    <path d="M7.5 7h9a5 5 0 0 1 4.9 6l-.6 3a2.6 2.6 0 0 1-4.5 1.2L14.5 15h-5l-1.8 2.2A2.6 2.6 0 0 1 3.2 16l-.6-3a5 5 0 0 1 4.9-6Z" />
    <path d="M8 10v3M6.5 11.5h3M15.5 11h.01M17.5 12.5h.01" />
  </Svg>
);
export const SendIcon = (p: P) => (
  <Svg {...p}>
    <path d="M4 12 20 4l-6 16-3-7-7-1Z" />
    <path d="m11 13 9-9" />
  </Svg>
);

/** Signal bars: 3 lit for good, 2 fair, 1 poor, 0 unknown. */
export function SignalBars({ quality, size = 16 }: { quality: 'good' | 'fair' | 'poor' | 'unknown'; size?: number }) {
  const lit = quality === 'good' ? 3 : quality === 'fair' ? 2 : quality === 'poor' ? 1 : 0;
  return (
    <svg width={size} height={size} viewBox="0 0 16 16" className={`bars bars-${quality}`} aria-hidden="true">
      {[0, 1, 2].map((i) => (
        <rect key={i} x={2 + i * 5} y={11 - i * 4} width="3" height={4 + i * 4} rx="1" className={i < lit ? 'on' : 'off'} />
      ))}
    </svg>
  );
}
