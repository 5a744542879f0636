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
  const { depth, reserved } = scanTags(xml);
  if (depth > maxNesting) {
    throw xmlInvalid(
      `the domain XML nests elements ${depth} deep; a libvirt domain needs fewer than ${maxNesting} levels`,
      { depth, limit: maxNesting },
    );
  }
  if (reserved !== undefined) {
    throw xmlInvalid(
      `the domain XML has an element or attribute named \`${reserved}\`, which libvirt never writes`,
      { name: reserved },
    );
  }
  let parsed: OrderedNode[];
  try {
    parsed = parser.parse(xml) as OrderedNode[];
  } catch (e) {
    throw xmlInvalid(`the domain XML cannot be read: ${(e as Error).message}`);
  }
  const roots = parsed.flatMap((n) => toElement(n) ?? []);
  const [root] = roots;
  if (roots.length !== 1 || !root) {
    throw xmlInvalid(`the domain XML must have one root element, found ${roots.length}`);
  }
  if (root.name !== rootName) {
    throw xmlInvalid(`the root element is <${root.name}>; a libvirt domain starts with <${rootName}>`);
  }
  return root;
}

/** libvirt's deepest domain elements sit about 6 levels down; 64 leaves room and keeps recursion bounded. */
const maxNesting = 64;

const reservedNames = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The deepest element nesting, and the first element or attribute name that is a JavaScript
 * object key with a meaning of its own, over the tags outside comments, CDATA and
 * processing instructions (the XML is well-formed by now).
 */
function scanTags(xml: string): { depth: number; reserved?: string } {
  const stripped = xml.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>/g, '');
  let depth = 0;
  let max = 0;
  for (const m of stripped.matchAll(/<(\/?)([^\s/>]+)([^>]*?)(\/?)>/g)) {
    const [, closing, name = '', attrs = '', selfClosing] = m;
    if (reservedNames.has(name)) return { depth: max, reserved: name };
    for (const a of attrs.matchAll(/([^\s=]+)\s*=/g)) {
      if (reservedNames.has(a[1] ?? '')) return { depth: max, reserved: a[1] };
    }
    if (closing) depth--;
    else if (!selfClosing) max = Math.max(max, ++depth);
  }
  return { depth: max };
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
