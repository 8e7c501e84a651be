// A TCP proxy on 127.0.0.1 in front of a real server (e.g. the Temporal frontend), for outage tests:
// `blackhole()` keeps every connection open but passes nothing either way (a server that stopped
// answering, as after a network partition); `restore()` forwards again on new connections.
import net from 'node:net';

export class TcpProxy {
  private blackholed = false;
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((client) => this.accept(client));

  private constructor(private readonly target: { host: string; port: number }) {}

  static async start(target: string): Promise<TcpProxy> {
    const [host, port] = target.split(':');
    const proxy = new TcpProxy({ host, port: Number(port) });
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** From now on nothing passes; the connections stay open, so callers wait rather than fail fast. */
  blackhole(): void {
    this.blackholed = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.removeAllListeners('data');
      socket.on('data', () => undefined);
    }
  }

  /** New connections are forwarded again (the old ones stay black-holed, as after a partition). */
  restore(): void {
    this.blackholed = false;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.blackholed) {
      client.on('data', () => undefined);
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    this.track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
