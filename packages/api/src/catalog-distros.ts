/** Distros: slug -> base image and hostname family. */

export type DistroFamily = 'generic' | 'rhel' | 'minimal' | 'rolling';

export interface DistroDef {
  slug: string;
  image: string;
  family: DistroFamily;
}

const rows: [string, string, DistroFamily][] = [
  ['debian', 'debian:bookworm-slim', 'generic'],
  ['ubuntu22', 'ubuntu:22.04', 'generic'],
  ['ubuntu20', 'ubuntu:20.04', 'generic'],
  ['rocky9', 'rockylinux:9-minimal', 'rhel'],
  ['centos7', 'centos:7', 'rhel'],
  ['alpine', 'alpine:3.19', 'minimal'],
  ['fedora', 'fedora:39', 'rhel'],
  ['kali', 'kalilinux/kali-rolling', 'rolling'],
  ['arch', 'archlinux:latest', 'rolling'],
];

export const DISTROS: Readonly<Record<string, DistroDef>> = Object.freeze(
  Object.fromEntries(rows.map(([slug, image, family]) => [slug, { slug, image, family }])),
);

/** Distro slugs in catalogue order (the default pool when no archetype prefers some). */
export const DISTRO_NAMES = rows.map((r) => r[0]) as readonly string[];

export function distroDef(slug: string): DistroDef | undefined {
  return Object.hasOwn(DISTROS, slug) ? DISTROS[slug] : undefined;
}
