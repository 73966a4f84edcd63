/** Runs before npm start/demo/call/dev/doctor/test: on a Node too old to run .ts files, one line saying which Node to get. */
// Plain CommonJS with nothing newer than ES2015, so that even an old Node can run it and say so.
'use strict'

const [major, minor] = process.versions.node.split('.').map(Number)
// Type stripping is on by default from 22.18 (22.x) and 23.6 (23.x); later majors have it.
const ok = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18)

if (!ok) {
  process.stderr.write('TalkHint needs Node.js >= 22.18 (this is ' + process.version + '): install Node 24 LTS from https://nodejs.org, ' +
    'or run `npm install --prefix ~/.node24 node@24` and put ~/.node24/node_modules/.bin first on PATH.\n')
  process.exit(1)
}
