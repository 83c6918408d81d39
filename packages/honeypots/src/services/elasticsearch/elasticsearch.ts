/**
 * Elasticsearch REST API honeypot (port 9200) on the shared HTTP front: an open
 * single-node cluster with bait indices. Requests become `request` events with
 * technique / es_index / tags fields (index_delete, ransom_note, script_query, ...).
 * Netty's framing: lower-case content-type/content-length, no Date/Connection,
 * HTTP/1.0 answered as HTTP/1.0.
 */
import { startHttpService, type HttpReply, type HttpRequest } from '../../runtime/http.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { esVersion, handleEs, newState, type EsState } from './es-api.js';

export function esStateFor(ctx: ServiceContext): EsState {
  const ver = typeof ctx.config['es_version'] === 'string' && ctx.config['es_version'] !== '' ? ctx.config['es_version'] : '8.12.2';
  const cluster = typeof ctx.config['cluster_name'] === 'string' && ctx.config['cluster_name'] !== '' ? ctx.config['cluster_name'] : 'elasticsearch';
  const v = esVersion(ver);
  if (v.number !== ver) ctx.log(`elasticsearch config: es_version ${JSON.stringify(ver)} is not x.y.z, using ${v.number}`);
  return newState(ctx.decky, ctx.hostname, cluster, v);
}

/** The pure handler: request -> reply with ES's headers. */
export function esHandler(st: EsState): (req: HttpRequest) => HttpReply {
  return (req) => {
    const r = handleEs(st, { method: req.method, path: req.path, query: req.query, body: req.body });
    const body = Buffer.from(r.body, 'utf8');
    // X-elastic-product arrived in 7.14
    const [maj, min] = st.version.number.split('.').map(Number) as [number, number];
    const headers: Record<string, string | number> = {};
    if (maj > 7 || (maj === 7 && min >= 14)) headers['X-elastic-product'] = 'Elasticsearch';
    headers['content-type'] = r.contentType;
    headers['content-length'] = body.length;
    return { status: r.status, headers, body, fields: r.fields };
  };
}

function nettyBadRequest(status: number): string {
  return `HTTP/1.1 ${status} Bad Request\r\ncontent-length: 0\r\n\r\n`;
}

async function start(ctx: ServiceContext): Promise<RunningService> {
  return startHttpService(ctx, esHandler(esStateFor(ctx)), {
    keepAliveHeader: false,
    connectionHeader: false,
    sendDate: false,
    rawHttp10: true,
    captureAuth: true,
    badRequest: nettyBadRequest,
  });
}

export const elasticsearchService: ServiceModule = { name: 'elasticsearch', start };
