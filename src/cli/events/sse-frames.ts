// Server-sent events as they come off a socket: the byte stream cut into frames at blank
// lines, each frame's `id`, `event` and `data` fields. Comment lines (the agents' keep-alives)
// carry nothing. Used by the CLI's job follower and the UI server's merged stream.

export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

export function parseFrame(text: string): SseFrame {
  const f: SseFrame = { data: '' };
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue; // comments (keep-alives) and blank lines
    const [k, v] = [line.slice(0, i), line.slice(i + 1).replace(/^ /, '')];
    if (k === 'id') f.id = v;
    else if (k === 'event') f.event = v;
    else if (k === 'data') f.data += v;
  }
  return f;
}

/** The frames of an SSE body, as they complete; a frame cut off by the end is dropped. */
export async function* sseFrames(body: AsyncIterable<Buffer | string>): AsyncGenerator<SseFrame> {
  let buf = '';
  for await (const chunk of body) {
    buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const f = parseFrame(buf.slice(0, i));
      buf = buf.slice(i + 2);
      if (f.event || f.data) yield f;
    }
  }
}
