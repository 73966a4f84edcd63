/** `npm run call`: plays Twilio against a running TalkHint, so anyone can try a call without a phone. */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { mulawToPcm16Wav } from '../src/audio/convert.ts'
import { FIXTURES, SimError, formatEvent, formatSummary, randomSid, simulateCall, type SimEvent } from './sim/index.ts'
import { watchDashboard, type DashboardWatch } from './sim/dashboard-watch.ts'

const HELP = `Usage: npm run call -- [options]

Plays Twilio against a running TalkHint: signs and POSTs the voice webhook, reads the TwiML,
opens the <Stream> with Twilio's handshake and streams two spoken WAVs in real time (caller on
the caller's track, operator on the other); on a <Connect> stream it also plays the server's
audio, answers marks and clears as Twilio does, and can write what the caller heard to a WAV.

Options:
  --server URL            the running TalkHint (default http://127.0.0.1:$PORT, PORT defaults to 8080)
  --public-base-url URL   PUBLIC_BASE_URL the server was started with (default: env PUBLIC_BASE_URL)
  --auth-token TOKEN      TWILIO_AUTH_TOKEN the server was started with (default: env TWILIO_AUTH_TOKEN)
  --env-file FILE         read settings from this .env file (default: ./.env if present; real env wins)
  --caller FILE           the remote party's audio, any common WAV (default: tools/sim/fixtures/caller.wav)
  --operator FILE         the operator's audio in assist mode (default: tools/sim/fixtures/operator.wav)
  --from +E164            inbound: the caller's number; --outbound: our Twilio number (default +15555550100)
  --to +E164              inbound: our Twilio number; --outbound: the operator's phone (default +15555550199)
  --outbound +E164        simulate the click-to-call leg instead (POST /twilio/outbound?to=+E164);
                          its inbound track is the operator, so the files swap tracks
  --dtmf D@T              press digit D at call time T (2.5s, 2500ms or 2.5); repeat or comma-separate;
                          sent only on <Connect> streams (Twilio sends no DTMF on <Start>)
  --out FILE              on <Connect>: write what the caller heard (16-bit PCM, 8 kHz mono WAV,
                          silence between replies, so it lines up with the call)
  --speed N               run N times faster than real time (default 1)
  --tail SECONDS          silence streamed after the audio ends (default 1, or 3 on <Connect>)
  --no-subprotocol        offer no WebSocket subprotocol (default offers audio.twilio.com)
  --no-callbacks          do not POST the stream-status and call-status callbacks
  --dashboard-token TOKEN DASHBOARD_TOKEN the server was started with (default: env DASHBOARD_TOKEN);
                          with it, the call's transcript, hints and summary are printed as the
                          dashboard sees them (GET /ui)
  --no-dashboard          do not watch the dashboard socket
  --quiet                 print only problems and the summary
  --json                  print the result as JSON instead of the summary
  -h, --help              show this help

Exit codes: 0 clean call · 1 the call ran but something Twilio would call an error happened
· 2 the call could not run (server unreachable, 403, bad TwiML, stream refused, bad audio)
· 64 bad options · 130 interrupted (Ctrl-C sends stop first, as a hang-up would).`

function fail (code: number, message: string): never {
  process.stderr.write(`call: ${message}\n`)
  process.exit(code)
}

/** "1@2.5s,2@3000ms" → [{digit:'1', atMs:2500}, …] */
function parseDtmf (specs: string[]): Array<{ digit: string, atMs: number }> {
  return specs.flatMap((s) => s.split(',')).filter((s) => s !== '').map((spec) => {
    const m = /^([0-9*#wW])@(\d+(?:\.\d+)?)(ms|s)?$/.exec(spec.trim())
    if (m === null) fail(64, `--dtmf "${spec}" must look like 1@2.5s (digit @ time)`)
    return { digit: m[1], atMs: Number(m[2]) * (m[3] === 'ms' ? 1 : 1000) }
  })
}

async function main (): Promise<void> {
  let args
  try {
    args = parseArgs({
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        'public-base-url': { type: 'string' },
        'auth-token': { type: 'string' },
        'env-file': { type: 'string' },
        caller: { type: 'string' },
        operator: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        outbound: { type: 'string' },
        dtmf: { type: 'string', multiple: true },
        out: { type: 'string' },
        speed: { type: 'string' },
        tail: { type: 'string' },
        'no-subprotocol': { type: 'boolean' },
        'no-callbacks': { type: 'boolean' },
        'dashboard-token': { type: 'string' },
        'no-dashboard': { type: 'boolean' },
        quiet: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (err) {
    fail(64, `${(err as Error).message}\nRun "npm run call -- --help" for the options.`)
  }
  if (args.help === true) {
    process.stdout.write(HELP + '\n')
    return
  }
  const envFile = args['env-file'] ?? (existsSync('.env') ? '.env' : undefined)
  if (envFile !== undefined) {
    try {
      process.loadEnvFile(envFile)
    } catch (err) {
      fail(64, `cannot read --env-file ${envFile}: ${(err as Error).message}`)
    }
  }
  const env = process.env
  const publicBaseUrl = args['public-base-url'] ?? env.PUBLIC_BASE_URL
  const authToken = args['auth-token'] ?? env.TWILIO_AUTH_TOKEN
  if (publicBaseUrl === undefined || publicBaseUrl === '') fail(64, 'PUBLIC_BASE_URL is not set: pass --public-base-url or set it in the environment or .env, exactly as the server has it')
  if (authToken === undefined || authToken === '') fail(64, 'TWILIO_AUTH_TOKEN is not set: pass --auth-token or set it in the environment or .env, exactly as the server has it')
  const speed = args.speed === undefined ? 1 : Number(args.speed)
  if (!(speed > 0 && Number.isFinite(speed))) fail(64, `--speed must be a positive number (got ${args.speed})`)
  const tail = args.tail === undefined ? undefined : Number(args.tail)
  if (tail !== undefined && !(tail >= 0)) fail(64, `--tail must be a number of seconds (got ${args.tail})`)

  const quiet = args.quiet === true || args.json === true
  // Extension point: every SimEvent passes through here. A dashboard watcher (the /ui socket) can
  // print transcripts and hints into the same log by calling `print` with its own lines.
  const print = (line: string): void => { process.stdout.write(line + '\n') }
  const onEvent = (e: SimEvent): void => {
    if (quiet && !(e.type === 'problem' && !args.json)) return
    const line = formatEvent(e)
    if (line !== undefined) print(line)
  }
  // Ctrl-C hangs up like a caller would (stop, then close) and still prints the summary.
  const abort = new AbortController()
  process.once('SIGINT', () => {
    abort.abort()
    process.once('SIGINT', () => process.exit(130))
  })

  const serverUrl = args.server ?? `http://127.0.0.1:${env.PORT ?? 8080}`
  const callSid = randomSid('CA')
  const dashboardToken = args['dashboard-token'] ?? env.DASHBOARD_TOKEN
  let watch: DashboardWatch | undefined
  if (args['no-dashboard'] !== true && !quiet && dashboardToken !== undefined && dashboardToken !== '') {
    watch = watchDashboard({ serverUrl, token: dashboardToken, callSid, onLine: print })
    try {
      await watch.ready
    } catch (err) {
      print(`!  warning dashboard: ${(err as Error).message}; transcripts and hints are not printed`)
      watch = undefined
    }
  } else if (!quiet && args['no-dashboard'] !== true) {
    print('note     set DASHBOARD_TOKEN (or --dashboard-token) to print the transcript and hints here too')
  }
  let result
  try {
    result = await simulateCall({
      serverUrl,
      callSid,
      publicBaseUrl,
      authToken,
      accountSid: env.TWILIO_ACCOUNT_SID,
      from: args.from,
      to: args.to,
      outbound: args.outbound,
      caller: args.caller ?? FIXTURES.caller,
      operator: args.operator ?? FIXTURES.operator,
      dtmf: parseDtmf(args.dtmf ?? []),
      speed,
      tailMs: tail === undefined ? undefined : tail * 1000,
      subprotocol: args['no-subprotocol'] === true ? false : undefined,
      statusCallbacks: args['no-callbacks'] !== true,
      signal: abort.signal,
      onEvent,
    })
  } catch (err) {
    if (err instanceof SimError) fail(err.code === 'BAD_OPTIONS' ? 64 : err.code === 'ABORTED' ? 130 : 2, `${err.code}: ${err.message}`)
    throw err
  }

  if (watch !== undefined) {
    // The post-call summary comes a few seconds after hang-up, when there was something to summarize.
    if (result.aborted) watch.close()
    else await watch.finish(20_000)
  }
  if (args.out !== undefined) {
    if (result.replyAudio === undefined) {
      print(`out      nothing written to ${args.out}: ${result.stream === undefined ? 'no stream was opened' : 'a <Start><Stream> carries no audio back'}`)
    } else {
      await writeFile(args.out, mulawToPcm16Wav(result.replyAudio))
      print(`out      wrote ${args.out} (${(result.replyAudio.length / 8000).toFixed(1)} s, ${result.received.media === 0 ? 'silence: the server sent no audio' : `${(result.received.audioMs / 1000).toFixed(1)} s of server audio`})`)
    }
  }
  if (args.json === true) {
    const { replyAudio: _audio, twimlXml: _xml, ...rest } = result
    print(JSON.stringify(rest, null, 2))
  } else {
    for (const line of formatSummary(result)) print(line)
  }
  process.exitCode = result.aborted ? 130 : result.ok ? 0 : 1
}

await main()
