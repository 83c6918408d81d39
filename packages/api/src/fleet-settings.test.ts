import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical.js';
import { formatIssue } from './errors.js';
import { alertSecretMatches, fleetNetworkPart, fleetSettingsPart, withSettings } from './fleet-settings.js';
import { decodeLabels, encodeFleetLabels, encodeSettingsLabels } from './labels.js';
import { parseManifests } from './parse.js';
import { resolveManifests } from './resolve.js';
import { deckyYaml, labFleetYaml } from './test-fixtures.js';
import { REDACTED_URL, toManifests } from './to-manifest.js';
import { stringify } from 'yaml';

const HOOK = 'https://hooks.example/T000/B000/XXXXSECRETXXXX';
const withAlerts = (alerts: string) => labFleetYaml() + `  alerts:\n${alerts}` + deckyYaml('web-01', 'services: [ssh]');
const WEBHOOK = `    - { name: soc, type: webhook, url: "${HOOK}", secret: hmac-key-1, minSeverity: medium, events: [command, auth_attempt], throttle: 2m }\n`;
const EMAIL = `    - { name: mail, type: email, url: "smtp://alerts:pw0rd@127.0.0.1:2525", to: [soc@example.org], from: decnet@example.org }\n`;

function resolveText(text: string) {
  const parsed = parseManifests([{ file: 'lab.yaml', text }]);
  if (parsed.issues.length) return { issues: parsed.issues.map(formatIssue) };
  const r = resolveManifests(parsed.manifests, { version: '1.0.0' });
  return { issues: r.issues.map(formatIssue), resolution: r.resolution };
}

describe('alert routes (Fleet spec.alerts, a contract)', () => {
  it('resolve: routes without secrets in the spec, their URLs and keys in alertSecrets', () => {
    const { issues, resolution } = resolveText(withAlerts(WEBHOOK + EMAIL));
    expect(issues).toEqual([]);
    const f = resolution!.fleets[0]!;
    expect(f.alerts!.map((r) => r.name)).toEqual(['mail', 'soc']);
    expect(f.alerts![1]).toMatchObject({ type: 'webhook', minSeverity: 'medium', events: ['auth_attempt', 'command'], throttleMs: 120_000, maxPerMinute: 30, tlsVerify: true });
    expect(f.alerts![0]).toMatchObject({ type: 'email', minSeverity: 'low', throttleMs: 60_000, to: ['soc@example.org'], from: 'decnet@example.org' });
    expect(resolution!.alertSecrets).toEqual({ lab: { soc: { url: HOOK, secret: 'hmac-key-1' }, mail: { url: 'smtp://alerts:pw0rd@127.0.0.1:2525' } } });
    const labels = JSON.stringify([encodeFleetLabels(fleetNetworkPart(f), 'h1'), encodeSettingsLabels(fleetSettingsPart(f), 'h1')]);
    for (const secret of ['XXXXSECRETXXXX', 'hmac-key-1', 'pw0rd']) expect(labels).not.toContain(secret);
    expect(alertSecretMatches(f.alerts![1]!, resolution!.alertSecrets!['lab']!['soc'])).toBe(true);
    expect(alertSecretMatches(f.alerts![1]!, { url: HOOK })).toBe(false);
  });

  it('refuses bad routes with a clear error that never echoes the URL', () => {
    const bad = (route: string) => resolveText(withAlerts(route)).issues.join('\n');
    expect(bad(`    - { name: soc, type: webhook, url: "not a url SECRETTOKEN" }\n`)).toMatch(/spec\.alerts\[0\]\.url: expected a URL .*value not shown/);
    expect(bad(`    - { name: soc, type: webhook, url: "ftp://x/SECRETTOKEN" }\n`)).toMatch(/expected an http\(s\):\/\/ or smtp\(s\):\/\/ URL/);
    expect(bad(`    - { name: soc, type: slack, url: "smtp://x/SECRETTOKEN" }\n`)).toMatch(/a slack route needs an http/);
    expect(bad(`    - { name: soc, type: email, url: "smtp://h:25" }\n`)).toMatch(/spec\.alerts\[0\]\.to: missing required field.*\n.*spec\.alerts\[0\]\.from: missing/);
    expect(bad(`    - { name: soc, type: teams, url: "https://h/x", secret: k }\n`)).toMatch(/only webhook routes are signed/);
    expect(bad(`    - { name: soc, type: pager, url: "https://h/x" }\n`)).toMatch(/unknown alert type "pager"; known alert types: webhook, slack, teams, email/);
    expect(bad(WEBHOOK + WEBHOOK)).toMatch(/alert route soc is declared twice/);
    expect(bad(`    - { name: soc, type: webhook, url: "ftp://x/SECRETTOKEN" }\n`)).not.toContain('SECRETTOKEN');
  });

  it('the settings part and the network part make the fleet again; labels round-trip', () => {
    const f = resolveText(withAlerts(WEBHOOK)).resolution!.fleets[0]!;
    expect(canonicalJson(withSettings(fleetNetworkPart(f), fleetSettingsPart(f)))).toBe(canonicalJson(f));
    const r = decodeLabels(encodeSettingsLabels(fleetSettingsPart(f), 'h1'));
    expect(r.ok && r.value.kind).toBe('settings');
    expect(r.ok && canonicalJson(r.value.spec)).toBe(canonicalJson(fleetSettingsPart(f)));
  });

  it('get -o yaml: routes written back, the URL only when the secrets are given', () => {
    const { resolution } = resolveText(withAlerts(WEBHOOK));
    const plain = toManifests(resolution!.fleets, []).map((d) => stringify(d)).join("");
    expect(plain).toContain(REDACTED_URL);
    expect(plain).not.toContain('XXXXSECRETXXXX');
    const full = toManifests(resolution!.fleets, [], undefined, resolution!.alertSecrets).map((d) => stringify(d)).join("---\n");
    const again = resolveText(full + deckyYaml('web-01', 'services: [ssh]'));
    expect(again.issues).toEqual([]);
    expect(canonicalJson(again.resolution!.fleets)).toBe(canonicalJson(resolution!.fleets));
    expect(again.resolution!.alertSecrets).toEqual(resolution!.alertSecrets);
  });
});
