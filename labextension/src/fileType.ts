/**
 * The `*.prodex.yaml` file type: pipeline templates open in the text editor under their own
 * icon, and the Run Pipeline button finds them by this type.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { pipelineIcon } from './icons';

export const FILE_TYPE = 'prodex-pipeline';

export const fileTypePlugin: JupyterFrontEndPlugin<void> = {
  id: 'prodex-jupyter:file-type',
  description: 'Registers *.prodex.yaml pipeline templates as a file type.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    app.docRegistry.addFileType({
      name: FILE_TYPE,
      displayName: 'Pipeline template',
      extensions: ['.prodex.yaml', '.prodex.yml'],
      pattern: '.*\\.prodex\\.ya?ml$',
      mimeTypes: ['text/x-yaml'],
      fileFormat: 'text',
      contentType: 'file',
      icon: pipelineIcon
    });
  }
};

/** Is this path a pipeline template? */
export function isTemplatePath(path: string): boolean {
  return /\.prodex\.ya?ml$/i.test(path);
}
