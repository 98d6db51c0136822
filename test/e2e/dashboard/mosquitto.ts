/** Publishes as a device with Debian's `mosquitto_pub` (a real, independent MQTT client). */
import { execFile } from 'node:child_process';

export function mosquittoPub(opts: { port: number; device: string; secret: string; topic: string; message: string; qos?: 0 | 1 }): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'mosquitto_pub',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(opts.port),
        '-V',
        'mqttv311',
        '-i',
        opts.device,
        '-u',
        opts.device,
        '-P',
        opts.secret,
        '-t',
        opts.topic,
        '-q',
        String(opts.qos ?? 1),
        '-m',
        opts.message,
      ],
      { timeout: 5000 },
      (err, _stdout, stderr) => (err ? reject(new Error(`mosquitto_pub failed: ${err.message} ${stderr}`)) : resolve()),
    );
  });
}
