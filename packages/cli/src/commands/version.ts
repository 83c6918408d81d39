import { Command } from '@oclif/core';
import { outputFlag, renderJson } from '../lib/output.js';
import { DECNET_VERSION } from '../lib/version.js';

export default class Version extends Command {
  static override description = 'Print the decnet version and runtime information';
  static override flags = { output: outputFlag(['table', 'json'], 'table') };

  async run(): Promise<void> {
    const { flags } = await this.parse(Version);
    const info = { decnet: DECNET_VERSION, apiVersion: 'decnet.io/v1alpha1', node: process.version, platform: `${process.platform}/${process.arch}` };
    if (flags.output === 'json') process.stdout.write(renderJson(info));
    else process.stdout.write(`decnetctl ${info.decnet} (${info.apiVersion}) node ${info.node} ${info.platform}\n`);
  }
}
