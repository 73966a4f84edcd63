import t from 'tap'
import { readServerMessage } from '../../../tools/sim/server-messages.ts'

const SID = 'MZ' + 'a'.repeat(32)
const read = (m: unknown, opts: { binary?: boolean, bidirectional?: boolean } = {}) =>
  readServerMessage(Buffer.from(typeof m === 'string' ? m : JSON.stringify(m)), opts.binary ?? false, SID, opts.bidirectional ?? true)

t.test('accepts media, mark and clear exactly as Twilio documents them', async (t) => {
  const media = read({ event: 'media', streamSid: SID, media: { payload: Buffer.from([1, 2, 3]).toString('base64') } })
  t.same(media.findings, [])
  t.same(media.message?.event === 'media' && [...media.message.audio], [1, 2, 3])
  t.same(read({ event: 'mark', streamSid: SID, mark: { name: 'm' } }), { message: { event: 'mark', name: 'm' }, findings: [] })
  t.same(read({ event: 'clear', streamSid: SID }), { message: { event: 'clear' }, findings: [] })
})

t.test('flags what Twilio warns about or rejects', async (t) => {
  const cases: Array<[string, ReturnType<typeof read>, string, boolean]> = [
    ['binary', read('x', { binary: true }), '31950', false],
    ['anything on <Start>', read({ event: 'clear', streamSid: SID }, { bidirectional: false }), '31924', false],
    ['not JSON', read('hello'), '31951', false],
    ['JSON array', read([1]), '31951', false],
    ['unknown event', read({ event: 'play', streamSid: SID }), '31951', false],
    ['wrong streamSid', read({ event: 'clear', streamSid: 'MZother' }), '31951', false],
    ['mark without name', read({ event: 'mark', streamSid: SID, mark: {} }), '31951', false],
    ['media without payload', read({ event: 'media', streamSid: SID, media: {} }), '31951', false],
    ['payload not base64', read({ event: 'media', streamSid: SID, media: { payload: 'not base64!' } }), '31951', false],
    ['extra fields (still usable)', read({ event: 'clear', streamSid: SID, track: 'outbound' }), '31951', true],
    ['WAV header in payload (still usable)', read({ event: 'media', streamSid: SID, media: { payload: Buffer.from('RIFFxxxxWAVE').toString('base64') } }), 'payload', true],
  ]
  for (const [name, res, code, usable] of cases) {
    t.equal(res.findings[0]?.code, code, name)
    t.equal(res.message !== undefined, usable, `${name}: ${usable ? 'still used' : 'dropped'}`)
  }
  t.equal(read('x', { binary: true }).findings[0].severity, 'error')
  t.match(read({ event: 'clear', streamSid: SID }, { bidirectional: false }).findings[0], { severity: 'error', message: /SERVER BUG/ })
})
