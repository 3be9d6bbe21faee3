// The game's arena: a canvas drawn every animation frame from GameEngine.frame(), sized to
// fit its box at the arena's aspect ratio, plus the pointer (click or drag: head there)
// and keyboard (arrow keys, WASD) controls.
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { ARENA, BALL_R, DOT_R, type GameEngine } from '../game/engine';

const KEYS: Record<string, 'up' | 'down' | 'left' | 'right'> = {
  ArrowUp: 'up',
  ArrowDown: 'down',
  ArrowLeft: 'left',
  ArrowRight: 'right',
  KeyW: 'up',
  KeyS: 'down',
  KeyA: 'left',
  KeyD: 'right',
};

function typing(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

export function GameCanvas({ engine }: { engine: GameEngine }) {
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [size, setSize] = useState({ w: 0, h: 0 });

  // Fit the arena's aspect ratio in the box.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const fit = () => {
      const W = el.clientWidth;
      const H = el.clientHeight;
      const s = Math.max(0, Math.min(W / ARENA.w, H / ARENA.h));
      setSize({ w: Math.floor(ARENA.w * s), h: Math.floor(ARENA.h * s) });
    };
    const ro = new ResizeObserver(fit);
    ro.observe(el);
    fit();
    return () => ro.disconnect();
  }, []);

  // Keyboard: anywhere on the page but in a text field.
  useEffect(() => {
    const down = (e: KeyboardEvent) => {
      const dir = KEYS[e.code];
      if (!dir || typing(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      e.preventDefault();
      engine.setKey(dir, true);
    };
    const up = (e: KeyboardEvent) => {
      const dir = KEYS[e.code];
      if (dir) engine.setKey(dir, false);
    };
    const blur = () => engine.clearKeys();
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    window.addEventListener('blur', blur);
    return () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
      window.removeEventListener('blur', blur);
    };
  }, [engine]);

  // Drawing.
  useEffect(() => {
    const c = canvas.current;
    if (!c || !size.w) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(size.w * dpr);
    c.height = Math.round(size.h * dpr);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    const scale = (size.w / ARENA.w) * dpr;
    // Text keeps a readable size on screen however small the arena is drawn.
    const k = Math.min(2.5, Math.max(1, 0.8 / (size.w / ARENA.w)));
    // The floor (colour and grid) is drawn once, then copied.
    const floor = document.createElement('canvas');
    floor.width = c.width;
    floor.height = c.height;
    const fctx = floor.getContext('2d');
    if (fctx) {
      fctx.setTransform(scale, 0, 0, scale, 0, 0);
      fctx.fillStyle = '#0b0e15';
      fctx.fillRect(0, 0, ARENA.w, ARENA.h);
      fctx.strokeStyle = 'rgba(255,255,255,0.045)';
      fctx.lineWidth = 1;
      fctx.beginPath();
      for (let x = 40; x < ARENA.w; x += 40) {
        fctx.moveTo(x, 0);
        fctx.lineTo(x, ARENA.h);
      }
      for (let y = 40; y < ARENA.h; y += 40) {
        fctx.moveTo(0, y);
        fctx.lineTo(ARENA.w, y);
      }
      fctx.stroke();
    }
    let raf = 0;
    let last = '';
    const draw = () => {
      raf = requestAnimationFrame(draw);
      const now = performance.now();
      const f = engine.frame(now);
      // Nothing moved, nothing new: the canvas already shows this (saves the CPU a
      // software-rendered canvas would burn at 60 frames a second).
      const sig = f.flashes.length
        ? ''
        : `${f.dot.seq}|${f.balls.map((b) => `${b.id}:${b.x.toFixed(1)}:${b.y.toFixed(1)}:${b.idle ? 1 : 0}:${b.latencyMs === undefined ? '' : fmtMs(b.latencyMs)}:${b.name}:${b.color}`).join('|')}`;
      if (sig && sig === last) return;
      last = sig;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.drawImage(floor, 0, 0);
      ctx.setTransform(scale, 0, 0, scale, 0, 0);
      // Catches just made.
      for (const fl of f.flashes) {
        ctx.globalAlpha = 1 - fl.age;
        ctx.strokeStyle = fl.color;
        ctx.lineWidth = 3;
        ctx.beginPath();
        ctx.arc(fl.x, fl.y, DOT_R + fl.age * 48, 0, Math.PI * 2);
        ctx.stroke();
        if (fl.self) {
          ctx.fillStyle = fl.color;
          ctx.font = `700 ${20 * k}px system-ui, sans-serif`;
          ctx.textAlign = 'center';
          ctx.fillText('+1', fl.x, fl.y - 24 - fl.age * 30);
        }
      }
      ctx.globalAlpha = 1;
      // The dot.
      const g = ctx.createRadialGradient(f.dot.x, f.dot.y, 0, f.dot.x, f.dot.y, DOT_R * 3);
      g.addColorStop(0, 'rgba(255, 214, 102, 0.55)');
      g.addColorStop(1, 'rgba(255, 214, 102, 0)');
      ctx.fillStyle = g;
      ctx.beginPath();
      ctx.arc(f.dot.x, f.dot.y, DOT_R * 3, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = '#ffd666';
      ctx.beginPath();
      ctx.arc(f.dot.x, f.dot.y, DOT_R, 0, Math.PI * 2);
      ctx.fill();
      // The balls, ours on top.
      ctx.textAlign = 'center';
      for (const b of f.balls) {
        ctx.globalAlpha = b.idle ? 0.35 : 1;
        ctx.fillStyle = b.color;
        ctx.beginPath();
        ctx.arc(b.x, b.y, BALL_R, 0, Math.PI * 2);
        ctx.fill();
        if (b.self) {
          ctx.strokeStyle = '#ffffff';
          ctx.lineWidth = 3;
          ctx.stroke();
        }
        // Name above the ball (below it at the top edge), latency under it; kept inside.
        const name = 14 * k;
        const small = 11 * k;
        const above = b.y - BALL_R - 6 - name >= 0;
        const label = b.self ? `${b.name} (you)` : b.name;
        ctx.fillStyle = '#e8eaf0';
        ctx.font = `600 ${name}px system-ui, sans-serif`;
        ctx.fillText(label, inside(ctx, label, b.x), above ? b.y - BALL_R - 6 : b.y + BALL_R + 4 + name);
        if (!b.self && b.latencyMs !== undefined) {
          const lat = `${fmtMs(b.latencyMs)} ms`;
          ctx.fillStyle = 'rgba(232,234,240,0.62)';
          ctx.font = `600 ${small}px system-ui, sans-serif`;
          const below = b.y + BALL_R + 4 + small;
          ctx.fillText(lat, inside(ctx, lat, b.x), above ? (below > ARENA.h - 2 ? b.y - BALL_R - 10 - name : below) : b.y + BALL_R + 8 + name + small);
        }
      }
      ctx.globalAlpha = 1;
    };
    raf = requestAnimationFrame(draw);
    return () => cancelAnimationFrame(raf);
  }, [engine, size]);

  const toArena = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * ARENA.w, y: ((e.clientY - r.top) / r.height) * ARENA.h };
  };

  return (
    <div className="arena-box" ref={box}>
      <canvas
        ref={canvas}
        className="arena"
        data-testid="arena"
        style={{ width: size.w, height: size.h }}
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          engine.setTarget(toArena(e));
        }}
        onPointerMove={(e) => {
          if (e.buttons) engine.setTarget(toArena(e));
        }}
        aria-label="The arena: use the arrow keys or WASD, or click where to go"
      />
    </div>
  );
}

/** x for centred text that stays inside the arena. */
function inside(ctx: CanvasRenderingContext2D, text: string, x: number): number {
  const half = ctx.measureText(text).width / 2 + 4;
  return Math.min(Math.max(x, half), ARENA.w - half);
}

export function fmtMs(v: number): string {
  return v < 10 ? v.toFixed(1) : Math.round(v).toString();
}
