// A minimal XML writer for the export: elements, single-quoted attributes and text, indented
// two spaces like libvirt's own files. Escapes every value, so nothing in a spec can change
// the document's structure.
export interface XmlNode {
  name: string;
  attrs: Record<string, string | number | undefined>;
  children: (XmlNode | string)[];
}

export function el(
  name: string,
  attrs: Record<string, string | number | undefined> = {},
  ...children: (XmlNode | string | false | undefined)[]
): XmlNode {
  return {
    name,
    attrs,
    children: children.filter((c): c is XmlNode | string => c !== false && c !== undefined),
  };
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  "'": '&apos;',
  '"': '&quot;',
};

function escape(s: string): string {
  return s.replace(/[&<>'"]/g, (c) => ESCAPES[c] ?? c);
}

export function renderXml(node: XmlNode, depth = 0): string {
  const pad = '  '.repeat(depth);
  const attrs = Object.entries(node.attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}='${escape(String(v))}'`)
    .join('');
  const open = `${pad}<${node.name}${attrs}`;
  if (node.children.length === 0) return `${open}/>\n`;
  const [only] = node.children;
  if (node.children.length === 1 && typeof only === 'string') {
    return `${open}>${escape(only)}</${node.name}>\n`;
  }
  const inner = node.children.map((c) =>
    typeof c === 'string' ? `${pad}  ${escape(c)}\n` : renderXml(c, depth + 1),
  );
  return `${open}>\n${inner.join('')}${pad}</${node.name}>\n`;
}
