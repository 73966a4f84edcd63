/** One OPENAI_BASE_URL for two local fakes: WebSocket upgrades go to the Realtime fake, HTTP to the Responses fake. */
import { createServer, request, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'

export interface OpenAIProxy { readonly url: string, close (): Promise<void> }

/** `realtimeUrl` and `httpUrl` are the fakes' base URLs (http://127.0.0.1:PORT/v1). */
export async function startOpenAIProxy (realtimeUrl: string, httpUrl: string): Promise<OpenAIProxy> {
  const rt = new URL(realtimeUrl)
  const http = new URL(httpUrl)
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    const up = request({ host: http.hostname, port: http.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on('error', () => res.destroy())
    res.on('close', () => up.destroy())
    req.pipe(up)
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.on('upgrade', (req, socket, head) => {
    const up = connect({ host: rt.hostname, port: Number(rt.port) }, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
      up.write(lines.join('\r\n') + '\r\n\r\n')
      if (head.length > 0) up.write(head)
      up.pipe(socket)
      socket.pipe(up)
    })
    sockets.add(up)
    up.on('close', () => { sockets.delete(up); socket.destroy() })
    up.on('error', () => socket.destroy())
    socket.on('error', () => up.destroy())
    socket.on('close', () => up.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
