// The scaling lab's sweep form: the spec's fields in and out of the inputs, the
// plan they describe (the ladder table, its warnings and the calibrated time
// estimate), "fit to budget", the buttons that depend on them, and the URL
// that keeps the spec so a link reproduces the sweep.

import { budgetRule, DEFAULT_LR_SCAN, specFromJSON, type SweepSpec } from '../../core/scaling/sweep';
import { estimateSeconds, shrinkToBudget } from '../../core/scaling/sweep-estimate';
import { planRuns } from '../../core/scaling/sweep-plan';
import { formatDuration } from '../../core/format';
import { errorMessage } from '../corpus-loader';
import { $ } from '../dom';
import { notice, type Lab } from './lab';
import { ladderWarnings, renderLadder } from './tables';
import { ladder, ladderNote } from '../../core/scaling/ladder';
import { scalingSearch, type ScalingSettings } from './url';

const NUM_FIELDS = ['sizes', 'minParams', 'maxParams', 'headSize', 'widthPerLayer', 'blockSize', 'batchSize', 'warmupFraction'] as const;

export function writeUrl(settings: ScalingSettings): void {
  history.replaceState(null, '', location.pathname + scalingSearch(settings));
}

export function fillForm(lab: Lab, spec: SweepSpec): void {
  const { settings } = lab;
  for (const k of NUM_FIELDS) $<HTMLInputElement>(k).value = String(spec[k]);
  $<HTMLInputElement>('tokens').value = spec.tokens === null ? '' : String(spec.tokens);
  $<HTMLInputElement>('tokensPerParam').value = spec.tokensPerParam === null ? '' : String(spec.tokensPerParam);
  $<HTMLInputElement>('budgets').value = spec.budgets.join(',');
  $<HTMLInputElement>('seeds').value = spec.seeds.join(',');
  $<HTMLInputElement>('repeatSeeds').value = spec.repeatSeeds.join(',');
  $<HTMLInputElement>('lrScale').value = spec.lr.kind === 'kaplan' ? String(spec.lr.scale) : '';
  $<HTMLSelectElement>('lrScan').value = spec.lrScan?.sizes ?? '';
  const sel = $<HTMLSelectElement>('corpus');
  sel.value = spec.corpus.startsWith('text:') ? 'file' : spec.corpus;
  $<HTMLInputElement>('budgetMin').value = String(settings.budgetMin);
  $<HTMLSelectElement>('paramKind').value = settings.paramKind;
  $<HTMLSelectElement>('units').value = settings.units;
}

/** The spec the form describes; throws a one-line SweepError when it is not valid. */
export function readForm(lab: Lab): SweepSpec {
  const { corpus } = lab;
  const o: Record<string, unknown> = { ...lab.settings.spec };
  for (const k of NUM_FIELDS) o[k] = Number($<HTMLInputElement>(k).value);
  const perParam = $<HTMLInputElement>('tokensPerParam').value.trim();
  if (perParam !== '') {
    o.tokensPerParam = Number(perParam);
    o.tokens = null;
  } else {
    o.tokens = Number($<HTMLInputElement>('tokens').value);
    o.tokensPerParam = null;
  }
  const list = (id: string) =>
    $<HTMLInputElement>(id)
      .value.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(Number);
  o.budgets = list('budgets');
  o.seeds = list('seeds');
  o.repeatSeeds = list('repeatSeeds');
  const scale = $<HTMLInputElement>('lrScale').value.trim();
  if (scale !== '') o.lr = { kind: 'kaplan', scale: Number(scale) };
  // Empty: the budget rule; a loaded sweep's own budget rule (the numbers it ran with) is kept.
  else if ((o.lr as SweepSpec['lr']).kind === 'kaplan') o.lr = budgetRule();
  const scan = $<HTMLSelectElement>('lrScan').value;
  o.lrScan = scan === 'ends' || scan === 'all' ? { ...DEFAULT_LR_SCAN, sizes: scan } : null;
  o.corpus = corpus?.ref.kind === 'file' ? `text:${corpus.ref.name}` : $<HTMLSelectElement>('corpus').value;
  return specFromJSON(o, 'sweep');
}

export function corpusShape(lab: Lab) {
  return { vocabSize: lab.corpus?.vocabSize ?? 65, trainChars: lab.corpus?.trainChars ?? 1_003_854 };
}

/** Re-plan from the form: ladder table, warnings, estimate, URL. */
export function onSpecChange(lab: Lab): void {
  $('spec-error').textContent = '';
  try {
    lab.settings.spec = readForm(lab);
    lab.planned = planRuns(lab.settings.spec, corpusShape(lab));
  } catch (e) {
    $('spec-error').textContent = errorMessage(e).replace(/^sweep(?: spec)?: /, '');
    lab.planned = [];
  }
  writeUrl(lab.settings);
  renderPlan(lab);
}

export function renderPlan(lab: Lab): void {
  const { planned, calibration, state } = lab;
  const done = new Set((lab.results?.runs ?? []).map((r) => r.id));
  renderLadder($('ladder') as HTMLTableElement, planned, done, calibration);
  let note: string | null = null;
  try {
    note = planned.length ? ladderNote(lab.settings.spec, ladder(lab.settings.spec)) : null;
  } catch {
    /* the spec error is shown already */
  }
  $('ladder-warnings').textContent = [note, ladderWarnings(lab.settings.spec, planned)].filter((x) => x).join('; ');
  if (calibration && planned.length) {
    const todo = planned.filter((r) => !done.has(r.id));
    state.estimateSec = estimateSeconds(todo, calibration);
    $('estimate').textContent =
      `estimated ${formatDuration(state.estimateSec)} for ${todo.length} run(s) on ${calibration.backend} (calibrated ${calibration.points.length} sizes)`;
  }
  updateButtons(lab);
}

export function updateButtons(lab: Lab): void {
  const { state, planned, corpus } = lab;
  const busy = state.status === 'running' || state.status === 'calibrating' || state.status === 'stopping' || state.status === 'loading';
  $<HTMLButtonElement>('start').disabled = busy || planned.length === 0 || !corpus || !state.backend;
  $<HTMLButtonElement>('calibrate').disabled = busy || planned.length === 0 || !corpus || !state.backend;
  $<HTMLButtonElement>('fit-budget').disabled = busy || !lab.calibration || planned.length === 0;
  $<HTMLButtonElement>('stop').disabled = state.status !== 'running';
  $<HTMLFieldSetElement>('spec-fields').disabled = busy;
  $<HTMLButtonElement>('clear').disabled = busy;
  $<HTMLInputElement>('import').disabled = busy;
}

/** "Fit to budget" (shrink the sweep to the minutes given), the budget field, and re-planning on every field. */
export function wireSweepForm(lab: Lab): void {
  const { settings } = lab;
  $('fit-budget').addEventListener('click', () => {
    if (!lab.calibration) return;
    const minutes = Number($<HTMLInputElement>('budgetMin').value);
    try {
      const shrunk = shrinkToBudget(readForm(lab), corpusShape(lab), lab.calibration, minutes * 60);
      settings.budgetMin = minutes;
      fillForm(lab, shrunk.spec);
      notice(
        shrunk.changes.length
          ? `To fit ${minutes} min: ${shrunk.changes.join(', ')} (estimate ${formatDuration(shrunk.seconds)}).`
          : `The sweep already fits ${minutes} min.`,
      );
      onSpecChange(lab);
    } catch (e) {
      $('spec-error').textContent = errorMessage(e);
    }
  });
  for (const id of [...NUM_FIELDS, 'tokens', 'tokensPerParam', 'budgets', 'seeds', 'repeatSeeds', 'lrScale', 'lrScan'])
    $(id).addEventListener('change', () => onSpecChange(lab));
  $('budgetMin').addEventListener('change', () => {
    settings.budgetMin = Number($<HTMLInputElement>('budgetMin').value) || settings.budgetMin;
    writeUrl(settings);
  });
}
