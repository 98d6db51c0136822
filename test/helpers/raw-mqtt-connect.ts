/**
 * One MQTT CONNECT over a raw TCP socket, from a chosen local address (127.0.0.x: a different
 * "client address" for the hub's throttles), answering the CONNACK return code and how long the
 * answer took. The socket is closed afterwards. 3.1.1, clean session.
 */
import { connect } from 'node:net';
import mqttPacket from 'mqtt-packet';

export interface RawConnectOptions {
  clientId: string;
  username?: string;
  password?: string;
  localAddress?: string;
  timeoutMs?: number;
}

export interface RawConnectResult {
  /** CONNACK return code; null when the connection closed without one (or timed out). */
  returnCode: number | null;
  ms: number;
}

export function rawConnect(port: number, o: RawConnectOptions): Promise<RawConnectResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port, localAddress: o.localAddress });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let settled = false;
    const finish = (returnCode: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ returnCode, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish(null), o.timeoutMs ?? 20_000);
    parser.on('packet', (p) => {
      if (p.cmd === 'connack') finish((p as mqttPacket.IConnackPacket).returnCode ?? null);
    });
    parser.on('error', () => finish(null));
    socket.on('data', (b) => parser.parse(b));
    socket.on('error', () => finish(null));
    socket.on('close', () => finish(null));
    socket.on('connect', () => {
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          keepalive: 30,
          clientId: o.clientId,
          ...(o.username !== undefined ? { username: o.username } : {}),
          ...(o.password !== undefined ? { password: Buffer.from(o.password) } : {}),
        }),
      );
    });
  });
}
