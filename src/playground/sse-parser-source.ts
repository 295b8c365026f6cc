/**
 * Browser JavaScript source of `createSseParser(onEvent)`, the playground's
 * incremental text/event-stream parser. It is kept as source text because the
 * page runs it as an inline script, and test/playground evaluates the same
 * text in Node to check the framing cases.
 *
 * It follows the event stream interpretation of the WHATWG HTML standard:
 * lines end in CRLF, LF or CR (a CR at the end of one chunk may be the first
 * half of a CRLF); a line starting with ":" is a comment; the `data` lines of
 * one event are joined with LF; a blank line dispatches the event unless it
 * had no `data` field; a leading byte order mark is dropped; and an event
 * still open when the body ends is discarded, because a cut-off event may be
 * incomplete. `id` and `retry` are ignored, since a fetch stream does not
 * reconnect. `onEvent` receives `{ type, data }`, where `type` is "message"
 * unless an `event` field set it.
 */
export const SSE_PARSER_SOURCE = String.raw`
function createSseParser(onEvent) {
  let buffer = '';
  let firstChunk = true;
  let dataLines = null;
  let eventType = '';

  function dispatch() {
    if (dataLines !== null) {
      onEvent({ type: eventType === '' ? 'message' : eventType, data: dataLines.join('\n') });
    }
    dataLines = null;
    eventType = '';
  }

  function processLine(line) {
    if (line === '') {
      dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      if (dataLines === null) dataLines = [];
      dataLines.push(value);
    } else if (field === 'event') {
      eventType = value;
    }
  }

  return {
    push(text) {
      buffer += text;
      if (firstChunk && buffer !== '') {
        firstChunk = false;
        if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
      }
      let lineStart = 0;
      for (let index = 0; index < buffer.length; index++) {
        const code = buffer.charCodeAt(index);
        if (code !== 10 && code !== 13) continue;
        // A CR as the last character may be followed by an LF in the next chunk.
        if (code === 13 && index + 1 === buffer.length) break;
        processLine(buffer.slice(lineStart, index));
        if (code === 13 && buffer.charCodeAt(index + 1) === 10) index++;
        lineStart = index + 1;
      }
      buffer = buffer.slice(lineStart);
    },
    end() {
      // A CR held back by push() still ends its line, which may be the blank line of an event.
      if (buffer.charCodeAt(buffer.length - 1) === 13) processLine(buffer.slice(0, -1));
      buffer = '';
      dataLines = null;
      eventType = '';
    },
  };
}
`;
