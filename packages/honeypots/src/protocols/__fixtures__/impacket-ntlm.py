# Oracle for ntlmssp.test.ts: impacket's NTLM client answers our CHALLENGE.
# argv: challenge_hex user password domain ; prints type1_hex, type3_hex, exported_session_key_hex
import sys, binascii
from impacket import ntlm
chal = binascii.unhexlify(sys.argv[1])
user, password, domain = sys.argv[2], sys.argv[3], sys.argv[4]
t1 = ntlm.getNTLMSSPType1('WS01', domain, signingRequired=True, use_ntlmv2=True)
t3, key = ntlm.getNTLMSSPType3(t1, chal, user, password, domain, use_ntlmv2=True)
print(binascii.hexlify(t1.getData()).decode())
print(binascii.hexlify(t3.getData()).decode())
print(binascii.hexlify(key).decode())
