# impacket's smbclient.py shell (MiniImpacketShell) against a non-standard port:
# the stock script only accepts -port 139/445. argv: port domain user password; commands on stdin.
import sys
from impacket.smbconnection import SMBConnection
from impacket.examples.smbclient import MiniImpacketShell
from impacket.examples import logger
logger.init()
port, domain, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
conn = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=port)
conn.login(user, password, domain)
print('dialect 0x%04x signing %s' % (conn.getDialect(), conn._SMBConnection._Connection['RequireSigning'] if hasattr(conn._SMBConnection, '_Connection') else '?'))
shell = MiniImpacketShell(conn)
shell.cmdloop() if sys.stdin.isatty() else [shell.onecmd(l.strip()) for l in sys.stdin if l.strip()]
