/**
 * Runs side by side (GET compare): each output's values with the absolute and relative change,
 * a trend line per numeric output across the runs, table differences, and what changed between
 * consecutive runs (inputs by hash, template nodes).
 */
import { Widget } from '@lumino/widgets';

import { compareRuns } from './api';
import { el } from './format';

const SVG = 'http://www.w3.org/2000/svg';

export class CompareView extends Widget {
  constructor(readonly runIds: string[]) {
    super();
    this.id = `prodex-compare-${runIds.join('-')}`;
    this.addClass('jp-prodex-compare');
    this.title.label = `Compare ${runIds.length} runs`;
    this.node.appendChild(el('div', 'jp-prodex-note', 'Comparing…'));
  }

  async load(): Promise<void> {
    let data: any;
    try {
      data = await compareRuns(this.runIds);
    } catch (error) {
      this.node.replaceChildren(el('div', 'jp-prodex-error', (error as Error).message));
      throw error;
    }
    this.node.replaceChildren(...this._render(data));
  }

  private _render(data: any): HTMLElement[] {
    const runs: string[] = data.runs ?? this.runIds;
    const out: HTMLElement[] = [];
    out.push(el('h2', 'jp-prodex-compare-title', `${runs.length} runs compared`));
    if (data.verdict) {
      out.push(el('div', 'jp-prodex-verdict', data.verdict));
    }

    const table = el('table', 'jp-prodex-table jp-prodex-compare-outputs');
    const head = el('tr');
    head.append(el('th', '', 'Output'));
    runs.forEach(r => head.append(el('th', '', r)));
    head.append(el('th', '', 'Change'), el('th', '', 'Relative'), el('th', '', 'Trend'));
    table.append(head);
    for (const o of data.outputs ?? []) {
      const tr = el('tr');
      tr.dataset.node = o.node_id;
      tr.append(el('td', 'jp-prodex-node-name', o.node_id));
      (o.values as unknown[]).forEach(v => tr.append(el('td', 'jp-prodex-num', show(v))));
      tr.append(
        el('td', 'jp-prodex-num', o.absolute_change === null ? '' : signed(o.absolute_change)),
        el(
          'td',
          'jp-prodex-num',
          o.relative_change === null ? '' : `${signed(o.relative_change * 100, 1)} %`
        )
      );
      const trend = el('td', 'jp-prodex-trend');
      const numbers = (o.values as unknown[]).map(v => (typeof v === 'number' ? v : NaN));
      if (numbers.every(v => isFinite(v))) {
        trend.appendChild(sparkline(numbers));
      }
      tr.append(trend);
      table.append(tr);
    }
    out.push(el('h3', '', 'Outputs'), table);

    if ((data.tables ?? []).length) {
      const t = el('table', 'jp-prodex-table jp-prodex-compare-tables');
      const h = el('tr');
      ['Table', 'Same?', 'Rows', 'Only in first', 'Only in last', 'Changed rows', 'Summary'].forEach(x =>
        h.append(el('th', '', x))
      );
      t.append(h);
      for (const d of data.tables) {
        const tr = el('tr');
        tr.append(
          el('td', 'jp-prodex-node-name', d.node_id),
          el('td', '', d.identical ? 'identical' : 'differs'),
          el('td', 'jp-prodex-num', `${d.rows_a ?? ''} → ${d.rows_b ?? ''}`),
          el('td', 'jp-prodex-num', show(d.only_in_a)),
          el('td', 'jp-prodex-num', show(d.only_in_b)),
          el('td', 'jp-prodex-num', show(d.changed_rows)),
          el('td', '', d.summary ?? '')
        );
        t.append(tr);
      }
      out.push(el('h3', '', 'Tables'), t);
    }

    out.push(el('h3', '', 'What changed between consecutive runs'));
    for (const pair of data.pairs ?? []) {
      const box = el('div', 'jp-prodex-pair');
      box.append(el('div', 'jp-prodex-pair-head', `${pair.a} → ${pair.b}`));
      if (pair.verdict) {
        box.append(el('div', 'jp-prodex-note', pair.verdict));
      }
      const list = el('ul');
      for (const i of pair.inputs ?? []) {
        if (i.changed) {
          list.append(el('li', 'jp-prodex-changed-input', `input ${i.node_id}: ${i.description}`));
        }
      }
      for (const n of pair.template ?? []) {
        if (n.changed) {
          list.append(el('li', 'jp-prodex-changed-node', `node ${n.node_id}: ${n.description}`));
        }
      }
      if (pair.fingerprint_changed) {
        list.append(el('li', '', 'The template changed.'));
      }
      if (!list.children.length) {
        list.append(el('li', '', 'Same inputs (by hash) and the same template.'));
      }
      box.append(list);
      out.push(box);
    }
    return out;
  }
}

function show(v: unknown): string {
  if (v === null || v === undefined) {
    return '—';
  }
  if (typeof v === 'number') {
    return Number.isInteger(v) ? v.toLocaleString() : v.toPrecision(6).replace(/\.?0+$/, '');
  }
  return String(v);
}

function signed(v: number, digits = 4): string {
  const text = Number.isInteger(v) ? v.toLocaleString() : v.toFixed(digits).replace(/\.?0+$/, '');
  return v > 0 ? `+${text}` : text;
}

/** A small line of the values across runs, oldest to newest. */
function sparkline(values: number[]): SVGElement {
  const w = 120;
  const h = 28;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const points = values
    .map((v, i) => {
      const x = values.length === 1 ? w / 2 : 4 + (i * (w - 8)) / (values.length - 1);
      const y = h - 4 - ((v - min) / span) * (h - 8);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  svg.setAttribute('class', 'jp-prodex-sparkline');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points);
  svg.appendChild(line);
  for (const p of points.split(' ')) {
    const [x, y] = p.split(',');
    const dot = document.createElementNS(SVG, 'circle');
    dot.setAttribute('cx', x);
    dot.setAttribute('cy', y);
    dot.setAttribute('r', '2.5');
    svg.appendChild(dot);
  }
  return svg;
}
