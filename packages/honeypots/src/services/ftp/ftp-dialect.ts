/**
 * The control-channel replies of the FTP server the banner names: vsFTPd (the
 * default) or IIS's Microsoft FTP Service (a Windows persona). Pure data; the
 * session picks one by the banner, so a decky never says "Microsoft FTP Service"
 * and then answers like vsFTPd. (IIS's listing style is configurable; decnet lists
 * in its UNIX style for both.)
 */
export interface FtpDialect {
  name: 'vsftpd' | 'iis';
  notLoggedIn: string;
  userOk: (user: string) => string;
  userChange: string;
  loginOk: string;
  alreadyLoggedIn: string;
  loginBad: string;
  passWithoutUser: string;
  quit: string;
  syst: string;
  feat: string;
  optsUtf8: string;
  optsBad: string;
  authBeforeLogin: string;
  help: string;
  noop: string;
  pwd: (cwd: string) => string;
  cwdOk: string;
  cwdBad: string;
  typeBad: string;
  typeOk: (binary: boolean) => string;
  abor: string;
  portRefused: string;
  listOpen: string;
  listDone: string;
  retrOpen: (binary: boolean, name: string, bytes: number) => string;
  transferDone: string;
  fileMissing: string;
  sizeMissing: string;
  mdtmMissing: string;
  storOpen: string;
  storNoName: string;
  denied: string;
  notImplemented: string;
  unknown: string;
  lineTooLong: string;
  noDataChannel: string;
}

export const VSFTPD: FtpDialect = {
  name: 'vsftpd',
  notLoggedIn: '530 Please login with USER and PASS.',
  userOk: () => '331 Please specify the password.',
  userChange: "530 Can't change to another user.",
  loginOk: '230 Login successful.',
  alreadyLoggedIn: '230 Already logged in.',
  loginBad: '530 Login incorrect.',
  passWithoutUser: '503 Login with USER first.',
  quit: '221 Goodbye.',
  syst: '215 UNIX Type: L8',
  feat: '211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End',
  optsUtf8: '200 Always in UTF8 mode.',
  optsBad: '501 Option not understood.',
  authBeforeLogin: '530 Please login with USER and PASS.',
  help: '214-The following commands are recognized.\r\n ABOR CDUP CWD EPSV FEAT HELP LIST MDTM NLST NOOP OPTS PASS PASV PWD QUIT RETR SIZE STOR SYST TYPE USER\r\n214 Help OK.',
  noop: '200 NOOP ok.',
  pwd: (cwd) => `257 "${cwd}" is the current directory`,
  cwdOk: '250 Directory successfully changed.',
  cwdBad: '550 Failed to change directory.',
  typeBad: '500 Unrecognised TYPE command.',
  typeOk: (binary) => (binary ? '200 Switching to Binary mode.' : '200 Switching to ASCII mode.'),
  abor: '225 No transfer to ABOR.',
  portRefused: '500 Illegal PORT command.',
  listOpen: '150 Here comes the directory listing.',
  listDone: '226 Directory send OK.',
  retrOpen: (binary, name, bytes) => `150 Opening ${binary ? 'BINARY' : 'ASCII'} mode data connection for ${name} (${bytes} bytes).`,
  transferDone: '226 Transfer complete.',
  fileMissing: '550 Failed to open file.',
  sizeMissing: '550 Could not get file size.',
  mdtmMissing: '550 Could not get file modification time.',
  storOpen: '150 Ok to send data.',
  storNoName: '553 Could not create file.',
  denied: '550 Permission denied.',
  notImplemented: '502 Command not implemented.',
  unknown: '500 Unknown command.',
  lineTooLong: '500 Input line too long.',
  noDataChannel: '425 Use PORT or PASV first.',
};

/** IIS 10's FTP service (ftpsvc) as a Windows Server answers with its defaults (no FTPS certificate bound). */
export const IIS_FTP: FtpDialect = {
  name: 'iis',
  notLoggedIn: '530 Please login with USER and PASS.',
  userOk: () => '331 Password required',
  userChange: '530 User cannot log in.',
  loginOk: '230 User logged in.',
  alreadyLoggedIn: '230 User logged in.',
  loginBad: '530 User cannot log in.',
  passWithoutUser: '503 Bad sequence of commands.',
  quit: '221 Goodbye.',
  syst: '215 Windows_NT',
  feat: '211-Extended features supported:\r\n LANG EN*\r\n UTF8\r\n AUTH TLS;TLS-C;SSL;TLS-P;\r\n PBSZ\r\n PROT C;P;\r\n CCC\r\n HOST\r\n SIZE\r\n MDTM\r\n REST STREAM\r\n211 END',
  optsUtf8: '200 OPTS UTF8 command successful - UTF8 encoding now ON.',
  optsBad: '501 Option not supported.',
  authBeforeLogin: '534 Local policy on server does not allow TLS secure connections.',
  help:
    "214-The following commands are recognized (* ==>'s unimplemented).\r\n ABOR\r\n ACCT\r\n ADAT *\r\n ALLO\r\n APPE\r\n AUTH\r\n CCC\r\n CDUP\r\n CWD\r\n DELE\r\n ENC *\r\n EPRT\r\n EPSV\r\n FEAT\r\n HELP\r\n HOST\r\n LANG\r\n LIST\r\n MDTM\r\n MIC *\r\n MKD\r\n MODE\r\n NLST\r\n NOOP\r\n OPTS\r\n PASS\r\n PASV\r\n PBSZ\r\n PORT\r\n PROT\r\n PWD\r\n QUIT\r\n REIN\r\n REST\r\n RETR\r\n RMD\r\n RNFR\r\n RNTO\r\n SITE\r\n SIZE\r\n SMNT\r\n STAT\r\n STOR\r\n STOU\r\n STRU\r\n SYST\r\n TYPE\r\n USER\r\n XCUP\r\n XCWD\r\n XMKD\r\n XPWD\r\n XRMD\r\n214 HELP command successful.",
  noop: '200 NOOP command successful.',
  pwd: (cwd) => `257 "${cwd}" is current directory.`,
  cwdOk: '250 CWD command successful.',
  cwdBad: '550 The system cannot find the file specified. ',
  typeBad: '501 Invalid TYPE argument.',
  typeOk: (binary) => (binary ? '200 Type set to I.' : '200 Type set to A.'),
  abor: '225 ABOR command successful.',
  portRefused: '501 Server cannot accept argument.',
  listOpen: '125 Data connection already open; Transfer starting.',
  listDone: '226 Transfer complete.',
  retrOpen: () => '125 Data connection already open; Transfer starting.',
  transferDone: '226 Transfer complete.',
  fileMissing: '550 The system cannot find the file specified. ',
  sizeMissing: '550 The system cannot find the file specified. ',
  mdtmMissing: '550 The system cannot find the file specified. ',
  storOpen: '125 Data connection already open; Transfer starting.',
  storNoName: '501 Invalid number of arguments.',
  denied: '550 Access is denied. ',
  notImplemented: '502 Command not implemented.',
  unknown: '500 Command not understood.',
  lineTooLong: '500 Command not understood.',
  noDataChannel: '425 Use PORT or PASV first.',
};

/** The dialect of the server the 220 banner names. */
export function ftpDialectFor(banner: string): FtpDialect {
  return /Microsoft FTP Service/i.test(banner) ? IIS_FTP : VSFTPD;
}
