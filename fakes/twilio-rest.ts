/** A local fake of Twilio's REST API (2010-04-01): Calls, Messages, IncomingPhoneNumbers, with Basic auth. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'

export interface RecordedRequest {
  method: string
  /** Path without the query string, e.g. /2010-04-01/Accounts/AC…/Calls.json */
  path: string
  query: Record<string, string>
  /** Form params; repeated keys (StatusCallbackEvent) become arrays, as Twilio reads them. */
  params: Record<string, string | string[]>
  username: string
}

export interface FakeNumber { sid: string, phone_number: string, voice_url: string, voice_method: string }

export interface FakeTwilioRest {
  /** Base URL to give TWILIO_API_BASE_URL, e.g. http://127.0.0.1:PORT */
  readonly url: string
  readonly requests: RecordedRequest[]
  readonly numbers: FakeNumber[]
  /** Makes the next Messages.create fail with this Twilio error (e.g. 63016). */
  failNextMessage (code: number, message: string, status?: number): void
  /** Resolves with the next request whose path matches. */
  waitFor (pathPattern: RegExp, timeoutMs?: number): Promise<RecordedRequest>
  close (): Promise<void>
}

const sid = (prefix: string): string => prefix + randomBytes(16).toString('hex')

function parseForm (body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k]
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return out
}

/**
 * Starts the fake on an ephemeral loopback port. It checks Basic auth against the given
 * account SID and token and answers with the JSON shapes the `twilio` SDK parses.
 */
/** `machineDetection`: the AMD mode asked for (Enable, DetectMessageEnd), undefined without AMD. */
export interface CreatedCall { sid: string, to: string, from: string, url: string | undefined, statusCallback: string | undefined, machineDetection: string | undefined }

/**
 * What Twilio accepts for answering machine detection on Calls.create (twilio.com/docs/voice/answering-machine-detection):
 * the two modes, AsyncAmd true/false, and MachineDetectionTimeout 3-59 s. Anything else is refused with a 400.
 */
const MACHINE_DETECTION = new Set(['Enable', 'DetectMessageEnd'])
function amdProblem (one: (k: string) => string | undefined): string | undefined {
  const md = one('MachineDetection')
  if (md !== undefined && !MACHINE_DETECTION.has(md)) return `MachineDetection must be Enable or DetectMessageEnd (got "${md}")`
  const asyncAmd = one('AsyncAmd')
  if (asyncAmd !== undefined && asyncAmd !== 'true' && asyncAmd !== 'false') return `AsyncAmd must be true or false (got "${asyncAmd}")`
  const timeout = one('MachineDetectionTimeout')
  if (timeout !== undefined && !(/^\d+$/.test(timeout) && Number(timeout) >= 3 && Number(timeout) <= 59)) return `MachineDetectionTimeout must be 3 to 59 seconds (got "${timeout}")`
  return undefined
}

export async function startFakeTwilioRest (opts: {
  accountSid: string
  authToken: string
  numbers?: FakeNumber[]
  /** Called after a Calls.create was answered (the demo places the call with the simulator). */
  onCallCreated?: (call: CreatedCall) => void
}): Promise<FakeTwilioRest> {
  const requests: RecordedRequest[] = []
  const numbers: FakeNumber[] = opts.numbers ?? []
  const waiters: Array<{ re: RegExp, resolve: (r: RecordedRequest) => void }> = []
  let nextMessageError: { code: number, message: string, status: number } | undefined
  const base = `/2010-04-01/Accounts/${opts.accountSid}`

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const twilioError = (res: ServerResponse, status: number, code: number, message: string): void =>
    json(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status })

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://fake')
    const auth = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString()
    const [username, password] = auth.split(':')
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      params: parseForm(body),
      username: username ?? '',
    }
    requests.push(rec)
    for (const w of [...waiters]) {
      if (w.re.test(rec.path)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(rec)
      }
    }
    if (username !== opts.accountSid || password !== opts.authToken) return twilioError(res, 401, 20003, 'Authenticate')
    const p = rec.params
    const one = (k: string): string | undefined => { const v = p[k]; return Array.isArray(v) ? v[0] : v }
    let m: RegExpExecArray | null
    if (rec.method === 'POST' && rec.path === `${base}/Calls.json`) {
      for (const k of ['To', 'From']) if (one(k) === undefined) return twilioError(res, 400, 21201, `Missing required parameter ${k}`)
      if (one('Url') === undefined && one('Twiml') === undefined) return twilioError(res, 400, 21205, 'Url or Twiml is required')
      const amd = amdProblem(one)
      if (amd !== undefined) return twilioError(res, 400, 20001, amd)
      const created = { sid: sid('CA'), to: one('To') ?? '', from: one('From') ?? '', url: one('Url'), statusCallback: one('StatusCallback'), machineDetection: one('MachineDetection') }
      json(res, 201, { sid: created.sid, account_sid: opts.accountSid, to: created.to, from: created.from, status: 'queued', direction: 'outbound-api', date_created: new Date().toUTCString() })
      opts.onCallCreated?.(created)
      return
    }
    if (rec.method === 'POST' && (m = new RegExp(`^${base}/Calls/(CA[0-9a-zA-Z]+)\\.json$`).exec(rec.path)) !== null) {
      return json(res, 200, { sid: m[1], account_sid: opts.accountSid, status: one('Status') ?? 'in-progress' })
    }
    // Stream update: Twilio accepts only Status=stopped (twilio.com/docs/voice/api/stream-resource#update-a-stream-resource).
    if (rec.method === 'POST' && (m = new RegExp(`^${base}/Calls/(CA[0-9a-zA-Z]+)/Streams/(MZ[0-9a-zA-Z]+|[\\w-]+)\\.json$`).exec(rec.path)) !== null) {
      if (one('Status') !== 'stopped') return twilioError(res, 400, 20001, 'Status must be stopped')
      return json(res, 200, { sid: m[2], account_sid: opts.accountSid, call_sid: m[1], status: 'stopped', name: null })
    }
    if (rec.method === 'POST' && rec.path === `${base}/Messages.json`) {
      if (nextMessageError !== undefined) {
        const e = nextMessageError
        nextMessageError = undefined
        return twilioError(res, e.status, e.code, e.message)
      }
      return json(res, 201, { sid: sid('SM'), account_sid: opts.accountSid, to: one('To'), from: one('From'), body: one('Body'), status: 'queued', date_created: new Date().toUTCString() })
    }
    if (rec.method === 'GET' && rec.path === `${base}/IncomingPhoneNumbers.json`) {
      const want = rec.query.PhoneNumber
      const list = numbers.filter((n) => want === undefined || n.phone_number === want)
      return json(res, 200, { incoming_phone_numbers: list.map((n) => ({ ...n, account_sid: opts.accountSid })), next_page_uri: null, page: 0, page_size: 50, start: 0, end: list.length, uri: rec.path })
    }
    if (rec.method === 'POST' && (m = new RegExp(`^${base}/IncomingPhoneNumbers/(PN[0-9a-zA-Z]+)\\.json$`).exec(rec.path)) !== null) {
      const n = numbers.find((x) => x.sid === m?.[1])
      if (n === undefined) return twilioError(res, 404, 20404, 'The requested resource was not found')
      if (one('VoiceUrl') !== undefined) n.voice_url = one('VoiceUrl') as string
      if (one('VoiceMethod') !== undefined) n.voice_method = one('VoiceMethod') as string
      return json(res, 200, { ...n, account_sid: opts.accountSid })
    }
    return twilioError(res, 404, 20404, 'The requested resource was not found')
  }

  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => { body += c })
    req.on('end', () => handle(req, res, body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    numbers,
    failNextMessage (code, message, status = 400) { nextMessageError = { code, message, status } },
    waitFor (re, timeoutMs = 5000) {
      const hit = requests.find((r) => re.test(r.path))
      if (hit !== undefined) return Promise.resolve(hit)
      return new Promise((resolve, reject) => {
        const w = { re, resolve: (r: RecordedRequest) => { clearTimeout(timer); resolve(r) } }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1)
          reject(new Error(`no request matching ${re} within ${timeoutMs} ms`))
        }, timeoutMs)
        waiters.push(w)
      })
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

export const FAKE_ACCOUNT_SID = 'AC' + '0123456789abcdef'.repeat(2)
