/**
 * `npm run demo`: TalkHint with embedded defaults, no Twilio or OpenAI account needed. Starts the real server
 * (every plugin, signature checks on, SQLite history under ./data), plays one simulated phone call through it
 * with the call simulator, prints what the dashboard shows (transcript, hints, summary), then keeps serving so
 * you can open the dashboard and the call's history. Without OPENAI_API_KEY the AI is a local stand-in that
 * speaks the real Realtime and Responses wire protocols with canned words (fakes/openai-demo.ts); with a
 * key, the real OpenAI API is used.
 *
 * Options: --exit (stop after the call instead of serving), --speed N (the call runs N× real time), --agent
 * (the AI answers the call instead of assisting a human). Any env setting (PORT, DATABASE_URL, MODE…) wins.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { buildApp } from '../src/app.ts'
import { wavToMulaw8k } from '../src/audio/convert.ts'
import { mulawSilence } from '../src/audio/mulaw.ts'
import { ConfigError, loadConfig, type Config } from '../src/config.ts'
import { loggerOptions } from '../src/log.ts'
import { FIXTURES, formatEvent, formatSummary, randomSid, simulateCall, type SimResult } from './sim/index.ts'
import { watchDashboard } from './sim/dashboard-watch.ts'
import { startDemoOpenAI, type DemoOpenAI } from '../fakes/openai-demo.ts'
import { startFakeTwilioRest, type CreatedCall, type FakeTwilioRest } from '../fakes/twilio-rest.ts'

const { values: args } = parseArgs({
  options: {
    exit: { type: 'boolean' },
    agent: { type: 'boolean' },
    speed: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (args.help === true) {
  process.stdout.write('Usage: npm run demo [-- --exit] [-- --agent] [-- --speed N]\n')
  process.exit(0)
}
const speed = Number(args.speed ?? 1)
if (!(speed > 0)) {
  process.stderr.write('demo: --speed must be a positive number\n')
  process.exit(64)
}

const print = (line = ''): void => { process.stdout.write(line + '\n') }
const token = (bytes: number): string => randomBytes(bytes).toString('base64url')

// Embedded defaults: a fictional public URL (the simulator signs against it exactly as Twilio would against
// yours), generated Twilio credentials and dashboard token, fictional 555 numbers. The environment wins.
const env: Record<string, string | undefined> = {
  PUBLIC_BASE_URL: 'https://talkhint-demo.example.com',
  // Agent mode runs without Twilio REST, as a server without TWILIO_ACCOUNT_SID does: the agent's transfer ends its
  // stream and <Connect action> answers with the warm transfer, which the simulator plays (tools/sim/transfer.ts).
  ...(args.agent === true ? {} : { TWILIO_ACCOUNT_SID: `AC${randomBytes(16).toString('hex')}` }),
  TWILIO_AUTH_TOKEN: randomBytes(16).toString('hex'),
  TWILIO_PHONE_NUMBER: '+15555550100',
  OPERATOR_PHONE: '+15555550123',
  DASHBOARD_TOKEN: token(18),
  DATABASE_URL: 'sqlite:./data/demo.db',
  LOG_LEVEL: 'warn',
  MODE: args.agent === true ? 'agent' : 'assist',
  ...process.env,
}
// Without real Twilio credentials, the Twilio REST API is a local fake too: "Call a number" on the dashboard and
// WhatsApp sends work, and a click-to-call is played by the simulator (your phone would ring first, then the callee).
let twilio: FakeTwilioRest | undefined
const placed: CreatedCall[] = []
let onPlaced: (call: CreatedCall) => void = (call) => { placed.push(call) }
if (env.TWILIO_ACCOUNT_SID !== undefined && (process.env.TWILIO_ACCOUNT_SID === undefined || process.env.TWILIO_AUTH_TOKEN === undefined)) {
  env.TWILIO_WHATSAPP_NUMBER ??= '+15555550100'
  twilio = await startFakeTwilioRest({
    accountSid: env.TWILIO_ACCOUNT_SID as string,
    authToken: env.TWILIO_AUTH_TOKEN as string,
    onCallCreated: (call) => onPlaced(call),
  })
  env.TWILIO_API_BASE_URL = twilio.url
}

// A fixed default port is friendlier (the URL stays the same between runs); fall back to any free port.
const wantedPort = env.PORT ?? '8080'

let ai: DemoOpenAI | undefined
if (env.OPENAI_API_KEY === undefined || env.OPENAI_API_KEY === '') {
  ai = await startDemoOpenAI()
  env.OPENAI_API_KEY = ai.apiKey
  env.OPENAI_BASE_URL = ai.url
}

let config: Config
try {
  config = loadConfig({ ...env, PORT: wantedPort })
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`demo: TalkHint cannot start.\n${err.message}\n`)
    process.exit(78)
  }
  throw err
}
if (config.databaseUrl.startsWith('sqlite:')) mkdirSync('data', { recursive: true })

const app = await buildApp(config, {
  logger: loggerOptions({ level: config.logLevel, logPhoneNumbers: config.logPhoneNumbers, pretty: process.stdout.isTTY === true }),
})
let address: string
try {
  address = await app.listen({ port: config.port, host: env.HOST ?? '127.0.0.1' })
} catch (err) {
  if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
  print(`port ${config.port} is busy; using a free port instead (set PORT to choose one)`)
  address = await app.listen({ port: 0, host: env.HOST ?? '127.0.0.1' })
}

let closing = false
async function shutdown (code: number): Promise<void> {
  if (closing) return
  closing = true
  await app.close()
  await ai?.close()
  await twilio?.close()
  process.exit(code)
}
process.once('SIGINT', () => { shutdown(0).catch(() => process.exit(1)) })
process.once('SIGTERM', () => { shutdown(0).catch(() => process.exit(1)) })

print('')
print(`TalkHint demo: ${config.mode} mode, ${ai !== undefined ? 'AI = local stand-in (no OPENAI_API_KEY; canned words, real wire protocols)' : `AI = OpenAI at ${config.openaiBaseUrl}`}`)
print(`server   ${address}  (history in ${config.databaseUrl})`)
print('')
print(`Simulating a phone call: the caller says ${FIXTURES.caller.split('/').pop()}, the operator ${FIXTURES.operator.split('/').pop()}${speed !== 1 ? `, at ${speed}× speed` : ''}.`)

/**
 * Agent mode: the caller lets the greeting finish before speaking, as people do (this much μ-law silence first),
 * so the demo shows greeting, question, answer; a caller who talks at once would barge in on the greeting.
 */
const GREETING_PAUSE_MS = 4000
const caller = config.mode === 'agent'
  ? { mulaw: Buffer.concat([mulawSilence(GREETING_PAUSE_MS), wavToMulaw8k(readFileSync(FIXTURES.caller)).mulaw]) }
  : FIXTURES.caller

/** One simulated call through the server, printed as it goes: the call's own log, then what the dashboard shows. */
async function playCall (callSid: string, leg: { from: string, to: string, outbound?: string }): Promise<SimResult> {
  const watch = watchDashboard({ serverUrl: address, token: config.dashboardToken, callSid, onLine: print })
  await watch.ready
  const result = await simulateCall({
    serverUrl: address,
    publicBaseUrl: config.publicBaseUrl,
    authToken: config.twilioAuthToken,
    accountSid: config.twilioAccountSid,
    callSid,
    ...leg,
    caller,
    speed,
    onEvent: (e) => {
      if (e.type === 'audio' || e.type === 'status.callback') return
      const line = formatEvent(e)
      if (line !== undefined) print(line)
    },
  })
  await watch.finish(20_000)
  for (const line of formatSummary(result)) print(line)
  return result
}

const callSid = randomSid('CA')
const result = await playCall(callSid, { from: '+15555550142', to: config.twilioPhoneNumber ?? '+15555550100' })

const base = address
print('')
print('Dashboard')
print(`  open     ${base}/           (live calls; this call stays readable)`)
print(`  history  ${base}/history.html  (every call, searchable; this one is ${callSid})`)
print(`  log in with the dashboard token: ${config.dashboardToken}`)
print(`  another call: DASHBOARD_TOKEN=${config.dashboardToken} npm run call -- --server ${address} --public-base-url ${config.publicBaseUrl} --auth-token ${config.twilioAuthToken}`)
print('')

if (args.exit === true) {
  await shutdown(result.ok ? 0 : 1)
} else {
  if (twilio !== undefined) {
    // Click-to-call from the dashboard: the fake Twilio accepted Calls.create; play that leg like Twilio would.
    let queue = Promise.resolve()
    onPlaced = (call) => {
      const to = call.url === undefined ? undefined : new URL(call.url).searchParams.get('to') ?? undefined
      if (to === undefined) return
      print('')
      print(`Click-to-call ${call.sid}: ringing the operator ${call.to}, then dialling ${to} (simulated).`)
      queue = queue.then(async () => { await playCall(call.sid, { from: call.from, to: call.to, outbound: to }) }).catch((err: unknown) => {
        print(`!  the simulated click-to-call failed: ${(err as Error).message}`)
      })
    }
    for (const call of placed.splice(0)) onPlaced(call)
    print('"Call a number" on the dashboard places a simulated call here (Twilio is a local fake in this demo).')
  }
  print('Serving until Ctrl-C.')
}
