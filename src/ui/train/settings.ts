// The training page's settings beyond the form's own fields (config-form.ts): the
// URL kept in step with them, the parameter and FLOP counts, the equivalent
// CLI line and its copy button, and the check of the config against the loaded
// corpus that decides whether Start is enabled.

import { PRESET_NAMES, PRESETS, type Config, type PresetName } from '../../core/config';
import { flopsPerToken, paramCount } from '../../core/counts';
import { formatParams } from '../../core/format';
import { memoryAdvice } from '../../core/memory';
import { checkLength } from '../corpus-loader';
import { cliCommand, configOf, DEFAULT_PRESET, essentialOverrides, toSearch, type PageSettings } from './url';
import { $ } from '../dom';
import type { TrainPage } from './page';
import { updateButtons } from './run-control';

/** Write the settings into the address bar (replacing, not pushing, history). */
export function writeUrl(settings: PageSettings): void {
  history.replaceState(null, '', location.pathname + toSearch(settings) + location.hash);
}

export function settingsChanged(page: TrainPage): void {
  const { settings, corpus } = page;
  writeUrl(settings);
  const cfg = configOf(settings);
  const counts = paramCount({ ...cfg, vocabSize: corpus?.vocabSize ?? 0 });
  $('param-count').textContent =
    `${formatParams(counts.total)} parameters (${formatParams(counts.nonEmbedding)} non-embedding)${corpus ? '' : ' + embeddings of the vocabulary'} · ${formatParams(flopsPerToken({ ...cfg, vocabSize: corpus?.vocabSize ?? 0 }))} FLOPs/token`;
  $('cli-command').textContent = cliCommand(settings, { kind: page.corpusKind, name: corpus?.ref.name });
  showMemory(page, cfg);
  validateSettings(page);
  page.views?.settingsChanged();
}

/**
 * The predicted peak memory of a step on the page's backend, and before Start
 * a warning when the run will not fit, naming what to change (core/memory.ts;
 * the "This machine" panel adds the adapter's own limits).
 */
function showMemory(page: TrainPage, cfg: Config): void {
  const backend = page.state.backend ?? 'webgpu';
  const advice = memoryAdvice({ ...cfg, vocabSize: page.corpus?.vocabSize ?? 65 }, backend);
  $('memory-plan').textContent = advice.line;
  $('memory-warn').textContent = advice.warning ?? '';
}

/** Validate the config against the corpus; enable Start only when all is well. */
export function validateSettings(page: TrainPage): boolean {
  const { corpus, state } = page;
  const cfg = configOf(page.settings);
  const short = corpus ? checkLength(corpus, cfg.blockSize) : null;
  const problem = page.form.check(corpus?.vocabSize ?? 1, undefined, short ? { blockSize: short } : {});
  if (corpus) $('corpus-error').textContent = short ?? ''; // a text too short for this blockSize
  if (short) state.error = short;
  page.settingsValid = problem === null && corpus !== null;
  updateButtons(page);
  return page.settingsValid;
}

/** Show a saved run's config in the form: the preset it matches plus what differs from it. */
export function applyConfig(page: TrainPage, config: Config): void {
  const { settings } = page;
  settings.preset = presetOf(config);
  settings.overrides = essentialOverrides(settings.preset, pickConfigFields(config));
  page.form.set(settings);
  settingsChanged(page);
}

function presetOf(cfg: Config): PresetName {
  return PRESET_NAMES.find((n) => (['nLayer', 'nHead', 'nEmbd', 'blockSize'] as const).every((k) => PRESETS[n][k] === cfg[k])) ?? DEFAULT_PRESET;
}
function pickConfigFields(cfg: Config): Partial<Config> {
  const { vocabSize: _v, ...rest } = cfg;
  return rest;
}

export function wireCopyCli(): void {
  $('copy-cli').addEventListener('click', async () => {
    const text = $('cli-command').textContent ?? '';
    try {
      await navigator.clipboard.writeText(text);
      $('copy-cli').textContent = 'Copied';
    } catch {
      // Clipboard denied (permissions): select the text so Ctrl+C works.
      getSelection()?.selectAllChildren($('cli-command'));
      $('copy-cli').textContent = 'Press Ctrl+C';
    }
    setTimeout(() => ($('copy-cli').textContent = 'Copy as CLI command'), 1500);
  });
}
