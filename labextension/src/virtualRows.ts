/**
 * A scrolling list that builds only the rows in view (fixed row height), so a list of 10,000
 * runs costs the same DOM as a list of 30.
 */
export class VirtualRows<T> {
  readonly node: HTMLElement;

  constructor(
    private rowHeight: number,
    private renderRow: (item: T, index: number) => HTMLElement
  ) {
    this.node = document.createElement('div');
    this.node.className = 'jp-prodex-virtual';
    this._spacer = document.createElement('div');
    this._spacer.className = 'jp-prodex-virtual-spacer';
    this._window = document.createElement('div');
    this._window.className = 'jp-prodex-virtual-window';
    this._spacer.appendChild(this._window);
    this.node.appendChild(this._spacer);
    this.node.addEventListener('scroll', () => this._paint(), { passive: true });
  }

  /** Replace the items and draw the rows in view. */
  setItems(items: T[]): void {
    this._items = items;
    this._spacer.style.height = `${items.length * this.rowHeight}px`;
    this._painted = '';
    this._paint();
  }

  /** Draw again (after a resize, or when row content changed). */
  refresh(): void {
    this._painted = '';
    this._paint();
  }

  private _paint(): void {
    const height = this.node.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.node.scrollTop / this.rowHeight) - 5);
    const last = Math.min(this._items.length, first + Math.ceil(height / this.rowHeight) + 10);
    const key = `${first}:${last}:${this._items.length}`;
    if (key === this._painted) {
      return;
    }
    this._painted = key;
    this._window.style.transform = `translateY(${first * this.rowHeight}px)`;
    const rows: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const row = this.renderRow(this._items[i], i);
      row.style.height = `${this.rowHeight}px`;
      rows.push(row);
    }
    this._window.replaceChildren(...rows);
  }

  private _items: T[] = [];
  private _painted = '';
  private _spacer: HTMLElement;
  private _window: HTMLElement;
}
