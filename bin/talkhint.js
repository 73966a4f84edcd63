#!/usr/bin/env node
/** `talkhint <command>`: a plain-JS launcher, so it runs before any TypeScript is loaded. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const COMMANDS = {
  doctor: { script: '../tools/doctor.ts', about: 'check the configuration, the deployment and the Twilio number (--help for options)' },
}

const usage = () => [
  'Usage: talkhint <command> [options]',
  '',
  'Commands:',
  ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)}${c.about}`),
  '',
].join('\n')

const [name, ...args] = process.argv.slice(2)
const command = Object.hasOwn(COMMANDS, name ?? '') ? COMMANDS[name] : undefined
if (command === undefined) {
  const asked = name === undefined || name === 'help' || name === '--help' || name === '-h'
  process.stderr.write((asked ? '' : `talkhint: unknown command "${name}"\n\n`) + usage())
  process.exit(asked ? 0 : 2)
}
// The commands are TypeScript run as is: Node ≥ 22.18 strips types by default.
if (!process.features.typescript) {
  process.stderr.write(`talkhint needs Node.js 22.18 or newer (this is ${process.version}), which runs .ts files directly.\n`)
  process.exit(2)
}

const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL(command.script, import.meta.url)), ...args], { stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('exit', (code, signal) => {
  if (signal !== null) process.kill(process.pid, signal)
  else process.exit(code ?? 1)
})
