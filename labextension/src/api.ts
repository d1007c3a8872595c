/**
 * A typed client of the prodex REST API served under `{base_url}prodex/api/`
 * (docs/rest-api.md, docs/openapi.yaml). Every call goes through ServerConnection, so the
 * token, the XSRF cookie and a JupyterHub base URL are handled as for any Jupyter request.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IRunRef {
  run_id: string;
  status: string;
  started: string;
  interrupted: boolean;
}

export interface ITemplateSummary {
  path: string;
  id: string;
  description: string;
  nodes: number;
  gates: number;
  error: string | null;
  last_run: IRunRef | null;
}

export interface IRunSummary {
  run_id: string;
  pipeline: string;
  status: string;
  gates_resolved: number;
  gates_total: number;
  /** How many gates wait for a decision now. */
  pending_gates: number;
  started: string;
  duration: number;
  executing: boolean;
  interrupted: boolean;
}

export interface IRunsPage {
  runs: IRunSummary[];
  total: number;
  limit: number;
  offset: number;
}

export interface IRunsQuery {
  pipeline?: string;
  status?: string;
  limit?: number;
  offset?: number;
}

/**
 * Where the canvas opens, computed by prodex_jupyter/view (the notebook canvas' rule): the whole
 * graph fitted, or this zoom and pan (the model origin's place on the canvas, in px from its top
 * left corner).
 */
export type ICanvasOpening =
  | { fit: true; padding: number }
  | { fit: false; zoom: number; pan: { x: number; y: number } };

export interface ICanvasView {
  elements: { nodes: any[]; edges: any[] };
  stylesheet: any[];
  attention: string[];
  opening: ICanvasOpening;
  width: number;
  height: number;
  legend_html: string;
}

export interface IPromptCard {
  gate_ids: string[];
  batch: boolean;
  html: string;
}

export interface IDecidedCard {
  gate_id: string;
  status: string;
  action: 'reopen' | 'confirm';
  html: string;
}

/** What the run panel draws: computed by prodex_jupyter/view, drawn as served. */
export interface IRunView {
  canvas: ICanvasView;
  run_info: {
    status: string;
    status_note: string;
    gates_resolved: string;
    nodes_produced: string;
    started: string;
    elapsed: string;
    html: string;
  };
  cards: {
    title: string;
    note: string;
    later_note: string;
    prompts: IPromptCard[];
    decided: IDecidedCard[];
  };
  drawer: Record<string, { title_html: string; state: string; html: string }>;
  css: string;
}

export interface IGateRecord {
  gate_id: string;
  node_id: string;
  name: string;
  status: string;
  confidence: string;
  summary: string;
  [key: string]: any;
}

export interface IRunRecord {
  run_id: string;
  pipeline: string;
  status: string;
  executing: boolean;
  interrupted: boolean;
  gates_resolved: number;
  gates_total: number;
  gates: IGateRecord[];
  nodes: { node_id: string; kind: string; state: string; gate_id: string | null }[];
  view: IRunView;
  [key: string]: any;
}

export type Decision = 'confirm' | 'reject' | 'reopen';

/** An error answer of the API: its HTTP status and the server's reason. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

const NAMESPACE = 'prodex/api';

/** One request to the prodex API; JSON in and out, errors as ApiError with the reason. */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, NAMESPACE, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const reason =
      (data && (data.message || data.reason || data.error)) ||
      (typeof data === 'string' && data) ||
      response.statusText;
    throw new ApiError(response.status, String(reason));
  }
  return data as T;
}

function query(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

function json(method: string, body: unknown): RequestInit {
  return {
    method,
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  };
}

export async function listTemplates(): Promise<ITemplateSummary[]> {
  const data = await requestAPI<{ templates: ITemplateSummary[] }>('templates');
  return data.templates;
}

export function listRuns(q: IRunsQuery = {}): Promise<IRunsPage> {
  return requestAPI<IRunsPage>('runs' + query({ ...q }));
}

export async function startRun(
  template: string,
  inputs: Record<string, string> = {}
): Promise<string> {
  const data = await requestAPI<{ run_id: string }>(
    'runs',
    json('POST', { template, inputs })
  );
  return data.run_id;
}

/**
 * A run's record and view. `drawer` says whose derivation drawer the view carries: `none` (a
 * poll), some node ids (the drawer on screen), or every node (the server's default; a 500-node
 * run's drawers are megabytes).
 */
export function getRun(runId: string, drawer?: 'none' | 'all' | string[]): Promise<IRunRecord> {
  const param = drawer === undefined ? '' : Array.isArray(drawer) ? drawer.join(',') : drawer;
  return requestAPI<IRunRecord>(
    `runs/${encodeURIComponent(runId)}` + query({ drawer: param || (drawer ? 'none' : undefined) })
  );
}

export function decide(
  runId: string,
  gateId: string,
  decision: Decision,
  note: string
): Promise<IGateRecord> {
  return requestAPI<IGateRecord>(
    `runs/${encodeURIComponent(runId)}/gates/${encodeURIComponent(gateId)}`,
    json('POST', { decision, note })
  );
}

export async function deleteRun(runId: string): Promise<void> {
  await requestAPI<void>(`runs/${encodeURIComponent(runId)}`, {
    method: 'DELETE'
  });
}

export function resumeRun(runId: string): Promise<any> {
  return requestAPI<any>(
    `runs/${encodeURIComponent(runId)}/resume`,
    json('POST', {})
  );
}

export function compareRuns(runIds: string[]): Promise<any> {
  return requestAPI<any>('compare' + query({ runs: runIds.join(',') }));
}
