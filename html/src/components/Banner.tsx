import type { ReactNode } from 'react';
import { AlertIcon, CloseIcon } from './Icons';

export function Banner({ kind = 'info', children, onClose, action }: {
  kind?: 'info' | 'error' | 'warn' | 'ok';
  children: ReactNode;
  onClose?: () => void;
  action?: ReactNode;
}) {
  return (
    <div className={`banner banner-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {kind !== 'ok' && <AlertIcon size={18} />}
      <div className="banner-text">{children}</div>
      {action}
      {onClose && (
        <button className="icon-btn ghost small" onClick={onClose} aria-label="Dismiss">
          <CloseIcon size={16} />
        </button>
      )}
    </div>
  );
}

export function Spinner({ size = 22 }: { size?: number }) {
  return <span className="spinner" style={{ width: size, height: size }} aria-hidden="true" />;
}
