/**
 * Server-rendered HTML: the `html` tag escapes every interpolated value unless it is already
 * `Html` (a fragment made by this tag), so pages cannot forget to escape. Plus the page layout,
 * state colours, redaction of secret-looking params and small formatting helpers.
 */

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = Html | string | number | boolean | null | undefined | Date | Part[];

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return part.map(render).join('');
  if (part instanceof Date) return escapeHtml(part.toISOString());
  return escapeHtml(String(part));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new Html(out);
}

/** Masking of secrets lives with the engine (declared secret params and secret-looking names): re-exported for the pages. */
export { isSecretKey, redact, redactParams, REDACTED } from '../engine/secret-params.ts';

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function day(d: Date | string | null | undefined): string {
  if (!d) return '–';
  return (d instanceof Date ? d : new Date(d)).toISOString().slice(0, 10);
}

export function when(d: Date | string | null | undefined): string {
  if (!d) return '–';
  return (d instanceof Date ? d : new Date(d)).toISOString().replace('T', ' ').slice(0, 19);
}

/** A state badge; the colour comes from the stylesheet class `s-<state>`. */
export function badge(state: string, text: string = state): Html {
  return html`<span class="badge s-${state.replace(/[^a-z_]/g, '')}">${text}</span>`;
}

/**
 * A form posting to `action` with the CSRF token; `confirm` asks first (static/ui.js); `novalidate`
 * leaves checking to the server (its messages are shown beside the fields).
 */
export function postForm(action: string, csrf: string, body: Html, opts: { confirm?: string; className?: string; id?: string; novalidate?: boolean } = {}): Html {
  return html`<form method="post" action="${action}" class="${opts.className ?? 'inline'}"${opts.id ? html` id="${opts.id}"` : ''}${opts.confirm ? html` data-confirm="${opts.confirm}"` : ''}${opts.novalidate ? html` novalidate` : ''}>
<input type="hidden" name="_csrf" value="${csrf}">${body}</form>`;
}

export function layout(opts: { title: string; csrf: string; crumbs?: Html; flash?: string; flashError?: boolean; body: Html }): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${opts.csrf}">
<title>${opts.title} · Tributary</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/ui.js" defer></script>
</head><body>
<header class="top"><nav aria-label="main">
<a class="brand" href="/">Tributary</a> <a href="/">DAGs</a> <a href="/queues">Queues</a> <a href="/api/dags">API</a> <a href="/audit">Audit</a> <a href="/sessions">Sessions</a>
${postForm('/logout', opts.csrf, html`<button type="submit" class="link">Log out</button>`)}
</nav></header>
<main>
${opts.crumbs ? html`<p class="crumbs">${opts.crumbs}</p>` : ''}
${opts.flash ? html`<p class="flash${opts.flashError ? ' error' : ''}" role="${opts.flashError ? 'alert' : 'status'}">${opts.flash}</p>` : ''}
${opts.body}
</main></body></html>`.text;
}
