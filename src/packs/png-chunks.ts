import { crc32, inflateSync } from 'node:zlib';
import { PackImportError } from './import-problems.js';

/** The eight bytes every PNG file starts with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngChunk {
  type: string;
  data: Buffer;
  /** Byte offset of the chunk's length field in the file. */
  offset: number;
}

export function hasPngSignature(buffer: Buffer): boolean {
  return buffer.length >= PNG_SIGNATURE.length && buffer.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE);
}

/**
 * Splits a PNG file into its chunks (4-byte big-endian length, 4-byte type,
 * data, 4-byte CRC-32 over type and data) up to IEND. Throws PackImportError
 * for a missing signature, a chunk that runs past the end of the file or a
 * CRC mismatch.
 */
export function readPngChunks(buffer: Buffer): PngChunk[] {
  if (!hasPngSignature(buffer)) throw new PackImportError({ code: 'png-signature', params: {} });

  const chunks: PngChunk[] = [];
  let offset = PNG_SIGNATURE.length;
  // Every pass moves at least 12 bytes forward, so the loop ends by the end of the buffer.
  while (offset < buffer.length) {
    if (offset + 8 > buffer.length) throw truncated(offset);
    const length = buffer.readUInt32BE(offset);
    const type = buffer.toString('latin1', offset + 4, offset + 8);
    const dataEnd = offset + 8 + length;
    if (dataEnd + 4 > buffer.length) throw truncated(offset);

    const data = buffer.subarray(offset + 8, dataEnd);
    const expected = buffer.readUInt32BE(dataEnd);
    const actual = crc32(buffer.subarray(offset + 4, dataEnd));
    if (actual !== expected) {
      throw new PackImportError({ code: 'png-crc', params: { chunk: type, offset } });
    }
    chunks.push({ type, data, offset });
    offset = dataEnd + 4;
    if (type === 'IEND') break;
  }
  return chunks;
}

function truncated(offset: number): PackImportError {
  return new PackImportError({ code: 'png-truncated', params: { offset } });
}

/**
 * Reads the text chunks (tEXt, zTXt and iTXt) as keyword → text. The first
 * chunk of a keyword wins. Throws PackImportError for a text chunk without a
 * keyword separator or with data that does not decompress.
 */
export function readPngTextChunks(chunks: readonly PngChunk[]): Map<string, string> {
  const texts = new Map<string, string>();
  for (const chunk of chunks) {
    const parsed = parseTextChunk(chunk);
    if (parsed !== undefined && !texts.has(parsed.keyword)) texts.set(parsed.keyword, parsed.text);
  }
  return texts;
}

function parseTextChunk(chunk: PngChunk): { keyword: string; text: string } | undefined {
  if (chunk.type !== 'tEXt' && chunk.type !== 'zTXt' && chunk.type !== 'iTXt') return undefined;
  const { data } = chunk;
  const separator = data.indexOf(0);
  if (separator <= 0) throw badText(chunk);
  const keyword = data.toString('latin1', 0, separator);

  try {
    if (chunk.type === 'tEXt') return { keyword, text: data.toString('latin1', separator + 1) };
    if (chunk.type === 'zTXt') return { keyword, text: inflateSync(data.subarray(separator + 2)).toString('latin1') };

    // iTXt: compression flag, compression method, language tag\0, translated keyword\0, UTF-8 text.
    const compressed = data[separator + 1] === 1;
    const languageEnd = data.indexOf(0, separator + 3);
    const translatedEnd = languageEnd === -1 ? -1 : data.indexOf(0, languageEnd + 1);
    if (translatedEnd === -1) throw badText(chunk);
    const body = data.subarray(translatedEnd + 1);
    return { keyword, text: (compressed ? inflateSync(body) : body).toString('utf8') };
  } catch (error) {
    if (error instanceof PackImportError) throw error;
    throw badText(chunk);
  }
}

function badText(chunk: PngChunk): PackImportError {
  return new PackImportError({ code: 'png-text-chunk', params: { chunk: chunk.type, offset: chunk.offset } });
}
