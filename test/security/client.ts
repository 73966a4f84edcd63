/** Attacker-style HTTP client for the security tests: real sockets from a chosen loopback address, raw headers. */
import { request } from 'node:http'

export interface Reply { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/**
 * One request from `localAddress` (any 127.x.y.z works on Linux loopback), so several "clients" on one machine
 * are different socket peers to the server, as they would be on the internet.
 */
export async function send (base: string, opts: { method?: string, path: string, headers?: Record<string, string>, body?: string, from?: string }): Promise<Reply> {
  const url = new URL(opts.path, base)
  return await new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: opts.method ?? 'GET',
      headers: { ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers },
      localAddress: opts.from,
      agent: false,
    }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** POST /login with a JSON token. */
export async function login (base: string, token: string, from: string, headers: Record<string, string> = {}): Promise<Reply> {
  return await send(base, { method: 'POST', path: '/login', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }), from })
}
