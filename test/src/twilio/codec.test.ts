import t from 'tap'
import { readFileSync } from 'node:fs'
import { base64ByteLength, createTwilioEncoder, decodeTwilioMessage, isBase64, MAX_MESSAGE_BYTES } from '../../../src/twilio/codec.ts'

const fixtures = JSON.parse(readFileSync(new URL('../../fixtures/twilio-frames.json', import.meta.url), 'utf8')) as {
  valid: Array<{ frame: string, expect: object }>
  malformed: Array<{ frame: string, reason: string }>
}

t.test('decodes every recorded Twilio frame, turning string counters into numbers', async (t) => {
  for (const { frame, expect } of fixtures.valid) {
    const res = decodeTwilioMessage(frame)
    t.ok(res.ok, `decodes ${frame.slice(0, 30)}`)
    if (res.ok) t.match(res.message, expect)
  }
})

t.test('rejects malformed frames with a reason instead of throwing', async (t) => {
  for (const { frame, reason } of fixtures.malformed) {
    const res = decodeTwilioMessage(frame)
    t.equal(res.ok, false, `rejects ${frame.slice(0, 40)}`)
    if (!res.ok) t.equal(res.reason, reason, frame)
  }
})

t.test('counts oversize frames without parsing them', async (t) => {
  const res = decodeTwilioMessage(`{"event":"media","pad":"${'x'.repeat(MAX_MESSAGE_BYTES)}"}`)
  t.match(res, { ok: false, reason: 'oversize' })
})

t.test('accepts a media frame without track as the inbound track', async (t) => {
  const res = decodeTwilioMessage('{"event":"media","streamSid":"MZ1","media":{"chunk":"2","timestamp":"20","payload":"//8="}}')
  t.match(res, { ok: true, message: { media: { track: 'inbound', chunk: 2, timestamp: 20 } } })
})

t.test('base64ByteLength matches the decoded size', async (t) => {
  for (let n = 0; n < 200; n += 7) {
    const b64 = Buffer.alloc(n, 0x7f).toString('base64')
    t.equal(base64ByteLength(b64), n, `${n} bytes`)
  }
})

t.test('encodes media, mark and clear in Twilio\'s exact outbound shapes', async (t) => {
  const enc = createTwilioEncoder('MZabc')
  t.same(JSON.parse(enc.media('//8=')), { event: 'media', streamSid: 'MZabc', media: { payload: '//8=' } })
  t.same(JSON.parse(enc.mark('item_1:240')), { event: 'mark', streamSid: 'MZabc', mark: { name: 'item_1:240' } })
  t.same(JSON.parse(enc.mark('quote " and \\ slash')), { event: 'mark', streamSid: 'MZabc', mark: { name: 'quote " and \\ slash' } })
  t.same(JSON.parse(enc.clear()), { event: 'clear', streamSid: 'MZabc' })
})

t.test('isBase64: standard base64 (padded or not) passes; anything an upstream API would choke on does not', async (t) => {
  for (let n = 0; n <= 10; n++) {
    const b64 = Buffer.alloc(n, 0xfb).toString('base64')
    t.ok(isBase64(b64), `padded, ${n} bytes`)
    t.ok(isBase64(b64.replace(/=+$/, '')), `unpadded, ${n} bytes`)
  }
  t.ok(isBase64(Buffer.alloc(160, 0xff).toString('base64')), 'a 20 ms Twilio frame')
  for (const bad of ['A', 'AAAAA', 'ab=', 'a===', 'A=AA', '-_-_', 'AA AA', '<script>', 'AAA\n', 'AA==AA==', 'é123']) t.notOk(isBase64(bad), JSON.stringify(bad))
  const res = decodeTwilioMessage(JSON.stringify({ event: 'media', streamSid: 'MZ1', media: { track: 'inbound', payload: 'not base64!' } }))
  t.match(res, { ok: false, reason: 'bad_payload' })
})
