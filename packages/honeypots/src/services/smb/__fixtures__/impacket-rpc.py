# Test oracle (run with Debian's /usr/bin/python3, which ships impacket):
#   client SRVSVC_PORT WKSSVC_PORT [MAX_FRAG]  -> drive the endpoints with impacket's own
#       DCE/RPC client over ncacn_ip_tcp and print what impacket decoded, as JSON
#   pdus -> print impacket-built request PDUs (hex, JSON); saved in client-pdus.json with
#       the PDUs Samba's librpc (samba-rpc.py) sent, as fuzz seeds
import json
import sys

from impacket.dcerpc.v5 import rpcrt, srvs, transport, wkst
from impacket.dcerpc.v5.ndr import NULL
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.uuid import uuidtup_to_bin


def s(v):
    return None if v is None else str(v).rstrip('\x00')


def fault(fn):
    try:
        fn()
        return None
    except DCERPCException as e:
        # RPC faults carry only their name (nca_s_...), call errors their Windows code
        code = e.get_error_code()
        return str(e) if code is None else code


def dce_for(port, iface, max_frag=None):
    t = transport.DCERPCTransportFactory('ncacn_ip_tcp:127.0.0.1[%d]' % port)
    dce = t.get_dce_rpc()
    if max_frag:
        dce.set_max_fragment_size(max_frag)
    dce.connect()
    dce.bind(iface)
    return dce


def client(srv_port, wks_port, max_frag):
    out = {}
    dce = dce_for(srv_port, srvs.MSRPC_UUID_SRVS, max_frag)
    r1 = srvs.hNetrShareEnum(dce, 1)
    out['enum1'] = {
        'total': r1['TotalEntries'],
        'status': r1['ErrorCode'],
        'shares': [
            {'name': s(e['shi1_netname']), 'type': e['shi1_type'], 'comment': s(e['shi1_remark'])}
            for e in r1['InfoStruct']['ShareInfo']['Level1']['Buffer']
        ],
    }
    r0 = srvs.hNetrShareEnum(dce, 0)
    out['enum0'] = [s(e['shi0_netname']) for e in r0['InfoStruct']['ShareInfo']['Level0']['Buffer']]
    out['enum2_error'] = fault(lambda: srvs.hNetrShareEnum(dce, 2))
    g = srvs.hNetrShareGetInfo(dce, 'c$\x00', 1)['InfoStruct']['ShareInfo1']
    out['getinfo1'] = {'name': s(g['shi1_netname']), 'type': g['shi1_type'], 'comment': s(g['shi1_remark'])}
    out['getinfo_missing'] = fault(lambda: srvs.hNetrShareGetInfo(dce, 'nope\x00', 1))
    out['getinfo2_error'] = fault(lambda: srvs.hNetrShareGetInfo(dce, 'C$\x00', 2))
    i = srvs.hNetrServerGetInfo(dce, 101)['InfoStruct']['ServerInfo101']
    out['server101'] = {
        'platform': i['sv101_platform_id'], 'name': s(i['sv101_name']), 'major': i['sv101_version_major'],
        'minor': i['sv101_version_minor'], 'type': i['sv101_type'], 'comment': s(i['sv101_comment']),
    }
    out['sessions_error'] = fault(lambda: srvs.hNetrSessionEnum(dce, NULL, NULL, 10))
    out['stats_error'] = fault(lambda: srvs.hNetrServerStatisticsGet(dce, NULL, 0, 0))
    out['unknown_opnum'] = fault(lambda: dce.request(wkst.NetrWkstaGetInfo()))  # opnum 0 is not a srvsvc call
    dce.disconnect()

    dce = dce_for(wks_port, wkst.MSRPC_UUID_WKST, max_frag)
    w = wkst.hNetrWkstaGetInfo(dce, 100)['WkstaInfo']['WkstaInfo100']
    out['wksta100'] = {
        'platform': w['wki100_platform_id'], 'computer': s(w['wki100_computername']), 'langroup': s(w['wki100_langroup']),
        'major': w['wki100_ver_major'], 'minor': w['wki100_ver_minor'],
    }
    out['wksta102_error'] = fault(lambda: wkst.hNetrWkstaGetInfo(dce, 102))
    out['wksta_users_error'] = fault(lambda: wkst.hNetrWkstaUserEnum(dce, 1))
    dce.disconnect()
    print(json.dumps(out))


def request_pdu(call, call_id, ctx=0):
    req = rpcrt.MSRPCRequestHeader()
    req['type'] = rpcrt.MSRPC_REQUEST
    req['flags'] = rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG
    req['call_id'] = call_id
    req['ctx_id'] = ctx
    req['op_num'] = call.opnum
    req['pduData'] = call.getData()
    req['alloc_hint'] = len(req['pduData'])
    return req.get_packet().hex()


def bind_pdu(iface, call_id, windows_style):
    bind = rpcrt.MSRPCBind()
    syntaxes = [('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0')]
    if windows_style:
        syntaxes += [('71710533-beba-4937-8319-b5dbef9ccc36', '1.0'), ('6cb71c2c-9812-4540-0300-000000000000', '1.0')]
    for n, ts in enumerate(syntaxes):
        item = rpcrt.CtxItem()
        item['ContextID'] = n
        item['TransItems'] = 1
        item['AbstractSyntax'] = iface
        item['TransferSyntax'] = uuidtup_to_bin(ts)
        bind.addCtxItem(item)
    if windows_style:
        bind['max_tfrag'] = 5840
        bind['max_rfrag'] = 5840
    pkt = rpcrt.MSRPCHeader()
    pkt['type'] = rpcrt.MSRPC_BIND
    pkt['call_id'] = call_id
    pkt['pduData'] = bind.getData()
    return pkt.get_packet().hex()


def pdus():
    enum1 = srvs.NetrShareEnum()
    enum1['ServerName'] = '\\\\127.0.0.1\x00'
    enum1['PreferedMaximumLength'] = 0xFFFFFFFF
    enum1['ResumeHandle'] = 0
    enum1['InfoStruct']['ShareInfo']['tag'] = 1
    enum1['InfoStruct']['ShareInfo']['Level1']['Buffer'] = NULL
    enum1['InfoStruct']['Level'] = 1
    getinfo = srvs.NetrShareGetInfo()
    getinfo['ServerName'] = NULL
    getinfo['NetName'] = 'C$\x00'
    getinfo['Level'] = 1
    server = srvs.NetrServerGetInfo()
    server['ServerName'] = NULL
    server['Level'] = 101
    wksta = wkst.NetrWkstaGetInfo()
    wksta['ServerName'] = '\x00' * 10
    wksta['Level'] = 100
    print(json.dumps({
        'bind_srvsvc': bind_pdu(srvs.MSRPC_UUID_SRVS, 1, False),
        'bind_srvsvc_windows': bind_pdu(srvs.MSRPC_UUID_SRVS, 1, True),
        'bind_wkssvc': bind_pdu(wkst.MSRPC_UUID_WKST, 1, False),
        'share_enum_1': request_pdu(enum1, 2),
        'share_getinfo_1': request_pdu(getinfo, 3),
        'server_getinfo_101': request_pdu(server, 4),
        'wksta_getinfo_100': request_pdu(wksta, 2),
    }, indent=1))


if __name__ == '__main__':
    if sys.argv[1] == 'client':
        client(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else None)
    else:
        pdus()
