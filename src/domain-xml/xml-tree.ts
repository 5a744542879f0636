// Parses libvirt domain XML into a small ordered element tree (name, attributes, children,
// text) that the importers walk. Owns well-formedness and the line numbers in its errors;
// knows nothing about what a domain means. Wraps fast-xml-parser's validator and its
// order-preserving mode, because warnings must follow document order.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { VmhopError } from '../protocol/errors.js';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text, trimmed (CDATA included, comments not). */
  text: string;
}

type OrderedNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  // Decodes numeric character references (&#65;), which the XML-only mode leaves as text.
  htmlEntities: true,
});

export function xmlInvalid(message: string, details: Record<string, unknown> = {}): VmhopError {
  return new VmhopError('VMHOP_ERR_XML_INVALID', message, details);
}

/** Parses `xml` and returns its single root element, which must be `rootName`. */
export function parseXml(xml: string, rootName: string): XmlElement {
  if (xml.trim() === '') throw xmlInvalid('the domain XML is empty');
  // libvirt never writes a DOCTYPE; refusing it keeps entity expansion out of the picture.
  if (/<!DOCTYPE/i.test(xml)) throw xmlInvalid('the domain XML has a <!DOCTYPE>, which libvirt never writes');
  const verdict = XMLValidator.validate(xml);
  if (verdict !== true) {
    const { msg, line, col } = verdict.err;
    throw xmlInvalid(`the domain XML is malformed at line ${line}, column ${col}: ${msg}`, { line, col });
  }
  const roots = (parser.parse(xml) as OrderedNode[]).flatMap((n) => toElement(n) ?? []);
  const [root] = roots;
  if (roots.length !== 1 || !root) {
    throw xmlInvalid(`the domain XML must have one root element, found ${roots.length}`);
  }
  if (root.name !== rootName) {
    throw xmlInvalid(`the root element is <${root.name}>; a libvirt domain starts with <${rootName}>`);
  }
  return root;
}

function toElement(node: OrderedNode): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ':@');
  if (name === undefined || name.startsWith('#') || name.startsWith('?')) return undefined;
  const content = (node[name] ?? []) as OrderedNode[];
  const texts = content.flatMap((c) => (typeof c['#text'] === 'string' ? [c['#text']] : []));
  return {
    name,
    attrs: (node[':@'] ?? {}) as Record<string, string>,
    children: content.flatMap((c) => toElement(c) ?? []),
    text: texts.join('').trim(),
  };
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** The attribute `attrName` of the first child `name`, e.g. `<source file=...>`. */
export function childAttr(el: XmlElement, name: string, attrName: string): string | undefined {
  return child(el, name)?.attrs[attrName];
}
