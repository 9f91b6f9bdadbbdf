// pino JSON logs with a component field. Redaction is a second line of defence:
// code must never pass a token to a logger in the first place.
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

const REDACT = [
  'token',
  'accessToken',
  'access_token',
  'subjectToken',
  'subject_token',
  'clientSecret',
  'client_secret',
  'authorization',
  'headers.authorization',
  '*.token',
  '*.access_token',
  '*.authorization',
  '*.clientSecret',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'casa-agent' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger for one component: every line carries `component`. */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}
