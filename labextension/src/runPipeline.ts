/**
 * Run Pipeline: start a run of a `*.prodex.yaml` template (POST runs) and open its run panel.
 * One command, reached from the open file's toolbar, the command palette, the Pipelines
 * sidebar's context menu and a Launcher card. Without a template at hand it asks which one.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  showErrorMessage,
  ToolbarButton
} from '@jupyterlab/apputils';
import { DocumentRegistry, IDocumentWidget } from '@jupyterlab/docregistry';
import { ILauncher } from '@jupyterlab/launcher';
import { runIcon } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { listTemplates, startRun } from './api';
import { CATEGORY, CommandIDs } from './commands';
import { isTemplatePath } from './fileType';
import { pipelineIcon } from './icons';

export const runPipelinePlugin: JupyterFrontEndPlugin<void> = {
  id: 'prodex-jupyter:run-pipeline',
  description: 'The Run Pipeline command, its toolbar button, palette item and launcher card.',
  autoStart: true,
  optional: [ICommandPalette, ILauncher],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    launcher: ILauncher | null
  ) => {
    app.commands.addCommand(CommandIDs.runPipeline, {
      label: "Run Pipeline",
      caption: 'Start a run of a pipeline template and open its run panel',
      icon: args => (args.isLauncher ? pipelineIcon : runIcon),
      execute: async args => {
        const path = await templatePath(app, args);
        if (!path) {
          return;
        }
        let runId: string;
        try {
          runId = await startRun(path);
        } catch (error) {
          await showErrorMessage(`Could not run ${path}`, error as Error);
          return;
        }
        return app.commands.execute(CommandIDs.openRun, { runId });
      }
    });

    app.docRegistry.addWidgetExtension('Editor', new RunPipelineButton(app));

    palette?.addItem({ command: CommandIDs.runPipeline, category: CATEGORY });
    launcher?.add({ command: CommandIDs.runPipeline, category: CATEGORY, rank: 0 });
  }
};

/** The template to run: given, the open document's, the sidebar item's, or chosen. */
async function templatePath(
  app: JupyterFrontEnd,
  args: Record<string, unknown>
): Promise<string | null> {
  if (typeof args.path === 'string' && args.path) {
    return args.path;
  }
  if (args.fromContextMenu) {
    const node = app.contextMenuHitTest(n => !!n.dataset.prodexTemplate);
    if (node?.dataset.prodexTemplate) {
      return node.dataset.prodexTemplate;
    }
  }
  const current = app.shell.currentWidget as IDocumentWidget | null;
  const currentPath = current?.context?.path;
  if (currentPath && isTemplatePath(currentPath)) {
    return currentPath;
  }
  const templates = (await listTemplates()).filter(t => !t.error);
  if (!templates.length) {
    await showErrorMessage(
      'No pipeline to run',
      'There is no loadable *.prodex.yaml file under the server root.'
    );
    return null;
  }
  const answer = await InputDialog.getItem({
    title: 'Run Pipeline',
    label: 'Template',
    items: templates.map(t => t.path),
    okLabel: 'Run'
  });
  return answer.button.accept ? answer.value : null;
}

/** The Run Pipeline button in the toolbar of an open *.prodex.yaml file. */
class RunPipelineButton
  implements DocumentRegistry.IWidgetExtension<IDocumentWidget, DocumentRegistry.IModel>
{
  constructor(private app: JupyterFrontEnd) {}

  createNew(widget: IDocumentWidget, context: DocumentRegistry.IContext<any>): IDisposable {
    if (!isTemplatePath(context.path)) {
      return new DisposableDelegate(() => undefined);
    }
    const button = new ToolbarButton({
      icon: runIcon,
      label: 'Run Pipeline',
      className: 'jp-prodex-run-pipeline',
      tooltip: 'Start a run of this pipeline and open its run panel',
      onClick: async () => {
        if (context.model.dirty) {
          await context.save();
        }
        await this.app.commands.execute(CommandIDs.runPipeline, { path: context.path });
      }
    });
    widget.toolbar.insertItem(0, 'prodex-run-pipeline', button);
    return new DisposableDelegate(() => button.dispose());
  }
}
