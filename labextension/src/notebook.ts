/**
 * "Open in notebook": a new notebook beside the server's root whose first cell loads the run,
 * so a person can go on from the record in Python (`run = px.load_run("<id>")`). The notebook
 * sits in the root, where the kernel's working directory makes `.prodex` the server's store.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Contents } from '@jupyterlab/services';

export function loadRunSource(runId: string): string {
  return `import prodex_jupyter as px\n\nrun = px.load_run(${JSON.stringify(runId)})\nrun`;
}

export async function openRunInNotebook(app: JupyterFrontEnd, runId: string): Promise<string> {
  const contents = app.serviceManager.contents;
  const path = await freePath(contents, runId.startsWith('run-') ? runId : `run-${runId}`);
  await contents.save(path, {
    type: 'notebook',
    format: 'json',
    content: {
      cells: [
        {
          cell_type: 'code',
          execution_count: null,
          metadata: {},
          outputs: [],
          source: loadRunSource(runId)
        }
      ],
      metadata: {
        kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' }
      },
      nbformat: 4,
      nbformat_minor: 5
    }
  });
  await app.commands.execute('docmanager:open', {
    path,
    factory: 'Notebook',
    kernel: { name: 'python3' }
  });
  return path;
}

async function freePath(contents: Contents.IManager, stem: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const path = i === 0 ? `${stem}.ipynb` : `${stem}-${i}.ipynb`;
    try {
      await contents.get(path, { content: false });
    } catch {
      return path;
    }
  }
  throw new Error(`no free notebook name for ${stem}`);
}
