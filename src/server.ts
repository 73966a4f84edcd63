/** Entry point, the only file that touches `process`: config → app → listen → drain on signal. */
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { loggerOptions } from './log.ts'

/** Most time spent, after the last stream ended, waiting for the last calls' status callbacks and summaries. */
const SETTLE_MAX_MS = 20_000

let config: Config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`TalkHint cannot start.\n${err.message}\nSee docs/configuration.md or .env.example.\n`)
    process.exit(78) // EX_CONFIG
  }
  throw err
}

const app = await buildApp(config, {
  logger: loggerOptions({ level: config.logLevel, logPhoneNumbers: config.logPhoneNumbers, pretty: process.stdout.isTTY === true }),
})

// Deploys send SIGTERM (fly.toml kill_signal): fail /healthz at once, answer new calls without
// AI, let live calls finish up to DRAIN_TIMEOUT_S, then close everything in order. A second
// signal, or the grace delay running out, exits at once.
closeWithGrace({ delay: (config.drainTimeoutS + 15) * 1000 }, async ({ signal, err }) => {
  if (err !== undefined) {
    app.log.error({ err }, 'fatal error, closing')
  } else {
    app.lifecycle.startDrain()
    const live = app.calls.size
    app.log.info({ signal, liveCalls: live, drainTimeoutS: config.drainTimeoutS }, 'draining: new calls get no AI; waiting for live calls to end')
    const deadline = Date.now() + config.drainTimeoutS * 1000
    const drained = await app.calls.whenEmpty(config.drainTimeoutS * 1000)
    app.log.info({ drained, liveCalls: app.calls.size }, drained ? 'all calls ended; shutting down' : 'drain timeout reached; closing remaining calls')
    if (drained) {
      // Twilio posts each call's final status just after it ends, and summaries take a few seconds more:
      // still within the drain budget, keep serving until they are in (a closed server would answer 503).
      const settled = await app.lifecycle.whenSettled(Math.min(deadline - Date.now(), SETTLE_MAX_MS))
      app.log.info({ settled, unsettled: app.lifecycle.unsettled }, settled ? 'last calls settled (final status and summary in)' : 'stopped waiting for the last calls\' status callbacks or summaries')
    }
  }
  await app.close()
})

await app.listen({ port: config.port, host: config.host })
process.send?.({ type: 'listening', port: (app.server.address() as { port: number }).port })
if (config.dashboardTokenGenerated) {
  // Printed once, straight to the terminal rather than into the JSON log stream. Set DASHBOARD_TOKEN to keep
  // logins working across restarts (a generated token changes every start).
  const port = (app.server.address() as { port: number }).port
  process.stderr.write([
    '',
    'DASHBOARD_TOKEN is not set, so one was generated for this run (it changes on every start).',
    `  log in at ${config.publicBaseUrl}/login  (or http://127.0.0.1:${port}/login on this machine)`,
    `  with the token: ${config.dashboardToken}`,
    '',
  ].join('\n') + '\n')
}
