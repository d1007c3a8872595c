/** The Pipelines icon: three nodes of a DAG, one behind a shield-like gate. */
import { LabIcon } from '@jupyterlab/ui-components';

const PIPELINE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
<g class="jp-icon3" fill="#616161">
<rect x="2" y="3" width="7" height="5" rx="1.5"/>
<rect x="2" y="16" width="7" height="5" rx="1.5"/>
<path d="M15 9.5l3.5-1.5 3.5 1.5v3c0 2.4-1.5 4.2-3.5 5-2-0.8-3.5-2.6-3.5-5z"/>
<path d="M9 5.5h3v6h3v1h-3v6H9v-1h2v-5H9v-1h2v-5H9z"/>
</g></svg>`;

export const pipelineIcon = new LabIcon({
  name: 'prodex-jupyter:pipeline',
  svgstr: PIPELINE_SVG
});
