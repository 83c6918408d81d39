/**
 * HTML of the http honeypot: default pages per server family and the fake
 * applications' login pages. Every interpolated value is HTML-escaped.
 */

export const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#039;' })[c]!);

type Family = 'apache' | 'nginx' | 'iis' | 'other';

export function serverFamily(serverHeader: string): Family {
  const s = serverHeader.toLowerCase();
  if (s.includes('apache') && !s.includes('coyote')) return 'apache';
  if (s.includes('nginx')) return 'nginx';
  if (s.includes('iis')) return 'iis';
  return 'other';
}

export function defaultPage(serverHeader: string): string {
  switch (serverFamily(serverHeader)) {
    case 'apache':
      return `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <title>Apache2 Debian Default Page: It works</title>
  </head>
  <body>
    <div class="main_page">
      <div class="page_header floating_element">
        <span class="floating_element">Apache2 Debian Default Page</span>
      </div>
      <div class="content_section floating_element">
        <div class="section_header section_header_red">It works!</div>
        <p>This is the default welcome page used to test the correct operation of the Apache2 server after
        installation on Debian systems. If you can read this page, it means that the Apache HTTP server installed at
        this site is working properly. You should <b>replace this file</b> (located at
        <tt>/var/www/html/index.html</tt>) before continuing to operate your HTTP server.</p>
      </div>
    </div>
  </body>
</html>
`;
    case 'nginx':
      return `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>
<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`;
    case 'iis':
      return `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" />
<title>IIS Windows Server</title>
</head>
<body>
<div id="container"><a href="http://go.microsoft.com/fwlink/?linkid=66138&amp;clcid=0x409"><img src="iisstart.png" alt="IIS" width="960" height="600" /></a></div>
</body>
</html>
`;
    default:
      return '<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>\n';
  }
}

/** IIS 10's own 404 page (custom errors, remote client). */
const IIS_404 = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>
<title>404 - File or directory not found.</title>
<style type="text/css">
<!--
body{margin:0;font-size:.7em;font-family:Verdana, Arial, Helvetica, sans-serif;background:#EEEEEE;}
fieldset{padding:0 15px 10px 15px;} 
h1{font-size:2.4em;margin:0;color:#FFF;}
h2{font-size:1.7em;margin:0;color:#CC0000;} 
h3{font-size:1.2em;margin:10px 0 0 0;color:#000000;} 
#header{width:96%;margin:0 0 0 0;padding:6px 2% 6px 2%;font-family:"trebuchet MS", Verdana, sans-serif;color:#FFF;
background-color:#555555;}
#content{margin:0 0 0 2%;position:relative;}
.content-container{background:#FFF;width:96%;margin-top:8px;padding:10px;position:relative;}
-->
</style>
</head>
<body>
<div id="header"><h1>Server Error</h1></div>
<div id="content">
 <div class="content-container"><fieldset>
  <h2>404 - File or directory not found.</h2>
  <h3>The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable.</h3>
 </fieldset></div>
</div>
</body>
</html>
`.replace(/\n/g, '\r\n');

export function notFoundPage(serverHeader: string, host: string, port: number): string {
  switch (serverFamily(serverHeader)) {
    case 'apache':
      return `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>404 Not Found</title>
</head><body>
<h1>Not Found</h1>
<p>The requested URL was not found on this server.</p>
<hr>
<address>${esc(serverHeader)} Server at ${esc(host)} Port ${port}</address>
</body></html>
`;
    case 'iis':
      return IIS_404;
    case 'nginx':
      return `<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>${esc(serverHeader)}</center>\r\n</body>\r\n</html>\r\n`;
    default:
      return '<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n';
  }
}

export function statusPage(code: number, reason: string): string {
  return `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${code} ${esc(reason)}</title>\n</head><body>\n<h1>${esc(reason)}</h1>\n</body></html>\n`;
}

// ---- WordPress ----

export function wpLoginPage(opts: { siteName: string; error?: string; user?: string; redirectTo?: string }): string {
  const err = opts.error ? `<div id="login_error" class="notice notice-error">\n\t${opts.error}<br />\n</div>\n` : '';
  return `<!DOCTYPE html>
<html lang="en-US">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<title>Log In &lsaquo; ${esc(opts.siteName)} &#8212; WordPress</title>
<meta name='robots' content='max-image-preview:large, noindex, noarchive' />
<link rel='stylesheet' id='login-css' href='/wp-admin/css/login.min.css?ver=6.4.3' media='all' />
<meta name='referrer' content='strict-origin-when-cross-origin' />
<meta name="viewport" content="width=device-width" />
</head>
<body class="login no-js login-action-login wp-core-ui  locale-en-us">
<div id="login">
<h1><a href="https://wordpress.org/">Powered by WordPress</a></h1>
${err}<form name="loginform" id="loginform" action="/wp-login.php" method="post">
<p>
<label for="user_login">Username or Email Address</label>
<input type="text" name="log" id="user_login" class="input" value="${esc(opts.user ?? '')}" size="20" autocapitalize="off" autocomplete="username" required="required" />
</p>
<div class="user-pass-wrap">
<label for="user_pass">Password</label>
<div class="wp-pwd">
<input type="password" name="pwd" id="user_pass" class="input password-input" value="" size="20" autocomplete="current-password" spellcheck="false" required="required" />
</div>
</div>
<p class="forgetmenot"><input name="rememberme" type="checkbox" id="rememberme" value="forever"  /> <label for="rememberme">Remember Me</label></p>
<p class="submit">
<input type="submit" name="wp-submit" id="wp-submit" class="button button-primary button-large" value="Log In" />
<input type="hidden" name="redirect_to" value="${esc(opts.redirectTo ?? '/wp-admin/')}" />
<input type="hidden" name="testcookie" value="1" />
</p>
</form>
<p id="nav"><a href="/wp-login.php?action=lostpassword">Lost your password?</a></p>
<p id="backtoblog"><a href="/">&larr; Go to ${esc(opts.siteName)}</a></p>
</div>
</body>
</html>
`;
}

export function wpHomePage(siteName: string): string {
  return `<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>${esc(siteName)}</title>
<meta name="generator" content="WordPress 6.4.3" />
<link rel="https://api.w.org/" href="/wp-json/" />
<link rel="EditURI" type="application/rsd+xml" title="RSD" href="/xmlrpc.php?rsd" />
</head>
<body class="home blog">
<header><h1 class="site-title"><a href="/">${esc(siteName)}</a></h1></header>
<main><article><h2><a href="/?p=1">Hello world!</a></h2><p>Welcome to WordPress. This is your first post. Edit or delete it, then start writing!</p></article></main>
<footer><a href="/wp-login.php">Log in</a></footer>
</body>
</html>
`;
}

export function xmlrpcFault(code: number, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<methodResponse>
  <fault>
    <value>
      <struct>
        <member><name>faultCode</name><value><int>${code}</int></value></member>
        <member><name>faultString</name><value><string>${esc(message)}</string></value></member>
      </struct>
    </value>
  </fault>
</methodResponse>
`;
}

// ---- phpMyAdmin ----

export function pmaLoginPage(opts: { token: string; error?: string; user?: string; base: string }): string {
  const err = opts.error ? `<div class="alert alert-danger" role="alert"><img src="themes/dot.gif" title="" alt="" class="icon ic_s_error"> ${opts.error}</div>\n` : '';
  return `<!doctype html>
<html lang="en" dir="ltr">
<head>
  <meta charset="utf-8">
  <meta name="referrer" content="no-referrer">
  <meta name="robots" content="noindex,nofollow,notranslate">
  <meta name="google" content="notranslate">
  <title>phpMyAdmin</title>
  <link rel="stylesheet" type="text/css" href="${opts.base}themes/pmahomme/css/theme.css?v=5.2.1">
</head>
<body id="loginform">
<div class="container">
<a href="./url.php?url=https%3A%2F%2Fwww.phpmyadmin.net%2F" target="_blank" rel="noopener noreferrer" class="logo"><img src="./themes/pmahomme/img/logo_right.png" id="imLogo" name="imLogo" alt="phpMyAdmin" border="0"></a>
<h1>Welcome to <bdo dir="ltr" lang="en">phpMyAdmin</bdo></h1>
${err}<form method="post" id="login_form" action="${opts.base}index.php?route=/" name="login_form" class="disableAjax hide js-show">
  <fieldset class="pma-fieldset"><legend>Log in</legend>
    <div class="item"><label for="input_username">Username:</label>
      <input type="text" name="pma_username" id="input_username" value="${esc(opts.user ?? '')}" size="24" class="textfield" autocomplete="username"></div>
    <div class="item"><label for="input_password">Password:</label>
      <input type="password" name="pma_password" id="input_password" value="" size="24" class="textfield" autocomplete="current-password"></div>
    <input type="hidden" name="server" value="1">
  </fieldset>
  <fieldset class="pma-fieldset tblFooters">
    <input class="btn btn-primary" value="Log in" type="submit" id="input_go">
    <input type="hidden" name="route" value="/">
    <input type="hidden" name="token" value="${esc(opts.token)}">
  </fieldset>
</form>
</div>
</body>
</html>
`;
}

// ---- Tomcat ----

export function tomcatHome(version: string): string {
  return `<!DOCTYPE html>
<html lang="en">
    <head>
        <meta charset="UTF-8" />
        <title>Apache Tomcat/${esc(version)}</title>
        <link href="favicon.ico" rel="icon" type="image/x-icon" />
        <link href="tomcat.css" rel="stylesheet" type="text/css" />
    </head>
    <body>
        <div id="wrapper">
            <div id="navigation" class="curved container">
                <span id="nav-home"><a href="https://tomcat.apache.org/">Home</a></span>
                <br class="separator" />
            </div>
            <div id="asf-box"><h1>Apache Tomcat/${esc(version)}</h1></div>
            <div id="congrats" class="curved container"><h2>If you're seeing this, you've successfully installed Tomcat. Congratulations!</h2></div>
            <div class="col25"><div class="container"><div class="button"><a class="container shadow" href="/manager/status"><span>Server Status</span></a></div>
            <div class="button"><a class="container shadow" href="/manager/html"><span>Manager App</span></a></div>
            <div class="button"><a class="container shadow" href="/host-manager/html"><span>Host Manager</span></a></div></div></div>
        </div>
    </body>
</html>
`;
}

export function tomcat401(): string {
  return `<!doctype html><html lang="en"><head><title>401 Unauthorized</title></head><body><h1>401 Unauthorized</h1>
<p>You are not authorized to view this page. If you have not changed any configuration files, please examine the file <tt>conf/tomcat-users.xml</tt> in your installation. That file must contain the credentials to let you use this webapp.</p>
<p>For example, to add the <tt>manager-gui</tt> role to a user named <tt>tomcat</tt> with a password of <tt>s3cret</tt>, add the following to the config file listed above.</p>
<pre>
&lt;role rolename="manager-gui"/&gt;
&lt;user username="tomcat" password="s3cret" roles="manager-gui"/&gt;
</pre>
</body></html>`;
}

// ---- Jenkins ----

export function jenkinsLoginPage(opts: { error: boolean; from: string }): string {
  const err = opts.error ? '<div class="app-sign-in-register__error">Invalid username or password</div>\n' : '';
  return `<!DOCTYPE html><html lang="en-US"><head resURL="/static/c2a9b5c4" data-rooturl="" data-resurl="/static/c2a9b5c4" data-imagesurl="/static/c2a9b5c4/images">
<title>Sign in [Jenkins]</title><meta name="ROBOTS" content="NOFOLLOW"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/c2a9b5c4/jsbundles/simple-page.css" type="text/css"></head>
<body><div class="simple-page" role="main"><div class="app-sign-in-register">
<div class="app-sign-in-register__content"><div class="app-sign-in-register__content-inner">
<h1>Sign in to Jenkins</h1>
${err}<form method="post" name="login" action="j_spring_security_check">
<div class="jenkins-form-item jenkins-form-item--tight"><label class="jenkins-form-label" for="j_username">Username</label><input autocorrect="off" autocomplete="username" name="j_username" id="j_username" placeholder="" type="text" class="jenkins-input  " autocapitalize="off" autofocus="autofocus"></div>
<div class="jenkins-form-item jenkins-form-item--tight"><label class="jenkins-form-label" for="j_password">Password</label><input name="j_password" id="j_password" placeholder="" type="password" class="jenkins-input  "></div>
<div class="jenkins-checkbox"><input type="checkbox" id="remember_me" name="remember_me"><label for="remember_me">Keep me signed in</label></div>
<input name="from" type="hidden" value="${esc(opts.from)}"><button type="submit" name="Submit" class="jenkins-button jenkins-button--primary">Sign in</button>
</form></div></div></div></div></body></html>`;
}

export function jenkinsAuthRequired(from: string): string {
  const target = `/login?from=${encodeURIComponent(from)}`;
  return `<html><head><meta http-equiv='refresh' content='1;url=${esc(target)}'/><script>window.location.replace('${esc(target)}');</script></head><body style='background-color:white; color:white;'>

Authentication required
<!--
-->

</body></html>
`;
}
