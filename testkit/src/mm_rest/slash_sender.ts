/**
 * The outgoing request Mattermost makes to a custom slash command's URL (app.DoCommandRequest),
 * through the "untrusted" HTTP client: reserved/private/own addresses are refused unless the host
 * name or a CIDR is listed in ServiceSettings.AllowedUntrustedInternalConnections; 3 s to connect,
 * 30 s overall; the reply body is read up to 1 MiB.
 */
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { gunzipSync } from 'node:zlib';

/** httpservice reservedIPRanges (RFC 6890 and friends). */
const RESERVED: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
];

/** model.MaxIntegrationResponseSize. */
export const MAX_INTEGRATION_RESPONSE = 1024 * 1024;

function family(ip: string): 'ipv4' | 'ipv6' {
  return isIP(ip) === 6 ? 'ipv6' : 'ipv4';
}

function isReservedOrOwn(ip: string): boolean {
  const bl = new BlockList();
  for (const [net, prefix, fam] of RESERVED) bl.addSubnet(net, prefix, fam);
  if (bl.check(ip, family(ip))) return true;
  return Object.values(networkInterfaces())
    .flat()
    .some((a) => a?.address === ip);
}

function inAllowedCidr(ip: string, allowed: string[]): boolean {
  for (const entry of allowed) {
    const m = /^(.+)\/(\d+)$/.exec(entry);
    if (!m || isIP(m[1]!) === 0) continue;
    const bl = new BlockList();
    bl.addSubnet(m[1]!, Number(m[2]), family(m[1]!));
    if (bl.check(ip, family(ip))) return true;
  }
  return false;
}

/** The address to dial for `host`, or an Error like the untrusted client's dialer returns. */
export async function guardedAddress(
  host: string,
  allowedSetting: string,
): Promise<{ address: string; family: number }> {
  const allowed = allowedSetting.split(/[\s,]+/).filter(Boolean);
  const bare = host.replace(/^\[|\]$/g, '');
  const addrs = isIP(bare) ? [{ address: bare, family: isIP(bare) }] : await lookup(bare, { all: true });
  if (allowed.includes(bare)) return addrs[0]!;
  const ok = addrs.find((a) => !isReservedOrOwn(a.address) || inAllowedCidr(a.address, allowed));
  if (!ok) {
    throw new Error(
      `address forbidden, you may need to set AllowedUntrustedInternalConnections to allow an integration access to your internal network (${bare} resolves to ${addrs.map((a) => a.address).join(', ')})`,
    );
  }
  return ok;
}

export interface CommandHttpRequest {
  url: string;
  method: 'P' | 'G';
  token: string;
  /** Go-encoded url.Values. */
  form: string;
  allowedUntrusted: string;
  connectMs: number;
  totalMs: number;
}

export interface CommandHttpReply {
  status: number;
  /** Go's resp.Status, e.g. "500 Internal Server Error". */
  statusLine: string;
  contentType: string;
  body: string;
}

/** Sends the request; rejects on a refused address, connection failure or timeout. */
export async function sendCommandRequest(r: CommandHttpRequest): Promise<CommandHttpReply> {
  const u = new URL(r.url);
  const target = await guardedAddress(u.hostname, r.allowedUntrusted);
  if (r.method === 'G') u.search = u.search ? `${u.search}&${r.form}` : `?${r.form}`;
  const headers: Record<string, string> = {
    'User-Agent': 'Mattermost-Bot/1.1',
    Accept: 'application/json',
    Authorization: `Token ${r.token}`,
    'Accept-Encoding': 'gzip',
  };
  if (r.method === 'P') {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    headers['Content-Length'] = String(Buffer.byteLength(r.form));
  }
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise<CommandHttpReply>((resolve, reject) => {
    const req = mod.request(u, {
      method: r.method === 'P' ? 'POST' : 'GET',
      headers,
      // Dial exactly the address that passed the guard (no second resolution).
      lookup: (_h, opts, cb) => {
        if ((opts as { all?: boolean }).all) {
          (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [target]);
        } else cb(null, target.address, target.family);
      },
    });
    const overall = setTimeout(
      () => req.destroy(new Error(`Client.Timeout exceeded after ${r.totalMs} ms`)),
      r.totalMs,
    );
    req.on('socket', (sock) => {
      if (!sock.connecting) return;
      const dial = setTimeout(
        () => req.destroy(new Error(`dial tcp ${target.address}: i/o timeout after ${r.connectMs} ms`)),
        r.connectMs,
      );
      sock.once('connect', () => clearTimeout(dial));
      sock.once('close', () => clearTimeout(dial));
    });
    req.on('error', (e) => {
      clearTimeout(overall);
      reject(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_INTEGRATION_RESPONSE) chunks.push(c.subarray(0, MAX_INTEGRATION_RESPONSE - size));
        size += c.length;
      });
      res.on('error', (e) => {
        clearTimeout(overall);
        reject(e);
      });
      res.on('end', () => {
        clearTimeout(overall);
        let buf = Buffer.concat(chunks);
        if (res.headers['content-encoding'] === 'gzip') buf = gunzipSync(buf);
        const status = res.statusCode ?? 0;
        resolve({
          status,
          statusLine: `${status} ${res.statusMessage ?? ''}`.trim(),
          contentType: res.headers['content-type'] ?? '',
          body: buf.toString('utf8'),
        });
      });
    });
    if (r.method === 'P') req.end(r.form);
    else req.end();
  });
}
