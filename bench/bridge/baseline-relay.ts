/**
 * The floor for bench/bridge: the smallest relay that does the same wire work as TalkHint's agent
 * mode (Twilio JSON in → input_audio_buffer.append out; output_audio.delta in → Twilio media out,
 * a mark every 100 ms), with plain `ws`, no framework, no SDK, no checks. Not a product: it only
 * shows how much of the measured cost is Node + ws + the kernel rather than TalkHint.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'

const upstreamUrl = (process.env.OPENAI_BASE_URL ?? '').replace(/^http/, 'ws') + '/realtime?model=gpt-realtime'
const key = process.env.OPENAI_API_KEY ?? ''
const SESSION = JSON.stringify({ type: 'session.update', session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcmu' } } } } })

const http = createServer((req, res) => {
  req.resume()
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/xml' }).end('<Response/>'))
})
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => relay(ws)))

function relay (twilio: WebSocket): void {
  let upstream: WebSocket | undefined
  let ready = false
  let prefix = ''
  let markPrefix = ''
  let bytes = 0
  let marked = 0
  const pending: string[] = []
  twilio.on('message', (data) => {
    const m = JSON.parse(data.toString())
    if (m.event === 'media') {
      const text = `{"type":"input_audio_buffer.append","audio":"${m.media.payload}"}`
      if (ready) upstream?.send(text)
      else pending.push(text)
    } else if (m.event === 'start') {
      prefix = `{"event":"media","streamSid":"${m.streamSid}","media":{"payload":"`
      markPrefix = `{"event":"mark","streamSid":"${m.streamSid}","mark":{"name":"`
      upstream = new WebSocket(upstreamUrl, { headers: { Authorization: `Bearer ${key}` }, perMessageDeflate: false })
      upstream.on('open', () => upstream?.send(SESSION))
      upstream.on('message', (d) => {
        const e = JSON.parse(d.toString())
        if (e.type === 'response.output_audio.delta') {
          twilio.send(prefix + e.delta + '"}}')
          bytes += e.delta.length * 3 / 4
          if (bytes - marked >= 800) {
            marked = bytes
            twilio.send(`${markPrefix}${e.item_id}:${bytes >> 3}"}}`)
          }
        } else if (e.type === 'session.updated') {
          ready = true
          for (const p of pending.splice(0)) upstream?.send(p)
        }
      })
      upstream.on('error', () => {})
    }
  })
  twilio.on('close', () => upstream?.close())
  twilio.on('error', () => {})
}

http.listen(0, '127.0.0.1', () => process.send?.({ type: 'listening', port: (http.address() as AddressInfo).port }))
process.on('SIGINT', () => process.exit(0))
process.channel?.unref()
