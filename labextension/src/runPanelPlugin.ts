/**
 * Run panels in the main area, one per run, tracked and restored on reload (ILayoutRestorer).
 * Registers the commands that open a run (optionally at a gate), open it in a notebook, delete
 * and resume it. In Notebook 7, whose main area holds one document, a run panel opens in the
 * right side area instead.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  MainAreaWidget,
  ToolbarButton,
  WidgetTracker
} from '@jupyterlab/apputils';
import { deleteIcon, notebookIcon, refreshIcon } from '@jupyterlab/ui-components';

import { CommandIDs } from './commands';
import { pipelineIcon } from './icons';
import { openRunInNotebook } from './notebook';
import { confirmAndDelete, resume } from './runActions';
import { RunPanel } from './runPanel';

export const runPanelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'prodex-jupyter:run-panel',
  description: 'Run panels: the canvas, Run Information, gate cards and the derivation drawer.',
  autoStart: true,
  optional: [ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null
  ) => {
    const tracker = new WidgetTracker<MainAreaWidget<RunPanel>>({
      namespace: 'prodex-run'
    });
    const find = (runId: string) => tracker.find(w => w.content.runId === runId);

    app.commands.addCommand(CommandIDs.openRun, {
      label: args => (args.runId ? `Open Run ${args.runId}` : 'Open Run'),
      describedBy: {
        args: {
          type: 'object',
          properties: { runId: { type: 'string' }, gateId: { type: 'string' } }
        }
      },
      execute: async args => {
        const runId = runIdOf(app, args);
        const gateId = args.gateId ? String(args.gateId) : null;
        if (!runId) {
          return;
        }
        let widget = find(runId);
        if (!widget) {
          widget = createPanel(app, runId);
          await tracker.add(widget);
          addToShell(app, widget);
          await widget.content.refresh().catch(e => console.error(e));
        }
        app.shell.activateById(widget.id);
        if (gateId) {
          widget.content.focusGate(gateId);
        }
        return widget;
      }
    });

    app.commands.addCommand(CommandIDs.openInNotebook, {
      label: 'Open Run in Notebook',
      caption: 'A new notebook whose first cell loads this run',
      icon: notebookIcon,
      execute: args => openRunInNotebook(app, String(args.runId))
    });

    app.commands.addCommand(CommandIDs.deleteRun, {
      label: 'Delete Run…',
      icon: deleteIcon,
      execute: async args => {
        const runIds = Array.isArray(args.runIds)
          ? (args.runIds as string[])
          : [runIdOf(app, args)];
        const deleted = await confirmAndDelete(runIds);
        for (const runId of deleted) {
          find(runId)?.dispose();
        }
        return deleted;
      }
    });

    app.commands.addCommand(CommandIDs.resumeRun, {
      label: 'Resume Run',
      execute: async args => {
        const runId = String(args.runId);
        if (await resume(runId)) {
          await find(runId)?.content.refresh();
        }
      }
    });


    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.openRun,
        args: w => ({ runId: w.content.runId }),
        name: w => w.content.runId
      });
    }
  }
};

/** The run a command is about: its `runId`, or the sidebar row under the context menu. */
function runIdOf(app: JupyterFrontEnd, args: Record<string, unknown>): string {
  if (args.fromContextMenu) {
    const node = app.contextMenuHitTest(n => !!n.dataset.prodexRun);
    return node?.dataset.prodexRun ?? '';
  }
  return String(args.runId ?? '');
}

function createPanel(app: JupyterFrontEnd, runId: string): MainAreaWidget<RunPanel> {
  const content = new RunPanel(runId);
  const widget = new MainAreaWidget({ content });
  widget.id = content.id;
  widget.title.label = content.title.label;
  widget.title.caption = content.title.caption;
  widget.title.icon = pipelineIcon;
  widget.title.closable = true;
  widget.addClass('jp-prodex-run-widget');
  const toolbar = widget.toolbar;
  toolbar.addItem(
    'refresh',
    new ToolbarButton({
      icon: refreshIcon,
      tooltip: 'Read the run again',
      onClick: () => void content.refresh()
    })
  );
  toolbar.addItem(
    'open-in-notebook',
    new ToolbarButton({
      icon: notebookIcon,
      label: 'Open in notebook',
      className: 'jp-prodex-open-in-notebook',
      tooltip: 'A new notebook whose first cell is run = px.load_run(...)',
      onClick: () => void app.commands.execute(CommandIDs.openInNotebook, { runId })
    })
  );
  toolbar.addItem(
    'delete',
    new ToolbarButton({
      icon: deleteIcon,
      label: 'Delete',
      className: 'jp-prodex-delete-run',
      tooltip: 'Delete this run (asks first)',
      onClick: () => void app.commands.execute(CommandIDs.deleteRun, { runId })
    })
  );
  return widget;
}

/** The main area; in Notebook 7 (one document per page) the right side area. */
function addToShell(app: JupyterFrontEnd, widget: MainAreaWidget<RunPanel>): void {
  app.shell.add(widget, 'main');
  if (!widget.isAttached) {
    app.shell.add(widget, 'right', { rank: 100 });
    widget.addClass('jp-prodex-in-side-area');
  }
}
