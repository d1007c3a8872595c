/**
 * The pending-gates inbox: every gate waiting for a decision across all runs, with a count
 * badge; an item opens its run panel at that gate. A run waiting at a gate has status
 * `executing` and `pending_gates` > 0 in GET runs; the gates' names come from its record, read
 * again only when the run's summary changed.
 */
import { CommandRegistry } from '@lumino/commands';

import { getRun, IRunSummary, listRuns } from './api';
import { CommandIDs } from './commands';
import { el } from './format';

const MAX_RUNS = 1000;
const MAX_DETAILED = 20;

interface IPendingGate {
  runId: string;
  pipeline: string;
  gateId: string;
  name: string;
  confidence: string;
}

export class InboxSection {
  readonly node: HTMLElement;

  constructor(private commands: CommandRegistry) {
    this.node = el('section', 'jp-prodex-section jp-prodex-inbox');
    const head = el('div', 'jp-prodex-section-head');
    head.appendChild(el('span', 'jp-prodex-section-title', 'Pending gates'));
    this._count = el('span', 'jp-prodex-count jp-prodex-inbox-count', '0');
    this._count.title = 'Gates waiting for a decision, across all runs';
    head.appendChild(this._count);
    this._list = el('div', 'jp-prodex-inbox-list');
    this.node.append(head, this._list);
  }

  /** How many gates wait for a decision (the badge). */
  get count(): number {
    return this._total;
  }

  async refresh(): Promise<void> {
    const page = await listRuns({ status: 'executing', limit: MAX_RUNS });
    const waiting = page.runs.filter(r => r.pending_gates > 0);
    this._total = waiting.reduce((n, r) => n + r.pending_gates, 0);
    this._count.textContent = String(this._total);
    this._count.dataset.count = String(this._total);
    this.node.classList.toggle('jp-mod-empty', this._total === 0);

    const details = await Promise.all(waiting.slice(0, MAX_DETAILED).map(r => this._gatesOf(r)));
    const items = ([] as IPendingGate[]).concat(...details);
    const key = JSON.stringify(items) + waiting.length;
    if (key === this._key) {
      return;
    }
    this._key = key;
    this._render(items, waiting.length);
  }

  private async _gatesOf(run: IRunSummary): Promise<IPendingGate[]> {
    const key = `${run.gates_resolved}/${run.pending_gates}/${run.status}`;
    const cached = this._cache.get(run.run_id);
    if (cached && cached.key === key) {
      return cached.gates;
    }
    const record = await getRun(run.run_id, 'none');
    const gates = record.gates
      .filter(g => g.status === 'pending')
      .map(g => ({
        runId: run.run_id,
        pipeline: run.pipeline,
        gateId: g.gate_id,
        name: g.name || g.gate_id,
        confidence: g.confidence
      }));
    this._cache.set(run.run_id, { key, gates });
    return gates;
  }

  private _render(items: IPendingGate[], runs: number): void {
    const list = this._list;
    list.replaceChildren();
    if (!items.length) {
      list.appendChild(el('div', 'jp-prodex-empty', 'No gate is waiting for a decision.'));
      return;
    }
    for (const item of items) {
      const row = el('div', 'jp-prodex-inbox-item');
      row.dataset.prodexRun = item.runId;
      row.dataset.prodexGate = item.gateId;
      row.title = `Open run ${item.runId} at gate ${item.gateId}`;
      const top = el('div', 'jp-prodex-row-top');
      top.append(
        el('span', 'jp-prodex-inbox-name', item.name),
        el('span', `jp-prodex-badge jp-prodex-confidence-${item.confidence}`, item.confidence)
      );
      const bottom = el('div', 'jp-prodex-row-sub', `${item.pipeline} · ${item.runId}`);
      row.append(top, bottom);
      row.onclick = () =>
        void this.commands.execute(CommandIDs.openRun, {
          runId: item.runId,
          gateId: item.gateId
        });
      list.appendChild(row);
    }
    if (runs > MAX_DETAILED) {
      list.appendChild(
        el('div', 'jp-prodex-note', `Showing gates of the newest ${MAX_DETAILED} of ${runs} runs.`)
      );
    }
  }

  private _count: HTMLElement;
  private _list: HTMLElement;
  private _total = 0;
  private _key = '';
  private _cache = new Map<string, { key: string; gates: IPendingGate[] }>();
}
