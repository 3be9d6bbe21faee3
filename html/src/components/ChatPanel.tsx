// The room's chat panel: messages (name, HH:MM), join/leave notices, and a message box
// (Enter sends, Shift+Enter starts a new line). While it is open and the tab visible,
// everything counts as read; the list follows new messages unless the reader scrolled up.
import { useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react';
import { Spinner } from './Banner';
import { CloseIcon, SendIcon } from './Icons';
import { MAX_TEXT, type ChatSnapshot, type TextRoomClient } from '../janus/textroom';

const EMPTY: ChatSnapshot = { phase: 'connecting', entries: [], participants: [], unread: 0, joins: 0 };
const noop = () => () => {};

/** The chat's snapshot, or an empty one while there is no chat yet. */
export function useChat(chat: TextRoomClient | null): ChatSnapshot {
  return useSyncExternalStore(chat ? chat.subscribe : noop, chat ? chat.getSnapshot : () => EMPTY);
}

export function ChatPanel({ chat, onClose }: { chat: TextRoomClient | null; onClose: () => void }) {
  const s = useChat(chat);
  const [text, setText] = useState('');
  const list = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const input = useRef<HTMLTextAreaElement>(null);

  // Read means seen: while the tab is hidden, new messages stay unread (the tab's title
  // counts them) until it shows again.
  useEffect(() => {
    if (document.visibilityState === 'visible') chat?.markRead();
  }, [chat, s.entries]);
  useEffect(() => {
    const seen = () => {
      if (document.visibilityState === 'visible') chat?.markRead();
    };
    document.addEventListener('visibilitychange', seen);
    return () => document.removeEventListener('visibilitychange', seen);
  }, [chat]);

  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [s.entries]);

  useEffect(() => {
    input.current?.focus();
  }, []);

  const ready = s.phase === 'ready';
  const send = () => {
    const t = text;
    if (!chat || !ready || !t.trim()) return;
    setText('');
    stick.current = true;
    chat.send(t).catch(() => setText((cur) => cur || t));
  };

  return (
    <aside className="panel chat-panel" data-testid="chat-panel" data-phase={s.phase}>
      <div className="panel-head">
        <h3>
          Chat <span className="muted-text small">{ready ? `${s.participants.length} here` : ''}</span>
        </h3>
        <button className="icon-btn ghost small" onClick={onClose} aria-label="Close the chat">
          <CloseIcon size={16} />
        </button>
      </div>
      <ol
        className="chat-list"
        ref={list}
        data-testid="chat-list"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {s.entries.map((e) =>
          e.kind === 'message' ? (
            <li key={e.id} className={`msg ${e.self ? 'self' : ''}`} data-testid="chat-message" data-from={e.name} data-self={e.self} data-time={e.time}>
              <div className="msg-head">
                <span className="msg-name">
                  {e.name}
                  {e.self && <span className="muted-text"> (you)</span>}
                  {e.whisper && <span className="muted-text"> · privately</span>}
                </span>
                <span className="msg-time">{e.time}</span>
              </div>
              <div className="msg-text">{e.text}</div>
            </li>
          ) : (
            <li key={e.id} className={`chat-notice ${e.kind}`} data-testid="chat-notice" data-kind={e.kind} data-name={e.name}>
              <span>{e.text}</span> <span className="msg-time">{e.time}</span>
            </li>
          ),
        )}
        {ready && !s.entries.some((e) => e.kind === 'message') && <li className="chat-empty muted-text small">No messages yet. Say hello!</li>}
      </ol>
      {!ready && (
        <div className={`chat-status ${s.phase === 'failed' ? 'red' : 'muted-text'} small`} data-testid="chat-status">
          {s.phase === 'failed' ? (
            s.error ?? 'The chat is not available.'
          ) : (
            <>
              <Spinner size={14} /> {s.phase === 'reconnecting' ? 'Reconnecting to the chat…' : 'Connecting to the chat…'}
            </>
          )}
        </div>
      )}
      <form
        className="chat-form"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <textarea
          ref={input}
          className="chat-input"
          rows={1}
          value={text}
          maxLength={MAX_TEXT}
          placeholder={ready ? 'Message everyone' : 'Message everyone (connecting…)'}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              send();
            }
          }}
          aria-label="Message"
          data-testid="chat-input"
        />
        <button className="icon-btn chat-send" type="submit" disabled={!ready || !text.trim()} aria-label="Send" data-testid="chat-send">
          <SendIcon size={18} />
        </button>
      </form>
    </aside>
  );
}
