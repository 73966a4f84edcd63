import t from 'tap'
import pino from 'pino'
import { Writable } from 'node:stream'
import { loggerOptions, maskPhone, maskPhonesIn, maskPhonesInUrl } from '../../src/log.ts'

function capture (logPhoneNumbers: boolean): { log: pino.Logger, lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = []
  const stream = new Writable({ write (c, _e, cb) { chunks.push(String(c)); cb() } })
  const log = pino(loggerOptions({ level: 'info', logPhoneNumbers, pretty: false }), stream)
  return { log, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l)) }
}

t.test('masks phone numbers to the last four digits', async (t) => {
  t.equal(maskPhone('+14155550123'), '***0123')
  t.equal(maskPhonesIn('whatsapp:+14155550123'), 'whatsapp:***0123')
  const { log, lines } = capture(false)
  log.info({ from: '+14155550123', to: 'whatsapp:+442071838750', call: { from: '+33612345678' }, callSid: 'CA1' }, 'call')
  const [line] = lines()
  t.equal(line.from, '***0123')
  t.equal(line.to, 'whatsapp:***8750')
  t.same(line.call, { from: '***5678' })
  t.equal(line.callSid, 'CA1', 'non-secret fields untouched')
})

t.test('LOG_PHONE_NUMBERS=true logs numbers in full', async (t) => {
  const { log, lines } = capture(true)
  log.info({ from: '+14155550123' }, 'call')
  t.equal(lines()[0].from, '+14155550123')
})

t.test('redacts secrets, signatures and cookies', async (t) => {
  const { log, lines } = capture(true)
  log.info({ req: { headers: { authorization: 'Bearer s3cret', cookie: 'th_session=abc', 'x-twilio-signature': 'sig=' } }, config: { openaiApiKey: 'sk-123', twilioAuthToken: 'tt' }, apiKey: 'sk-456' }, 'x')
  const text = JSON.stringify(lines()[0])
  for (const secret of ['s3cret', 'th_session=abc', 'sig=', 'sk-123', '"tt"', 'sk-456']) t.notOk(text.includes(secret), `${secret} is not logged`)
})

t.test('request URLs: a click-to-call leg\'s ?to= and a number in a path are masked; CallSids are not', async (t) => {
  const { log, lines } = capture(false)
  log.info({ req: { method: 'POST', url: '/twilio/outbound?to=%2B1999123456789ZZ' } }, 'incoming request')
  log.info({ req: { method: 'GET', url: '/api/contacts/+14155550123/calls?callSid=CA0123456789abcdef0123456789abcdef' } }, 'incoming request')
  const [a, b] = lines() as Array<{ req: { url: string } }>
  t.equal(a.req.url, '/twilio/outbound?to=***6789', 'the whole to= value, junk included')
  t.equal(b.req.url, '/api/contacts/***0123/calls?callSid=CA0123456789abcdef0123456789abcdef')
  t.equal(maskPhonesInUrl('/healthz'), '/healthz')
})
