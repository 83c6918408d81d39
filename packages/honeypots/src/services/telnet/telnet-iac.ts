/**
 * Telnet IAC parser (RFC 854/855): separates data bytes from commands,
 * answers option negotiation so a client settles on "server echoes, no
 * go-ahead", and skips subnegotiations. Pure and bounded: output never
 * exceeds the input (data) or a few bytes per option (replies).
 */

export const IAC = 0xff;
export const DONT = 0xfe;
export const DO = 0xfd;
export const WONT = 0xfc;
export const WILL = 0xfb;
export const SB = 0xfa;
export const SE = 0xf0;
export const OPT_ECHO = 0x01;
export const OPT_SGA = 0x03;

/** What the server announces on connect: it will echo and suppress go-ahead. */
export const SERVER_OFFER = Buffer.from([IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA]);

const MAX_SB = 1024;

export interface TelnetParser {
  feed(chunk: Buffer): { data: Buffer; replies: Buffer };
}

export function createTelnetParser(): TelnetParser {
  // 0 data, 1 after IAC, 2 after IAC WILL/WONT/DO/DONT (cmd kept), 3 in SB, 4 IAC inside SB
  let state = 0;
  let cmd = 0;
  let sbLen = 0;
  let lastCR = false;
  const answered = new Set<number>();
  const offered = new Set<number>([OPT_ECHO, OPT_SGA]);

  const negotiate = (c: number, opt: number, out: number[]) => {
    const key = (c << 8) | opt;
    if (answered.has(key)) return; // answer each request once: no negotiation loops
    answered.add(key);
    if (c === DO) {
      if (!offered.has(opt)) out.push(IAC, WONT, opt); // we already sent WILL for the offered ones
    } else if (c === WILL) {
      out.push(IAC, DONT, opt);
    } else if (c === DONT && offered.has(opt)) {
      offered.delete(opt);
      out.push(IAC, WONT, opt);
    }
    // WONT: nothing to do (we never asked the client to do anything)
  };

  return {
    feed(chunk: Buffer) {
      const data: number[] = [];
      const replies: number[] = [];
      for (const b of chunk) {
        switch (state) {
          case 0:
            if (b === IAC) state = 1;
            else if (lastCR && b === 0x00) lastCR = false; // CR NUL = CR
            else {
              lastCR = b === 0x0d;
              data.push(b);
            }
            break;
          case 1:
            if (b === IAC) {
              data.push(IAC);
              state = 0;
            } else if (b >= WILL && b <= DONT) {
              cmd = b;
              state = 2;
            } else if (b === SB) {
              sbLen = 0;
              state = 3;
            } else state = 0; // NOP, GA, AYT, BRK, IP, ...: ignored
            break;
          case 2:
            negotiate(cmd, b, replies);
            state = 0;
            break;
          case 3:
            if (b === IAC) state = 4;
            else if (++sbLen > MAX_SB) state = 0; // runaway subnegotiation: give up on it
            break;
          case 4:
            state = b === SE ? 0 : 3;
            break;
        }
      }
      return { data: Buffer.from(data), replies: Buffer.from(replies) };
    },
  };
}
