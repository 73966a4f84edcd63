/** Parses TwiML into an ordered tree so tests assert on structure, not strings. */
import { XMLParser, XMLValidator } from 'fast-xml-parser'

export interface XmlNode { name: string, attrs: Record<string, string>, children: XmlNode[], text: string }

type Raw = Record<string, unknown> & { ':@'?: Record<string, string> }

function toNode (raw: Raw): XmlNode | undefined {
  const name = Object.keys(raw).find((k) => k !== ':@')
  if (name === undefined || name === '#text') return undefined
  const kids = (raw[name] as Raw[]) ?? []
  const children = kids.map(toNode).filter((n): n is XmlNode => n !== undefined)
  const text = kids.filter((k) => '#text' in k).map((k) => String(k['#text'])).join('')
  return { name, attrs: raw[':@'] ?? {}, children, text }
}

/** Returns the <Response> element; throws if the XML is not well formed. */
export function parseTwiml (xml: string): XmlNode {
  const valid = XMLValidator.validate(xml)
  if (valid !== true) throw new Error(`invalid XML: ${JSON.stringify(valid)}`)
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, parseAttributeValue: false, parseTagValue: false })
  const doc = (parser.parse(xml) as Raw[]).map(toNode).filter((n): n is XmlNode => n !== undefined)
  const root = doc.find((n) => n.name === 'Response')
  if (root === undefined) throw new Error('no <Response> root')
  return root
}

/** Names of the top-level verbs in order. */
export const verbs = (root: XmlNode): string[] => root.children.map((c) => c.name)

/** `<Parameter>` name → value map of a <Stream>. */
export function streamParams (stream: XmlNode): Record<string, string> {
  return Object.fromEntries(stream.children.filter((c) => c.name === 'Parameter').map((p) => [p.attrs.name, p.attrs.value]))
}
