/** Doctor networking: HTTP GET and a WebSocket handshake, optionally mapped to another address (--connect). */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import WebSocket from 'ws'
import type { HandshakeResult, HttpGet, WsHandshake } from './types.ts'

const MAX_BODY = 64 * 1024

/** A network failure with a Node-style code (ECONNREFUSED, ENOTFOUND, ETIMEDOUT, CERT_…). */
export class NetworkError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'NetworkError'
    this.code = code
  }
}

interface Target {
  /** Where the bytes go. */
  readonly url: URL
  /** The public host, sent as Host (and TLS SNI) when mapped. */
  readonly host: string | undefined
}

/**
 * Like `curl --connect-to`: keeps the public URL's path and Host header but connects to `connect`
 * (e.g. http://127.0.0.1:8080 for a local server or the local end of a tunnel).
 */
export function mapToConnect (publicUrl: string, connect: string | undefined): Target {
  const url = new URL(publicUrl)
  if (connect === undefined) return { url, host: undefined }
  const to = new URL(connect)
  const secure = to.protocol === 'https:' || to.protocol === 'wss:'
  const ws = url.protocol === 'wss:' || url.protocol === 'ws:'
  const mapped = new URL(url.pathname + url.search, `${secure ? 'https' : 'http'}://${to.host}`)
  if (ws) mapped.protocol = secure ? 'wss:' : 'ws:'
  return { url: mapped, host: url.host }
}

/** Checks that a --connect value is an http(s) origin; returns the problem, if any. */
export function connectProblem (connect: string): string | undefined {
  let u: URL
  try {
    u = new URL(connect)
  } catch {
    return `--connect must be a URL like http://127.0.0.1:8080 (got "${connect}")`
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return '--connect must start with http:// or https://'
  if (u.pathname !== '/' || u.search !== '') return '--connect takes an origin only (scheme, host and port), no path'
  return undefined
}

const asNetworkError = (err: unknown): NetworkError => {
  if (err instanceof NetworkError) return err
  const e = err as { code?: string, message?: string }
  if (typeof e.code === 'string') return new NetworkError(e.code, e.message ?? e.code)
  // ws reports its own handshake timeout without a code.
  if (/timed out/i.test(e.message ?? '')) return new NetworkError('ETIMEDOUT', e.message ?? 'timed out')
  return new NetworkError('EUNKNOWN', e.message ?? String(err))
}

/** GET over node:http(s), honouring --connect; bodies are capped at 64 KiB. */
export function createHttpGet (opts: { connect?: string } = {}): HttpGet {
  return (publicUrl, timeoutMs) => new Promise((resolve, reject) => {
    const target = mapToConnect(publicUrl, opts.connect)
    const secure = target.url.protocol === 'https:'
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'talkhint-doctor' }
    if (target.host !== undefined) headers.host = target.host
    const send = secure ? httpsRequest : httpRequest
    const req = send(target.url, {
      method: 'GET',
      headers,
      // One-shot requests: no keep-alive socket left to delay the CLI's exit.
      agent: false,
      ...(secure && target.host !== undefined ? { servername: new URL(publicUrl).hostname } : {}),
    }, (res: IncomingMessage) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { if (body.length < MAX_BODY) body += chunk })
      res.on('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, body })
      })
      res.on('error', (err) => { clearTimeout(timer); reject(asNetworkError(err)) })
    })
    const timer = setTimeout(() => req.destroy(new NetworkError('ETIMEDOUT', `no answer within ${timeoutMs} ms`)), timeoutMs)
    req.on('error', (err) => { clearTimeout(timer); reject(asNetworkError(err)) })
    req.end()
  })
}

/** Opens a WebSocket with one subprotocol, reports how the handshake went, and closes it (1000) at once. */
export function createWsHandshake (opts: { connect?: string } = {}): WsHandshake {
  return (publicUrl, { protocol, headers, timeoutMs }) => new Promise<HandshakeResult>((resolve, reject) => {
    const target = mapToConnect(publicUrl, opts.connect)
    const ws = new WebSocket(target.url, [protocol], {
      headers: { 'user-agent': 'talkhint-doctor', ...headers, ...(target.host !== undefined ? { host: target.host } : {}) },
      handshakeTimeout: timeoutMs,
      perMessageDeflate: false,
      ...(target.url.protocol === 'wss:' && target.host !== undefined ? { servername: new URL(publicUrl).hostname } : {}),
    })
    let settled = false
    const settle = (fn: () => void): void => {
      if (settled) return
      settled = true
      fn()
    }
    ws.on('open', () => {
      settle(() => resolve({ kind: 'open', protocol: ws.protocol }))
      ws.close(1000, 'talkhint doctor')
      // A server that never answers the close frame must not keep the doctor alive.
      setTimeout(() => ws.terminate(), 1000).unref()
    })
    ws.on('unexpected-response', (req, res) => {
      settle(() => resolve({ kind: 'refused', status: res.statusCode ?? 0 }))
      res.resume()
      req.destroy()
    })
    ws.on('error', (err) => {
      // ws fails the handshake itself when the server picks no subprotocol or another one.
      if (/subprotocol/i.test(err.message)) settle(() => resolve({ kind: 'subprotocol', detail: err.message }))
      else settle(() => reject(asNetworkError(err)))
    })
  })
}
