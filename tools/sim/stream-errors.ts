/** Media-stream handshake failures as Twilio would report them, each saying what to fix. */
import { TWILIO_SUBPROTOCOL } from '../../src/routes.ts'
import { SimError } from './types.ts'

/** A failed stream handshake (network or subprotocol) as Twilio would report it. */
export function streamError (url: string, err: Error & { code?: string }): SimError {
  if (/subprotocol/i.test(err.message)) {
    return new SimError('STREAM_SUBPROTOCOL', `the server did not accept the ${TWILIO_SUBPROTOCOL} subprotocol (${err.message}). Servers must echo it when offered; try --no-subprotocol to test a client that offers none`, { cause: err })
  }
  const why = err.code ?? err.message
  return new SimError('STREAM_UNREACHABLE', `could not open the media stream at ${url} (${why}); Twilio would report error 31901`, { cause: err })
}

/** A handshake answered with an HTTP status instead of 101. */
export function handshakeStatusError (opts: { readonly url: string, readonly signedUrl: string }, status: number): SimError {
  const path = new URL(opts.url).pathname
  if (status === 403) {
    return new SimError('STREAM_FORBIDDEN', `the server refused the media-stream upgrade with 403: the X-Twilio-Signature over ${opts.signedUrl} did not verify. ` +
      'The simulator signs the wss:// URL from the TwiML with TWILIO_AUTH_TOKEN; the server checks it against its own PUBLIC_BASE_URL + the media path, so PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN must be the same on both sides')
  }
  if (status === 404) {
    return new SimError('STREAM_NOT_FOUND', `the stream path ${path} does not exist on the server (404); the TwiML's <Stream url> and the server's media route disagree (Twilio error 31920)`)
  }
  return new SimError('STREAM_REJECTED', `the server answered the media-stream upgrade at ${path} with HTTP ${status} instead of 101 (Twilio error 31920)`)
}
