import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.ts'

const minimal = { PUBLIC_BASE_URL: 'https://talkhint.example.com', TWILIO_AUTH_TOKEN: 'tok' }

t.test('defaults from a minimal environment', async (t) => {
  const c = loadConfig(minimal)
  t.match(c, { port: 8080, host: '0.0.0.0', mode: 'assist', logLevel: 'info', databaseUrl: 'sqlite:./data/talkhint.db', openaiBaseUrl: 'https://api.openai.com/v1', dashboardTokenGenerated: true })
  t.ok(c.dashboardToken.length >= 32, 'a dashboard token is generated when none is set')
  t.ok(Object.isFrozen(c))
})

t.test('PUBLIC_BASE_URL is normalised: lowercase host, no trailing slash', async (t) => {
  t.equal(loadConfig({ ...minimal, PUBLIC_BASE_URL: 'https://TalkHint.Example.com/' }).publicBaseUrl, 'https://talkhint.example.com')
  t.equal(loadConfig({ ...minimal, PUBLIC_BASE_URL: 'https://x.example.com/prefix/' }).publicBaseUrl, 'https://x.example.com/prefix')
})

t.test('one error names every problem', async (t) => {
  try {
    loadConfig({ PUBLIC_BASE_URL: 'http://talkhint.example.com', PORT: 'eighty', MODE: 'robot', OPERATOR_PHONE: '555-1234', DATABASE_URL: 'mysql://x', DASHBOARD_TOKEN: 'short' })
    t.fail('should throw')
  } catch (err) {
    t.ok(err instanceof ConfigError)
    const e = err as ConfigError
    t.equal(e.code, 'CONFIG_INVALID')
    t.same(e.problems.length, 7, e.message)
    t.match(e.message, /PUBLIC_BASE_URL must be an https:\/\/ URL/)
    t.match(e.message, /TWILIO_AUTH_TOKEN is required/)
    t.match(e.message, /PORT must be a whole number from 0 to 65535 \(got "eighty"\)/)
    t.match(e.message, /MODE must be one of assist, agent \(got "robot"\)/)
    t.match(e.message, /OPERATOR_PHONE must be an E\.164 phone number/)
    t.match(e.message, /DATABASE_URL must start with sqlite: or postgres:\/\//)
    t.match(e.message, /DASHBOARD_TOKEN must be at least 12 characters/)
  }
})

t.test('missing PUBLIC_BASE_URL and a garbage one are both explained', async (t) => {
  t.throws(() => loadConfig({ TWILIO_AUTH_TOKEN: 'x' }), /PUBLIC_BASE_URL is required/)
  t.throws(() => loadConfig({ ...minimal, PUBLIC_BASE_URL: 'not a url' }), /PUBLIC_BASE_URL must be an https:\/\/ URL/)
  t.throws(() => loadConfig({ ...minimal, PUBLIC_BASE_URL: 'https://x.example.com/?a=1' }), /query string/)
})

t.test('REDIS_PREFIX: default, custom, and rejected when it could break key names', async (t) => {
  t.equal(loadConfig(minimal).redisPrefix, 'talkhint')
  t.equal(loadConfig({ ...minimal, REDIS_PREFIX: 'th-staging' }).redisPrefix, 'th-staging')
  t.throws(() => loadConfig({ ...minimal, REDIS_PREFIX: 'has space' }), /REDIS_PREFIX must be 1-64 letters/)
})

t.test('MAX_EVENT_LOOP_UTILIZATION: 0.98 by default, a fraction from 0.5 to 1, anything else explained', async (t) => {
  const base = { PUBLIC_BASE_URL: 'https://talkhint.example.com', TWILIO_AUTH_TOKEN: 'tok' }
  t.equal(loadConfig(base).maxEventLoopUtilization, 0.98)
  t.equal(loadConfig({ ...base, MAX_EVENT_LOOP_UTILIZATION: '0.9' }).maxEventLoopUtilization, 0.9)
  t.equal(loadConfig({ ...base, MAX_EVENT_LOOP_UTILIZATION: '1' }).maxEventLoopUtilization, 1)
  for (const bad of ['0.2', '2', 'high']) {
    const err = (() => { try { loadConfig({ ...base, MAX_EVENT_LOOP_UTILIZATION: bad }) } catch (e) { return e } })()
    t.ok(err instanceof ConfigError)
    t.same((err as ConfigError).problems, [`MAX_EVENT_LOOP_UTILIZATION must be a number from 0.5 to 1 (got "${bad}")`])
  }
})

t.test('BUSINESS_NAME and VOICEMAIL_TEMPLATE (outbound agent calls): optional, checked when set', async (t) => {
  const base = { PUBLIC_BASE_URL: 'https://talkhint.example.com', TWILIO_AUTH_TOKEN: 'tok' }
  t.match(loadConfig(base), { businessName: undefined, voicemailTemplate: undefined })
  t.match(loadConfig({ ...base, BUSINESS_NAME: 'Acme Dental', VOICEMAIL_TEMPLATE: '{business}: {purpose}' }), { businessName: 'Acme Dental', voicemailTemplate: '{business}: {purpose}' })
  const problems = (env: Record<string, string>): readonly string[] => {
    try { loadConfig({ ...base, ...env }) } catch (e) { return (e as ConfigError).problems }
    return []
  }
  t.same(problems({ VOICEMAIL_TEMPLATE: 'Hi {name}, {purpose}' }), ['VOICEMAIL_TEMPLATE may only use {purpose} and {business} (found {name})'])
  t.same(problems({ VOICEMAIL_TEMPLATE: '{business} calling' }), ['VOICEMAIL_TEMPLATE uses {business}: set BUSINESS_NAME too'])
  t.same(problems({ VOICEMAIL_TEMPLATE: 'x'.repeat(601) }), ['VOICEMAIL_TEMPLATE must be at most 600 characters (it is read onto an answering machine)'])
  t.same(problems({ BUSINESS_NAME: 'x'.repeat(81) }), ['BUSINESS_NAME must be one line of at most 80 characters'])
})
