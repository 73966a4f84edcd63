/** The dashboard's AI pill for a refused config shows the API's own words. */
import t from 'tap'

const FORMAT = new URL('../../../static/js/format.js', import.meta.url).href
const { aiLabel, AI_LABELS } = await import(FORMAT) as { aiLabel: (call: object) => string, AI_LABELS: Record<string, string> }

t.test('refused: "AI: config refused — <message>"', async (t) => {
  t.equal(aiLabel({ aiStatus: 'refused', aiDetail: "Invalid value: 'robot'." }), "AI: config refused — Invalid value: 'robot'.")
  t.equal(aiLabel({ aiStatus: 'refused', aiDetail: null }), 'AI: config refused — see the server log')
  t.equal(AI_LABELS.refused, 'AI: config refused', 'the history page (status only) names it too')
  t.equal(aiLabel({ aiStatus: 'degraded', aiDetail: 'x' }), 'AI degraded', 'other statuses unchanged')
})
