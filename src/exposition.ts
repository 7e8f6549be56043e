// The /metrics body, rendered by prom-client in parts, each only when what it shows changed (kube-state-metrics
// keeps its metrics pre-rendered for the same reason): a scrape writes a buffer that is already there, or, when
// only the small parts changed (the process metrics, at most once a second), joins the kept parts' bytes; its
// cost no longer grows with rendering the EtcdMember objects.
//
// Each part has a key: a value that changes whenever the part's text may change (for the report's families, the
// report itself, which is immutable and made anew by every analysis). A scrape asks every key, renders the parts
// whose key changed, and reuses the assembled body, plain and gzip, while no part changed. A part that renders to
// the same text as before counts as unchanged.
//
// The gzip body is spliced from one deflate stream per part, each made once per change of its part (see
// gzipBody), so a large report is not compressed again for every scrape.
import { constants, crc32, deflateRawSync } from 'node:zlib';

export interface ExpositionPart {
  /** The part's text in the exposition format, ending in a newline (a prom-client registry's metrics(), for one). */
  readonly render: () => Promise<string>;
  /** Compared with the last rendered key by `equal` (default Object.is); the part is rendered again when it differs. */
  readonly key: () => unknown;
  readonly equal?: (a: unknown, b: unknown) => boolean;
}

export interface ScrapeBody {
  readonly body: Buffer;
  /** "gzip" when body is gzip-compressed. */
  readonly encoding: 'gzip' | undefined;
}

interface Rendered {
  readonly text: string;
  readonly bytes: Buffer;
  /** bytes as raw deflate ending in a full flush: byte-aligned, not final, nothing after it refers back into it. */
  deflated?: Buffer;
  /** CRC-32 of bytes alone, kept for the first part (the large one) whose CRC starts the body's. */
  crc?: number;
}

interface PartState {
  last?: { key: unknown; rendered: Rendered };
  rendering?: { key: unknown; done: Promise<Rendered> };
}

interface Body {
  readonly parts: readonly Rendered[];
  /** Each made at the first scrape that wants it: Prometheus asks for gzip only, curl for plain text only. */
  plain?: Buffer;
  gzip?: Buffer;
}

// RFC 1952 member header: magic, deflate, no flags, no modification time, no extra flags, OS "Unix".
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);
// An empty final block, which ends the deflate stream after the parts' non-final blocks.
const DEFLATE_END = deflateRawSync(Buffer.alloc(0));

export class Exposition {
  readonly contentType: string;
  private readonly state: PartState[];
  private last: Body | undefined;

  constructor(
    contentType: string,
    private readonly parts: readonly ExpositionPart[],
  ) {
    if (parts.length === 0) throw new Error('an exposition needs at least one part');
    this.contentType = contentType;
    this.state = parts.map(() => ({}));
  }

  /** The body for one scrape, every part current as of this call; gzip when the scraper accepts it. */
  async scrape(gzip: boolean): Promise<ScrapeBody> {
    const parts = await Promise.all(this.parts.map((p, i) => this.render(p, this.state[i]!, i)));
    let body = this.last;
    if (body === undefined || parts.some((p, i) => p !== body!.parts[i])) {
      body = this.last = { parts };
    }
    if (!gzip) return { body: (body.plain ??= Buffer.concat(body.parts.map((p) => p.bytes))), encoding: undefined };
    body.gzip ??= gzipBody(body.parts);
    return { body: body.gzip, encoding: 'gzip' };
  }

  /** The plain text, as a scraper that does not ask for gzip gets it. */
  async text(): Promise<string> {
    return (await this.scrape(false)).body.toString('utf8');
  }

  private render(part: ExpositionPart, state: PartState, index: number): Promise<Rendered> {
    const key = part.key();
    const equal = part.equal ?? Object.is;
    const { last, rendering } = state;
    if (last !== undefined && (Object.is(last.key, key) || equal(last.key, key))) {
      state.last = { key, rendered: last.rendered };
      return Promise.resolve(last.rendered);
    }
    if (rendering !== undefined && Object.is(rendering.key, key)) return rendering.done;
    const done = part.render().then(
      (metrics) => {
        // A blank line between parts, as prom-client puts between families.
        const text = index === 0 ? metrics : `\n${metrics}`;
        const previous = state.last?.rendered;
        const rendered = previous?.text === text ? previous : { text, bytes: Buffer.from(text) };
        if (state.rendering?.done === done) {
          state.last = { key, rendered };
          state.rendering = undefined;
        }
        return rendered;
      },
      (err: unknown) => {
        if (state.rendering?.done === done) state.rendering = undefined;
        throw err;
      },
    );
    state.rendering = { key, done };
    return done;
  }
}

/**
 * One gzip member (RFC 1952) around one deflate stream (RFC 1951) made of each part's blocks in turn: each part
 * compressed once, ending in a full flush (on a byte boundary, not final, nothing after it refers back into it),
 * then an empty final block. Concatenating one gzip member per part would be simpler and is valid gzip too, but
 * curl --compressed (among other clients) stops after the first member; a single member decodes everywhere.
 */
function gzipBody(parts: readonly Rendered[]): Buffer {
  let crc = 0;
  let size = 0;
  for (const [i, p] of parts.entries()) {
    p.deflated ??= deflateRawSync(p.bytes, { finishFlush: constants.Z_FULL_FLUSH });
    crc = i === 0 ? (p.crc ??= crc32(p.bytes)) : crc32(p.bytes, crc);
    size += p.bytes.length;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc, 0);
  // ISIZE is the length modulo 2^32.
  trailer.writeUInt32LE(size % 2 ** 32, 4);
  return Buffer.concat([GZIP_HEADER, ...parts.map((p) => p.deflated!), DEFLATE_END, trailer]);
}
