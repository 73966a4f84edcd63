/** Plugin declarations hold: each names what it needs, loads with exactly that, fails clearly without it; routes stay encapsulated. */
import t from 'tap'
import Fastify, { type FastifyPluginAsync } from 'fastify'
import { readdirSync, readFileSync } from 'node:fs'
import { buildTestApp, testConfig } from '../helpers.ts'

interface Meta { name: string, dependencies?: string[], decorators?: { fastify?: string[] }, encapsulate?: boolean }
type Plugin = FastifyPluginAsync<Record<string, unknown>> & { [key: symbol]: unknown }

const DIR = new URL('../../plugins/', import.meta.url)
const files = readdirSync(DIR).filter((f) => f.endsWith('.ts')).sort()
const plugins = new Map<string, Plugin>()
for (const file of files) {
  const mod = await import(new URL(file, DIR).href) as { default: Plugin }
  const meta = mod.default[Symbol.for('plugin-meta')] as Meta | undefined
  if (meta === undefined) throw new Error(`plugins/${file} does not export a fastify-plugin`)
  plugins.set(meta.name, mod.default)
}
const metaOf = (name: string): Meta => (plugins.get(name) as Plugin)[Symbol.for('plugin-meta')] as Meta

/** Whose routes, hooks and outside plugins stay inside (the rest decorate the app for everyone). */
const ROUTE_PLUGINS = ['agent-calls', 'call-controls', 'calls-api', 'dashboard', 'health', 'hint-feedback', 'history-api', 'media-stream', 'metrics-endpoint', 'voice-webhooks', 'whatsapp']

/** The plugin's declared dependencies, transitively, each after its own (what it needs registered first). */
function closure (name: string, out: string[] = []): string[] {
  for (const dep of metaOf(name).dependencies ?? []) {
    if (!plugins.has(dep)) throw new Error(`${name} depends on ${dep}, which no file in plugins/ is named`)
    if (!out.includes(dep)) {
      closure(dep, out)
      out.push(dep)
    }
  }
  return out
}

async function bare (t: Parameters<typeof buildTestApp>[0], names: readonly string[]): Promise<ReturnType<typeof Fastify>> {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  for (const name of names) await app.register(plugins.get(name) as Plugin, name === 'core' ? { config: testConfig() } : {})
  return app
}

t.test('every file in plugins/ is a named fastify-plugin; all but the two roots declare what they use', async (t) => {
  t.equal(plugins.size, files.length, 'one plugin per file, no two with one name')
  for (const [name, fn] of plugins) {
    const roots = name === 'core' || name === 'websocket'
    t.equal((metaOf(name).dependencies ?? []).length > 0, !roots, `${name}: ${roots ? 'needs nothing' : 'declares dependencies'}`)
    t.equal(fn[Symbol.for('skip-override')], !ROUTE_PLUGINS.includes(name), `${name}: ${ROUTE_PLUGINS.includes(name) ? 'encapsulated' : 'decorates the app'}`)
  }
})

t.test('every decorator a plugin reads comes from a plugin it declares (directly or through one it declares)', async (t) => {
  const source = new Map([...plugins.keys()].map((name) => [name, readFileSync(new URL(`${name}.ts`, DIR), 'utf8')]))
  const providedBy = new Map<string, string>()
  for (const [name, text] of source) for (const m of text.matchAll(/app\.decorate\('(\w+)'/g)) providedBy.set(m[1] as string, name)
  t.ok(providedBy.size >= 15, `decorators found: ${[...providedBy.keys()].join(', ')}`)
  for (const [name, text] of source) {
    const used = new Set([...text.matchAll(/\bapp\.(\w+)/g)].map((m) => m[1] as string))
    for (const m of text.matchAll(/const \{([^}]+)\} = app\b/g)) for (const k of (m[1] as string).split(',')) used.add(k.trim())
    const needs = closure(name)
    for (const decorator of used) {
      const provider = providedBy.get(decorator)
      if (provider === undefined || provider === name) continue
      t.ok(needs.includes(provider), `${name} reads app.${decorator}, from ${provider}`)
    }
  }
})

t.test('each plugin loads on a bare app with only what it declares (so nothing it uses at start-up is undeclared)', async (t) => {
  for (const name of plugins.keys()) {
    const app = await bare(t, [...closure(name), name])
    await t.resolves(app.ready(), `${name} after ${closure(name).join(', ') || 'nothing'}`)
    await app.close()
  }
})

t.test('without a declared dependency, registering fails at start-up naming both plugins', async (t) => {
  for (const name of plugins.keys()) {
    const needed = closure(name)
    for (const missing of metaOf(name).dependencies ?? []) {
      // Without `missing`, and without what needs it. Fastify names the first absent dependency, or first a
      // declared decorator that is absent (the hub's eventFeed when cluster is missing).
      const app = await bare(t, needed.filter((n) => n !== missing && !closure(n).includes(missing)))
      const err = await app.register(plugins.get(name) as Plugin).then(() => undefined, (e: unknown) => e as { code: string, message: string })
      t.match(err, {
        code: /^FST_ERR_PLUGIN_(DEPENDENCY_NOT_REGISTERED|NOT_PRESENT_IN_INSTANCE)$/,
        message: new RegExp(`^The dependency '[a-z-]+' of plugin '${name}' is not registered$|^The decorator '\\w+' required by '${name}'`),
      }, `${name} without ${missing}: ${err?.message}`)
    }
  }
})

t.test('the hub reads the cluster plugin\'s eventFeed, declared: without cluster it does not start', async (t) => {
  t.match(metaOf('hub'), { dependencies: ['core', 'websocket', 'auth', 'metrics', 'storage', 'cluster'], decorators: { fastify: ['eventFeed'] } })
  const app = await bare(t, ['core', 'websocket', 'metrics', 'auth', 'storage'])
  await t.rejects(async () => { await app.register(plugins.get('hub') as Plugin) }, { code: 'FST_ERR_PLUGIN_NOT_PRESENT_IN_INSTANCE', message: 'The decorator \'eventFeed\' required by \'hub\' is not present in Fastify' })
  const noCluster = await bare(t, ['core', 'websocket', 'metrics', 'auth', 'storage'])
  noCluster.decorate('eventFeed', { subscribe: () => () => {}, started: true })
  await t.rejects(async () => { await noCluster.register(plugins.get('hub') as Plugin) }, { code: 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED', message: 'The dependency \'cluster\' of plugin \'hub\' is not registered' }, 'a feed from elsewhere is not the cluster plugin')
})

t.test('buildApp registers every plugin once; route plugins keep their hooks to themselves', async (t) => {
  const app = await buildTestApp(t)
  const tree = app.printPlugins()
  for (const name of plugins.keys()) t.equal(tree.split('\n').filter((l) => new RegExp(`[─┬] ${name} \\d+ ms$`).test(l)).length, 1, `${name} in the tree once`)
  t.equal(tree.match(/@fastify\/formbody/g)?.length, 1, 'one @fastify/formbody')
  // helmet is the dashboard's: its headers are on the pages, not on the health check or the API.
  const page = await app.inject({ url: '/login' })
  t.match(page.headers['content-security-policy'], /default-src 'self'/)
  t.notOk((await app.inject({ url: '/healthz' })).headers['content-security-policy'], '/healthz has no dashboard headers')
  t.notOk((await app.inject({ url: '/api/session' })).headers['content-security-policy'], '/api/session has no dashboard headers')
})
