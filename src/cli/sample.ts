// `tabgpt sample`: stream text from a checkpoint.

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { decodeCheckpoint, disposeCheckpoint, modelFromCheckpoint } from '../core/checkpoint';
import { generate } from '../core/sample';
import { isNonNegInt, num, parse } from './args';
import { CliError, setupBackend } from './common';

const HELP = `usage: tabgpt sample --ckpt FILE [--prompt TEXT] [--max-new-tokens 500] [--temperature 0.8]
                     [--top-k 0] [--top-p 1] [--seed 1337] [--backend wasm|cpu|webgpu] [--json]`;

export async function sampleCommand(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    {
      ckpt: { type: 'string', default: 'out/ckpt.safetensors' },
      prompt: { type: 'string', default: '' },
      'max-new-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string', default: 'wasm' },
      json: { type: 'boolean', default: false },
    },
    'sample',
  );
  if (values.help) return void console.log(HELP);
  const maxNewTokens = num(values, 'max-new-tokens', isNonNegInt, 'a non-negative integer') ?? 500;
  const temperature = num(values, 'temperature', (n) => n >= 0, 'a number >= 0') ?? 0.8;
  const topK = num(values, 'top-k', isNonNegInt, 'a non-negative integer') ?? 0;
  const topP = num(values, 'top-p', (n) => n > 0 && n <= 1, 'a number in (0, 1]') ?? 1;
  const seed = num(values, 'seed', Number.isInteger, 'an integer') ?? 1337;
  const path = values.ckpt as string;
  if (!existsSync(path)) throw new CliError(`--ckpt ${path}: no such file (train one first: npm run train)`);
  await setupBackend(values.backend as string);
  const ckpt = await decodeCheckpoint(await readFile(path), path);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  disposeCheckpoint(ckpt);
  const prompt = values.prompt as string;
  const missing = tokenizer.missing(prompt);
  if (missing.length > 0) throw new CliError(`--prompt has characters the model does not know: ${missing.map((c) => JSON.stringify(c)).join(', ')}`);
  const json = values.json as boolean;
  if (!json) process.stdout.write(prompt);
  const text = await generate(model, tokenizer, {
    prompt,
    maxNewTokens,
    temperature,
    topK,
    topP,
    seed,
    onToken: json ? undefined : (ch) => process.stdout.write(ch),
  });
  if (json) console.log(JSON.stringify({ text, prompt, ckpt: path, step: ckpt.meta.step }));
  else process.stdout.write('\n');
  model.dispose();
}
