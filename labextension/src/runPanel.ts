/**
 * One run in the main area: the canvas, the Run Information side panel, the gate cards with
 * Confirm / Reject (a reason is required) and Reopen / Re-confirm, and the derivation drawer of
 * the clicked node. Everything shown comes from `view` in GET runs/{id}; the panel re-reads the
 * record every second while it is visible, so a decision taken anywhere shows here.
 */
import { showErrorMessage } from '@jupyterlab/apputils';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';

import {
  ApiError,
  decide,
  Decision,
  getRun,
  IDecidedCard,
  IPromptCard,
  IRunRecord
} from './api';
import { RunCanvas } from './canvas';
import { el, ensureViewCss, gatesResolved, statusBadge } from './format';

const REFRESH_MS = 1000;

const NOTE_FORMS: Record<
  Decision,
  { prompt: (g: string) => string; submit: string; style: string; missing: string }
> = {
  reject: {
    prompt: g => `Reject ${g}: downstream nodes stay blocked.`,
    submit: 'Reject gate',
    style: 'jp-mod-warn',
    missing: 'A reason is required to reject a gate.'
  },
  confirm: {
    prompt: g => `Re-confirm ${g}, overriding its rejection: downstream work resumes.`,
    submit: 'Re-confirm gate',
    style: 'jp-mod-accept',
    missing: 'A note is required to override a rejection.'
  },
  reopen: {
    prompt: g =>
      `Reopen ${g}: values already produced are kept; new downstream work waits for a decision.`,
    submit: 'Reopen gate',
    style: 'jp-mod-warn',
    missing: ''
  }
};

export class RunPanel extends Panel {
  constructor(readonly runId: string) {
    super();
    this.id = `prodex-run-${runId}`;
    this.addClass('jp-prodex-run-panel');
    this.title.label = `Run ${runId}`;
    this.title.caption = `prodex run ${runId}`;
    this.title.closable = true;

    this._header = el('div', 'jp-prodex-run-header');
    const headerWidget = new Widget({ node: this._header });

    const body = new Panel();
    body.addClass('jp-prodex-run-body');

    const left = new Panel();
    left.addClass('jp-prodex-run-main');
    this._canvas = new RunCanvas();
    this._canvas.nodeClicked.connect((_, nodeId) => this.showDrawer(nodeId));
    this._drawer = el('div', 'jp-prodex-drawer prodex-run-view');
    this._drawer.hidden = true;
    left.addWidget(this._canvas);
    left.addWidget(new Widget({ node: this._drawer }));

    this._side = el('div', 'jp-prodex-run-side prodex-run-view');
    this._info = el('section', 'jp-prodex-run-info');
    this._cards = el('section', 'jp-prodex-cards');
    this._side.append(this._info, this._cards);

    body.addWidget(left);
    body.addWidget(new Widget({ node: this._side }));
    this.addWidget(headerWidget);
    this.addWidget(body);

    this._poll = new Poll({
      factory: () => this.refresh(),
      frequency: { interval: REFRESH_MS, backoff: false, max: REFRESH_MS },
      standby: () => !this.isVisible || 'when-hidden',
      name: `prodex-run-${runId}`
    });
  }

  /** The record last drawn (null before the first answer). */
  get record(): IRunRecord | null {
    return this._record;
  }

  /** Emitted after each drawing of a new record. */
  get changed(): ISignal<this, IRunRecord> {
    return this._changed;
  }

  get canvas(): RunCanvas {
    return this._canvas;
  }

  /** Read the record now and draw what changed. */
  async refresh(): Promise<void> {
    let record: IRunRecord;
    try {
      record = await getRun(this.runId, this._drawerNode ? [this._drawerNode] : 'none');
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this._showGone();
        return;
      }
      throw error;
    }
    if (this.isDisposed) {
      return;
    }
    this._draw(record);
  }

  /** Bring a gate's card and its node into view (the inbox opens a run at a gate). */
  focusGate(gateId: string): void {
    this._focusGate = gateId;
    this._focusedGate = gateId;
    if (this._record) {
      this._markFocused();
      this._applyFocus();
    }
    // The gate may be newer than the record drawn: read it now rather than at the next poll.
    void this.refresh();
  }

  /** Open the derivation drawer on a node. */
  showDrawer(nodeId: string | null): void {
    this._drawerNode = nodeId;
    this._canvas.select(nodeId);
    this._drawDrawer();
    if (nodeId && !this._record?.view.drawer[nodeId]) {
      void this.refresh(); // polls carry no drawer: fetch this node's now
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    super.dispose();
  }

  protected onAfterShow(): void {
    void this._poll.refresh();
  }

  private _draw(record: IRunRecord): void {
    const view = record.view;
    this._record = record;
    ensureViewCss(view.css);
    this._drawHeader(record);
    if (this._lastInfo !== view.run_info.html) {
      this._lastInfo = view.run_info.html;
      this._info.innerHTML =
        '<h3 class="jp-prodex-side-title">Run Information</h3>' + view.run_info.html;
    }
    this._canvas.update_(
      view.canvas,
      record.nodes.map(n => n.node_id)
    );
    this._drawCards(record);
    this._drawDrawer();
    this._applyFocus();
    this._changed.emit(record);
  }

  private _drawHeader(record: IRunRecord): void {
    const h = this._header;
    h.replaceChildren(
      el('span', 'jp-prodex-run-pipeline', record.pipeline),
      el('code', 'jp-prodex-run-id', record.run_id),
      statusBadge(record.status, record.interrupted),
      el(
        'span',
        'jp-prodex-gates-resolved',
        gatesResolved(record.gates_resolved, record.gates_total)
      )
    );
    h.dataset.status = record.status;
  }

  private _drawCards(record: IRunRecord): void {
    const cards = record.view.cards;
    const key = JSON.stringify(cards);
    if (key === this._cardsKey || this._typing?.isConnected) {
      return;
    }
    this._cardsKey = key;
    const box = this._cards;
    box.replaceChildren();
    box.appendChild(el('h3', 'jp-prodex-side-title', cards.title));
    if (cards.note) {
      box.appendChild(el('div', 'jp-prodex-note', cards.note));
    }
    for (const prompt of cards.prompts) {
      box.appendChild(this._promptCard(prompt));
    }
    if (cards.later_note) {
      box.appendChild(el('div', 'jp-prodex-note', cards.later_note));
    }
    for (const decided of cards.decided) {
      box.appendChild(this._decidedCard(decided));
    }
    this._markFocused();
  }

  /** The card of the gate the panel was opened at keeps its highlight across redraws. */
  private _markFocused(): void {
    const gateId = this._focusedGate;
    for (const card of Array.from(this._cards.querySelectorAll<HTMLElement>('.jp-prodex-card'))) {
      const mine = !!gateId && (card.dataset.gates ?? '').split(' ').includes(gateId);
      card.classList.toggle('jp-prodex-focused', mine && card.classList.contains('jp-prodex-prompt'));
    }
  }

  private _promptCard(prompt: IPromptCard): HTMLElement {
    const card = el('div', 'jp-prodex-card jp-prodex-prompt');
    card.dataset.gates = prompt.gate_ids.join(' ');
    const body = el('div', 'jp-prodex-card-body');
    body.innerHTML = prompt.html;
    const buttons = el('div', 'jp-prodex-card-buttons');
    const confirm = el(
      'button',
      'jp-Button jp-mod-styled jp-mod-accept jp-prodex-confirm',
      prompt.batch ? `Confirm all ${prompt.gate_ids.length}` : 'Confirm'
    );
    confirm.onclick = () => this._decideAll(card, prompt.gate_ids, 'confirm', '');
    buttons.appendChild(confirm);
    for (const gateId of prompt.gate_ids) {
      const reject = el(
        'button',
        'jp-Button jp-mod-styled jp-mod-warn jp-prodex-reject',
        prompt.batch ? `Reject ${gateId}…` : 'Reject…'
      );
      reject.dataset.gate = gateId;
      reject.onclick = () => this._openNoteForm(card, gateId, 'reject', true);
      buttons.appendChild(reject);
    }
    card.append(body, buttons, el('div', 'jp-prodex-card-error'));
    return card;
  }

  private _decidedCard(decided: IDecidedCard): HTMLElement {
    const card = el('div', `jp-prodex-card jp-prodex-decided jp-prodex-decided-${decided.status}`);
    card.dataset.gates = decided.gate_id;
    const body = el('div', 'jp-prodex-card-body');
    body.innerHTML = decided.html;
    const buttons = el('div', 'jp-prodex-card-buttons');
    const reopen = decided.action === 'reopen';
    const button = el(
      'button',
      `jp-Button jp-mod-styled jp-mod-reject ${reopen ? 'jp-prodex-reopen' : 'jp-prodex-reconfirm'}`,
      reopen ? 'Reopen' : 'Re-confirm'
    );
    button.onclick = () =>
      reopen
        ? this._openNoteForm(card, decided.gate_id, 'reopen', false)
        : this._openNoteForm(card, decided.gate_id, 'confirm', true);
    buttons.appendChild(button);
    card.append(body, buttons, el('div', 'jp-prodex-card-error'));
    return card;
  }

  /**
   * The note form under a card: a reason is required to reject and to re-confirm a rejected
   * gate (an override), optional to reopen one. The cards are not redrawn while it is open.
   */
  private _openNoteForm(
    card: HTMLElement,
    gateId: string,
    decision: Decision,
    required: boolean
  ): void {
    card.querySelector('.jp-prodex-note-form')?.remove();
    const words = NOTE_FORMS[decision];
    const form = el('div', `jp-prodex-note-form jp-prodex-${decision}-form`);
    form.appendChild(el('div', 'jp-prodex-note', words.prompt(gateId)));
    const reason = el('textarea', 'jp-prodex-note-text');
    reason.placeholder = required
      ? 'Why? The note is kept in the run record (required).'
      : 'Why? (optional; kept in the run record)';
    const error = el('div', 'jp-prodex-note-error');
    const submit = el(
      'button',
      `jp-Button jp-mod-styled ${words.style} jp-prodex-note-submit`,
      words.submit
    );
    const cancel = el('button', 'jp-Button jp-mod-styled jp-mod-reject jp-prodex-note-cancel', 'Cancel');
    submit.onclick = () => {
      const note = reason.value.trim();
      if (required && !note) {
        error.textContent = words.missing;
        reason.focus();
        return;
      }
      void this._decideAll(card, [gateId], decision, note);
    };
    cancel.onclick = () => {
      form.remove();
      this._typing = null;
      this._cardsKey = '';
      void this.refresh();
    };
    const buttons = el('div', 'jp-prodex-card-buttons');
    buttons.append(submit, cancel, error);
    form.append(reason, buttons);
    card.appendChild(form);
    this._typing = form;
    reason.focus();
  }

  private async _decideAll(
    card: HTMLElement,
    gateIds: string[],
    decision: Decision,
    note: string
  ): Promise<void> {
    const error = card.querySelector('.jp-prodex-card-error') as HTMLElement;
    card.querySelectorAll('button').forEach(b => ((b as HTMLButtonElement).disabled = true));
    try {
      for (const gateId of gateIds) {
        const gate = await decide(this.runId, gateId, decision, note);
        this._canvas.markGate(gate.node_id, gate.status);
      }
    } catch (e) {
      card.querySelectorAll('button').forEach(b => ((b as HTMLButtonElement).disabled = false));
      const message = e instanceof Error ? e.message : String(e);
      if (error) {
        error.textContent = message;
      } else {
        void showErrorMessage('Decision refused', message);
      }
      return;
    }
    this._typing = null;
    this._cardsKey = '';
    await this.refresh();
  }

  private _drawDrawer(): void {
    const nodeId = this._drawerNode;
    const content = nodeId && this._record ? this._record.view.drawer[nodeId] : undefined;
    if (!nodeId || !content) {
      this._drawer.hidden = true;
      this._drawerKey = '';
      delete this._drawer.dataset.shown;
      return;
    }
    const key = `${nodeId}\u0000${content.title_html}\u0000${content.html}`;
    if (key === this._drawerKey) {
      return;
    }
    this._drawerKey = key;
    this._drawer.hidden = false;
    this._drawer.dataset.node = nodeId;
    const head = el('div', 'jp-prodex-drawer-head');
    const title = el('div', 'jp-prodex-drawer-title');
    title.innerHTML = content.title_html;
    const close = el('button', 'jp-Button jp-mod-minimal jp-prodex-drawer-close', '×');
    close.title = 'Close the drawer';
    close.onclick = () => this.showDrawer(null);
    head.append(title, close);
    const body = el('div', 'jp-prodex-drawer-body');
    body.innerHTML = content.html;
    const opening = this._drawer.dataset.shown !== nodeId;
    this._drawer.replaceChildren(head, body);
    this._drawer.dataset.shown = nodeId;
    if (opening) {
      requestAnimationFrame(() => this._canvas.reveal(nodeId));
    }
  }

  /** Bring the gate asked for (`focusGate`) into view; without one, the canvas shows where it
   * opens (the view's `opening`: the first prompt's gates). */
  private _applyFocus(): void {
    const gateId = this._focusGate;
    if (!gateId) {
      return;
    }
    const nodeId = this._record!.gates.find(g => g.gate_id === gateId)?.node_id;
    const card = this._cards.querySelector<HTMLElement>('.jp-prodex-focused');
    if (!card) {
      return; // not posed in the record drawn yet: focus when its card appears
    }
    card.scrollIntoView({ block: 'nearest' });
    this._focusGate = null;
    if (nodeId) {
      this._canvas.focus(nodeId);
    }
  }

  private _showGone(): void {
    this._poll.dispose();
    this._header.replaceChildren(
      el('span', 'jp-prodex-run-gone', `Run ${this.runId} no longer exists (deleted).`)
    );
  }

  private _record: IRunRecord | null = null;
  private _canvas: RunCanvas;
  private _header: HTMLElement;
  private _side: HTMLElement;
  private _info: HTMLElement;
  private _cards: HTMLElement;
  private _drawer: HTMLElement;
  private _poll: Poll;
  private _lastInfo = '';
  private _cardsKey = '';
  private _drawerKey = '';
  private _drawerNode: string | null = null;
  private _focusGate: string | null = null;
  private _focusedGate: string | null = null;
  private _typing: HTMLElement | null = null;
  private _changed = new Signal<this, IRunRecord>(this);
}
