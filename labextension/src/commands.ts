/** Command ids, shared by the plugins that register and the widgets that call them. */
export const CommandIDs = {
  runPipeline: 'prodex:run-pipeline',
  openRun: 'prodex:open-run',
  openInNotebook: 'prodex:open-in-notebook',
  deleteRun: 'prodex:delete-run',
  resumeRun: 'prodex:resume-run',
  openRunsList: 'prodex:open-runs-list',
  compareRuns: 'prodex:compare-runs',
  showWorkspace: 'prodex:show-workspace'
} as const;

/** The palette and launcher category of every prodex command. */
export const CATEGORY = 'Pipelines';
