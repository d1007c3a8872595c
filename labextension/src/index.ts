/**
 * prodex-jupyter's JupyterLab front end: this module only registers the plugins; each piece
 * lives in its own module.
 */
import { fileTypePlugin } from './fileType';

export default [fileTypePlugin];
