/** The simulator's transfer player on its own: the warm-transfer TwiML as read, and the bound on a server that loops. */
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { backToAgentTwiml, warmTransferTwiml } from '../../../src/handoff/twiml.ts'
import { loadTrackAudio, FIXTURES } from '../../../tools/sim/audio.ts'
import { MAX_TWIML_DOCUMENTS, playAfterConnect } from '../../../tools/sim/transfer.ts'
import { parseTwiml } from '../../../tools/sim/twiml.ts'
import type { Problem } from '../../../tools/sim/types.ts'

const base = 'https://talkhint.example.com'
const params = { direction: 'inbound' as const, from: '+15555550100', to: '+15555550199', mode: 'assist' as const, token: 'tok' }

t.test('reads the warm transfer: <Dial action timeout>, the <Number url statusCallback> and its events; <Stop><Stream name>', async (t) => {
  const tw = parseTwiml(warmTransferTwiml({
    streamUrl: `${base.replace('https', 'wss')}/media`,
    streamStatus: `${base}/twilio/stream-status`,
    whisperUrl: `${base}/twilio/whisper?call=CA1`,
    dialAction: `${base}/twilio/transfer-action?call=CA1`,
    dialStatus: `${base}/twilio/transfer-status?call=CA1`,
  }, params, '+15550001111', 'Connecting you.'))
  t.same(tw.verbs.map((v) => v.verb), ['Say', 'Start', 'Dial'])
  t.match(tw.stream, { kind: 'start', name: 'talkhint-person', tracks: ['inbound', 'outbound'], parameters: { token: 'tok' } })
  t.match(tw.verbs[2], {
    verb: 'Dial',
    target: '+15550001111',
    action: `${base}/twilio/transfer-action?call=CA1`,
    timeout: 20,
    number: { url: `${base}/twilio/whisper?call=CA1`, statusCallback: `${base}/twilio/transfer-status?call=CA1`, statusCallbackEvents: ['ringing', 'answered', 'completed'] },
  })
  const back = parseTwiml(backToAgentTwiml({ streamUrl: `${base.replace('https', 'wss')}/media`, streamStatus: `${base}/s`, connectAction: `${base}/twilio/connect-action` }, { ...params, mode: 'agent' }))
  t.same(back.verbs.map((v) => v.verb), ['Stop', 'Connect'])
  t.match(back.verbs[0], { verb: 'Stop', streamName: 'talkhint-person' })
})

t.test('a server that answers every <Dial action> with another dial: the simulator stops after the limit', async (t) => {
  let requests = 0
  const server = createServer((req, res) => {
    requests++
    req.resume()
    res.writeHead(200, { 'content-type': 'text/xml' }).end('<Response><Say>Again.</Say><Dial action="/again"><Number>+15550001111</Number></Dial></Response>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const problems: Problem[] = []
  const audio = await loadTrackAudio(FIXTURES.caller)
  const first = parseTwiml('<Response><Dial action="/again"><Number>+15550001111</Number></Dial></Response>')
  const after = await playAfterConnect({
    target: { serverUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, publicBaseUrl: base, authToken: 'x' },
    call: { accountSid: 'AC1', callSid: 'CA1', params: { CallSid: 'CA1' } },
    opts: { operatorPickup: 'busy' },
    emit: () => {},
    problem: (code, severity, message) => { problems.push({ code, severity, message, count: 1 }) },
    callback: async () => {},
    audio: () => audio,
    pump: async () => false,
  }, { url: `${base}/first`, twiml: first })
  t.equal(after.ended, 'step limit')
  t.equal(requests, MAX_TWIML_DOCUMENTS + 1, 'every document up to the limit was requested, and no more')
  t.match(problems, [{ code: 'loop', severity: 'error' }])
  t.equal(after.dials.length, MAX_TWIML_DOCUMENTS + 1)
  t.ok(after.dials.every((d) => d.status === 'busy'))
})
