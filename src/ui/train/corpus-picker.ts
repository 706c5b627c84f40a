// The training page's corpus card: the choice of text (Tiny Shakespeare, the
// built-in one, a pasted text or a file, chosen or dropped), loading it with
// progress and a clear error, and its statistics line. Loading and checking the
// text itself is ../corpus-loader.ts; this file is the card's DOM.

import { formatCount } from '../../core/format';
import type { CorpusRef } from '../../worker/protocol';
import { errorMessage, fileLimitText, loadBuiltin, loadFile, loadPasted, loadShakespeare, type LoadedCorpus } from '../corpus-loader';
import { $ } from '../dom';
import type { TrainPage } from './page';
import { settingsChanged } from './settings';

const corpusRadios = () => [...document.querySelectorAll<HTMLInputElement>('input[name=corpus]')];

export function showCorpusKind(page: TrainPage, kind: CorpusRef['kind']): void {
  page.corpusKind = kind;
  for (const r of corpusRadios()) r.checked = r.value === kind;
  $('paste-box').hidden = kind !== 'paste';
  $('drop-zone').hidden = kind !== 'file';
}

/** Bumped by every new choice of text: a load that finishes after a later choice is dropped. */
let latestChoice = 0;

export async function useCorpus(page: TrainPage, load: () => Promise<LoadedCorpus>, label: string): Promise<LoadedCorpus | null> {
  const { state } = page;
  const mine = ++latestChoice;
  $('corpus-error').textContent = '';
  $('corpus-stats').textContent = `loading ${label}…`;
  try {
    const c = await load();
    // Tiny Shakespeare still loading when the user pastes a text: the paste wins, whichever ends last.
    if (mine !== latestChoice) return null;
    page.corpus = c;
    state.error = null;
    state.corpus = { kind: c.ref.kind, chars: c.chars, vocabSize: c.vocabSize };
    $('corpus-stats').textContent =
      `${c.ref.name}: ${formatCount(c.chars)} characters, vocabulary ${c.vocabSize}, split ${formatCount(c.trainChars)} train / ${formatCount(c.valChars)} val`;
    if (c.notice) page.notice(c.notice);
    if (!page.runActive) page.charts.setReferences(c.refs);
    settingsChanged(page);
    return c;
  } catch (e) {
    if (mine !== latestChoice) return null;
    page.corpus = null;
    state.corpus = null;
    const msg = errorMessage(e);
    $('corpus-stats').textContent = '';
    $('corpus-error').textContent = msg;
    state.error = msg;
    settingsChanged(page);
    return null;
  }
}

export async function selectCorpus(page: TrainPage, kind: CorpusRef['kind']): Promise<LoadedCorpus | null> {
  showCorpusKind(page, kind);
  if (kind === 'shakespeare' || kind === 'builtin') {
    page.settings.corpus = kind;
    if (kind === 'builtin') return useCorpus(page, loadBuiltin, 'the built-in corpus');
    const choiceAtLoad = latestChoice;
    const c = await useCorpus(page, loadShakespeare, 'Tiny Shakespeare');
    const superseded = latestChoice !== choiceAtLoad + 1; // another choice came while it loaded
    if (c || superseded) return c;
    page.notice('Tiny Shakespeare could not be loaded; using the built-in corpus instead.');
    showCorpusKind(page, 'builtin');
    return useCorpus(page, loadBuiltin, 'the built-in corpus');
  }
  latestChoice++; // a text still loading for an earlier choice must not land now
  page.corpus = null;
  $('corpus-stats').textContent = kind === 'paste' ? 'paste a text, then "Use this text"' : 'choose or drop a UTF-8 text file';
  settingsChanged(page);
  return null;
}

/** The card's radios, paste box, file input and drop zone. */
export function wireCorpusPicker(page: TrainPage): void {
  for (const r of corpusRadios()) r.addEventListener('change', () => void selectCorpus(page, r.value as CorpusRef['kind']));
  $('paste-use').addEventListener('click', () => void useCorpus(page, () => loadPasted($<HTMLTextAreaElement>('paste-text').value), 'the pasted text'));
  const corpusFile = $<HTMLInputElement>('corpus-file');
  corpusFile.addEventListener('change', () => {
    const f = corpusFile.files?.[0];
    if (f) void useCorpus(page, () => readFile(page, f), f.name);
    corpusFile.value = '';
  });
  const drop = $('drop-zone');
  drop.querySelector('span')!.textContent = `or drop a text file here (${fileLimitText(page.options.maxTextMB * 1e6)})`;
  const corpusCard = $('corpus-card');
  corpusCard.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  corpusCard.addEventListener('dragleave', () => drop.classList.remove('over'));
  corpusCard.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (!f || page.runActive) return;
    showCorpusKind(page, 'file');
    void useCorpus(page, () => readFile(page, f), f.name);
  });
}

/** A text file, read in a worker with the size limit and progress in the corpus line. */
function readFile(page: TrainPage, f: File): Promise<LoadedCorpus> {
  return loadFile(f, page.options.maxTextMB * 1e6, (bytes, total) => {
    page.state.corpusRead = { bytes, total };
    $('corpus-stats').textContent =
      `reading ${f.name}: ${formatCount(bytes)} of ${formatCount(total)} bytes (${total ? Math.floor((100 * bytes) / total) : 100}%)`;
  });
}
