/**
 * The Pipelines workspace, a left side panel: the pending-gates inbox, then every template under
 * the server root (name, description, node and gate counts, last run's status) with its runs
 * (status badge, `Gates resolved: k / n`, started, duration; interrupted runs marked, with
 * Resume). Runs come a page at a time from the server, so 10,000 runs cost one page. It reads the
 * server every second while visible: a decision or a run started elsewhere shows about a
 * second after it is recorded (bench/lab_panel.py measures it).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { CommandRegistry } from '@lumino/commands';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { IRunSummary, ITemplateSummary, listRuns, listTemplates } from './api';
import { CommandIDs } from './commands';
import { el, formatDuration, formatStarted, gatesResolved, statusBadge } from './format';
import { pipelineIcon } from './icons';
import { InboxSection } from './inbox';

const REFRESH_MS = 1000;
const TEMPLATES_EVERY = 5; // polls: templates are re-read every 5th poll (files change rarely)
const PAGE_SIZE = 20;

export class PipelinesPanel extends Widget {
  constructor(private commands: CommandRegistry) {
    super();
    this.id = 'prodex-pipelines';
    this.addClass('jp-prodex-sidebar');
    this.title.icon = pipelineIcon;
    this.title.caption = 'Pipelines';

    const head = el('div', 'jp-prodex-sidebar-head');
    head.appendChild(el('span', 'jp-prodex-sidebar-title', 'Pipelines'));
    const runsList = el('button', 'jp-Button jp-mod-minimal jp-prodex-open-runs-list', 'Runs list');
    runsList.title = 'All runs: sort, filter, compare, delete';
    runsList.onclick = () => void commands.execute(CommandIDs.openRunsList);
    head.appendChild(runsList);

    this.inbox = new InboxSection(commands);
    const templates = el('section', 'jp-prodex-section jp-prodex-templates');
    const tHead = el('div', 'jp-prodex-section-head');
    tHead.appendChild(el('span', 'jp-prodex-section-title', 'Templates'));
    this._templates = el('div', 'jp-prodex-template-list');
    templates.append(tHead, this._templates);
    this._error = el('div', 'jp-prodex-error');
    this._error.hidden = true;
    this.node.append(head, this._error, this.inbox.node, templates);

    this._poll = new Poll({
      factory: () => this.refresh(),
      frequency: { interval: REFRESH_MS, backoff: true, max: 10 * REFRESH_MS },
      standby: () => !this.isVisible || 'when-hidden',
      name: 'prodex-pipelines'
    });
  }

  readonly inbox: InboxSection;

  /** Read templates (every few polls), each shown template's page of runs, and the inbox. */
  async refresh(force = false): Promise<void> {
    try {
      if (force || this._ticks++ % TEMPLATES_EVERY === 0 || !this._list) {
        this._list = await listTemplates();
      }
      const list = this._list;
      // Templates and their runs first; then the inbox, whose query and gate names take
      // longer over a large store, so the runs never wait behind it.
      await Promise.all(list.map(t => this._refreshRuns(t)));
      this._render(list);
      await this.inbox.refresh();
      this._error.hidden = true;
    } catch (error) {
      this._error.hidden = false;
      this._error.textContent = `Cannot reach the prodex server extension: ${
        (error as Error).message
      }`;
      throw error;
    }
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  protected onAfterShow(): void {
    void this._poll.refresh();
  }

  private async _refreshRuns(t: ITemplateSummary): Promise<void> {
    if (t.error) {
      return;
    }
    const state = this._state(t.path);
    if (!state.open) {
      return;
    }
    const page = await listRuns({ pipeline: t.id, limit: PAGE_SIZE, offset: state.offset });
    state.runs = page.runs;
    state.total = page.total;
  }

  private _state(id: string): ITemplateState {
    let s = this._states.get(id);
    if (!s) {
      s = { open: true, offset: 0, runs: [], total: 0, key: '', node: null };
      this._states.set(id, s);
    }
    return s;
  }

  private _render(list: ITemplateSummary[]): void {
    const container = this._templates;
    if (!list.length) {
      container.replaceChildren(
        el('div', 'jp-prodex-empty', 'No *.prodex.yaml template under the server root.')
      );
      return;
    }
    const nodes: HTMLElement[] = [];
    for (const t of list) {
      const state = this._state(t.path);
      const key = JSON.stringify([t, state.open, state.offset, state.runs, state.total]);
      if (key !== state.key || !state.node) {
        state.key = key;
        state.node = this._templateNode(t, state);
      }
      nodes.push(state.node);
    }
    if (
      nodes.length !== container.children.length ||
      nodes.some((n, i) => container.children[i] !== n)
    ) {
      container.replaceChildren(...nodes);
    }
  }

  private _templateNode(t: ITemplateSummary, state: ITemplateState): HTMLElement {
    const box = el('div', 'jp-prodex-template');
    box.dataset.prodexTemplate = t.path;
    box.dataset.pipeline = t.id;
    const top = el('div', 'jp-prodex-row-top');
    const caret = el('button', 'jp-prodex-caret', state.open ? '▾' : '▸');
    caret.title = state.open ? 'Hide runs' : 'Show runs';
    caret.onclick = () => {
      state.open = !state.open;
      void this.refresh();
    };
    top.append(caret, el('span', 'jp-prodex-template-name', t.id));
    const run = el('button', 'jp-Button jp-mod-styled jp-mod-accept jp-prodex-template-run', 'Run');
    run.title = `Run Pipeline: start a run of ${t.path}`;
    run.onclick = () => void this.commands.execute(CommandIDs.runPipeline, { path: t.path });
    if (t.error) {
      run.disabled = true;
    }
    top.appendChild(run);
    box.appendChild(top);
    if (t.description) {
      box.appendChild(el('div', 'jp-prodex-template-desc', t.description));
    }
    const counts = el('div', 'jp-prodex-row-sub jp-prodex-template-counts');
    counts.appendChild(el('span', '', `${t.nodes} nodes · ${t.gates} gates`));
    if (t.last_run) {
      const last = el('span', 'jp-prodex-last-run', 'last run ');
      const badge = statusBadge(t.last_run.status, t.last_run.interrupted);
      last.title = `Last run ${t.last_run.run_id}: ${
        t.last_run.interrupted ? 'interrupted' : t.last_run.status
      }`;
      last.appendChild(badge);
      counts.appendChild(last);
    }
    counts.appendChild(el('span', 'jp-prodex-template-path', t.path));
    box.appendChild(counts);
    if (t.error) {
      box.appendChild(el('div', 'jp-prodex-error', t.error));
      return box;
    }
    if (state.open) {
      box.appendChild(this._runsNode(state));
    }
    return box;
  }

  private _runsNode(state: ITemplateState): HTMLElement {
    const list = el('div', 'jp-prodex-runs');
    if (!state.total) {
      list.appendChild(el('div', 'jp-prodex-empty', 'No runs yet.'));
      return list;
    }
    for (const r of state.runs) {
      list.appendChild(runRow(r, this.commands));
    }
    if (state.total > PAGE_SIZE) {
      const pager = el('div', 'jp-prodex-pager');
      const last = Math.min(state.offset + PAGE_SIZE, state.total);
      const newer = el('button', 'jp-Button jp-mod-minimal', '‹ Newer');
      newer.disabled = state.offset === 0;
      newer.onclick = () => {
        state.offset = Math.max(0, state.offset - PAGE_SIZE);
        void this.refresh();
      };
      const older = el('button', 'jp-Button jp-mod-minimal', 'Older ›');
      older.disabled = last >= state.total;
      older.onclick = () => {
        state.offset += PAGE_SIZE;
        void this.refresh();
      };
      pager.append(
        newer,
        el(
          'span',
          'jp-prodex-pager-text',
          `${state.offset + 1}–${last} of ${state.total.toLocaleString()}`
        ),
        older
      );
      list.appendChild(pager);
    }
    return list;
  }

  private _poll: Poll;
  private _ticks = 0;
  private _list: ITemplateSummary[] | null = null;
  private _states = new Map<string, ITemplateState>();
  private _templates: HTMLElement;
  private _error: HTMLElement;
}

interface ITemplateState {
  open: boolean;
  offset: number;
  runs: IRunSummary[];
  total: number;
  key: string;
  node: HTMLElement | null;
}

/** One run in the sidebar: status, Gates resolved, started, duration; Resume when interrupted. */
function runRow(r: IRunSummary, commands: CommandRegistry): HTMLElement {
  const row = el('div', 'jp-prodex-run');
  row.dataset.prodexRun = r.run_id;
  row.title = `Open run ${r.run_id}`;
  const top = el('div', 'jp-prodex-row-top');
  top.append(
    statusBadge(r.status, r.interrupted),
    el('span', 'jp-prodex-gates-resolved', gatesResolved(r.gates_resolved, r.gates_total))
  );
  if (r.pending_gates > 0) {
    const waiting = el('span', 'jp-prodex-waiting', `${r.pending_gates} waiting`);
    waiting.title = 'Gates waiting for a decision';
    top.appendChild(waiting);
  }
  if (r.interrupted) {
    const resume = el('button', 'jp-Button jp-mod-styled jp-mod-accept jp-prodex-resume', 'Resume');
    resume.title = 'Nobody executes this run and work is left: continue it';
    resume.onclick = e => {
      e.stopPropagation();
      void commands.execute(CommandIDs.resumeRun, { runId: r.run_id });
    };
    top.appendChild(resume);
  }
  const sub = el('div', 'jp-prodex-row-sub');
  sub.append(
    el('span', 'jp-prodex-run-id', r.run_id),
    el('span', 'jp-prodex-started', formatStarted(r.started)),
    el('span', 'jp-prodex-duration', formatDuration(r.duration))
  );
  row.append(top, sub);
  row.onclick = () => void commands.execute(CommandIDs.openRun, { runId: r.run_id });
  return row;
}

export const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'prodex-jupyter:sidebar',
  description: 'The Pipelines workspace: templates, their runs and the pending-gates inbox.',
  autoStart: true,
  optional: [ILayoutRestorer],
  activate: (app: JupyterFrontEnd, restorer: ILayoutRestorer | null) => {
    const panel = new PipelinesPanel(app.commands);
    app.shell.add(panel, 'left', { rank: 150 });
    restorer?.add(panel, panel.id);

    app.commands.addCommand(CommandIDs.showWorkspace, {
      label: 'Show the Pipelines Workspace',
      icon: pipelineIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    app.contextMenu.addItem({
      command: CommandIDs.runPipeline,
      selector: '.jp-prodex-template',
      args: { fromContextMenu: true },
      rank: 0
    });
    app.contextMenu.addItem({
      command: CommandIDs.openRun,
      selector: '.jp-prodex-run',
      args: { fromContextMenu: true },
      rank: 0
    });
    app.contextMenu.addItem({
      command: CommandIDs.deleteRun,
      selector: '.jp-prodex-run',
      args: { fromContextMenu: true },
      rank: 1
    });
  }
};
