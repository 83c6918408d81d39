/**
 * Interactive terminal for the fake shell: a bounded line editor (echo,
 * backspace, ^C, ^D, ^U, escape sequences swallowed) and a driver that wires a
 * FakeShell to any byte transport (an ssh channel, a telnet socket).
 */
import type { FakeShell } from './fake-shell.js';

export type EditorEvent = { type: 'echo'; text: string } | { type: 'line'; line: string } | { type: 'interrupt' } | { type: 'eof' };

export const MAX_EDITOR_LINE = 1024;

export class LineEditor {
  private buf: number[] = [];
  private esc: 0 | 1 | 2 | 3 = 0; // 0 none, 1 after ESC, 2 in CSI, 3 after ESC O
  private lastCR = false;

  constructor(private readonly maxLine = MAX_EDITOR_LINE) {}

  /** Feed raw bytes; returns echo text and completed lines/signals, interleaved in input order. */
  feed(chunk: Buffer): EditorEvent[] {
    let echo = '';
    const events: EditorEvent[] = [];
    const flush = () => {
      if (echo) events.push({ type: 'echo', text: echo });
      echo = '';
    };
    for (const b of chunk) {
      const afterCR = this.lastCR;
      this.lastCR = false;
      if (this.esc === 1) {
        this.esc = b === 0x5b ? 2 : b === 0x4f ? 3 : 0;
        continue;
      }
      if (this.esc === 2) {
        if (b >= 0x40 && b <= 0x7e) this.esc = 0;
        continue;
      }
      if (this.esc === 3) {
        this.esc = 0;
        continue;
      }
      if (b === 0x1b) {
        this.esc = 1;
      } else if (b === 0x0d || b === 0x0a) {
        if (afterCR && (b === 0x0a)) continue; // CR LF
        this.lastCR = b === 0x0d;
        echo += '\r\n';
        flush();
        events.push({ type: 'line', line: Buffer.from(this.buf).toString('utf8') });
        this.buf = [];
      } else if (b === 0x00) {
        // telnet CR NUL
      } else if (b === 0x7f || b === 0x08) {
        if (this.buf.length) {
          // drop one UTF-8 character (continuation bytes first)
          while (this.buf.length && ((this.buf[this.buf.length - 1]! & 0xc0) === 0x80)) this.buf.pop();
          this.buf.pop();
          echo += '\b \b';
        }
      } else if (b === 0x03) {
        this.buf = [];
        echo += '^C\r\n';
        flush();
        events.push({ type: 'interrupt' });
      } else if (b === 0x04) {
        if (this.buf.length === 0) {
          flush();
          events.push({ type: 'eof' });
        }
      } else if (b === 0x15) {
        echo += '\b \b'.repeat(Buffer.from(this.buf).toString('utf8').length);
        this.buf = [];
      } else if (b < 0x20) {
        // other control characters: ignored
      } else if (this.buf.length < this.maxLine) {
        this.buf.push(b);
        if (b < 0x80) echo += String.fromCharCode(b);
        else if ((b & 0xc0) !== 0x80) echo += '?';
      } else if (!echo.endsWith('\x07')) {
        echo += '\x07'; // line full: one bell per chunk, not one per byte
      }
    }
    flush();
    return events;
  }
}

export interface TerminalIo {
  write(text: string): void;
  /** end the session with an exit code */
  close(code: number): void;
}

/** CRLF line ends for a terminal. */
export function toCrlf(s: string): string {
  return s.replace(/\r?\n/g, '\r\n');
}

export function motd(kernel: string): string {
  return (
    `Welcome to Ubuntu 22.04.3 LTS (GNU/Linux ${kernel} x86_64)\n\n` +
    ' * Documentation:  https://help.ubuntu.com\n * Management:     https://landscape.canonical.com\n * Support:        https://ubuntu.com/advantage\n\n' +
    'Last login: Mon Jan 15 09:12:44 2024 from 10.0.0.2\n'
  );
}

/**
 * Drive a FakeShell over a terminal: prints `greeting` and a prompt, then
 * returns the function to call with incoming bytes.
 */
export function attachShell(shell: FakeShell, io: TerminalIo, greeting = '', echo = true): (chunk: Buffer) => void {
  const editor = new LineEditor();
  let done = false;
  io.write(toCrlf(greeting) + shell.prompt());
  return (chunk: Buffer) => {
    if (done) return;
    let out = '';
    for (const ev of editor.feed(chunk)) {
      if (ev.type === 'echo') {
        out += echo ? ev.text : ev.text.replace(/[^\r\n]/g, '');
        continue;
      }
      if (ev.type === 'eof') {
        done = true;
        io.write(`${out}logout\r\n`);
        io.close(0);
        return;
      }
      if (ev.type === 'interrupt') {
        out += shell.prompt();
        continue;
      }
      const r = shell.execute(ev.line);
      out += toCrlf(r.output);
      if (r.exit) {
        done = true;
        io.write(`${out}logout\r\n`);
        io.close(r.exitCode);
        return;
      }
      out += shell.prompt();
    }
    if (out) io.write(out);
  };
}
