import t from 'tap'
import { createStreamTokens, mintStreamToken, streamTokenKey, verifyStreamToken, STREAM_TOKEN_TTL_MS } from '../../../src/twilio/stream-token.ts'
import { loadConfig } from '../../../src/config.ts'

const SID = 'CA' + 'a'.repeat(32)
const claims = { callSid: SID, stream: 'connect', mode: 'agent', direction: 'inbound', from: '+14155550100', to: '+15550002222' } as const
const NOW = 1_800_000_000_000
const key = streamTokenKey({ twilioAuthToken: 'auth-token' })
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const params = (token: string, extra: Record<string, string> = {}): Record<string, string> => ({ from: claims.from, to: claims.to, token, ...extra })

t.test('a minted token verifies for its CallSid and yields the claims it was minted with', async (t) => {
  const token = mintStreamToken(key, claims, NOW)
  t.match(token, /^1\.CAa{32}\.connect\.agent\.inbound\.\d+\.[A-Za-z0-9_-]{43}$/)
  t.same(verifyStreamToken(key, params(token), SID, NOW + 1000), { ok: true, claims: { ...claims, expiresAt: NOW + STREAM_TOKEN_TTL_MS } })
})

t.test('every failure has its own reason', async (t) => {
  const token = mintStreamToken(key, claims, NOW)
  const [head, mac] = [token.slice(0, token.lastIndexOf('.')), token.slice(token.lastIndexOf('.') + 1)]
  const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  const cases: Array<[string, Record<string, string>, string, number]> = [
    ['missing', { from: claims.from, to: claims.to }, SID, NOW],
    ['missing', params(''), SID, NOW],
    ['malformed', params('1.2.3'), SID, NOW],
    ['malformed', params(token.replace('.agent.', '.boss.')), SID, NOW],
    ['malformed', params(token + 'x'.repeat(200)), SID, NOW],
    ['bad_signature', params(`${head}.${flip(mac, 0)}`), SID, NOW],
    // The MAC's last character has spare bits: another spelling of the same bytes is still refused.
    ['bad_signature', params(`${head}.${mac.slice(0, 42)}${B64URL[B64URL.indexOf(mac[42] as string) ^ 1]}`), SID, NOW],
    ['bad_signature', params(token.replace('.connect.agent.', '.connect.assist.')), SID, NOW],
    ['bad_signature', params(token, { to: '+19005550100' }), SID, NOW],
    ['bad_signature', params(mintStreamToken(streamTokenKey({ twilioAuthToken: 'other' }), claims, NOW)), SID, NOW],
    ['expired', params(token), SID, NOW + STREAM_TOKEN_TTL_MS],
    ['callsid_mismatch', params(token), 'CA' + 'b'.repeat(32), NOW],
  ]
  for (const [reason, p, sid, now] of cases) t.same(verifyStreamToken(key, p, sid, now), { ok: false, reason }, `${reason}: ${p.token?.slice(0, 60)}`)
})

t.test('the key: STREAM_TOKEN_SECRET when set, else HKDF of TWILIO_AUTH_TOKEN (same on every instance, never the token itself)', async (t) => {
  const a = streamTokenKey({ twilioAuthToken: 'auth-token' })
  const b = streamTokenKey({ twilioAuthToken: 'auth-token' })
  t.same(a, b, 'deterministic: two instances with the same config verify each other\'s tokens')
  t.equal(a.length, 32)
  t.notSame(a, Buffer.from('auth-token'))
  t.notSame(a, streamTokenKey({ twilioAuthToken: 'auth-token2' }))
  const secret = 's'.repeat(32)
  t.same(streamTokenKey({ twilioAuthToken: 'auth-token', streamTokenSecret: secret }), Buffer.from(secret))
  const minted = mintStreamToken(streamTokenKey({ twilioAuthToken: 'x', streamTokenSecret: secret }), claims, NOW)
  t.match(verifyStreamToken(streamTokenKey({ twilioAuthToken: 'y', streamTokenSecret: secret }), params(minted), SID, NOW), { ok: true }, 'the secret alone decides')
  const base = { PUBLIC_BASE_URL: 'https://talkhint.example.com', TWILIO_AUTH_TOKEN: 'tok' }
  t.throws(() => loadConfig({ ...base, STREAM_TOKEN_SECRET: 'short' }), /STREAM_TOKEN_SECRET must be at least 32 characters/)
  t.equal(loadConfig({ ...base, STREAM_TOKEN_SECRET: secret }).streamTokenSecret, secret)
})

t.test('a token stays far under Twilio\'s 500 characters however long from/to are (they are bound, not copied)', async (t) => {
  const long = 'sip:' + 'x'.repeat(300) + '@example.com'
  const token = mintStreamToken(key, { ...claims, callSid: 'CA' + 'f'.repeat(32), from: long }, NOW)
  t.ok('token'.length + token.length < 130, `${token.length} characters`)
  t.match(verifyStreamToken(key, { from: long, to: claims.to, token }, 'CA' + 'f'.repeat(32), NOW), { ok: true, claims: { from: long } })
  t.throws(() => mintStreamToken(key, { ...claims, callSid: 'CA.x' }, NOW), /CallSid/)
})

t.test('createStreamTokens: one stream per token (a replay is refused), on the injected clock', async (t) => {
  let now = NOW
  const tokens = createStreamTokens({ twilioAuthToken: 'auth-token', streamTokenSecret: undefined }, () => now)
  const token = tokens.mint(SID, { stream: 'start', mode: 'assist', direction: 'outbound', from: '+1', to: '+2' })
  const p = { from: '+1', to: '+2', token }
  t.match(tokens.verify(p, SID), { ok: true, claims: { stream: 'start', mode: 'assist', direction: 'outbound' } })
  t.same(tokens.verify(p, SID), { ok: false, reason: 'replayed' })
  now += STREAM_TOKEN_TTL_MS
  t.same(tokens.verify(p, SID), { ok: false, reason: 'expired' })
})
