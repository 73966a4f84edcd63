/** The ways production starts the server (npm start, the Docker image, Replit) run it the same way. */
import { test } from 'tap'
import { readFileSync } from 'node:fs'

const root = new URL('../../', import.meta.url)
const read = (file: string): string => readFileSync(new URL(file, root), 'utf8')

/** `node <flags> src/server.ts` → the flags. */
function nodeFlags (argv: string[]): string[] {
  if (argv[0] !== 'node') throw new Error(`not a node command: ${argv.join(' ')}`)
  const entry = argv.indexOf('src/server.ts')
  if (entry < 0) throw new Error(`does not start src/server.ts: ${argv.join(' ')}`)
  return argv.slice(1, entry)
}

const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start ?? ''
const startFlags = nodeFlags(start.split(/\s+/))

test('npm start runs the server with a fixed-size young generation', async (t) => {
  const min = startFlags.find((f) => f.startsWith('--min-semi-space-size='))
  const max = startFlags.find((f) => f.startsWith('--max-semi-space-size='))
  t.ok(min !== undefined && max !== undefined, 'both semi-space bounds are set')
  t.equal(min?.split('=')[1], max?.split('=')[1], 'min equals max: V8 never resizes it under load')
})

test('the Docker image runs the server with the same Node flags as npm start', async (t) => {
  const cmd = read('Dockerfile').split('\n').find((l) => l.startsWith('CMD '))
  t.ok(cmd, 'the Dockerfile has a CMD')
  const argv = JSON.parse((cmd as string).slice(4)) as string[]
  t.same(nodeFlags(argv), startFlags)
})

test('Replit and Fly start the server through npm start and the Docker image', async (t) => {
  const replit = read('.replit')
  t.match(replit, /^run = \["npm", "start"\]/m)
  const deployment = replit.split(/^\[/m).find((section) => section.startsWith('deployment]')) ?? ''
  t.match(deployment, /^run = \["npm", "start"\]/m, 'the Reserved VM deployment runs npm start too')
  t.match(read('fly.toml'), /\[build\]\s+dockerfile = "Dockerfile"/)
})
