// The scaling lab's text: Tiny Shakespeare, the built-in corpus, its small-lexicon
// ground-truth variant (builtin-small, as the CLI's --corpus) or a file,
// loaded (../corpus-loader.ts) and described in one line; a sweep resumed after a reload
// gets back the very text it ran on. Changing it re-plans the sweep.

import { type CorpusInfo } from '../../core/scaling/sweep-results';
import { errorMessage, loadBuiltin, loadBuiltinSmall, loadFile, loadShakespeare, rememberText, type LoadedCorpus } from '../corpus-loader';
import { $ } from '../dom';
import { notice, type Lab } from './lab';
import { onSpecChange, updateButtons } from './sweep-form';

export async function chooseCorpus(lab: Lab, kind: string, file?: File): Promise<void> {
  const { state } = lab;
  state.corpus = null;
  lab.corpus = null;
  $('corpus-stats').textContent = 'loading…';
  updateButtons(lab);
  try {
    const corpus = (lab.corpus =
      kind === 'builtin'
        ? await loadBuiltin()
        : kind === 'builtin-small'
          ? await loadBuiltinSmall()
          : kind === 'file' && file
            ? await loadFile(file)
            : await loadShakespeare());
    if (corpus.ref.kind === 'file') await rememberText(corpus).catch(() => undefined);
    state.corpus = corpus.ref.name;
    $('corpus-stats').textContent =
      `${corpus.ref.name}: ${corpus.chars.toLocaleString('en-US')} chars, vocab ${corpus.vocabSize}, ${corpus.trainChars.toLocaleString('en-US')} train / ${corpus.valChars.toLocaleString('en-US')} val`;
    if (corpus.notice) notice(corpus.notice);
  } catch (e) {
    $('corpus-stats').textContent = errorMessage(e);
  }
  lab.calibration = null;
  onSpecChange(lab);
}

/** The text of a stored sweep being offered for resuming; on failure, the text the form names. */
export async function resumeCorpus(lab: Lab, load: Promise<LoadedCorpus>): Promise<void> {
  try {
    const corpus = (lab.corpus = await load);
    lab.state.corpus = corpus.ref.name;
    $<HTMLSelectElement>('corpus').value = corpus.ref.kind === 'file' ? 'file' : corpus.ref.kind;
    $('corpus-stats').textContent = `${corpus.ref.name}: ${corpus.chars.toLocaleString('en-US')} chars, vocab ${corpus.vocabSize}`;
    onSpecChange(lab);
  } catch (e) {
    notice(errorMessage(e), 'error');
    await chooseCorpus(lab, $<HTMLSelectElement>('corpus').value);
  }
}

export function corpusInfo(c: LoadedCorpus): CorpusInfo {
  return {
    source: c.ref.kind === 'file' ? c.ref.name : c.ref.kind,
    chars: c.chars,
    trainChars: c.trainChars,
    valChars: c.valChars,
    vocabSize: c.vocabSize,
    sha256: c.ref.sha256,
    ...(c.refs.floor !== undefined ? { entropyPerChar: c.refs.floor } : {}),
  };
}

export function wireCorpusChoice(lab: Lab): void {
  $('corpus').addEventListener('change', () => {
    const kind = $<HTMLSelectElement>('corpus').value;
    if (kind === 'file') $<HTMLInputElement>('corpus-file').click();
    else void chooseCorpus(lab, kind);
  });
  $('corpus-file').addEventListener('change', () => {
    const file = $<HTMLInputElement>('corpus-file').files?.[0];
    if (file) void chooseCorpus(lab, 'file', file);
  });
}
