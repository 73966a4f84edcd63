import neostandard from 'neostandard'

// Import boundaries (relative specifiers; `regex` is matched against the import string as written).
const up = '^(\\.\\./)+'
const NO_TOOLS_OR_FAKES = { regex: `${up}(tools|fakes|test)/`, message: 'src/ and plugins/ are the server: they never import tools/, fakes/ or test/.' }
const NO_PLUGINS = { regex: `${up}plugins/`, message: 'tools/ and fakes/ talk to the server over HTTP and WebSocket (or build it with src/app.ts), never through plugins/.' }
/** The one piece of server code the protocol fakes share: Twilio's signature algorithm (a pure function over the twilio SDK). */
const FAKES_SRC = { regex: `${up}src/(?!twilio/signature\\.ts$)`, message: 'fakes/ stand in for Twilio and OpenAI: they keep their own copy of the wire protocol and may only import src/twilio/signature.ts.' }
const NO_TEST = { regex: `${up}test/`, message: 'the demo ships fakes/ in the Docker image, which has no test/: fakes never import test/.' }

export default [
  ...neostandard({ ts: true, ignores: ['static/vendor/**', 'test/artifacts/**', 'data/**'] }),
  {
    files: ['src/**/*.ts'],
    ignores: ['src/app.ts', 'src/server.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['fastify', '@fastify/*', 'fastify-plugin'], message: 'src/ is framework-free: wire Fastify in plugins/.' },
          { group: ['../plugins/*', '../../plugins/*'], message: 'src/ never imports plugins/.' },
          NO_TOOLS_OR_FAKES,
        ]
      }]
    }
  },
  {
    files: ['src/app.ts', 'src/server.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_TOOLS_OR_FAKES] }] }
  },
  {
    files: ['plugins/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['./*'], message: 'plugins share through decorators, never import each other.' }, NO_TOOLS_OR_FAKES]
      }]
    }
  },
  {
    files: ['tools/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_PLUGINS, { regex: `${up}test/`, message: 'the Docker image ships tools/ without test/: tools never import test/.' }] }] }
  },
  {
    files: ['fakes/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_PLUGINS, FAKES_SRC, NO_TEST] }] }
  },
  {
    // A test-only client (the demo never loads it): it signs with the test suite's credentials.
    files: ['fakes/twilio-media-client.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_PLUGINS, FAKES_SRC] }] }
  }
]
