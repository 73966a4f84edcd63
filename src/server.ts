/** Entry point, the only file that touches `process`: config → app → listen → drain on signal. */
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { loggerOptions } from './log.ts'
import { AFTER_BUDGET_MS } from './shutdown.ts'

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

// Deploys send SIGTERM (fly.toml kill_signal): app.drain runs the shutdown order (src/shutdown.ts,
// docs/shutdown.md) within DRAIN_TIMEOUT_S, then closes. A second signal, or the grace delay running
// out, exits at once.
closeWithGrace({ delay: config.drainTimeoutS * 1000 + AFTER_BUDGET_MS }, async ({ signal, err }) => {
  if (err !== undefined) {
    app.log.error({ err }, 'fatal error, closing')
    await app.close()
    return
  }
  app.log.info({ signal }, 'shutdown signal')
  await app.drain(config.drainTimeoutS * 1000)
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
