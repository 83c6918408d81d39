/**
 * One RDP connection as a pure state machine: bytes in, bytes and events out.
 * The socket adapter (rdp.ts) feeds what the client sent — raw bytes before TLS,
 * decrypted bytes after — and performs what a step asks for (write, start TLS, close).
 *
 *  1. X.224 Connection Request -> Connection Confirm (RDP_NEG_RSP / RDP_NEG_FAILURE)
 *  2a. HYBRID(_EX): TLS, then CredSSP carrying NTLM: CHALLENGE with the persona's names;
 *      the AUTHENTICATE is captured and answered like a failed Windows logon
 *      (TSRequest errorCode STATUS_LOGON_FAILURE), then the connection closes.
 *  2b. SSL (nla off): TLS, MCS Connect-Initial/Response, Erect Domain, Attach User,
 *      Channel Joins, then the Client Info PDU with the plaintext password; licensing
 *      answer and a Disconnect Provider Ultimatum, as after a refused logon.
 */
import type { Persona } from '@decnet/api';
import { secretFields } from '@decnet/api';
import { NtlmServer, ntlmCredentialFields } from '../../protocols/ntlmssp.js';
import { buildNegTokenResp, unwrapSpnego } from '../../protocols/spnego.js';
import type { ConnInfo, EmitFields } from '../../runtime/types.js';
import { buildLicenseValidClient, parseClientInfo } from './client-info.js';
import { buildTsRequest, CREDSSP_VERSION, parseTsRequest, STATUS_LOGON_FAILURE, TsRequestReader } from './credssp.js';
import {
  buildAttachUserConfirm,
  buildChannelJoinConfirm,
  buildConnectResponse,
  buildDisconnectUltimatum,
  buildSendDataIndication,
  buildServerData,
  FIRST_USER_ID,
  IO_CHANNEL,
  parseConnectInitial,
  parseDomainPdu,
  serverRdpVersion,
} from './mcs.js';
import {
  buildConnectionConfirm,
  dataTpdu,
  isDisconnectRequest,
  NEG_FAILURE,
  NEG_RSP_FLAGS_WIN10,
  parseConnectionRequest,
  parseDataTpdu,
  PROTOCOL,
  protocolNames,
  TpktReader,
  type ConnectionRequest,
  type Negotiation,
} from './x224.js';

export interface Step {
  /** bytes to send (on the TLS layer once TLS has started) */
  out: Buffer[];
  /** wrap the socket in TLS now (after writing `out` in the clear) */
  startTls?: boolean;
  /** bytes received after the Connection Request that belong to the TLS layer */
  tlsPrefix?: Buffer;
  /** end the connection after writing `out` */
  close?: boolean;
}

export interface RdpSessionOptions {
  persona: Persona;
  nla: boolean;
  info: ConnInfo;
  emit: (fields: EmitFields) => void;
  ntlm?: { challenge?: Buffer; now?: () => Date };
}

type Phase = 'x224' | 'standard' | 'credssp' | 'mcs-connect' | 'mcs-domain' | 'rdstls' | 'done';

/** The protocol a Windows of this configuration selects from what the client offers. */
export function negotiate(req: ConnectionRequest, nla: boolean): Negotiation {
  if (!req.negotiation) return { kind: 'none' };
  const p = req.requestedProtocols;
  const rsp = (selected: number): Negotiation => ({ kind: 'rsp', flags: NEG_RSP_FLAGS_WIN10, selected });
  const hybrid = p & PROTOCOL.HYBRID_EX ? rsp(PROTOCOL.HYBRID_EX) : p & PROTOCOL.HYBRID ? rsp(PROTOCOL.HYBRID) : undefined;
  // a Windows that does not require NLA still selects CredSSP when the client offers it;
  // TLS alone (and the plaintext Client Info PDU) is for clients that offer only TLS
  if (hybrid) return hybrid;
  if (!nla && p & PROTOCOL.SSL) return rsp(PROTOCOL.SSL);
  if (p & PROTOCOL.RDSTLS) return rsp(PROTOCOL.RDSTLS);
  return { kind: 'failure', code: nla ? NEG_FAILURE.HYBRID_REQUIRED_BY_SERVER : NEG_FAILURE.SSL_REQUIRED_BY_SERVER };
}

const failureName = (code: number) => Object.entries(NEG_FAILURE).find(([, v]) => v === code)?.[0] ?? String(code);

export class RdpSession {
  private phase: Phase = 'x224';
  private readonly tpkt = new TpktReader();
  private readonly tsReader = new TsRequestReader();
  private readonly ntlm: NtlmServer;
  private cookie: string | undefined;
  private selected = 0;
  private requested = 0;
  private credsspMessages = 0;
  private domainPdus = 0;
  private spnego = false;
  private clientName: string | undefined;
  private clientBuild: number | undefined;
  private readonly joinable = new Set<number>();
  private userId = FIRST_USER_ID;

  constructor(private readonly o: RdpSessionOptions) {
    this.ntlm = new NtlmServer(o.persona, o.ntlm ?? {});
  }

  get closed(): boolean {
    return this.phase === 'done';
  }

  /** bytes the session holds while waiting for the rest of a frame (for fuzz bounds) */
  get buffered(): number {
    return this.tpkt.buffered + this.tsReader.buffered;
  }

  feed(data: Buffer): Step {
    try {
      return this.dispatch(data);
    } catch (err) {
      this.error(`internal: ${(err as Error).message}`);
      return this.end([]);
    }
  }

  private dispatch(data: Buffer): Step {
    switch (this.phase) {
      case 'mcs-connect':
        // A client that asked for SSL and CredSSP but got SSL may still start CredSSP
        // (nmap's rdp-ntlm-info does): Windows lets it, so follow the client.
        if (this.tpkt.buffered === 0 && data[0] === 0x30) {
          this.phase = 'credssp';
          return this.onCredssp(data);
        }
        return this.onTpkt(data);
      case 'x224':
      case 'standard':
      case 'mcs-domain':
        return this.onTpkt(data);
      case 'credssp':
        return this.onCredssp(data);
      case 'rdstls':
        // RDSTLS would need the redirection cookie a broker issued: Windows drops clients without one
        this.error('RDSTLS without redirection data');
        return this.end([]);
      case 'done':
        return { out: [], close: true };
    }
  }

  private end(out: Buffer[]): Step {
    this.phase = 'done';
    return { out, close: true };
  }

  private error(message: string): void {
    this.o.emit({ event: 'protocol_error', ...this.o.info, message: message.slice(0, 200) });
  }

  private onTpkt(data: Buffer): Step {
    if (this.phase === 'x224' && this.tpkt.buffered === 0 && data[0] === 0x16) {
      // the Direct Approach (MS-RDPBCGR 5.4.2.2): TLS and CredSSP first, X.224 afterwards
      // (nmap's ssl-cert connects this way); Windows answers with its certificate
      this.phase = 'credssp';
      this.selected = PROTOCOL.HYBRID;
      this.o.emit({ event: 'request', ...this.o.info, request: 'direct_tls' });
      return { out: [], startTls: true, tlsPrefix: Buffer.from(data) };
    }
    const { packets, error } = this.tpkt.push(data);
    const out: Buffer[] = [];
    for (const pkt of packets) {
      const step = this.onPacket(pkt);
      out.push(...step.out);
      if (step.close || step.startTls) return { ...step, out };
    }
    if (error) {
      this.error(error);
      return this.end(out);
    }
    return { out };
  }

  private onPacket(pkt: Buffer): Step {
    if (isDisconnectRequest(pkt)) return this.end([]);
    if (this.phase === 'x224') return this.onConnectionRequest(pkt);
    const mcs = parseDataTpdu(pkt);
    if (!mcs) {
      this.error('expected an X.224 data TPDU');
      return this.end([]);
    }
    if (this.phase === 'standard') {
      // Standard RDP Security (RSA + RC4) is not offered: like a server whose security layer is TLS, hang up
      const ci = parseConnectInitial(mcs);
      this.emitConnectInitial(ci);
      return this.end([]);
    }
    if (this.phase === 'mcs-connect') return this.onConnectInitial(mcs);
    return this.onDomainPdu(mcs);
  }

  private onConnectionRequest(pkt: Buffer): Step {
    const req = parseConnectionRequest(pkt);
    if (!req) {
      this.error('not an X.224 Connection Request');
      return this.end([]);
    }
    const neg = negotiate(req, this.o.nla);
    this.cookie = req.cookie;
    this.requested = req.requestedProtocols;
    this.o.emit({
      event: 'request',
      ...this.o.info,
      request: 'x224_connection_request',
      ...(req.cookie !== undefined ? { principal: req.cookie, rdp_cookie: req.cookie } : {}),
      ...(req.routingToken !== undefined ? { rdp_routing_token: req.routingToken } : {}),
      ...(req.correlationId !== undefined ? { rdp_correlation_id: req.correlationId } : {}),
      requested_protocols: req.negotiation ? protocolNames(req.requestedProtocols).join('|') : 'none',
      ...(neg.kind === 'rsp' ? { selected_protocol: protocolNames(neg.selected).join('|') } : {}),
      ...(neg.kind === 'failure' ? { negotiation_failure: failureName(neg.code) } : {}),
    });
    const cc = buildConnectionConfirm(neg);
    if (neg.kind === 'failure') return this.end([cc]);
    if (neg.kind === 'none') {
      this.phase = 'standard';
      return { out: [cc] };
    }
    this.selected = neg.selected;
    this.phase = neg.selected & (PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX) ? 'credssp' : neg.selected === PROTOCOL.RDSTLS ? 'rdstls' : 'mcs-connect';
    const rest = this.tpkt.take();
    return { out: [cc], startTls: true, ...(rest.length ? { tlsPrefix: rest } : {}) };
  }

  // ---- CredSSP ----

  private onCredssp(data: Buffer): Step {
    const { messages, error } = this.tsReader.push(data);
    const out: Buffer[] = [];
    for (const m of messages) {
      const step = this.onTsRequest(m);
      out.push(...step.out);
      if (step.close) return { ...step, out };
    }
    if (error) {
      this.error(error);
      return this.end(out);
    }
    return { out };
  }

  private onTsRequest(msg: Buffer): Step {
    if (++this.credsspMessages > 4) return this.end([]);
    const req = parseTsRequest(msg);
    const token = req?.negoTokens[0];
    if (!req || !token) {
      this.error('TSRequest without negoToken');
      return this.end([]);
    }
    const unwrapped = unwrapSpnego(token);
    if (unwrapped.wrapped) this.spnego = true;
    if (!unwrapped.mechToken) {
      this.error('negoToken is not NTLMSSP (Kerberos is not offered by this host)');
      return this.end([]);
    }
    const r = this.ntlm.step(unwrapped.mechToken);
    if (r.reply) {
      const tok = this.spnego ? buildNegTokenResp('accept-incomplete', r.reply) : r.reply;
      return { out: [buildTsRequest({ version: CREDSSP_VERSION, negoToken: tok })] };
    }
    if (r.auth) {
      this.o.emit({
        event: 'auth_attempt',
        ...this.o.info,
        ...ntlmCredentialFields(r.auth),
        success: false,
        auth_method: 'credssp',
        credssp_version: req.version,
        selected_protocol: protocolNames(this.selected).join('|'),
        ...(this.cookie !== undefined ? { rdp_cookie: this.cookie } : {}),
      });
      // Windows reports the failed logon in errorCode (CredSSP 3+) and drops the connection
      return this.end(req.version >= 3 ? [buildTsRequest({ version: CREDSSP_VERSION, errorCode: STATUS_LOGON_FAILURE })] : []);
    }
    this.error(r.error ?? 'NTLM error');
    return this.end([]);
  }

  // ---- MCS (TLS without NLA) ----

  private emitConnectInitial(ci: ReturnType<typeof parseConnectInitial>): void {
    if (!ci) return;
    this.clientName = ci.core?.clientName;
    this.clientBuild = ci.core?.clientBuild;
    this.o.emit({
      event: 'request',
      ...this.o.info,
      request: 'mcs_connect_initial',
      ...(ci.core ? { rdp_client_name: ci.core.clientName, rdp_client_build: ci.core.clientBuild, rdp_keyboard_layout: ci.core.keyboardLayout, rdp_desktop: `${ci.core.desktopWidth}x${ci.core.desktopHeight}` } : {}),
      rdp_channels: ci.channels.map((c) => c.name),
    });
  }

  private onConnectInitial(mcs: Buffer): Step {
    const ci = parseConnectInitial(mcs);
    if (!ci) {
      this.error('bad MCS Connect-Initial');
      return this.end([]);
    }
    this.emitConnectInitial(ci);
    const channelIds = ci.channels.map((_, i) => IO_CHANNEL + 1 + i);
    const msgChannelId = ci.msgChannel ? IO_CHANNEL + 1 + channelIds.length : undefined;
    // the user channel comes after the static channels (1007 for the usual three)
    this.userId = Math.max(FIRST_USER_ID, (msgChannelId ?? IO_CHANNEL + channelIds.length) + 1);
    for (const id of [IO_CHANNEL, this.userId, ...channelIds, ...(msgChannelId !== undefined ? [msgChannelId] : [])]) this.joinable.add(id);
    const build = this.o.persona.windows?.build ?? 17763;
    const data = buildServerData({
      rdpVersion: serverRdpVersion(build),
      requestedProtocols: this.requested,
      channelIds,
      ...(msgChannelId !== undefined ? { msgChannelId } : {}),
      multitransport: ci.multitransport,
    });
    this.phase = 'mcs-domain';
    return { out: [dataTpdu(buildConnectResponse(data))] };
  }

  private onDomainPdu(mcs: Buffer): Step {
    if (++this.domainPdus > 64) return this.end([]);
    const pdu = parseDomainPdu(mcs);
    if (!pdu) {
      this.error('bad MCS domain PDU');
      return this.end([]);
    }
    switch (pdu.type) {
      case 'erect-domain':
        return { out: [] };
      case 'attach-user':
        return { out: [dataTpdu(buildAttachUserConfirm(this.userId))] };
      case 'channel-join': {
        if (!this.joinable.has(pdu.channelId)) return this.end([]);
        return { out: [dataTpdu(buildChannelJoinConfirm(this.userId, pdu.channelId))] };
      }
      case 'send-data':
        if (pdu.channelId !== IO_CHANNEL) return { out: [] };
        return this.onClientInfo(pdu.data);
      case 'disconnect':
        return this.end([]);
      case 'other':
        this.error(`unexpected MCS PDU ${pdu.code}`);
        return this.end([]);
    }
  }

  private onClientInfo(data: Buffer): Step {
    const info = parseClientInfo(data);
    if (!info) {
      this.error('bad Client Info PDU');
      return this.end([]);
    }
    const principal = info.domain ? `${info.domain}\\${info.userName}` : info.userName;
    this.o.emit({
      event: 'auth_attempt',
      ...this.o.info,
      principal,
      ...(info.password !== '' ? { secret_kind: 'plaintext', ...secretFields(info.password) } : { secret_kind: 'none' }),
      success: false,
      auth_method: 'rdp_client_info',
      rdp_autologon: info.autologon,
      ...(this.clientName !== undefined ? { rdp_client_name: this.clientName } : {}),
      ...(this.clientBuild !== undefined ? { rdp_client_build: this.clientBuild } : {}),
      ...(info.clientAddress ? { rdp_client_address: info.clientAddress } : {}),
      ...(info.alternateShell ? { rdp_alternate_shell: info.alternateShell } : {}),
      ...(info.workingDir ? { rdp_working_dir: info.workingDir } : {}),
      ...(this.cookie !== undefined ? { rdp_cookie: this.cookie } : {}),
    });
    // licensing says "valid client", then the session is torn down as after a refused logon
    return this.end([dataTpdu(buildSendDataIndication(IO_CHANNEL, buildLicenseValidClient())), dataTpdu(buildDisconnectUltimatum())]);
  }
}
