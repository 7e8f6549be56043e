// One line per event on stderr, logfmt (as Prometheus' own components log) or JSON. Callers pass fields,
// never credentials; as a backstop every value has the userinfo of any URL in it masked (redact.ts), because
// URLs arrive from kubeconfigs, flags and library error messages that nobody here wrote.
import { redact } from './redact.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['logfmt', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type Fields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

export function createLogger(
  level: LogLevel,
  format: LogFormat,
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const log = (lvl: LogLevel, msg: string, fields: Fields = {}): void => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    const record: Fields = { ts: new Date().toISOString(), level: lvl, msg: redact(msg) };
    for (const [k, v] of Object.entries(fields)) record[k] = typeof v === 'string' ? redact(v) : v;
    write(format === 'json' ? JSON.stringify(record) : logfmt(record));
  };
  return {
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
  };
}

function logfmt(record: Fields): string {
  return Object.entries(record)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${logfmtValue(String(v))}`)
    .join(' ');
}

function logfmtValue(v: string): string {
  // Quote when the value would otherwise be ambiguous to a logfmt parser; JSON string escaping keeps it on one line.
  return v === '' || /[\s"=\\]|[^\x21-\x7e]/.test(v) ? JSON.stringify(v) : v;
}
