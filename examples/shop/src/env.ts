/** The environment a shop process is started with (set by the supervisor, or by hand). */
import type { ProcessName } from './topology.js';

/** `SHOP_URL_PAYMENT` etc.: where the service finds a service it calls. */
export function urlVar(name: ProcessName): string {
  return `SHOP_URL_${name.toUpperCase()}`;
}

/** Downstream base URLs this process was given, by service name. */
export function downstreamUrls(env: NodeJS.ProcessEnv = process.env): Map<ProcessName, string> {
  const out = new Map<ProcessName, string>();
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('SHOP_URL_') && v) out.set(k.slice('SHOP_URL_'.length).toLowerCase() as ProcessName, v);
  }
  return out;
}
