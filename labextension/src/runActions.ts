/**
 * What can be done to a run from anywhere (sidebar, runs list, run panel): delete it after
 * asking, resume an interrupted one. Errors are shown with the server's reason.
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';

import { deleteRun, resumeRun } from './api';

/** Ask, then delete the runs; returns the ids actually deleted. */
export async function confirmAndDelete(runIds: string[]): Promise<string[]> {
  if (!runIds.length) {
    return [];
  }
  const what = runIds.length === 1 ? `run ${runIds[0]}` : `${runIds.length} runs`;
  const answer = await showDialog({
    title: `Delete ${what}?`,
    body:
      'The whole record goes: its events, decisions and the artifacts no other run uses. ' +
      'This cannot be undone.',
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
  });
  if (!answer.button.accept) {
    return [];
  }
  const deleted: string[] = [];
  for (const runId of runIds) {
    try {
      await deleteRun(runId);
      deleted.push(runId);
    } catch (error) {
      await showErrorMessage(`Run ${runId} was not deleted`, error as Error);
    }
  }
  return deleted;
}

export async function resume(runId: string): Promise<boolean> {
  try {
    await resumeRun(runId);
    return true;
  } catch (error) {
    await showErrorMessage(`Run ${runId} was not resumed`, error as Error);
    return false;
  }
}
