import { describe, expect, it } from 'vitest';
import { DecnetError, SERVICE_NAMES, serviceDef } from '@decnet/api';
import { explain, explanationJson, renderExplanation } from './explain.js';

describe('explain', () => {
  it('explains a kind with its top-level fields', () => {
    const e = explain('fleet');
    expect(e.kind).toBe('Fleet');
    expect(e.field.fields.map((f) => f.name)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(explain('dk').kind).toBe('Decky');
    expect(explain('deckysets').kind).toBe('DeckySet');
  });

  it('explains fleet.spec.alerts from the zod schema (array items as children)', () => {
    const e = explain('fleet.spec.alerts');
    expect(e.field.type).toBe('[]Object');
    expect(e.field.description).toMatch(/pages the team/);
    const type = e.field.fields.find((f) => f.name === 'type')!;
    expect(type.values).toEqual(['webhook', 'slack', 'teams', 'email']);
    expect(type.required).toBe(true);
    expect(e.field.fields.find((f) => f.name === 'to')!.type).toBe('string|[]string');
    const text = renderExplanation(e);
    expect(text).toMatch(/^FIELD: +alerts <\[\]Object>/m);
    expect(text).toMatch(/^ +maxPerMinute +<integer> +rate limit/m);
  });

  it('walks through arrays with or without []', () => {
    expect(explain('fleet.spec.alerts.maxPerMinute').field).toMatchObject({ type: 'integer', minimum: 1, maximum: 10000 });
    expect(explain('fleet.spec.alerts[].name').path).toBe('fleet.spec.alerts.name');
    expect(explain('fleet.spec.network.subnet').field.pattern).toMatch(/^\^/);
  });

  it('lists the catalogue services under serviceConfig and their keys', () => {
    const sc = explain('decky.spec.serviceConfig');
    expect(sc.field.fields.map((f) => f.name)).toEqual([...SERVICE_NAMES]);
    const smb = explain('decky.spec.serviceConfig.smb');
    expect(smb.field.fields.map((f) => f.name)).toEqual(Object.keys(serviceDef('smb')!.config));
    const http = explain('deckyset.spec.template.serviceConfig.http.response_code').field;
    expect(http).toMatchObject({ type: 'int', default: 200, minimum: 100, maximum: 599 });
    expect(explain('decky.spec.serviceConfig.http.fake_app').field.values).toContain('wordpress');
  });

  it('map values: any key', () => {
    const e = explain('fleet.spec.customServices.mysvc.image');
    expect(e.field.type).toBe('string');
  });

  it('recursive prints the whole subtree', () => {
    const e = explain('deckyset.spec.template');
    const flat = renderExplanation(e);
    const deep = renderExplanation(e, true);
    expect(flat).not.toMatch(/^ {4}ssh /m);
    expect(deep).toMatch(/^ {4}ssh +<Object>/m);
    expect(deep).toMatch(/^ {6}ssh_version +<string>/m);
    expect(explanationJson(e).field.fields.every((f) => f.fields.length === 0)).toBe(true);
    expect(explanationJson(e, true).field.fields.some((f) => f.fields.length > 0)).toBe(true);
  });

  it('unknown path: an error naming the known children', () => {
    expect(() => explain('fleet.spec.nope')).toThrow(DecnetError);
    try {
      explain('fleet.spec.nope');
    } catch (err) {
      expect((err as DecnetError).message).toBe('field "nope" does not exist in fleet.spec');
      expect((err as DecnetError).hint).toMatch(/network, lab, .*alerts/);
    }
    expect(() => explain('decky.spec.serviceConfig.nosuch')).toThrow(/does not exist in decky.spec.serviceConfig/);
    expect(() => explain('widget')).toThrow(/unknown resource/);
    expect(() => explain('fleet.spec.lab.x')).toThrow(/does not exist in fleet.spec.lab/);
    expect(() => explain('fleet.spec.lab.x')).toThrow(expect.objectContaining({ hint: 'fleet.spec.lab (boolean) has no fields' }));
  });
});
