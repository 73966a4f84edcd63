/** `npm run doctor` / `npx talkhint doctor`: checks a TalkHint setup end to end and says how to fix what is wrong. */
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs, parseEnv } from 'node:util'

const USAGE = `Usage: npm run doctor -- [options]    (or: npx talkhint doctor [options])

Checks the configuration and its models' shutdown dates, that PUBLIC_BASE_URL answers /healthz and
/version and completes the Twilio media-stream handshake, and that your Twilio number's voice
webhook points at it. With --live, also asks OpenAI (OPENAI_API_KEY, OPENAI_BASE_URL) whether it
accepts the sessions and requests calls would send; places no call.

Options:
  --fix                     point the number's voice webhook at PUBLIC_BASE_URL/twilio/inbound
  --live                    open the OpenAI sessions calls would (assist per track, agent when
                            MODE=agent), send the exact session.update, and send one minimal
                            request per text model; all at once, each within 2 × --timeout
                            (at most 14 s), every socket closed at the end
  --json                    print the report as JSON
  --timeout <time>          per network step: 5 (seconds, the default), 2.5s or 800ms
  --connect <origin>        connect to this http(s)://host:port instead of PUBLIC_BASE_URL's host,
                            keeping its Host header (like curl --connect-to), e.g. a local server
  --expect-commit <sha>     the commit the deployment should run (stale deployment otherwise)
  --expect-deploy-id <id>   the deploy id it should run (default: DEPLOY_ID)
  --env-file <path>         read settings from this file (default: ./.env when it exists);
                            variables already in the environment win
  -h, --help                show this help

Exit code: 0 when every check passes, 1 when one fails, 2 on bad options.`

function parseTimeout (raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(raw.trim())
  if (m === null) return undefined
  const n = Number(m[1])
  const ms = m[2] === 'ms' ? n : n * 1000
  return ms > 0 ? Math.round(ms) : undefined
}

function fail (message: string): never {
  process.stderr.write(`talkhint doctor: ${message}\n\n${USAGE}\n`)
  process.exit(2)
}

async function main (): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({
      options: {
        fix: { type: 'boolean', default: false },
        live: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '5' },
        connect: { type: 'string' },
        'expect-commit': { type: 'string' },
        'expect-deploy-id': { type: 'string' },
        'env-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (err) {
    return fail((err as Error).message)
  }
  if (parsed.help) {
    process.stdout.write(USAGE + '\n')
    return
  }
  const timeoutMs = parseTimeout(parsed.timeout)
  if (timeoutMs === undefined) return fail(`--timeout must be a positive number of seconds (5, 2.5s) or milliseconds (800ms), got "${parsed.timeout}"`)
  // Loaded after the options are known: --help and option errors stay instant (the twilio SDK is large).
  const [{ formatReport, runDoctor }, { connectProblem, createHttpGet, createWsHandshake }, { createTwilioApi }, { createOpenAIClient }, { createSdkConnect }] = await Promise.all([
    import('./doctor/doctor.ts'),
    import('./doctor/net.ts'),
    import('../src/twilio/rest.ts'),
    import('../src/ai/openai.ts'),
    import('../src/ai/realtime-connection.ts'),
  ])
  if (parsed.connect !== undefined) {
    const problem = connectProblem(parsed.connect)
    if (problem !== undefined) return fail(problem)
  }

  const envFile = parsed['env-file'] ?? (existsSync('.env') ? '.env' : undefined)
  let fileEnv: Record<string, string | undefined> = {}
  if (envFile !== undefined) {
    try {
      fileEnv = parseEnv(readFileSync(envFile, 'utf8'))
    } catch (err) {
      return fail(`cannot read ${resolve(envFile)}: ${(err as Error).message}`)
    }
  }
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  const connect = parsed.connect?.replace(/\/+$/, '')

  const report = await runDoctor({
    env: { ...fileEnv, ...process.env },
    fix: parsed.fix,
    timeoutMs,
    localVersion: pkg.version,
    ...(parsed['expect-commit'] !== undefined ? { expectCommit: parsed['expect-commit'] } : {}),
    ...(parsed['expect-deploy-id'] !== undefined ? { expectDeployId: parsed['expect-deploy-id'] } : {}),
    ...(connect !== undefined ? { connect } : {}),
    live: parsed.live,
    liveTimeoutMs: Math.min(2 * timeoutMs, 14_000),
  }, {
    httpGet: createHttpGet({ connect }),
    wsHandshake: createWsHandshake({ connect }),
    twilioApi: createTwilioApi,
    // The server's own client and connector, so --live exercises the code calls run.
    live: (config) => {
      const client = createOpenAIClient(config)
      return client === undefined ? undefined : { connect: createSdkConnect(client), responses: client }
    },
  })
  const text = parsed.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report)
  // Exit once written: a socket whose peer never finishes the close handshake must not hold the process.
  process.stdout.write(text, () => process.exit(report.ok ? 0 : 1))
}

await main()
