/**
 * A TCP proxy in front of Postgres that cuts one connection at its COMMIT: a COMMIT whose outcome
 * the client never learns, made on a real server without touching the code under test. arm()
 * names a marker (text a query of the connection carried before, e.g. a report's cursor name) and
 * a mode: `landed` forwards the COMMIT, waits for the server's answer (so it committed), swallows
 * it and closes the client's socket; `lost` closes both sockets instead of forwarding it (the
 * server rolls back). It reads only the protocol's message framing (no SSL: the test URLs have none).
 */
import net from 'node:net';

type Mode = 'landed' | 'lost';

interface Armed {
  marker: string;
  mode: Mode;
  cut: () => void;
}

/** Splits a byte stream into protocol messages: `typed` false for the startup message (no type byte). */
function framer(onMessage: (message: Buffer) => void, typed: boolean): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const head = typed ? 1 : 0;
      if (pending.length < head + 4) return;
      const size = head + pending.readInt32BE(head);
      if (pending.length < size) return;
      typed = true;
      onMessage(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  };
}

const isCommit = (m: Buffer) => m[0] === 0x51 && m.subarray(5, m.length - 1).toString() === 'COMMIT';
const READY_FOR_QUERY = 0x5a;

export class PgCutProxy {
  private armed: Armed | null = null;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, private readonly target: URL) {}

  static async start(databaseUrl: string): Promise<PgCutProxy> {
    const server = net.createServer();
    const proxy = new PgCutProxy(server, new URL(databaseUrl));
    server.on('connection', (client) => proxy.relay(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The database URL through this proxy. */
  get url(): string {
    const u = new URL(this.target);
    u.hostname = '127.0.0.1';
    u.port = String((this.server.address() as net.AddressInfo).port);
    return u.toString();
  }

  /** Cuts the next connection that carried `marker` at its next plain COMMIT; resolves once cut. */
  arm(marker: string, mode: Mode): Promise<void> {
    return new Promise((resolve) => (this.armed = { marker, mode, cut: resolve }));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private relay(client: net.Socket): void {
    const server = net.connect(Number(this.target.port || 5432), this.target.hostname);
    for (const s of [client, server]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        server.destroy();
      });
    }
    let marked = false;
    /** After a forwarded COMMIT that must look lost to the client: its answer, swallowed up to ReadyForQuery. */
    let swallowing: (() => void) | null = null;
    client.on('data', framer((message) => {
      const armed = this.armed;
      if (armed && message.includes(armed.marker)) marked = true;
      if (!armed || !marked || !isCommit(message)) return void server.write(message);
      this.armed = null;
      if (armed.mode === 'lost') {
        server.destroy();
        client.destroy();
        return armed.cut();
      }
      swallowing = armed.cut;
      server.write(message);
    }, false));
    server.on('data', framer((message) => {
      if (!swallowing) return void client.write(message);
      if (message[0] !== READY_FOR_QUERY) return;
      client.destroy();
      server.end();
      swallowing();
    }, true));
  }
}
