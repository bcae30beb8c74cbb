// Listening on "all interfaces" for both address families, as RabbitMQ does by default, and the
// IPv4 address of an IPv4 client on such a dual-stack socket ("::ffff:127.0.0.1" -> "127.0.0.1",
// as RabbitMQ shows it), and both ends of a connection's socket.

/** The default host: every interface, IPv6 and IPv4. */
export const ALL_INTERFACES = '::';

/**
 * The host to hand to net's listen(): none for ALL_INTERFACES, so that Node binds "::" where the
 * machine has IPv6 and "0.0.0.0" where it does not.
 */
export function listenHost(host: string): string | undefined {
  return host === ALL_INTERFACES ? undefined : host;
}

/** An IPv4-mapped IPv6 address as plain IPv4; other addresses unchanged. */
export function plainAddress(address: string | undefined): string | undefined {
  return address !== undefined && address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Both ends of a client's socket, as the connection lists them; "local"/0 for a stream pair. */
export function socketEnds(socket: object): { remoteAddress: string; remotePort: number; localAddress: string; localPort: number } {
  const s = socket as { remoteAddress?: string; remotePort?: number; localAddress?: string; localPort?: number };
  return {
    remoteAddress: plainAddress(s.remoteAddress) ?? 'local',
    remotePort: s.remotePort ?? 0,
    localAddress: plainAddress(s.localAddress) ?? 'local',
    localPort: s.localPort ?? 0,
  };
}
