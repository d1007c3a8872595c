/**
 * The runs list (main area): every run, sortable by any column, filtered by pipeline, status and
 * run id; open, compare two or more, delete (asks first). Rows are drawn only where they are in
 * view, so 10,000 runs scroll as fast as 30.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { IRunSummary, listRuns } from './api';
import { CATEGORY, CommandIDs } from './commands';
import { CompareView } from './compareView';
import { el, formatDuration, formatStarted, statusBadge } from './format';
import { pipelineIcon } from './icons';
import { VirtualRows } from './virtualRows';

const ROW_HEIGHT = 30;
const FETCH_PAGE = 1000;
const REFRESH_MS = 10000;

type Column = 'run_id' | 'pipeline' | 'status' | 'gates' | 'started' | 'duration';

const COLUMNS: [Column, string][] = [
  ['run_id', 'Run'],
  ['pipeline', 'Pipeline'],
  ['status', 'Status'],
  ['gates', 'Gates resolved'],
  ['started', 'Started'],
  ['duration', 'Duration']
];

function sortValue(r: IRunSummary, c: Column): string | number {
  switch (c) {
    case 'gates':
      return r.gates_total ? r.gates_resolved / r.gates_total : -1;
    case 'duration':
      return r.duration ?? -1;
    case 'status':
      return r.interrupted ? 'interrupted' : r.status;
    default:
      return r[c] ?? '';
  }
}

export class RunsList extends Widget {
  constructor(private commands: { execute: (id: string, args?: any) => Promise<any> }) {
    super();
    this.id = 'prodex-runs-list';
    this.addClass('jp-prodex-runs-list');
    this.title.label = 'Runs';
    this.title.icon = pipelineIcon;
    this.title.closable = true;

    const bar = el('div', 'jp-prodex-runs-toolbar');
    this._pipeline = el('select', 'jp-prodex-filter-pipeline');
    this._status = el('select', 'jp-prodex-filter-status');
    for (const s of ['', 'pending', 'executing', 'completed', 'completed_partial', 'failed', 'interrupted']) {
      const o = el('option', '', s || 'any status');
      o.value = s;
      this._status.appendChild(o);
    }
    this._text = el('input', 'jp-prodex-filter-text');
    this._text.placeholder = 'Filter by run id…';
    for (const input of [this._pipeline, this._status, this._text]) {
      input.addEventListener('input', () => this._apply());
    }
    this._open = el('button', 'jp-Button jp-mod-styled jp-prodex-open-selected', 'Open');
    this._compare = el('button', 'jp-Button jp-mod-styled jp-mod-accept jp-prodex-compare', 'Compare');
    this._delete = el('button', 'jp-Button jp-mod-styled jp-mod-warn jp-prodex-delete-selected', 'Delete…');
    this._open.onclick = () => {
      for (const runId of Array.from(this._selected).slice(0, 5)) {
        void this.commands.execute(CommandIDs.openRun, { runId });
      }
    };
    this._compare.onclick = () =>
      void this.commands.execute(CommandIDs.compareRuns, { runIds: this._selectedInOrder() });
    this._delete.onclick = async () => {
      const deleted: string[] = await this.commands.execute(CommandIDs.deleteRun, {
        runIds: Array.from(this._selected)
      });
      deleted?.forEach(id => this._selected.delete(id));
      await this.load();
    };
    this._summary = el('span', 'jp-prodex-runs-summary');
    bar.append(this._pipeline, this._status, this._text, this._open, this._compare, this._delete, this._summary);

    const header = el('div', 'jp-prodex-runs-row jp-prodex-runs-header');
    header.appendChild(el('span', 'jp-prodex-col-check'));
    for (const [col, label] of COLUMNS) {
      const h = el('span', `jp-prodex-col jp-prodex-col-${col}`, label);
      h.dataset.column = col;
      h.title = `Sort by ${label.toLowerCase()}`;
      h.onclick = () => {
        this._sortDesc = this._sort === col ? !this._sortDesc : col === 'started';
        this._sort = col;
        this._apply();
      };
      header.appendChild(h);
    }
    this._header = header;
    this._rows = new VirtualRows<IRunSummary>(ROW_HEIGHT, r => this._row(r));
    this.node.append(bar, header, this._rows.node);
    this._updateButtons();

    this._poll = new Poll({
      factory: () => this.load(),
      frequency: { interval: REFRESH_MS, backoff: false },
      standby: () => !this.isVisible || 'when-hidden',
      name: 'prodex-runs-list'
    });
  }

  /**
   * Every run (newest first from the server), a thousand per request: the first thousand are
   * drawn at once, the rest (fetched three requests at a time) when they have all arrived.
   */
  async load(): Promise<void> {
    const first = await listRuns({ limit: FETCH_PAGE, offset: 0 });
    this._setRuns(first.runs);
    if (first.total <= first.runs.length) {
      return;
    }
    const offsets: number[] = [];
    for (let o = FETCH_PAGE; o < first.total; o += FETCH_PAGE) {
      offsets.push(o);
    }
    const pages: IRunSummary[][] = new Array(offsets.length);
    let next = 0;
    const worker = async () => {
      while (next < offsets.length) {
        const i = next++;
        pages[i] = (await listRuns({ limit: FETCH_PAGE, offset: offsets[i] })).runs;
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    this._setRuns(first.runs.concat(...pages));
  }

  private _setRuns(all: IRunSummary[]): void {
    this._all = all;
    const pipelines = Array.from(new Set(all.map(r => r.pipeline))).sort();
    const current = this._pipeline.value;
    this._pipeline.replaceChildren(
      ...['', ...pipelines].map(p => {
        const o = el('option', '', p || 'any pipeline');
        o.value = p;
        return o;
      })
    );
    this._pipeline.value = pipelines.includes(current) ? current : '';
    const known = new Set(all.map(r => r.run_id));
    this._selected.forEach(id => known.has(id) || this._selected.delete(id));
    this._apply();
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  protected onAfterShow(): void {
    this._rows.refresh();
  }

  protected onResize(): void {
    this._rows.refresh();
  }

  private _apply(): void {
    const pipeline = this._pipeline.value;
    const status = this._status.value;
    const text = this._text.value.trim().toLowerCase();
    let shown = this._all.filter(
      r =>
        (!pipeline || r.pipeline === pipeline) &&
        (!status || (status === 'interrupted' ? r.interrupted : r.status === status)) &&
        (!text || r.run_id.toLowerCase().includes(text))
    );
    const col = this._sort;
    const sign = this._sortDesc ? -1 : 1;
    shown = shown
      .map((r, i) => [r, i] as [IRunSummary, number])
      .sort(([a, i], [b, j]) => {
        const x = sortValue(a, col);
        const y = sortValue(b, col);
        return x < y ? -sign : x > y ? sign : i - j;
      })
      .map(([r]) => r);
    for (const h of Array.from(this._header.querySelectorAll<HTMLElement>('.jp-prodex-col'))) {
      h.dataset.sorted = h.dataset.column === col ? (this._sortDesc ? 'desc' : 'asc') : '';
    }
    this._summary.textContent = `${shown.length.toLocaleString()} of ${this._all.length.toLocaleString()} runs`;
    this._rows.setItems(shown);
    this._updateButtons();
  }

  private _row(r: IRunSummary): HTMLElement {
    const row = el('div', 'jp-prodex-runs-row jp-prodex-run');
    row.dataset.prodexRun = r.run_id;
    const check = el('input', 'jp-prodex-col-check');
    check.type = 'checkbox';
    check.checked = this._selected.has(r.run_id);
    check.onclick = e => {
      e.stopPropagation();
      if (check.checked) {
        this._selected.add(r.run_id);
      } else {
        this._selected.delete(r.run_id);
      }
      this._updateButtons();
    };
    const status = el('span', 'jp-prodex-col jp-prodex-col-status');
    status.appendChild(statusBadge(r.status, r.interrupted));
    row.append(
      check,
      el('span', 'jp-prodex-col jp-prodex-col-run_id', r.run_id),
      el('span', 'jp-prodex-col jp-prodex-col-pipeline', r.pipeline),
      status,
      el('span', 'jp-prodex-col jp-prodex-col-gates', `${r.gates_resolved} / ${r.gates_total}`),
      el('span', 'jp-prodex-col jp-prodex-col-started', formatStarted(r.started)),
      el('span', 'jp-prodex-col jp-prodex-col-duration', formatDuration(r.duration))
    );
    row.ondblclick = () => void this.commands.execute(CommandIDs.openRun, { runId: r.run_id });
    row.title = 'Double-click to open';
    return row;
  }

  /** Selected runs, oldest first, so a comparison reads forward in time. */
  private _selectedInOrder(): string[] {
    return this._all
      .filter(r => this._selected.has(r.run_id))
      .sort((a, b) => (a.started < b.started ? -1 : 1))
      .map(r => r.run_id);
  }

  private _updateButtons(): void {
    const n = this._selected.size;
    this._open.disabled = n === 0;
    this._delete.disabled = n === 0;
    this._compare.disabled = n < 2;
    this._compare.textContent = n >= 2 ? `Compare ${n}` : 'Compare';
  }

  private _all: IRunSummary[] = [];
  private _selected = new Set<string>();
  private _sort: Column = 'started';
  private _sortDesc = true;
  private _pipeline: HTMLSelectElement;
  private _status: HTMLSelectElement;
  private _text: HTMLInputElement;
  private _open: HTMLButtonElement;
  private _compare: HTMLButtonElement;
  private _delete: HTMLButtonElement;
  private _summary: HTMLElement;
  private _header: HTMLElement;
  private _rows: VirtualRows<IRunSummary>;
  private _poll: Poll;
}

export const runsListPlugin: JupyterFrontEndPlugin<void> = {
  id: 'prodex-jupyter:runs-list',
  description: 'The runs list and the comparison of runs.',
  autoStart: true,
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null) => {
    let list: MainAreaWidget<RunsList> | null = null;
    app.commands.addCommand(CommandIDs.openRunsList, {
      label: 'Open the Runs List',
      icon: pipelineIcon,
      execute: async () => {
        if (!list || list.isDisposed) {
          const content = new RunsList(app.commands);
          list = new MainAreaWidget({ content });
          list.id = content.id;
          list.title.label = 'Runs';
          list.title.icon = pipelineIcon;
          list.title.closable = true;
          app.shell.add(list, 'main');
          if (!list.isAttached) {
            app.shell.add(list, 'right', { rank: 101 });
          }
          await content.load();
        }
        app.shell.activateById(list.id);
        return list;
      }
    });
    app.commands.addCommand(CommandIDs.compareRuns, {
      label: 'Compare Runs',
      execute: async args => {
        const runIds = (args.runIds as string[]) ?? [];
        const content = new CompareView(runIds);
        const widget = new MainAreaWidget({ content });
        widget.id = content.id;
        widget.title.label = content.title.label;
        widget.title.icon = pipelineIcon;
        widget.title.closable = true;
        app.shell.add(widget, 'main');
        if (!widget.isAttached) {
          app.shell.add(widget, 'right', { rank: 102 });
        }
        app.shell.activateById(widget.id);
        try {
          await content.load();
        } catch (error) {
          await showErrorMessage('Cannot compare these runs', error as Error);
        }
        return widget;
      }
    });
    palette?.addItem({ command: CommandIDs.openRunsList, category: CATEGORY });
  }
};
