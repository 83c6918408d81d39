# Test oracle (Debian's /usr/bin/python3 with python3-samba): Samba's own librpc client,
# the NDR code smbclient -L runs, over ncacn_ip_tcp to SRVSVC_PORT / WKSSVC_PORT; prints JSON.
import json
import sys

from samba import param
from samba.credentials import Credentials
from samba.dcerpc import srvsvc, wkssvc

srv_port, wks_port = int(sys.argv[1]), int(sys.argv[2])
lp = param.LoadParm()
creds = Credentials()
creds.guess(lp)
creds.set_anonymous()

out = {}
conn = srvsvc.srvsvc('ncacn_ip_tcp:127.0.0.1[%d]' % srv_port, lp, creds)
ctr = srvsvc.NetShareInfoCtr()
ctr.level = 1
ctr.ctr = srvsvc.NetShareCtr1()
info, total, resume = conn.NetShareEnumAll('\\\\127.0.0.1', ctr, 0xFFFFFFFF, 0)
out['enum1'] = {'total': total, 'shares': [{'name': a.name, 'type': a.type, 'comment': a.comment} for a in info.ctr.array]}
info = conn.NetSrvGetInfo('\\\\127.0.0.1', 101)
out['server101'] = {'platform': info.platform_id, 'name': info.server_name, 'major': info.version_major,
                    'minor': info.version_minor, 'type': info.server_type, 'comment': info.comment}
share = conn.NetShareGetInfo('\\\\127.0.0.1', 'IPC$', 1)
out['getinfo1'] = {'name': share.name, 'type': share.type, 'comment': share.comment}
conn = wkssvc.wkssvc('ncacn_ip_tcp:127.0.0.1[%d]' % wks_port, lp, creds)
w = conn.NetWkstaGetInfo('\\\\127.0.0.1', 100)
out['wksta100'] = {'platform': w.platform_id, 'computer': w.server_name, 'langroup': w.domain_name,
                   'major': w.version_major, 'minor': w.version_minor}
print(json.dumps(out))
