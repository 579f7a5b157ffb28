// bull-board (/queues) sends the session's CSRF token (from <meta name="csrf-token">, put there by
// dashboard/server.ts) as X-CSRF-Token on its own same-origin requests; no cookie carries the token.
(() => {
  const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content');
  if (!token) return;
  const sameOrigin = (url) => new URL(url, location.href).origin === location.origin;
  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    this.tributarySameOrigin = sameOrigin(String(url));
    return open.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function (body) {
    if (this.tributarySameOrigin) this.setRequestHeader('X-CSRF-Token', token);
    return send.call(this, body);
  };
  const fetch = window.fetch;
  window.fetch = (input, init = {}) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!sameOrigin(url)) return fetch(input, init);
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set('X-CSRF-Token', token);
    return fetch(input, { ...init, headers });
  };
})();
