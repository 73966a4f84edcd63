import t from 'tap'
import { isValidStreamSignature, isValidWebhookSignature, signTwilioRequest } from '../../../src/twilio/signature.ts'

t.test('matches Twilio\'s published signature test vector', async (t) => {
  const params = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675310', Digits: '1234', From: '+14158675310', To: '+18005551212' }
  const url = 'https://example.com/myapp.php?foo=1&bar=2'
  t.equal(signTwilioRequest('12345', url, params), 'L/OH5YylLD5NRKLltdqwSvS0BnU=')
  t.ok(isValidWebhookSignature('12345', 'L/OH5YylLD5NRKLltdqwSvS0BnU=', url, params))
  t.notOk(isValidWebhookSignature('12345', 'L/OH5YylLD5NRKLltdqwSvS0BnU=', url, { ...params, Digits: '1235' }), 'a changed param fails')
  t.notOk(isValidWebhookSignature('54321', 'L/OH5YylLD5NRKLltdqwSvS0BnU=', url, params), 'another token fails')
  t.notOk(isValidWebhookSignature('12345', undefined, url, params), 'a missing signature fails')
  t.notOk(isValidWebhookSignature('', 'L/OH5YylLD5NRKLltdqwSvS0BnU=', url, params), 'an empty token never validates')
})

t.test('stream upgrade: the wss URL as written, with or without a trailing slash, never the https form', async (t) => {
  const wss = 'wss://talkhint.example.com/media'
  t.ok(isValidStreamSignature('tok', signTwilioRequest('tok', wss, {}), wss))
  t.ok(isValidStreamSignature('tok', signTwilioRequest('tok', `${wss}/`, {}), wss))
  t.notOk(isValidStreamSignature('tok', signTwilioRequest('tok', 'https://talkhint.example.com/media', {}), wss))
  t.notOk(isValidStreamSignature('tok', signTwilioRequest('other', wss, {}), wss))
})
