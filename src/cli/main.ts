// `tabgpt <command>`: dispatch, and the one place errors become one line.
// A user mistake never shows a stack trace (set TABGPT_DEBUG=1 to see one).

import { CliError } from './common';

const COMMANDS: Record<string, { about: string; run: (argv: string[]) => Promise<void> }> = {
  train: { about: 'train a model (default: Tiny Shakespeare, or the built-in corpus offline)', run: async (a) => (await import('./train')).trainCommand(a) },
  sample: { about: 'generate text from a checkpoint', run: async (a) => (await import('./sample')).sampleCommand(a) },
  sweep: { about: 'train a ladder of model sizes and record their losses', run: async (a) => (await import('./sweep')).sweepCommand(a) },
  fit: { about: 'fit scaling laws to a sweep results file', run: async (a) => (await import('./fit')).fitCommand(a) },
  transfer: {
    about: 'pre-train, then fine-tune vs from scratch on held-out text (npm run transfer)',
    run: async (a) => (await import('./transfer')).transferCommand(a),
  },
  'to-nanogpt': {
    about: "write a checkpoint as nanoGPT's ckpt.pt + meta.pkl, to continue in PyTorch",
    run: async (a) => (await import('./nanogpt')).toNanoGPTCommand(a),
  },
  'from-nanogpt': {
    about: "read nanoGPT's ckpt.pt (+ meta.pkl) into a tabgpt checkpoint",
    run: async (a) => (await import('./nanogpt')).fromNanoGPTCommand(a),
  },
  plan: {
    about: 'predict a run: parameters, FLOPs, peak memory, what fits --memory, time per backend',
    run: async (a) => (await import('./plan')).planCommand(a),
  },
  bench: { about: 'measure training and generation speed per backend and preset', run: async (a) => (await import('./bench')).benchCommand(a) },
};

function usage(): string {
  return [
    'usage: tabgpt <command> [flags]   (tabgpt <command> --help for its flags)',
    '',
    ...Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(13)} ${v.about}`),
  ].join('\n');
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage());
    return;
  }
  const entry = COMMANDS[command];
  if (!entry) throw new CliError(`unknown command '${command}': choose one of ${Object.keys(COMMANDS).join(', ')}`);
  await entry.run(rest);
}

const USER_ERRORS = new Set([
  'OutOfMemoryError',
  'CliError',
  'ConfigError',
  'DataError',
  'TokenizerError',
  'CheckpointError',
  'SampleError',
  'DivergedError',
  'FitError',
  'SweepError',
  'NanoGPTError',
]);

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    if (process.env.TABGPT_DEBUG) console.error(err.stack);
    let msg = err.message.split('\n')[0];
    // The wasm backend aborts (emscripten's "Aborted()") when its 4 GB heap is exhausted.
    if (err.name !== 'OutOfMemoryError' && (/^Aborted\(/.test(msg) || /out of memory|Array buffer allocation failed/i.test(msg))) {
      msg =
        'the backend ran out of memory (wasm has a 4 GB heap): use --grad-accum N with a smaller --batch-size, --recompute, or a smaller model (tabgpt plan says what fits)';
      err.name = 'CliError';
    }
    console.error(`tabgpt: error: ${msg}`);
    if (!USER_ERRORS.has(err.name) && !process.env.TABGPT_DEBUG)
      console.error('tabgpt: (an internal error; set TABGPT_DEBUG=1 for a stack trace and report it)');
    process.exit(err.name === 'CliError' ? 2 : 1);
  },
);
