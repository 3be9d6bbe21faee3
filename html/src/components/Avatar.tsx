const palette = ['#5b8cff', '#8b6cff', '#e0679a', '#e38b4f', '#3fb68b', '#2fa8c9', '#c9a227', '#7d8ca3'];

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return '?';
  const first = parts[0][0] ?? '';
  const last = parts.length > 1 ? parts[parts.length - 1][0] : '';
  return (first + last).toUpperCase();
}

export function colorFor(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return palette[h % palette.length];
}

export function Avatar({ name, size = 64 }: { name: string; size?: number }) {
  return (
    <div className="avatar" style={{ width: size, height: size, background: colorFor(name), fontSize: size * 0.38 }} aria-hidden="true">
      {initials(name)}
    </div>
  );
}
