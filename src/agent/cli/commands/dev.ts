// `casa-agent dev` (what `npm start` runs): the whole CASA flow on this
// machine, no cluster — reference runtime, the agent on a file inventory of
// the example MAS, the development data plane and the example apps. Prints
// where each part listens; Enter (or `npm run demo` elsewhere) runs the demo;
// SIGINT/SIGTERM stops everything and exits 0. With --demo: start, run the
// demo, stop; exit 0 when every step held, 1 otherwise.
import { formatHostPort } from '../../config/load.js';
import type { ExchangeEvent } from '../../dev/dataplane/dev-dataplane.js';
import { runDemo } from '../../dev/demo.js';
import { DevWorld, type DevWorld as DevWorldType, PORT_OFFSETS } from '../../dev/dev-world.js';
import { APP_HOST, DEMO_MAS, DEMO_NS, PLANNER_RPC_PATH } from '../../dev/example-mas.js';
import { createLogger } from '../../log.js';
import { consoleSpanPrinter } from '../../telemetry/index.js';
import { UsageError } from '../args.js';
import type { CommandContext } from '../context.js';

export default async function dev(ctx: CommandContext): Promise<number> {
  const portBase = parsePortBase(ctx.extra['port-base']);
  const out = (line = '') => ctx.stdout.write(`${line}\n`);
  // The console lines below replace the agent's info-level JSON; warnings and errors still go to stderr.
  const level = ctx.config.logLevel === 'info' ? 'warn' : ctx.config.logLevel;
  const log = createLogger(level);
  let demoRunning = false;
  const world = await DevWorld.start({
    config: ctx.config,
    log,
    portBase,
    // Spans go to the same console as the demo's lines, so a newcomer reads the trace beside them.
    ...(ctx.extra['print-spans'] === true ? { spanPrinter: consoleSpanPrinter(ctx.stdout) } : {}),
    onExchange: (e) => {
      if (!demoRunning) out(exchangeLine(e));
    },
  });
  try {
    await world.ready();
  } catch (err) {
    await world.stop();
    throw err;
  }

  if (ctx.extra.demo === true) {
    out(
      `casa-agent dev --demo: a fresh dev world on ${portBase === 0 ? 'free ports' : `ports from ${portBase}`}`,
    );
    out();
    demoRunning = true;
    const steps = await runDemo(world, { fastForward: ctx.extra['demo-wait'] !== true, write: out });
    await world.stop();
    log.flush();
    return steps.every((s) => s.ok) ? 0 : 1;
  }

  for (const l of banner(world)) out(l);
  const stdin = ctx.stdin;
  const onInput = () => {
    if (demoRunning) return;
    demoRunning = true;
    out();
    runDemo(world, { write: out })
      .catch((err: unknown) => out(`demo failed: ${(err as Error).message}`))
      .finally(() => {
        demoRunning = false;
        out('(Enter runs the demo again; Ctrl-C stops everything)');
      });
  };
  stdin?.on('data', onInput);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      stdin?.off('data', onInput);
      stdin?.pause();
      out(`${signal}: stopping the dev world`);
      world.stop().then(resolve, (err: unknown) => {
        log.error({ component: 'dev', err }, 'shutdown failed');
        resolve();
      });
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  out('stopped');
  log.flush();
  return 0;
}

function parsePortBase(v: string | boolean | undefined): number {
  const s = typeof v === 'string' ? v : '18080';
  const n = Number(s);
  const last = Math.max(...Object.values(PORT_OFFSETS));
  if (!/^\d+$/.test(s) || (n !== 0 && (n < 1024 || n + last > 65535))) {
    throw new UsageError(
      `--port-base: expected 0 (free ports) or 1024..${65535 - last}, got ${JSON.stringify(s)}`,
    );
  }
  return n;
}

/** The few lines `npm start` prints: where everything listens and how to run the demo. */
export function banner(world: DevWorldType): string[] {
  const u = world.urls;
  const authz = formatHostPort({ host: '127.0.0.1', port: Number(u.authz.split(':')[1]) });
  return [
    'casa-agent dev: CASA on this machine, no cluster. Ctrl-C stops everything.',
    `  runtime (casa profile)     ${u.runtime}`,
    `  agent                      ext_authz ${authz}, xDS ${u.xds}, diagnostics ${u.diag}/debug/decisions`,
    `  development data plane (not the production data plane), ext_authz like Envoy's filter:`,
    `    ${u.webEgress}  egress of web (client): its HTTP proxy`,
    `    ${u.plannerEgress}  egress of planner (agent): its HTTP proxy`,
    `    ${u.plannerIngress}  ingress to planner for callers outside the mesh`,
    `  apps of MAS ${DEMO_NS}/${DEMO_MAS}: planner A2A http://${APP_HOST.planner}${PLANNER_RPC_PATH} (${u.planner}), flights MCP http://${APP_HOST.flights}/mcp (${u.flights}), web (A2A client)`,
    'Run the demo: press Enter here, or "npm run demo" in another terminal.',
  ];
}

function exchangeLine(e: ExchangeEvent): string {
  const verdict =
    e.outcome === 'allowed'
      ? `${e.status} allowed`
      : e.outcome === 'denied'
        ? `${e.status} denied ${e.reason ?? ''}`.trimEnd()
        : `${e.status} ${e.outcome}${e.authzError ? ` (${e.authzError})` : ''}`;
  const token = e.injected.find((i) => i.token)?.token;
  const inj = token ? `, injected authorization ‹${token.fingerprint}›` : '';
  return `[dataplane ${e.listener}] ${e.source} → ${e.destination} ${e.method} ${e.path} ${e.protocol}: ${verdict}${inj}`;
}
