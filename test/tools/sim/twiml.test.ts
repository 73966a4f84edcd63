import t from 'tap'
import { describeVerbs, parseTwiml } from '../../../tools/sim/twiml.ts'
import { agentTwiml, assistTwiml, noAiTwiml, sayAndHangupTwiml } from '../../../src/twilio/twiml.ts'

const target = { streamUrl: 'wss://talkhint.example.com/media', statusCallback: 'https://talkhint.example.com/twilio/stream-status' }
const params = { direction: 'inbound' as const, from: '+15555550100', to: '+15555550199', mode: 'assist' as const }

t.test('reads assist TwiML: a unidirectional both_tracks fork, then the dial', async (t) => {
  const tw = parseTwiml(assistTwiml(target, params, '+15550001111'))
  t.match(tw.stream, {
    kind: 'start',
    bidirectional: false,
    url: 'wss://talkhint.example.com/media',
    track: 'both_tracks',
    tracks: ['inbound', 'outbound'],
    statusCallback: 'https://talkhint.example.com/twilio/stream-status',
    parameters: { direction: 'inbound', from: '+15555550100', to: '+15555550199', mode: 'assist', stream: 'start' },
  })
  t.same(tw.verbs.map((v) => v.verb), ['Start', 'Dial'])
  t.equal(tw.streamIndex, 0)
  t.match(tw.verbs[1], { verb: 'Dial', target: '+15550001111', answerOnBridge: true })
  t.same(tw.issues, [])
})

t.test('reads agent TwiML: a bidirectional inbound-only stream whose <Connect action> says what comes after it', async (t) => {
  const action = 'https://talkhint.example.com/twilio/connect-action'
  const tw = parseTwiml(agentTwiml({ ...target, connectAction: action }, { ...params, mode: 'agent' }))
  t.match(tw.stream, { kind: 'connect', bidirectional: true, tracks: ['inbound'], parameters: { stream: 'connect', mode: 'agent' } })
  t.same(tw.verbs.map((v) => v.verb), ['Connect'], 'nothing after <Connect>: with an action it would never run')
  t.match(tw.verbs[0], { verb: 'Connect', action })
  t.match(describeVerbs(tw.verbs), /^<Connect><Stream> wss:\/\/talkhint\.example\.com\/media \(5 parameters; then asks https:\/\/talkhint\.example\.com\/twilio\/connect-action\)$/)
  t.same(tw.issues, [])
})

t.test('reads TwiML without a stream: what the caller hears', async (t) => {
  const hangup = parseTwiml(sayAndHangupTwiml('Sorry & goodbye.'))
  t.equal(hangup.stream, undefined)
  t.same(hangup.verbs, [{ verb: 'Say', text: 'Sorry & goodbye.' }, { verb: 'Hangup' }])
  const dial = parseTwiml(noAiTwiml('agent', '+15550001111'))
  t.same(dial.verbs.map((v) => v.verb), ['Say', 'Dial'])
  t.equal(describeVerbs(parseTwiml('<Response/>').verbs), 'nothing (Twilio hangs up)')
})

t.test('flags what Twilio would reject', async (t) => {
  const badTrack = parseTwiml('<Response><Connect><Stream url="wss://x.example/media" track="both_tracks"/></Connect></Response>')
  t.match(badTrack.issues, [{ code: '31941', severity: 'error' }])
  const badStartTrack = parseTwiml('<Response><Start><Stream url="wss://x.example/media" track="left"/></Start><Dial>+15550001111</Dial></Response>')
  t.match(badStartTrack.issues, [{ code: '31941' }])
  const query = parseTwiml('<Response><Connect><Stream url="wss://x.example/media?token=1"/></Connect></Response>')
  t.match(query.issues, [{ code: '31920', message: /query string/ }])
  const insecure = parseTwiml('<Response><Connect><Stream url="ws://x.example/media"/></Connect></Response>')
  t.match(insecure.issues, [{ code: '31920', message: /wss/ }])
  const last = parseTwiml('<Response><Start><Stream url="wss://x.example/media"/></Start></Response>')
  t.match(last.issues, [{ code: 'hangup', message: /hangs up/ }])
  t.match(last.stream, { track: 'inbound_track', tracks: ['inbound'] }, 'default track is inbound_track')
  const long = parseTwiml(`<Response><Connect><Stream url="wss://x.example/media"><Parameter name="k" value="${'v'.repeat(600)}"/></Stream></Connect></Response>`)
  t.match(long.issues, [{ code: 'parameter', severity: 'warning' }])
})

t.test('refuses what is not TwiML with a clear error', async (t) => {
  t.throws(() => parseTwiml('<Response><Say>hi</Response>'), { name: 'SimError', code: 'BAD_TWIML', message: /invalid XML.*12100/ }, 'malformed XML')
  t.throws(() => parseTwiml('{"not":"xml"}'), { code: 'BAD_TWIML' })
  t.throws(() => parseTwiml('<Html><Body/></Html>'), { code: 'BAD_TWIML', message: /<Response>/ })
})
