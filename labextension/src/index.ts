/**
 * prodex-jupyter's JupyterLab front end: this module only registers the plugins; each piece
 * lives in its own module.
 */
import { fileTypePlugin } from './fileType';
import { runPanelPlugin } from './runPanelPlugin';
import { runPipelinePlugin } from './runPipeline';
import { runsListPlugin } from './runsList';
import { sidebarPlugin } from './sidebar';

export default [fileTypePlugin, runPanelPlugin, runPipelinePlugin, sidebarPlugin, runsListPlugin];
