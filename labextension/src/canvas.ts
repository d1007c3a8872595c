/**
 * The run's DAG in cytoscape.js, drawn exactly as served: elements, preset positions, the
 * stylesheet and where the view opens come from prodex_jupyter/view (the code that feeds the
 * notebook's ipycytoscape canvas). This widget only hosts cytoscape, keeps the selected node
 * marked, and says which node was clicked.
 */
import { Widget } from '@lumino/widgets';
import { ISignal, Signal } from '@lumino/signaling';
import cytoscape from 'cytoscape';

import { ICanvasOpening, ICanvasView } from './api';
import { el } from './format';

const READABLE_ZOOM = 1.0;
const MIN_ZOOM = 0.08;
const MAX_ZOOM = 2.5;
const ZOOM_STEP = 1.35;

export class RunCanvas extends Widget {
  constructor() {
    super();
    this.addClass('jp-prodex-canvas');
    const tools = el('div', 'jp-prodex-canvas-tools');
    tools.addEventListener('click', () => (this._userMoved = true));
    for (const [label, title, act] of [
      ['+', 'Zoom in', () => this._zoomBy(ZOOM_STEP)],
      ['−', 'Zoom out', () => this._zoomBy(1 / ZOOM_STEP)],
      ['Fit', 'Show the whole pipeline', () => this._cy?.fit(undefined, 24)]
    ] as [string, string, () => void][]) {
      const b = el('button', 'jp-prodex-canvas-tool', label);
      b.title = title;
      b.onclick = act;
      tools.appendChild(b);
    }
    this._host = el('div', 'jp-prodex-cy');
    this._legend = el('div', 'jp-prodex-legend');
    const area = el('div', 'jp-prodex-cy-area');
    area.append(this._host, tools);
    this.node.append(area, this._legend);
  }

  /** Emitted with a node id when a node is clicked. */
  get nodeClicked(): ISignal<this, string> {
    return this._nodeClicked;
  }

  /** The cytoscape instance (for the run panel's focus and for tests). */
  get cy(): cytoscape.Core | null {
    return this._cy;
  }

  /** Draw the served canvas; later calls change only what changed (classes, labels). */
  update_(view: ICanvasView, nodeIds: string[]): void {
    if (this._legend.innerHTML !== view.legend_html) {
      this._legend.innerHTML = view.legend_html;
    }
    const key = nodeIds.join('\u0000') + '|' + view.elements.edges.length;
    if (!this._cy) {
      this._create(view);
      this._key = key;
      return;
    }
    const cy = this._cy;
    if (key !== this._key) {
      this._key = key;
      cy.batch(() => {
        cy.elements().remove();
        cy.add(withClasses(view.elements.nodes, 'nodes'));
        cy.add(withClasses(view.elements.edges, 'edges'));
      });
      this._markSelected();
      return;
    }
    cy.batch(() => {
      for (const n of view.elements.nodes) {
        const ele = cy.getElementById(n.data.id);
        if (ele.empty()) {
          continue;
        }
        const classes = n.classes ?? '';
        const shown = this._selected === n.data.id ? `${classes} selected` : classes;
        if (ele.classes().join(' ') !== shown.trim().split(/\s+/).join(' ')) {
          ele.classes(shown);
        }
        if (ele.data('label') !== n.data.label) {
          ele.data(n.data);
        }
      }
    });
  }

  /** Mark one node selected (the drawer's node), or none. */
  select(nodeId: string | null): void {
    this._selected = nodeId;
    this._markSelected();
  }

  /** Show the gate of `nodeId` as decided at once, before the next record arrives. */
  markGate(nodeId: string, status: string): void {
    const ele = this._cy?.getElementById(nodeId);
    if (!ele || ele.empty()) {
      return;
    }
    const kept = ele.classes().filter(c => !c.startsWith('g-') && c !== 'attention');
    ele.classes([...kept, `g-${status}`].join(' '));
  }

  /** Pan just enough to bring `nodeId` inside the view (the drawer opening shrinks it). */
  reveal(nodeId: string): void {
    const cy = this._cy;
    const ele = cy?.getElementById(nodeId);
    if (!cy || !ele || ele.empty()) {
      return;
    }
    const box = ele.renderedBoundingBox({});
    const margin = 16;
    let dx = 0;
    let dy = 0;
    if (box.x1 < margin) {
      dx = margin - box.x1;
    } else if (box.x2 > cy.width() - margin) {
      dx = cy.width() - margin - box.x2;
    }
    if (box.y1 < margin) {
      dy = margin - box.y1;
    } else if (box.y2 > cy.height() - margin) {
      dy = cy.height() - margin - box.y2;
    }
    if (dx || dy) {
      cy.panBy({ x: dx, y: dy });
    }
  }

  /** Pan so `nodeId` is in view at a readable zoom. */
  focus(nodeId: string): void {
    const cy = this._cy;
    const ele = cy?.getElementById(nodeId);
    if (!cy || !ele || ele.empty()) {
      return;
    }
    if (cy.zoom() < READABLE_ZOOM * 0.6) {
      cy.zoom(READABLE_ZOOM);
    }
    cy.center(ele);
  }

  protected onResize(): void {
    this._resized();
  }

  protected onAfterShow(): void {
    this._resized();
  }

  private _resized(): void {
    if (!this._cy) {
      return;
    }
    if (this._userMoved) {
      // Keep what was in the middle of the view in the middle.
      const cy = this._cy;
      const before = { w: cy.width(), h: cy.height() };
      cy.resize();
      cy.panBy({ x: (cy.width() - before.w) / 2, y: (cy.height() - before.h) / 2 });
    } else {
      this._initialViewport();
    }
  }

  protected onBeforeDetach(): void {
    // Kept: the panel may be re-attached (moved between areas); disposed with the widget.
  }

  dispose(): void {
    this._observer?.disconnect();
    this._cy?.destroy();
    this._cy = null;
    super.dispose();
  }

  private _create(view: ICanvasView): void {
    const cy = cytoscape({
      container: this._host,
      elements: [
        ...withClasses(view.elements.nodes, 'nodes'),
        ...withClasses(view.elements.edges, 'edges')
      ],
      style: view.stylesheet as any,
      layout: { name: 'preset' },
      minZoom: MIN_ZOOM,
      maxZoom: MAX_ZOOM,
      boxSelectionEnabled: false,
      autoungrabify: true
    });
    cy.on('tap', 'node', evt => {
      this._nodeClicked.emit(evt.target.id());
    });
    // Until a person pans or zooms, the view is placed again whenever the canvas resizes
    // (the first records often arrive before the panel has its final size).
    this._host.addEventListener('pointerdown', () => (this._userMoved = true));
    this._host.addEventListener('wheel', () => (this._userMoved = true), { passive: true });
    this._cy = cy;
    this._opening = view.opening;
    this._initialViewport();
    this._observer = new ResizeObserver(() => this._resized());
    this._observer.observe(this._host);
  }

  /** The view as served: the whole graph (never above the readable zoom), or the zoom and pan
   * that show the gates the first prompt asks about (or the graph's left end). */
  private _initialViewport(): void {
    const cy = this._cy!;
    const opening = this._opening!;
    cy.resize();
    if (!cy.width() || !cy.height()) {
      return;
    }
    if (!opening.fit) {
      cy.viewport({ zoom: opening.zoom, pan: { ...opening.pan } });
      return;
    }
    cy.fit(undefined, opening.padding);
    if (cy.zoom() > READABLE_ZOOM) {
      cy.zoom(READABLE_ZOOM);
      cy.center();
    }
  }

  private _zoomBy(factor: number): void {
    const cy = this._cy;
    if (!cy) {
      return;
    }
    const level = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, cy.zoom() * factor));
    cy.zoom({
      level,
      renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 }
    });
  }

  private _markSelected(): void {
    const cy = this._cy;
    if (!cy) {
      return;
    }
    cy.nodes('.selected').removeClass('selected');
    if (this._selected) {
      cy.getElementById(this._selected).addClass('selected');
    }
  }

  private _cy: cytoscape.Core | null = null;
  private _key = '';
  private _userMoved = false;
  private _observer: ResizeObserver | null = null;
  private _opening: ICanvasOpening | null = null;
  private _selected: string | null = null;
  private _host: HTMLElement;
  private _legend: HTMLElement;
  private _nodeClicked = new Signal<this, string>(this);
}

/** Elements as cytoscape wants them, classes kept as served. */
function withClasses(
  elements: any[],
  group: 'nodes' | 'edges'
): cytoscape.ElementDefinition[] {
  return elements.map(e => ({
    group,
    data: e.data,
    classes: e.classes ?? '',
    position: e.position ? { ...e.position } : undefined
  }));
}
