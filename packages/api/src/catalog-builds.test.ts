import { describe, expect, it } from 'vitest';
import { deckyYaml, labFleetYaml } from './test-fixtures.js';
import { bannerStory, platformDefaults, platformOf, platformStory, PLATFORMS } from './catalog-builds.js';
import { DISTRO_NAMES } from './catalog-distros.js';
import { formatIssue } from './errors.js';
import { OS_PROFILE_NAMES } from './os-profiles.js';
import { parseManifests } from './parse.js';
import { resolveManifests } from './resolve.js';
import type { OsProfileName } from './types.js';

const FLEET = labFleetYaml();
const decky = deckyYaml;
const res = (text: string) => {
  const parsed = parseManifests([{ file: 'lab.yaml', text }]);
  expect(parsed.issues.map(formatIssue)).toEqual([]);
  const r = resolveManifests(parsed.manifests, { version: '0.1.0' });
  expect(r.issues.map(formatIssue)).toEqual([]);
  return r;
};
const ALL = 'services: [ssh, http, ftp, smtp, mysql, postgres, redis]';
const configs = (r: ReturnType<typeof res>, name: string) => JSON.stringify(r.resolution.deckies.find((d) => d.name === name)!.services.map((s) => s.config));

describe('coherent personas: the distro and OS profile choose every default banner', () => {
  it('a rocky9 decky gets RHEL builds and no Debian or Ubuntu banner', () => {
    const r = res(FLEET + decky('r', `distro: rocky9, ${ALL}`));
    const c = configs(r, 'r');
    expect(c).toContain('SSH-2.0-OpenSSH_8.7');
    expect(c).toContain('Apache/2.4.57 (Rocky Linux)');
    expect(c).toContain('MariaDB');
    expect(c).not.toMatch(/debian|ubuntu/i);
    expect(r.warnings).toEqual([]);
  });

  it('a Debian decky gets Debian builds, an Ubuntu one Ubuntu builds', () => {
    const r = res(FLEET + decky('d', `distro: debian, hostname: mx1, ${ALL}`) + decky('u', `distro: ubuntu22, ${ALL}`));
    expect(configs(r, 'd')).toContain('OpenSSH_9.2p1 Debian');
    expect(configs(r, 'd')).toContain('mx1 ESMTP Postfix (Debian/GNU)');
    expect(configs(r, 'd')).not.toMatch(/ubuntu/i);
    expect(configs(r, 'u')).toContain('OpenSSH_8.9p1 Ubuntu');
    expect(configs(r, 'u')).not.toMatch(/debian/i);
  });

  it('a Windows profile gets Microsoft products whatever the base image, and no Debian banner', () => {
    const r = res(FLEET + decky('w', `distro: debian, nmapOS: windows_server, ${ALL}`));
    const c = configs(r, 'w');
    expect(c).toContain('OpenSSH_for_Windows');
    expect(c).toContain('Microsoft-IIS/10.0');
    expect(c).toContain('Microsoft FTP Service');
    expect(c).not.toMatch(/debian|ubuntu|postfix/i);
  });

  it('a Windows workstation is named as Windows Setup names it (DESKTOP-XXXXXXX), stably', () => {
    const r = res(FLEET + decky('ws1', 'archetype: windows-workstation') + decky('ws2', 'nmapOS: windows, services: [smb]'));
    const [a, b] = r.resolution.deckies.map((d) => d.hostname);
    expect(a).toMatch(/^DESKTOP-[A-Z0-9]{7}$/);
    expect(b).toMatch(/^DESKTOP-[A-Z0-9]{7}$/);
    expect(a).not.toBe(b);
    expect(res(FLEET + decky('ws1', 'archetype: windows-workstation')).resolution.deckies[0]!.hostname).toBe(a);
  });

  it('explicit config wins over the platform', () => {
    const r = res(FLEET + decky('x', 'distro: rocky9, services: [http], serviceConfig: { http: { server_header: "nginx/1.20.1" } }'));
    expect(r.resolution.deckies[0]!.services[0]!.config['server_header']).toBe('nginx/1.20.1');
  });

  it('every platform tells one story with its own builds (no default contradicts its platform)', () => {
    for (const distro of DISTRO_NAMES) {
      for (const os of OS_PROFILE_NAMES as readonly OsProfileName[]) {
        const p = platformOf(distro, os);
        expect(PLATFORMS).toContain(p);
        const own = platformStory(distro, os);
        for (const svc of ['ssh', 'http', 'ftp', 'smtp', 'mysql', 'redis', 'dns']) {
          for (const [k, v] of Object.entries(platformDefaults(p, svc, 'h'))) {
            const story = bannerStory(v);
            if (story !== undefined && own !== undefined && os !== 'bsd') expect(`${distro}/${os} ${svc}.${k}=${v}: ${story}`).toBe(`${distro}/${os} ${svc}.${k}=${v}: ${own}`);
          }
        }
      }
    }
  });
});

describe('conflicting stories are warnings naming the fields', () => {
  it('nmapOS windows with a Debian OpenSSH banner', () => {
    const r = res(FLEET + decky('w', 'nmapOS: windows, services: [ssh], serviceConfig: { ssh: { ssh_version: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" } }'));
    expect(r.warnings.map(formatIssue)).toEqual([
      expect.stringMatching(/spec\.serviceConfig\.ssh\.ssh_version: "SSH-2\.0-OpenSSH_9\.2p1 Debian-2\+deb12u3" says Debian, but nmapOS windows says Windows/),
    ]);
    expect(r.warnings[0]!.code).toBe('W_PERSONA');
    expect(r.resolution.deckies).toHaveLength(1); // never fatal
  });

  it('two explicit values that disagree on a decky whose distro tells nothing', () => {
    const r = res(FLEET + decky('a', 'distro: alpine, services: [ssh, http], serviceConfig: { ssh: { ssh_version: "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10" }, http: { server_header: "Apache/2.4.57 (Rocky Linux)" } }'));
    expect(r.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/^"SSH-2\.0-OpenSSH_8\.9p1 Ubuntu-3ubuntu0\.10" says Ubuntu, but serviceConfig\.http\.server_header says RHEL/)]);
  });

  it('a coherent explicit persona gets none', () => {
    const r = res(FLEET + decky('c', 'distro: ubuntu22, services: [ssh, http], serviceConfig: { ssh: { ssh_version: "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10" }, http: { server_header: "Apache/2.4.52 (Ubuntu)" } }'));
    expect(r.warnings).toEqual([]);
  });
});
