/**
 * Plain-text output for people: aligned tables, durations, dates and short JSON. Every value is
 * printed through `printable`, so text from data (a run param, a file name) cannot forge a line.
 */

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
/** Control characters (C0, DEL, C1) and the Unicode line and paragraph separators. */
const UNPRINTABLE = /[\p{Cc}\u2028\u2029]/gu;

/** `a\nb` → `a\\nb`, U+0085 → `\\u0085`: the text stays on one line and drives no terminal. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Left-aligned columns separated by two spaces; the header row is followed by nothing fancy. */
export function table(headers: string[], raw: string[][]): string {
  const rows = raw.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return minutes < 60 ? `${minutes}m${Math.round((ms % 60_000) / 1000)}s` : `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

/** `2025-05-13 06:00:00Z`, or '-' when absent. */
export function formatDate(date: Date | null | undefined): string {
  if (!date) return '-';
  return date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/** Compact one-line JSON, cut at `max` characters. */
export function shortJson(value: unknown, max = 60): string {
  if (value === null || value === undefined) return '-';
  const text = JSON.stringify(value);
  return printable(text.length > max ? `${text.slice(0, max - 1)}…` : text);
}

/** First line of a message, cut at `max` characters. */
export function oneLine(text: string | null | undefined, max = 80): string {
  if (!text) return '-';
  const line = text.replace(/\s*\n\s*/g, ' ');
  return printable(line.length > max ? `${line.slice(0, max - 1)}…` : line);
}
