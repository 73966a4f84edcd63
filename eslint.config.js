import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['static/vendor/**', 'test/artifacts/**', 'data/**'] }),
  {
    files: ['src/**/*.ts'],
    ignores: ['src/app.ts', 'src/server.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['fastify', '@fastify/*', 'fastify-plugin'], message: 'src/ is framework-free: wire Fastify in plugins/.' },
          { group: ['../plugins/*', '../../plugins/*'], message: 'src/ never imports plugins/.' }
        ]
      }]
    }
  },
  {
    files: ['plugins/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['./*'], message: 'plugins share through decorators, never import each other.' }]
      }]
    }
  }
]
