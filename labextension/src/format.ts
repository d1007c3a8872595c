/**
 * Small DOM and text helpers shared by the sidebar, the runs list and the run panel: a status
 * badge, durations and start times as people read them.
 */

/** Make an element with a class and optional text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

const STATUS_LABELS: Record<string, string> = {
  pending: 'pending',
  executing: 'executing',
  completed: 'completed',
  completed_partial: 'partial',
  failed: 'failed'
};

/** A run's status as a coloured badge; an interrupted run says so instead. */
export function statusBadge(status: string, interrupted = false): HTMLElement {
  const shown = interrupted ? 'interrupted' : status;
  const badge = el(
    'span',
    `jp-prodex-badge jp-prodex-status-${shown}`,
    STATUS_LABELS[shown] ?? shown
  );
  badge.title = interrupted
    ? 'Interrupted: nobody executes this run and work is left; Resume continues it'
    : `Status: ${status}`;
  return badge;
}

/** Seconds as "0.4 s", "12 s", "3 min 5 s", "2 h 4 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '';
  }
  if (seconds < 10) {
    return `${seconds.toFixed(1)} s`;
  }
  if (seconds < 60) {
    return `${Math.round(seconds)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${Math.round(seconds % 60)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** An ISO time as local "YYYY-MM-DD HH:MM" (today's as "today HH:MM"). */
export function formatStarted(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const d = new Date(iso);
  if (isNaN(d.getTime())) {
    return iso;
  }
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const now = new Date();
  if (d.toDateString() === now.toDateString()) {
    return `today ${hm}`;
  }
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

/** "Gates resolved: k / n", the phrase every view of a run uses. */
export function gatesResolved(k: number, n: number): string {
  return `Gates resolved: ${k} / ${n}`;
}

/** The view's stylesheet, added to the page once (the same classes as the notebook view). */
export function ensureViewCss(css: string): void {
  const id = 'jp-prodex-view-css';
  let style = document.getElementById(id) as HTMLStyleElement | null;
  if (!style) {
    style = document.createElement('style');
    style.id = id;
    document.head.appendChild(style);
  }
  if (style.textContent !== css) {
    style.textContent = css;
  }
}
